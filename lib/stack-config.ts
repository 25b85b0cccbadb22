/**
 * Deploy-time options of the trading pipeline stack, read from CDK context (`-c key=value` on the
 * command line, or the `context` block of cdk.json) and validated at synth time, so a typo fails
 * `cdk synth` instead of producing a stack that pages nobody or trades at the wrong hour.
 */
import type { Node } from 'constructs';
import { resolveAlpacaEndpoint } from '../lambdas/adapters/broker/alpaca/config';
import { parseStrategyConfig as validateStrategyConfig } from '../lambdas/core/config';
import { MARKET_DATA_SOURCES, type MarketDataSource } from '../lambdas/wiring/market-data';

/** Context keys this app reads. */
export const CONTEXT_KEYS = {
  /** E-mail address subscribed to the alert topic (optional). */
  alertEmail: 'alertEmail',
  /** Phone number, E.164 (`+15555550123`), subscribed to the alert topic by SMS (optional). */
  alertPhone: 'alertPhone',
  /** JSON object overriding StrategyConfig defaults, passed to the Lambdas as STRATEGY_CONFIG (optional). */
  strategyConfig: 'strategyConfig',
  /** Hour (0-23, America/New_York) the daily run starts; default 9. */
  scheduleHour: 'scheduleHour',
  /** Minute (0-59) the daily run starts; default 45. */
  scheduleMinute: 'scheduleMinute',
  /** Broker the functions trade with: `paper` (default, the simulated account in DynamoDB) or `alpaca`. */
  broker: 'broker',
  /** Alpaca REST origin (APCA_API_BASE_URL); default Alpaca's paper endpoint. Only with broker=alpaca. */
  alpacaBaseUrl: 'alpacaBaseUrl',
  /** `true` to trade real money on Alpaca's live endpoint (ALPACA_LIVE=true); default false. Only with broker=alpaca. */
  alpacaLive: 'alpacaLive',
  /**
   * Where the fetch function gets daily bars (MARKET_DATA_SOURCE): `csv` (default, the bundled CSVs),
   * `alphavantage` or `alpaca`. The API sources need a `universe` in strategyConfig.
   */
  marketDataSource: 'marketDataSource',
  /** `true` for Alpha Vantage's split/dividend-adjusted series (ALPHAVANTAGE_ADJUSTED); only with marketDataSource=alphavantage. */
  alphaVantageAdjusted: 'alphaVantageAdjusted',
} as const;

/** Brokers the deployed functions support (the BROKER variable). */
export const DEPLOY_BROKERS = ['paper', 'alpaca'] as const;
/** A broker the deployed functions support. */
export type DeployBroker = (typeof DEPLOY_BROKERS)[number];

/** Validated deploy-time options. */
export interface PipelineConfig {
  /** E-mail address for alerts, or undefined for no e-mail subscription. */
  readonly alertEmail?: string;
  /** E.164 phone number for SMS alerts, or undefined for no SMS subscription. */
  readonly alertPhone?: string;
  /** STRATEGY_CONFIG value: a JSON object serialised compactly, or undefined to use the defaults. */
  readonly strategyConfig?: string;
  /** Schedule hour, integer 0-23, New York local time. */
  readonly scheduleHour: number;
  /** Schedule minute, integer 0-59. */
  readonly scheduleMinute: number;
  /** BROKER of the functions that talk to the broker. Default `paper`. */
  readonly broker: DeployBroker;
  /** APCA_API_BASE_URL (an https origin), or undefined for the adapter's default (paper, or live when alpacaLive). */
  readonly alpacaBaseUrl?: string;
  /** ALPACA_LIVE: true only when the owner asked for live trading (requires broker `alpaca`). Default false. */
  readonly alpacaLive: boolean;
  /** MARKET_DATA_SOURCE of the fetch function. Default `csv`. */
  readonly marketDataSource: MarketDataSource;
  /** ALPHAVANTAGE_ADJUSTED of the fetch function (only with `alphavantage`). Default false. */
  readonly alphaVantageAdjusted: boolean;
}

/**
 * Default start of the daily run: 09:45 New York time, inside the trade window 09:35–15:55
 * (open + 5 min .. close − 5 min) in which the risk rules allow entries: ten minutes after the
 * window opens (fifteen after the 09:30 open), so the pipeline decides and submits during the
 * session, with the open already known. (Before that window existed the run started at 09:00,
 * before the open.)
 */
