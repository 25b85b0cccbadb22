/**
 * Daily bars from Alpaca's Market Data API v2 as a MarketDataPort.
 *
 * Request (one symbol, paged):
 *   GET {base}/v2/stocks/{symbol}/bars?timeframe=1Day&adjustment=all&start=YYYY-MM-DD&end=<RFC-3339>&limit=10000[&page_token=…]
 * with the headers `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` (the same key pair as the trading
 * adapter: APCA_API_KEY_ID / APCA_API_SECRET_KEY from the environment locally, from the API-keys
 * secret in AWS). `base` is `APCA_API_DATA_URL`, default https://data.alpaca.markets (the data API
 * has one host for paper and live accounts).
 * - `adjustment=all`: prices and volumes adjusted for splits and dividends by Alpaca.
 * - `end` = 16 minutes before now: an account without a paid data plan may not ask for the latest
 *   15 minutes of consolidated (SIP) data, and without `end` Alpaca would fall back to the thin IEX
 *   feed for it. Daily bars of finished sessions are unaffected.
 * - pages: `next_page_token` is followed until it is null (or absent / ''); a token seen twice, or
 *   more than MAX_BAR_PAGES pages, is a MarketDataError rather than an endless loop.
 * - answers: `bars` is an array (one symbol), `null` (no bars in the range) or an object keyed by
 *   symbol (the multi-symbol shape; the entry of the requested symbol is used, `{}` = none). Each bar
 *   `{t, o, h, l, c, v, n, vw}`: `t` is the RFC-3339 UTC instant that starts the bar (04:00Z or 05:00Z,
 *   i.e. midnight in New York); it becomes the NYSE session date in America/New_York with luxon
 *   (`2022-02-01T05:00:00Z` → `2022-02-01`). A `t` that is not an RFC-3339 instant with an offset is
 *   passed through as the date text (the validator reports BAD_DATE). o/h/l/c/v become plain decimal
 *   text; a missing one becomes '' (MISSING_FIELD). Rows come back ascending by date whatever the
 *   page order (`sort=desc` answers are re-sorted).
 * - retries: the policy of http.ts (429 — honouring Retry-After / X-RateLimit-Reset up to 20 s —,
 *   5xx, timeouts, network errors; 8 attempts, equal-jitter backoff from 250 ms capped at 20 s), then
 *   MarketDataError. Other 4xx (401/403 bad keys or plan, 422 bad symbol) → MarketDataError at once.
 * - rate: every request takes a token from a TokenBucket (rate-limiter.ts of the trading adapter;
 *   default 200 requests per minute, the basic data plan's limit).
 *
 * Cache (cache.ts): the first load asks from `historyStart` (default: 6 years before today, more
 * than the 274 sessions the regime filter needs). Later loads ask from the **last cached date**
 * (one session of overlap rather than the day after it: with `adjustment=all` a split or dividend
 * re-prices every earlier bar, and the overlapping bar is how the change is seen). When the overlap
 * disagrees, the cache is discarded and the history loaded again.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { isCalendarDate, NEW_YORK_ZONE } from '../../core/calendar';
import { MarketDataError, type SecretsPort } from '../../ports';
import { alpacaKeysFrom, type AlpacaKeys } from '../broker/alpaca/config';
import { TokenBucket, type TokenBucketOptions } from '../broker/alpaca/rate-limiter';
import { ApiMarketData, fieldText, type ApiMarketDataOptions } from './api-market-data';
import type { CachedBarRow, CachedBars } from './cache';
import { getJson, realSleep, resolveApiBaseUrl, ThrottleBreaker, withRetries, type RetryRuntime } from './http';

/** Alpaca's market-data origin. */
export const ALPACA_DATA_DEFAULT_BASE_URL = 'https://data.alpaca.markets';
/** Variable naming the market-data origin. */
export const ALPACA_DATA_URL_VARIABLE = 'APCA_API_DATA_URL';
/** Source name in warnings and the cache. */
export const ALPACA_BARS_SOURCE = 'alpaca';
/** Bars per page asked for (Alpaca's maximum). */
export const ALPACA_BARS_PAGE_LIMIT = 10_000;
/** Safety stop for pagination. */
export const MAX_BAR_PAGES = 1_000;
/** Default depth of a full history load, years before today (New York). */
export const DEFAULT_HISTORY_YEARS = 6;
/** `end` is this many minutes before now (free plans may not query the latest 15 minutes of SIP data). */
export const RECENT_DATA_LAG_MINUTES = 16;

