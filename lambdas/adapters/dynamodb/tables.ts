/**
 * The DynamoDB tables, described once. The CDK stack (lib/) deploys them from this description and
 * the local runner creates the same tables in dynalite, so the key schema cannot drift.
 *
 * Every table has a string partition key `pk` and string sort key `sk`.
 */

export interface TableSpec {
  /** CDK construct id. */
  readonly id: string;
  /** Environment variable that carries the physical table name to the Lambdas. */
  readonly envVar: string;
  /** Table name used locally (dynalite). */
  readonly localName: string;
  /** Number attribute (epoch seconds) DynamoDB TTL deletes on, if any. */
  readonly ttlAttribute?: string;
  /** Keep the table (and its data) when the stack is deleted. */
  readonly retain: boolean;
  readonly description: string;
}

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';

export const TABLES = {
  orderLedger: {
    id: 'OrderLedger',
    envVar: 'ORDER_LEDGER_TABLE',
    localName: 'order-ledger',
    retain: true,
    description: 'Order intents (conditional put before any broker call), broker ids and statuses, and fills.',
  },
  tradingState: {
    id: 'TradingState',
    envVar: 'TRADING_STATE_TABLE',
    localName: 'trading-state',
    retain: false,
    description: 'Trading state (ACTIVE/HALTED and cause), per-session account snapshots, paper account.',
  },
  riskAudit: {
    id: 'RiskAudit',
    envVar: 'RISK_AUDIT_TABLE',
    localName: 'risk-audit',
    retain: true,
    description: 'Every risk decision (allowed or refused, with its reason code and values) and the limits in force, per session and run.',
  },
  runArtifacts: {
    id: 'RunArtifacts',
    envVar: 'RUN_ARTIFACTS_TABLE',
    localName: 'run-artifacts',
    ttlAttribute: 'expiresAt',
    retain: false,
    description: 'Per-run intermediate data (bars, features, scores, decisions) the state machine points to by runId.',
  },
  marketDataCache: {
    id: 'MarketDataCache',
    envVar: 'MARKET_DATA_CACHE_TABLE',
    localName: 'market-data-cache',
    retain: false,
    description: 'Daily bars fetched from a market-data API (pk <source>#<SYMBOL>), so a run fetches only the latest bars; safe to lose (the next run reloads the history).',
  },
} as const satisfies Record<string, TableSpec>;

export type TableKey = keyof typeof TABLES;