export const DEFAULT_SCHEDULE_HOUR = 9;
/** Default minute of the daily run (09:45, see DEFAULT_SCHEDULE_HOUR). */
export const DEFAULT_SCHEDULE_MINUTE = 45;

/** Raised when a context value is malformed; the message names the key and the expected shape. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * Reads and validates the pipeline options from a construct's context.
 *
 * @param node any construct node in the app (context is inherited from the App).
 * @returns the validated options; absent optional keys are undefined, schedule fields get defaults.
 * @throws ConfigError if any value is present but malformed (bad e-mail, non-E.164 phone, strategy
 *   config that is not a JSON object, hour outside 0-23 or minute outside 0-59 or not an integer,
 *   unknown broker, alpacaLive not true/false, alpacaBaseUrl/alpacaLive without broker `alpaca`, or an
 *   alpacaBaseUrl the Alpaca adapter would refuse, e.g. the live endpoint without alpacaLive; an unknown
 *   marketDataSource, an API source without a universe in strategyConfig, or alphaVantageAdjusted
 *   without marketDataSource alphavantage).
 */
export function readPipelineConfig(node: Node): PipelineConfig {
  const alertEmail = optionalString(node, CONTEXT_KEYS.alertEmail);
  if (alertEmail !== undefined && !EMAIL.test(alertEmail)) {
    throw new ConfigError(`context ${CONTEXT_KEYS.alertEmail} must be an e-mail address, got ${JSON.stringify(alertEmail)}`);
  }
  const alertPhone = optionalString(node, CONTEXT_KEYS.alertPhone);
  if (alertPhone !== undefined && !E164.test(alertPhone)) {
    throw new ConfigError(
      `context ${CONTEXT_KEYS.alertPhone} must be an E.164 phone number such as +15555550123, got ${JSON.stringify(alertPhone)}`,
    );
  }
  const strategyConfig = parseStrategyConfig(node.tryGetContext(CONTEXT_KEYS.strategyConfig));
  return {
    alertEmail,
    alertPhone,
    strategyConfig,
    scheduleHour: parseBoundedInt(node, CONTEXT_KEYS.scheduleHour, 0, 23, DEFAULT_SCHEDULE_HOUR),
    scheduleMinute: parseBoundedInt(node, CONTEXT_KEYS.scheduleMinute, 0, 59, DEFAULT_SCHEDULE_MINUTE),
    ...readBrokerOptions(node),
    ...readMarketDataOptions(node, strategyConfig),
  };
}

/**
 * marketDataSource and alphaVantageAdjusted: a known source; an API source only with a strategy
 * config naming a `universe` (an API cannot list every symbol, and the fetch function would otherwise
 * fail every scheduled run); the adjusted flag only with Alpha Vantage.
 */
