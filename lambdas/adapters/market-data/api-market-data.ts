/**
 * What the API-backed market-data adapters (Alpha Vantage, Alpaca bars) have in common: the symbol
 * list comes from configuration, loads go through the bar cache (cache.ts, `loadThroughCache`), and
 * one instance answers repeated requests for a symbol from memory for a short while.
 *
 * Why `listSymbols()` returns a configured list: an API cannot list "every symbol it has" the way
 * a folder of CSV files can. The list is the strategy's universe plus its benchmark (the fetch step
 * loads the benchmark only when the source lists it); the wiring passes `config.universe` and
 * `config.benchmark`.
 *
 * Why the in-memory reuse is time-bounded: a warm Lambda keeps its adapters between daily runs, so a
 * result is reused for `reuseForMs` (default 10 minutes, enough for one run that reads a symbol
 * several times — the CLI's date check, the fetch step, the paper broker's fills) and fetched again
 * after that.
 */
import Decimal from 'decimal.js';
import type { RawBarRow } from '../../core/bars';
import { MarketDataError, type MarketDataPort } from '../../ports';
import { loadThroughCache, type BarCache, type CachedBarRow, type CachedBars } from './cache';
import { consoleWarning, type MarketDataWarning } from './http';

/** Tickers accepted (same rule as the strategy config's SymbolSchema and the CSV adapter). */
export const API_SYMBOL = /^[A-Z][A-Z0-9.]{0,9}$/;

/**
 * Raw text of a field value from a JSON answer: strings as sent, finite numbers as plain decimal text
 * (never exponent notation, which the core refuses: `1e-7` → `0.0000001`), absent or null as '',
 * anything else as its JSON text (so the validator can quote it).
 */
export function fieldText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return new Decimal(value).toFixed();
  return JSON.stringify(value);
}

/** Default time an instance reuses a symbol's rows from memory, ms. */
export const DEFAULT_REUSE_MS = 10 * 60_000;

/** Options every API adapter takes. */
export interface ApiMarketDataOptions {
  /**
   * The symbols `listSymbols()` returns (the strategy's universe and its benchmark). Must be
   * non-empty; duplicates are dropped. `loadDailyRows` also serves symbols not in the list.
   */
  symbols: readonly string[];
  /** Where fetched bars are kept between runs. Default none: every load is a full history load. */
  cache?: BarCache;
  /** The present (real time). Default `() => new Date()`. Decides what is final enough to cache. */
  now?: () => Date;
  /** How long an instance reuses a symbol's rows from memory, ms. Default 10 minutes; 0 disables it. */
  reuseForMs?: number;
  /** Retries, give-ups and cache problems. Default one line on stderr. Errors thrown by it are ignored. */
  onWarning?: (warning: MarketDataWarning) => void;
}

/**
 * Base of the API adapters: implements MarketDataPort on top of `fetchFull` / `fetchRecent`.
 * Rows come back ascending by date with `line` = 1-based position (the "line" of an API row).
 */
export abstract class ApiMarketData implements MarketDataPort {
  /** Cache source key of this adapter's data, e.g. `alphavantage-adjusted`. */
  abstract readonly source: string;
  protected readonly symbols: readonly string[];
  protected readonly cache: BarCache | undefined;
  protected readonly now: () => Date;
  private readonly reuseForMs: number;
  private readonly onWarning: (warning: MarketDataWarning) => void;
  private readonly recent = new Map<string, { at: number; rows: Promise<readonly RawBarRow[]> }>();

  /** @throws Error naming the option when `symbols` is empty or holds an invalid ticker, or reuseForMs < 0. */
  constructor(options: ApiMarketDataOptions) {
    const symbols = [...new Set(options?.symbols ?? [])];
    if (symbols.length === 0) {
      throw new Error('symbols must list at least one ticker (an API cannot list every symbol: pass the strategy universe and benchmark)');
    }
    const bad = symbols.find((s) => typeof s !== 'string' || !API_SYMBOL.test(s));
    if (bad !== undefined) throw new Error(`symbols: ${JSON.stringify(bad)} is not a valid ticker (upper-case A-Z, 0-9, '.')`);
    this.symbols = symbols.sort();
    const reuse = options.reuseForMs ?? DEFAULT_REUSE_MS;
    if (!(reuse >= 0)) throw new Error(`reuseForMs must be >= 0, got ${reuse}`);
    this.reuseForMs = reuse;
    this.cache = options.cache;
    this.now = options.now ?? (() => new Date());
    const sink = options.onWarning ?? consoleWarning;
    this.onWarning = (warning) => {
      try {
        sink(warning);
      } catch {
        // a warning that cannot be reported must not change the load
      }
    };
  }

  /** The configured symbols (universe and benchmark), sorted ascending, without duplicates. */
  async listSymbols(): Promise<string[]> {
    return [...this.symbols];
  }

  /**
   * Every daily row of `symbol`, ascending by date, each field raw text ('' when the API had none),
   * `line` = 1-based position. Goes through the cache (see cache.ts `loadThroughCache`).
   * @throws MarketDataError(symbol, …) when the symbol is not a valid ticker or the API cannot
   *   deliver (refusal, unusable answer, retries exhausted — see the adapter).
   * @throws Error for missing credentials (a configuration problem, not a data problem).
   */
  async loadDailyRows(symbol: string): Promise<RawBarRow[]> {
    if (typeof symbol !== 'string' || !API_SYMBOL.test(symbol)) {
      throw new MarketDataError(String(symbol), `${JSON.stringify(symbol)} is not a valid symbol (upper-case A-Z, 0-9, '.')`);
    }
    const nowMs = this.now().getTime();
    let entry = this.recent.get(symbol);
    if (entry === undefined || nowMs - entry.at >= this.reuseForMs || nowMs < entry.at) {
      const rows = this.load(symbol);
      const created = { at: nowMs, rows };
      entry = created;
      this.recent.set(symbol, created);
      // A failed load is not reused: the next call tries again.
      rows.catch(() => {
        if (this.recent.get(symbol) === created) this.recent.delete(symbol);
      });
    }
    const rows = await entry.rows;
    return rows.map((row) => ({ ...row }));
  }

  /** Reports a warning through `onWarning`. */
  protected warn(warning: MarketDataWarning): void {
    this.onWarning(warning);
  }

  /** The whole available history of `symbol` (any order). @throws MarketDataError. */
  protected abstract fetchFull(symbol: string): Promise<CachedBarRow[]>;
  /** Recent rows of `symbol` reaching back into `cached` (any order). @throws MarketDataError. */
  protected abstract fetchRecent(symbol: string, cached: CachedBars): Promise<CachedBarRow[]>;

  private async load(symbol: string): Promise<readonly RawBarRow[]> {
    const rows = await loadThroughCache({
      source: this.source,
      symbol,
      cache: this.cache,
      now: this.now(),
      full: () => this.fetchFull(symbol),
      recent: (cached) => this.fetchRecent(symbol, cached),
      warn: (warning) => this.warn(warning),
    });
    return Object.freeze(rows.map((row, i) => Object.freeze({ line: i + 1, ...row })));
  }
}
