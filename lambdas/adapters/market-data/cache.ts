/**
 * Cache of daily bars fetched from a market-data API, so a daily run asks the API only for the
 * last few bars instead of the whole history.
 *
 * Shapes. One entry per (source, symbol): the rows as raw text (exactly what the adapter turned the
 * API's answer into, so the core validator judges cached and fresh rows alike), the instant of the
 * load that wrote it, and whether that load was a full history load or an incremental one.
 *
 * Implementations:
 * - `FileBarCache` (local runs): `<dir>/<source>/<SYMBOL>.json`, written atomically (a temp file in
 *   the same folder, then rename), so a crash never leaves half a file;
 * - `MemoryBarCache` (tests, and a process that wants no persistence);
 * - `DynamoBarCache` (AWS; lambdas/adapters/dynamodb/market-data-cache.ts, table MarketDataCache).
 *
 * The on-disk / in-table document is `CACHE_DOCUMENT_FORMAT` 1:
 * `{"format":1,"source","symbol","fetchedAt","fullLoadAt","lastLoad","rows":[[date,open,high,low,close,volume],…]}`
 * (rows as arrays to keep a 20-year history small). A document of any other shape is refused with an
 * error naming where it came from; adapters then log a warning and reload the full history.
 *
 * `loadThroughCache` is the incremental protocol both API adapters follow (see its doc).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { RawBarRow } from '../../core/bars';
import { newYorkDate } from '../../core/calendar';
import type { MarketDataWarning } from './http';

/**
 * One cached daily row: every field raw text, as the adapter produced it ('' when the API had none);
 * `date` is the session date `YYYY-MM-DD` (America/New_York), or the API's text when it was not one.
 * The source line is not kept: it is the row's position, renumbered on every load.
 */
export type CachedBarRow = Omit<RawBarRow, 'line'>;

/** How the last load of an entry got its rows. */
export type CacheLoadKind = 'full' | 'incremental';

/** One cache entry. */
export interface CachedBars {
  /** Data source, lower-case, e.g. `alphavantage`, `alphavantage-adjusted`, `alpaca`. */
  source: string;
  /** Ticker, upper-case, e.g. `AAPL`. */
  symbol: string;
  /** Rows ascending by date; only sessions before the New York date of `fetchedAt` (see loadThroughCache). */
  rows: CachedBarRow[];
  /** ISO-8601 UTC instant of the load that wrote this entry. */
  fetchedAt: string;
  /** ISO-8601 UTC instant of the last full history load behind these rows. */
  fullLoadAt: string;
  /** Whether the load that wrote this entry was a full history load or an incremental one. */
  lastLoad: CacheLoadKind;
}

/** Storage of cache entries. */
export interface BarCache {
  /**
   * The entry of (source, symbol), or undefined when there is none.
   * @throws Error naming the entry when it exists but cannot be read or is not a format-1 document.
   */
  get(source: string, symbol: string): Promise<CachedBars | undefined>;
  /**
   * Stores (replaces) the entry of (entry.source, entry.symbol).
   * @throws Error when it cannot be written (the message names the entry).
   */
  put(entry: CachedBars): Promise<void>;
}

/** Version of the stored document. */
export const CACHE_DOCUMENT_FORMAT = 1;

/** Source names: lower-case letters, digits and `-`. */
const SOURCE = /^[a-z0-9][a-z0-9-]{0,39}$/;
/** Tickers, as the strategy config spells them. */
const SYMBOL = /^[A-Z][A-Z0-9.]{0,9}$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** The stored document (format 1). */
export const CacheDocumentSchema = z.object({
  format: z.literal(CACHE_DOCUMENT_FORMAT),
  source: z.string().regex(SOURCE),
  symbol: z.string().regex(SYMBOL),
  fetchedAt: z.string().regex(ISO_INSTANT),
  fullLoadAt: z.string().regex(ISO_INSTANT),
  lastLoad: z.enum(['full', 'incremental']),
  rows: z.array(z.tuple([z.string(), z.string(), z.string(), z.string(), z.string(), z.string()])),
});

/**
 * Checks a (source, symbol) key.
 * @throws Error `cache source must be lower-case letters, digits and "-", got "Alpha"` (or the symbol's rule).
 */
export function assertCacheKey(source: string, symbol: string): void {
  if (typeof source !== 'string' || !SOURCE.test(source)) {
    throw new Error(`cache source must be 1-40 lower-case letters, digits and "-", got ${JSON.stringify(source)}`);
  }
  if (typeof symbol !== 'string' || !SYMBOL.test(symbol)) {
    throw new Error(`cache symbol must be a ticker (A-Z, 0-9, '.'), got ${JSON.stringify(symbol)}`);
  }
}

/** The stored JSON text of an entry. @throws Error when the key or an instant is invalid. */
export function encodeCacheDocument(entry: CachedBars): string {
  assertCacheKey(entry.source, entry.symbol);
  const document = {
    format: CACHE_DOCUMENT_FORMAT,
    source: entry.source,
    symbol: entry.symbol,
    fetchedAt: entry.fetchedAt,
    fullLoadAt: entry.fullLoadAt,
    lastLoad: entry.lastLoad,
    rows: entry.rows.map((r) => [r.date, r.open, r.high, r.low, r.close, r.volume]),
  };
  const checked = CacheDocumentSchema.safeParse(document);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new Error(`cache entry ${entry.source}/${entry.symbol}: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'is invalid'}`);
  }
  return JSON.stringify(document);
}

