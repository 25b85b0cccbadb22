/**
 * Choosing and building the market-data adapter: one place for the Lambda wiring (deps.ts) and the
 * local runner/CLI, so `MARKET_DATA_SOURCE` / `--market-data` mean the same thing in both.
 *
 * | source         | adapter                                   | needs                                             |
 * |----------------|-------------------------------------------|---------------------------------------------------|
 * | `csv` (default)| CsvMarketData over a folder of daily CSVs | DATA_DIR / --data-dir                             |
 * | `alphavantage` | AlphaVantageMarketData                    | ALPHAVANTAGE_API_KEY; ALPHAVANTAGE_BASE_URL and ALPHAVANTAGE_ADJUSTED optional |
 * | `alpaca`       | AlpacaBarsMarketData                      | APCA_API_KEY_ID + APCA_API_SECRET_KEY; APCA_API_DATA_URL optional |
 *
 * The API sources list the configured symbols (universe + benchmark) and keep what they fetched in a
 * BarCache (DynamoDB table MarketDataCache in AWS, `<stateDir>/market-data-cache/` locally).
 */
import type { StrategyConfig } from '../core/config';
import { AlpacaBarsMarketData } from '../adapters/market-data/alpaca-bars';
import { AlphaVantageMarketData } from '../adapters/market-data/alphavantage';
import type { BarCache } from '../adapters/market-data/cache';
import { CsvMarketData } from '../adapters/market-data/csv';
import type { MarketDataWarning } from '../adapters/market-data/http';
import type { MarketDataPort, SecretsPort } from '../ports';
import { ENV } from './env';

/** Values of MARKET_DATA_SOURCE / --market-data. */
export const MARKET_DATA_SOURCES = ['csv', 'alphavantage', 'alpaca'] as const;
/** A supported market-data source. */
export type MarketDataSource = (typeof MARKET_DATA_SOURCES)[number];

/**
 * Reads a market-data source name; unset or '' → `csv`.
 * @param what how to name the setting in the error, e.g. `MARKET_DATA_SOURCE` or `--market-data`.
 * @throws Error `MARKET_DATA_SOURCE must be one of csv, alphavantage, alpaca, got "yahoo"`.
 */
export function parseMarketDataSource(value: string | undefined, what: string = ENV.marketDataSource): MarketDataSource {
  if (value === undefined || value === '') return 'csv';
  if ((MARKET_DATA_SOURCES as readonly string[]).includes(value)) return value as MarketDataSource;
  throw new Error(`${what} must be one of ${MARKET_DATA_SOURCES.join(', ')}, got ${JSON.stringify(value)}`);
}

/**
 * Reads ALPHAVANTAGE_ADJUSTED: `true` → true; unset, '' or `false` → false.
 * @throws Error naming the variable and the value for anything else.
 */
export function parseAdjustedFlag(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`${ENV.alphaVantageAdjusted} must be "true" or "false", got ${JSON.stringify(value)}`);
}

/**
 * The symbols an API source lists: the universe (from `symbols` when given, else the strategy
 * config's `universe`) plus the benchmark, sorted, without duplicates.
 * @throws Error when neither names a universe: an API cannot list "every symbol".
 */
export function apiSourceSymbols(source: MarketDataSource, config: Pick<StrategyConfig, 'universe' | 'benchmark'>, symbols?: readonly string[]): string[] {
  const universe = symbols ?? config.universe;
  if (!universe || universe.length === 0) {
    throw new Error(
      `market data source ${source} needs a universe: an API cannot list every symbol. ` +
        'Set "universe" in the strategy config (STRATEGY_CONFIG, or the CDK context strategyConfig), or --symbols in a local run',
    );
  }
  return [...new Set([...universe, config.benchmark])].sort();
}

/** What createMarketData needs. Only the fields of the chosen source are used. */
export interface MarketDataWiring {
  source: MarketDataSource;
  /** Folder of daily CSVs (`csv`). */
  dataDir?: string;
  /** Where ALPHAVANTAGE_BASE_URL, ALPHAVANTAGE_ADJUSTED and APCA_API_DATA_URL are read. */
  env: NodeJS.ProcessEnv;
  /** Keys (API sources): ALPHAVANTAGE_API_KEY, or APCA_API_KEY_ID / APCA_API_SECRET_KEY. */
  credentials?: SecretsPort;
  /** The symbols `listSymbols()` returns (API sources), see apiSourceSymbols. */
  symbols?: readonly string[];
  /** Cache of fetched bars (API sources). */
  cache?: BarCache;
  /** Retries, give-ups and cache problems (API sources). */
  onWarning?: (warning: MarketDataWarning) => void;
  /** Test seams (API sources): fetch, timers, randomness, the present. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => Date;
}

/**
 * The adapter for `wiring.source`.
 * @throws Error naming what is missing: `dataDir` for csv; `credentials` or `symbols` for an API
 *   source; an invalid ALPHAVANTAGE_BASE_URL / APCA_API_DATA_URL / ALPHAVANTAGE_ADJUSTED.
 */
export function createMarketData(wiring: MarketDataWiring): MarketDataPort {
  if (wiring.source === 'csv') {
    if (!wiring.dataDir) throw new Error(`market data source csv needs a data directory (${ENV.dataDir} / --data-dir)`);
    return new CsvMarketData({ dataDir: wiring.dataDir });
  }
  if (!wiring.credentials) throw new Error(`market data source ${wiring.source} needs a credentials source`);
  if (!wiring.symbols) throw new Error(`market data source ${wiring.source} needs the list of symbols (universe and benchmark)`);
  const common = {
    credentials: wiring.credentials,
    symbols: wiring.symbols,
    ...(wiring.cache ? { cache: wiring.cache } : {}),
    ...(wiring.onWarning ? { onWarning: wiring.onWarning } : {}),
    ...(wiring.fetch ? { fetch: wiring.fetch } : {}),
    ...(wiring.sleep ? { sleep: wiring.sleep } : {}),
    ...(wiring.random ? { random: wiring.random } : {}),
    ...(wiring.now ? { now: wiring.now } : {}),
  };
  if (wiring.source === 'alphavantage') {
    return new AlphaVantageMarketData({
      ...common,
      baseUrl: wiring.env[ENV.alphaVantageBaseUrl],
      adjusted: parseAdjustedFlag(wiring.env[ENV.alphaVantageAdjusted]),
    });
  }
  return new AlpacaBarsMarketData({ ...common, baseUrl: wiring.env[ENV.alpacaDataUrl] });
}
