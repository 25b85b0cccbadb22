/**
 * Environment variables the Lambda handlers read (set by the CDK stack in lib/). One list, so the
 * stack and the wiring cannot disagree on a name.
 */
export const ENV = {
  /** Optional JSON object overriding StrategyConfig defaults (see lambdas/core/config.ts). */
  strategyConfig: 'STRATEGY_CONFIG',
  /** SSM parameter name of the kill switch (ARMED | REDUCE_ONLY | HALTED). */
  killSwitchParameter: 'KILL_SWITCH_PARAMETER',
  /** SNS topic ARN for alerts. */
  alertTopicArn: 'ALERT_TOPIC_ARN',
  /** Secrets Manager secret ARN holding broker and data API keys (JSON object). */
  apiKeysSecretArn: 'API_KEYS_SECRET_ARN',
  /** Broker adapter: `paper` (default) or `alpaca` (Alpaca Trading API v2; keys from the API keys secret). */
  broker: 'BROKER',
  /** Alpaca REST origin; default https://paper-api.alpaca.markets. The live endpoint needs ALPACA_LIVE=true. */
  alpacaBaseUrl: 'APCA_API_BASE_URL',
  /** `true` only to trade real money on Alpaca's live endpoint; unset/`false` = paper. Other values are refused. */
  alpacaLive: 'ALPACA_LIVE',
  /** Directory of daily CSVs, one per symbol (SYMBOL.csv or SYMBOL_data.csv). */
  dataDir: 'DATA_DIR',
  /** NYSE session calendar CSV (exchange_calendars format). */
  calendarFile: 'CALENDAR_FILE',
  /** Starting cash of a new paper account, USD. */
  paperInitialCash: 'PAPER_INITIAL_CASH',
} as const;