/**
 * Parses stored JSON text back into an entry.
 * @param where names the file or item in error messages.
 * @param expected the key the caller asked for: a document for another key is refused.
 * @throws Error naming `where` and the problem (not JSON; field path and rule; other key).
 */
export function decodeCacheDocument(text: string, where: string, expected: { source: string; symbol: string }): CachedBars {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`market-data cache ${where} is not JSON: ${(error as Error).message}`);
  }
  const parsed = CacheDocumentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`market-data cache ${where} is not a format-${CACHE_DOCUMENT_FORMAT} document: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'invalid'}`);
  }
  const doc = parsed.data;
  if (doc.source !== expected.source || doc.symbol !== expected.symbol) {
    throw new Error(`market-data cache ${where} holds ${doc.source}/${doc.symbol}, expected ${expected.source}/${expected.symbol}`);
  }
  return {
    source: doc.source,
    symbol: doc.symbol,
    fetchedAt: doc.fetchedAt,
    fullLoadAt: doc.fullLoadAt,
    lastLoad: doc.lastLoad,
    rows: doc.rows.map(([date, open, high, low, close, volume]) => ({ date, open, high, low, close, volume })),
  };
}

/** Options of FileBarCache. */
export interface FileBarCacheOptions {
  /** Root folder, e.g. `<stateDir>/market-data-cache`; created on first write. */
  dir: string;
}

/** The folder of the local cache under a state directory. */
export const LOCAL_CACHE_FOLDER = 'market-data-cache';

/**
 * BarCache over JSON files: `<dir>/<source>/<SYMBOL>.json`. A write goes to a uniquely named temp
 * file in the same folder and is renamed over the target (atomic on POSIX file systems), so readers
 * see the old or the new document, never a torn one.
 */
export class FileBarCache implements BarCache {
  readonly dir: string;

  /** @throws Error when `dir` is not a non-empty string. */
  constructor(options: FileBarCacheOptions) {
    if (typeof options?.dir !== 'string' || options.dir.trim() === '') {
      throw new Error(`market-data cache dir must be a non-empty path, got ${JSON.stringify(options?.dir)}`);
    }
    this.dir = options.dir;
  }

  /** Path of an entry's file. @throws Error for an invalid key. */
  fileOf(source: string, symbol: string): string {
    assertCacheKey(source, symbol);
    return join(this.dir, source, `${symbol}.json`);
  }

  /** @throws Error naming the file when it cannot be read or is not a format-1 document for this key. */
  async get(source: string, symbol: string): Promise<CachedBars | undefined> {
    const file = this.fileOf(source, symbol);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`cannot read market-data cache ${file}: ${(error as Error).message}`);
    }
    return decodeCacheDocument(text, file, { source, symbol });
  }

  /** Writes atomically (temp file + rename). @throws Error naming the file. */
  async put(entry: CachedBars): Promise<void> {
    const file = this.fileOf(entry.source, entry.symbol);
    const text = `${encodeCacheDocument(entry)}\n`;
    const temp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
    try {
      await mkdir(join(this.dir, entry.source), { recursive: true });
      await writeFile(temp, text, 'utf8');
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw new Error(`cannot write market-data cache ${file}: ${(error as Error).message}`);
    }
  }
}

/** BarCache in memory (tests; a process without persistence). Entries are copied in and out. */
export class MemoryBarCache implements BarCache {
  /** Stored documents by `source#SYMBOL` (JSON text, so nothing is shared with callers). */
  readonly documents = new Map<string, string>();

  async get(source: string, symbol: string): Promise<CachedBars | undefined> {
    assertCacheKey(source, symbol);
    const text = this.documents.get(`${source}#${symbol}`);
    return text === undefined ? undefined : decodeCacheDocument(text, `memory ${source}#${symbol}`, { source, symbol });
  }

  async put(entry: CachedBars): Promise<void> {
    this.documents.set(`${entry.source}#${entry.symbol}`, encodeCacheDocument(entry));
  }
}

/** Result of comparing fresh rows with cached ones. */
export type MergeOutcome =
  | { kind: 'merged'; rows: CachedBarRow[] }
  /** The fresh rows start after the last cached date (or are empty): nothing proves the cache still holds. */
  | { kind: 'no-overlap' }
  /** A date both cover disagrees (or a date is in one and not the other). */
  | { kind: 'changed'; date: string; field: keyof CachedBarRow; cached: string; fresh: string };

const FIELDS = ['date', 'open', 'high', 'low', 'close', 'volume'] as const;

/** Sorts rows ascending by date text (stable). */
export function sortRowsByDate<T extends { date: string }>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