const RFC3339_OFFSET = /(?:Z|[+-]\d{2}:?\d{2})$/i;

/** One bar as sent; fields are read leniently (the core validates them). */
const BarObjectSchema = z.record(z.string(), z.unknown());

/** One page of GET /v2/stocks/{symbol}/bars (also accepts the multi-symbol `bars` object). */
export const AlpacaBarsPageSchema = z.object({
  bars: z.union([z.array(BarObjectSchema), z.record(z.string(), z.array(BarObjectSchema).nullable())]).nullable(),
  next_page_token: z.string().nullable().optional(),
  symbol: z.string().optional(),
});

/** A parsed page: the requested symbol's rows (page order) and the token of the next page. */
export interface AlpacaBarsPage {
  rows: CachedBarRow[];
  /** null when this was the last page. */
  nextPageToken: string | null;
}

/**
 * The NYSE session date (America/New_York) of an Alpaca bar time `t`, or `t`'s own text when it is
 * not an RFC-3339 instant with an explicit offset (so the validator can quote it as BAD_DATE).
 */
export function sessionDateOf(t: unknown): string {
  const text = fieldText(t);
  if (!RFC3339_OFFSET.test(text.trim())) return text;
  const at = DateTime.fromISO(text.trim(), { setZone: true });
  if (!at.isValid) return text;
  return at.setZone(NEW_YORK_ZONE).toISODate() ?? text;
}

/**
 * Parses one bars page for `symbol` (module doc: shapes, dates, fields).
 * @param label request description for messages, e.g. `GET /v2/stocks/AAPL/bars (start=2020-01-01)`.
 * @throws MarketDataError(symbol) naming the path and value when the body is not a bars page, or
 *   when it names another symbol.
 */