function readMarketDataOptions(node: Node, strategyConfig: string | undefined): Pick<PipelineConfig, 'marketDataSource' | 'alphaVantageAdjusted'> {
  const value = optionalString(node, CONTEXT_KEYS.marketDataSource) ?? 'csv';
  if (!(MARKET_DATA_SOURCES as readonly string[]).includes(value)) {
    throw new ConfigError(`context ${CONTEXT_KEYS.marketDataSource} must be one of ${MARKET_DATA_SOURCES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  const marketDataSource = value as MarketDataSource;
  const alphaVantageAdjusted = parseBoolean(node, CONTEXT_KEYS.alphaVantageAdjusted, false);
  if (alphaVantageAdjusted && marketDataSource !== 'alphavantage') {
    throw new ConfigError(`context ${CONTEXT_KEYS.alphaVantageAdjusted}=true requires ${CONTEXT_KEYS.marketDataSource}=alphavantage, got ${marketDataSource}`);
  }
  if (marketDataSource !== 'csv') {
    const universe = strategyConfig === undefined ? undefined : (JSON.parse(strategyConfig) as { universe?: unknown }).universe;
    if (!Array.isArray(universe) || universe.length === 0) {
      throw new ConfigError(
        `context ${CONTEXT_KEYS.marketDataSource}=${marketDataSource} needs a "universe" in ${CONTEXT_KEYS.strategyConfig} ` +
          `(an API cannot list every symbol), e.g. -c ${CONTEXT_KEYS.strategyConfig}='{"universe":["AAPL","MSFT"]}'`,
      );
    }
  }
  return { marketDataSource, alphaVantageAdjusted };
}

/**
 * broker, alpacaBaseUrl and alpacaLive, checked together: the Alpaca options need broker `alpaca`,
 * and the base URL must be one the adapter accepts for that live flag (resolveAlpacaEndpoint:
 * https, the live endpoint only with alpacaLive=true, no loopback address a Lambda cannot reach).
 */
function readBrokerOptions(node: Node): Pick<PipelineConfig, 'broker' | 'alpacaBaseUrl' | 'alpacaLive'> {
  const brokerValue = optionalString(node, CONTEXT_KEYS.broker) ?? 'paper';
  if (!(DEPLOY_BROKERS as readonly string[]).includes(brokerValue)) {
    throw new ConfigError(`context ${CONTEXT_KEYS.broker} must be one of ${DEPLOY_BROKERS.join(', ')}, got ${JSON.stringify(brokerValue)}`);
  }
  const broker = brokerValue as DeployBroker;
  const alpacaLive = parseBoolean(node, CONTEXT_KEYS.alpacaLive, false);
  const alpacaBaseUrl = optionalString(node, CONTEXT_KEYS.alpacaBaseUrl);
  if (broker !== 'alpaca') {
    if (alpacaLive) throw new ConfigError(`context ${CONTEXT_KEYS.alpacaLive}=true requires ${CONTEXT_KEYS.broker}=alpaca, got ${CONTEXT_KEYS.broker}=${broker}`);
    if (alpacaBaseUrl !== undefined) {
      throw new ConfigError(`context ${CONTEXT_KEYS.alpacaBaseUrl} is only used with ${CONTEXT_KEYS.broker}=alpaca, got ${CONTEXT_KEYS.broker}=${broker}`);
    }
    return { broker, alpacaBaseUrl: undefined, alpacaLive };
  }
  let mode: string;
  try {
    mode = resolveAlpacaEndpoint({ baseUrl: alpacaBaseUrl, live: alpacaLive }).mode;
  } catch (err) {
    throw new ConfigError(`context ${CONTEXT_KEYS.alpacaBaseUrl}/${CONTEXT_KEYS.alpacaLive}: ${(err as Error).message}`);
  }
  if (mode === 'local') {
    throw new ConfigError(`context ${CONTEXT_KEYS.alpacaBaseUrl} ${JSON.stringify(alpacaBaseUrl)} is a loopback address; a deployed Lambda cannot reach it`);
  }
  return { broker, alpacaBaseUrl, alpacaLive };
}

/** Boolean context value: true/false or the strings "true"/"false" (from `-c key=true`); the default when absent. */
function parseBoolean(node: Node, key: string, fallback: boolean): boolean {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return fallback;
  if (raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new ConfigError(`context ${key} must be true or false, got ${JSON.stringify(raw)}`);
}

/** Context value as a trimmed non-empty string, or undefined when absent or empty. */
function optionalString(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ConfigError(`context ${key} must be a string, got ${JSON.stringify(value)}`);
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/**
 * STRATEGY_CONFIG from context: accepts a JSON string (from `-c strategyConfig='{...}'`) or an object
 * (from cdk.json), validated against the same zod schema the Lambdas use, so a bad limit fails
 * `cdk synth` instead of every scheduled run.
 */
function parseStrategyConfig(raw: unknown): string | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new ConfigError(`context ${CONTEXT_KEYS.strategyConfig} is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`context ${CONTEXT_KEYS.strategyConfig} must be a JSON object, e.g. '{"riskPerTrade":0.004}'`);
  }
  try {
    validateStrategyConfig(value);
  } catch (err) {
    throw new ConfigError(`context ${CONTEXT_KEYS.strategyConfig}: ${(err as Error).message}`);
  }
  return JSON.stringify(value);
}

/** Integer context value in [min, max] (numbers or numeric strings), or the default when absent. */
function parseBoundedInt(node: Node, key: string, min: number, max: number, fallback: number): number {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined || raw === null || raw === '') return fallback;
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`context ${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}