/**
 * Merges recent rows into cached ones. Both ascending by date. The fresh rows must reach back into
 * the cache (their first date ≤ the last cached date); on the dates both cover, they must hold the
 * same dates with the same text in every field. Then the result is the cached rows before the first
 * fresh date followed by all fresh rows. Pure.
 * @returns `merged`, `no-overlap`, or `changed` with the first date and field that disagree
 *   (`date` when a date is missing on one side; `''` stands for "no row").
 */
export function mergeIncremental(cached: readonly CachedBarRow[], fresh: readonly CachedBarRow[]): MergeOutcome {
  const last = cached[cached.length - 1];
  const first = fresh[0];
  if (last === undefined || first === undefined || first.date > last.date) return { kind: 'no-overlap' };
  const cachedWindow = cached.filter((r) => r.date >= first.date);
  const freshWindow = fresh.filter((r) => r.date <= last.date);
  const n = Math.max(cachedWindow.length, freshWindow.length);
  for (let i = 0; i < n; i++) {
    const c = cachedWindow[i];
    const f = freshWindow[i];
    if (c === undefined || f === undefined || c.date !== f.date) {
      const date = [c?.date, f?.date].filter((d): d is string => d !== undefined).sort()[0] ?? '';
      return { kind: 'changed', date, field: 'date', cached: c?.date ?? '', fresh: f?.date ?? '' };
    }
    for (const field of FIELDS) {
      if (c[field] !== f[field]) return { kind: 'changed', date: c.date, field, cached: c[field], fresh: f[field] };
    }
  }
  return { kind: 'merged', rows: [...cached.filter((r) => r.date < first.date), ...fresh] };
}

/** What loadThroughCache needs from an adapter. */
export interface CachedLoad {
  source: string;
  symbol: string;
  /** Undefined: no cache, every load is a full load. */
  cache: BarCache | undefined;
  /** The present (real time, not a simulated clock): decides which rows are final enough to cache. */
  now: Date;
  /** The whole history, any order. */
  full(): Promise<CachedBarRow[]>;
  /** Recent rows reaching back into `cached` (e.g. the last 100, or since the last cached date), any order. */
  recent(cached: CachedBars): Promise<CachedBarRow[]>;
  /** Where cache problems and resets are reported. */
  warn(warning: MarketDataWarning): void;
}

/**
 * The incremental protocol of the API adapters:
 * 1. no usable cache entry (none, or unreadable — a warning) → full load;
 * 2. otherwise a recent load, merged with `mergeIncremental`; when the fresh rows do not reach back
 *    into the cache, or disagree with it on a date both cover (an adjusted history rewritten after a
 *    split or dividend, a corrected bar), the cache is discarded and the full history loaded again
 *    (warning `CACHE_RESET` naming the date and field);
 * 3. the rows dated before the New York date of `now` are stored (`lastLoad` full/incremental,
 *    `fetchedAt` now). Today's row, if the API has one, is returned but never cached: during the
 *    session it is still forming. A failed write is a warning, not an error.
 * Errors of `full` / `recent` (MarketDataError) propagate.
 * @returns every row, ascending by date.
 */
export async function loadThroughCache(load: CachedLoad): Promise<CachedBarRow[]> {
  const { source, symbol, cache, now } = load;
  let cached: CachedBars | undefined;
  if (cache) {
    try {
      cached = await cache.get(source, symbol);
    } catch (error) {
      load.warn({ code: 'CACHE_READ_FAILED', source, symbol, message: `${(error as Error).message}; loading the full history` });
    }
  }
  let rows: CachedBarRow[];
  let kind: CacheLoadKind;
  let fullLoadAt = now.toISOString();
  if (cached === undefined || cached.rows.length === 0) {
    rows = sortRowsByDate(await load.full());
    kind = 'full';
  } else {
    const fresh = sortRowsByDate(await load.recent(cached));
    const outcome = mergeIncremental(cached.rows, fresh);
    if (outcome.kind === 'merged') {
      rows = outcome.rows;
      kind = 'incremental';
      fullLoadAt = cached.fullLoadAt;
    } else {
      const why =
        outcome.kind === 'no-overlap'
          ? `the recent rows (${fresh.length ? `from ${fresh[0]!.date}` : 'none'}) do not reach back to the last cached date ${cached.rows.at(-1)!.date}`
          : `the cached ${outcome.field} of ${outcome.date} was ${JSON.stringify(outcome.cached)}, the API now says ${JSON.stringify(outcome.fresh)} (history rewritten, e.g. re-adjusted after a split or dividend)`;
      load.warn({ code: 'CACHE_RESET', source, symbol, message: `${why}; discarding the cache and loading the full history` });
      rows = sortRowsByDate(await load.full());
      kind = 'full';
    }
  }
  if (cache) {
    const today = newYorkDate(now);
    const final = rows.filter((r) => r.date < today);
    if (final.length > 0) {
      try {
        await cache.put({ source, symbol, rows: final, fetchedAt: now.toISOString(), fullLoadAt, lastLoad: kind });
      } catch (error) {
        load.warn({ code: 'CACHE_WRITE_FAILED', source, symbol, message: (error as Error).message });
      }
    }
  }
  return rows;
}