export function parseAlpacaBarsPage(symbol: string, label: string, body: unknown): AlpacaBarsPage {
  const parsed = AlpacaBarsPageSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String) ?? [];
    const value = path.reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), body);
    throw new MarketDataError(
      symbol,
      `${label}: unexpected answer: ${path.join('.') || '(root)'}=${value === undefined ? 'missing' : JSON.stringify(value)?.slice(0, 120)}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const page = parsed.data;
  if (page.symbol !== undefined && page.symbol !== symbol) {
    throw new MarketDataError(symbol, `${label}: the answer is for ${JSON.stringify(page.symbol)}, not ${symbol}`);
  }
  const bars = page.bars === null ? [] : Array.isArray(page.bars) ? page.bars : (page.bars[symbol] ?? []);
  return {
    rows: bars.map((bar) => ({
      date: sessionDateOf(bar.t),
      open: fieldText(bar.o),
      high: fieldText(bar.h),
      low: fieldText(bar.l),
      close: fieldText(bar.c),
      volume: fieldText(bar.v),
    })),
    nextPageToken: page.next_page_token ? page.next_page_token : null,
  };
}

/** Options of AlpacaBarsMarketData. */
export interface AlpacaBarsMarketDataOptions extends ApiMarketDataOptions, RetryRuntime {
  /** Source of APCA_API_KEY_ID / APCA_API_SECRET_KEY. */
  credentials: SecretsPort;
  /** Origin, e.g. from APCA_API_DATA_URL; undefined/blank → https://data.alpaca.markets. */
  baseUrl?: string | undefined;
  /** fetch implementation (tests inject one). Default global fetch. */
  fetch?: typeof fetch;
  /** Per-request timeout, ms. Default 30 000. */
  timeoutMs?: number;
  /** First date of a full history load, `YYYY-MM-DD`. Default DEFAULT_HISTORY_YEARS years before today (New York). */
  historyStart?: string;
  /** Client-side rate limit (default 200 requests per minute). Ignored when `bucket` is given. */
  rateLimit?: TokenBucketOptions;
  /** A bucket shared with other clients of the same key. */
  bucket?: TokenBucket;
}

/**
 * MarketDataPort over Alpaca's daily bars (module doc), through the bar cache. `listSymbols()` is
 * the configured list (see api-market-data.ts).
 */
export class AlpacaBarsMarketData extends ApiMarketData {
  readonly source = ALPACA_BARS_SOURCE;
  /** Origin the adapter talks to. */
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  /** Fails fast once these keys kept being rate-limited (see ThrottleBreaker). */
  private readonly breaker: ThrottleBreaker;
  private readonly bucket: TokenBucket;
  private keys: Promise<AlpacaKeys> | undefined;

  /**
   * @throws Error for an empty/invalid symbol list, an unacceptable base URL (naming
   *   APCA_API_DATA_URL) or a historyStart that is not a date.
   */
  constructor(private readonly options: AlpacaBarsMarketDataOptions) {
    super(options);
    this.baseUrl = resolveApiBaseUrl(ALPACA_DATA_URL_VARIABLE, options.baseUrl, ALPACA_DATA_DEFAULT_BASE_URL);
    if (options.historyStart !== undefined && !isCalendarDate(options.historyStart)) {
      throw new Error(`historyStart must be a date YYYY-MM-DD, got ${JSON.stringify(options.historyStart)}`);
    }
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.breaker = options.breaker ?? new ThrottleBreaker(() => this.now().getTime());
    this.bucket =
      options.bucket ?? new TokenBucket(options.rateLimit, { now: () => this.now().getTime(), sleep: options.sleep ?? realSleep });
  }

  protected fetchFull(symbol: string): Promise<CachedBarRow[]> {
    const start =
      this.options.historyStart ??
      DateTime.fromJSDate(this.now(), { zone: NEW_YORK_ZONE }).minus({ years: DEFAULT_HISTORY_YEARS }).toISODate()!;
    return this.fetchBars(symbol, start);
  }

  /** From the last cached session date (a cache holding no real date falls back to a full load). */
  protected fetchRecent(symbol: string, cached: CachedBars): Promise<CachedBarRow[]> {
    const last = cached.rows.findLast((row) => isCalendarDate(row.date));
    return last ? this.fetchBars(symbol, last.date) : this.fetchFull(symbol);
  }

  /** Every bar of `symbol` from `start` to 16 minutes ago, all pages, page order. */
  private async fetchBars(symbol: string, start: string): Promise<CachedBarRow[]> {
    const keys = await this.credentials();
    const end = new Date(this.now().getTime() - RECENT_DATA_LAG_MINUTES * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const path = `/v2/stocks/${encodeURIComponent(symbol)}/bars`;
    const rows: CachedBarRow[] = [];
    const seen = new Set<string>();
    let token: string | null = null;
    for (let page = 1; ; page++) {
      if (page > MAX_BAR_PAGES) throw new MarketDataError(symbol, `GET ${path}: more than ${MAX_BAR_PAGES} pages; giving up`);
      const query = new URLSearchParams({
        timeframe: '1Day',
        adjustment: 'all',
        start,
        end,
        limit: String(ALPACA_BARS_PAGE_LIMIT),
      });
      if (token !== null) query.set('page_token', token);
      const label = `GET ${path} (start=${start}${page > 1 ? `, page ${page}` : ''})`;
      const body = await withRetries(
        { source: this.source, symbol, label },
        async () => {
          await this.bucket.take();
          const response = await getJson({
            fetch: this.fetchImpl,
            url: `${this.baseUrl}${path}?${query.toString()}`,
            headers: { 'APCA-API-KEY-ID': keys.keyId, 'APCA-API-SECRET-KEY': keys.secretKey },
            symbol,
            label,
            now: () => this.now().getTime(),
            ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
          });
          return response.body;
        },
        { ...this.options, breaker: this.breaker, onWarning: (warning) => this.warn(warning) },
      );
      const parsed = parseAlpacaBarsPage(symbol, label, body);
      rows.push(...parsed.rows);
      if (parsed.nextPageToken === null) return rows;
      if (seen.has(parsed.nextPageToken)) {
        throw new MarketDataError(symbol, `${label}: Alpaca sent the page token ${JSON.stringify(parsed.nextPageToken)} twice; giving up`);
      }
      seen.add(parsed.nextPageToken);
      token = parsed.nextPageToken;
    }
  }

  /** The key pair, read once per instance. @throws Error naming the missing variables. */
  private credentials(): Promise<AlpacaKeys> {
    if (!this.keys) {
      const pending = this.options.credentials.getCredentials().then((c) => alpacaKeysFrom(c, 'the credentials source (environment locally, the API-keys secret in AWS)'));
      this.keys = pending;
      pending.catch(() => {
        if (this.keys === pending) this.keys = undefined;
      });
    }
    return this.keys;
  }
}
