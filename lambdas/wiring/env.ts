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
  /**
   * Where the fetch step gets daily bars: `csv` (default; the CSV folder DATA_DIR), `alphavantage`
   * (Alpha Vantage TIME_SERIES_DAILY[_ADJUSTED], key ALPHAVANTAGE_API_KEY from the API-keys secret) or
   * `alpaca` (Alpaca market data v2 bars, `adjustment=all`, the Alpaca key pair from the API-keys
   * secret). The API sources need the strategy config's `universe` (an API cannot list every symbol),
   * keep what they fetched in the MarketDataCache table, and only the fetch function gets this
   * variable (the paper broker of the other functions fills on the bundled CSV bars).
   */
  marketDataSource: 'MARKET_DATA_SOURCE',
  /** Alpha Vantage origin; default https://www.alphavantage.co (https only; http on loopback for tests). */
  alphaVantageBaseUrl: 'ALPHAVANTAGE_BASE_URL',
  /**
   * `true`: TIME_SERIES_DAILY_ADJUSTED (split- and dividend-adjusted bars; a premium Alpha Vantage
   * function); unset/`false`: TIME_SERIES_DAILY (prices as traded). Other values are refused.
   */
  alphaVantageAdjusted: 'ALPHAVANTAGE_ADJUSTED',
  /** Alpaca market-data origin; default https://data.alpaca.markets. */
  alpacaDataUrl: 'APCA_API_DATA_URL',
  /** Directory of daily CSVs, one per symbol (SYMBOL.csv or SYMBOL_data.csv). */
  dataDir: 'DATA_DIR',
  /** NYSE session calendar CSV (exchange_calendars format). */
  calendarFile: 'CALENDAR_FILE',
  /** Starting cash of a new paper account, USD. */
  paperInitialCash: 'PAPER_INITIAL_CASH',
  /** Optional: a JSON model bundle or artifact file for the predict step (default: the shipped bundle). */
  modelFile: 'MODEL_FILE',
} as const;
