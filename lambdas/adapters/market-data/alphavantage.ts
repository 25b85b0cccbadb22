/**
 * Alpha Vantage (https://www.alphavantage.co/documentation/): daily bars as a MarketDataPort, plus
 * typed clients for news sentiment and company fundamentals.
 *
 * Requests: `GET {base}/query?function=…&apikey=…` with
 * | method                          | function                                                                 |
 * |---------------------------------|--------------------------------------------------------------------------|
 * | getDailyRows / loadDailyRows    | TIME_SERIES_DAILY or TIME_SERIES_DAILY_ADJUSTED, `symbol`, `outputsize=full|compact`, `datatype=json` |
 * | getNewsSentiment                | NEWS_SENTIMENT, `tickers`, optional `topics`, `time_from`, `time_to`, `sort`, `limit` |
 * | getCompanyOverview              | OVERVIEW, `symbol`                                                       |
 * `base` is `ALPHAVANTAGE_BASE_URL` (default https://www.alphavantage.co). The key is
 * `ALPHAVANTAGE_API_KEY`: an environment variable locally, a field of the API-keys secret in AWS
 * (both through the SecretsPort). It is only ever put in the URL, never in a message.
 *
 * Answers (Alpha Vantage reports most problems with HTTP 200):
 * - the expected data key (`Time Series (Daily)`, `feed`, `Symbol`) present → parsed with zod;
 * - a body with `Note` or `Information` instead of data → throttled (call frequency or daily
 *   limit): retried under the policy of http.ts (8 attempts, equal-jitter backoff from 250 ms, waits
 *   capped at 20 s), then MarketDataError. (`Information` is also how Alpha Vantage answers a free
 *   key asking for a premium function, e.g. TIME_SERIES_DAILY_ADJUSTED; that too ends, after the
 *   retries, in a MarketDataError quoting the message.)
 * - a body with `Error Message` (unknown symbol, bad parameters) → MarketDataError naming the
 *   symbol and quoting the message, no retry;
 * - HTTP 429 / 5xx, timeouts, network errors → retried likewise; other HTTP errors and non-JSON
 *   bodies → MarketDataError at once.
 *
 * Daily rows. Rows come back ascending by date, each field raw text. A day whose object lacks a
 * field under its documented key (e.g. `"open": "r"` where `"1. open"` belongs, as in the kirlut
 * bad-data fixture) gets '' for that field: the row is kept and the core validator reports
 * MISSING_FIELD for that date and field, so nothing is lost and nothing crashes. Numbers sent as
 * JSON numbers become their plain decimal text; other non-string values their JSON text.
 *
 * Adjusted series (`adjusted: true`, TIME_SERIES_DAILY_ADJUSTED). Alpha Vantage gives raw OHLC and
 * volume, an adjusted close (splits and dividends), the dividend and the split coefficient of each
 * day. The adapter returns a fully adjusted bar:
 * - prices: open, high, low and close are multiplied by `factor = adjusted close / close` of the
 *   same day (so close becomes the adjusted close), rounded half-even to 6 decimal places;
 * - volume: multiplied by the product of the split coefficients of all *later* days (a 2:1 split
 *   doubles the share count of every earlier day), i.e. adjusted inversely to the split part of the
 *   price adjustment; dividends do not touch volume;
 * - a day whose close or adjusted close is missing or not a positive number has no factor: its
 *   close field carries the offending text (adjusted close if that is the bad one, else close), so
 *   the validator refuses the row; open/high/low stay raw text (the row is refused as a whole);
 * - a split coefficient that is missing or not a positive number makes every earlier volume
 *   unknowable: MarketDataError naming the symbol, the date, the field and the value.
 *
 * Cache (see cache.ts): the first load asks `outputsize=full` (20+ years); later loads ask
 * `outputsize=compact` (the latest 100 days) and merge; when an overlapping date disagrees with the
 * cache (an adjusted history re-computed after a split or dividend), the cache is discarded and the
 * full history loaded again. Source keys: `alphavantage` and `alphavantage-adjusted`.
 */
import Decimal from 'decimal.js';
import { z } from 'zod';
import { isCalendarDate } from '../../core/calendar';
import { MarketDataError, type SecretsPort } from '../../ports';
import { ApiMarketData, fieldText, type ApiMarketDataOptions } from './api-market-data';
import type { CachedBarRow } from './cache';
import { getJson, resolveApiBaseUrl, ThrottleBreaker, TransientError, withRetries, type RetryRuntime } from './http';

/** Alpha Vantage's public origin. */
export const ALPHAVANTAGE_DEFAULT_BASE_URL = 'https://www.alphavantage.co';
/** Variable naming the origin (tests and proxies). */
export const ALPHAVANTAGE_BASE_URL_VARIABLE = 'ALPHAVANTAGE_BASE_URL';
/** Credentials field holding the key. */
export const ALPHAVANTAGE_KEY_FIELD = 'ALPHAVANTAGE_API_KEY';
/** Source name in warnings and the cache. */
export const ALPHAVANTAGE_SOURCE = 'alphavantage';

/** How much history a TIME_SERIES_DAILY* request asks for: everything, or the latest 100 days. */
export type AlphaVantageOutputSize = 'full' | 'compact';

/** Keys of one day in the two daily series (Alpha Vantage's own numbering). */
const DAILY_KEYS = { open: '1. open', high: '2. high', low: '3. low', close: '4. close', volume: '5. volume' } as const;
const ADJUSTED_KEYS = {
  open: '1. open',
  high: '2. high',
  low: '3. low',
  close: '4. close',
  adjustedClose: '5. adjusted close',
  volume: '6. volume',
  dividend: '7. dividend amount',
  splitCoefficient: '8. split coefficient',
} as const;
const SERIES_KEY = 'Time Series (Daily)';

/** Decimal arithmetic for the adjustment: 34 significant digits, half-even. */
const Num = Decimal.clone({ precision: 34, rounding: Decimal.ROUND_HALF_EVEN });
type Num = InstanceType<typeof Num>;
/** Places kept in adjusted prices. */
export const ADJUSTED_PRICE_PLACES = 6;
/** Plain decimal text (what the core accepts): optional sign, digits, optional fraction. */
const DECIMAL_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/** Options of the Alpha Vantage client. */
export interface AlphaVantageClientOptions extends RetryRuntime {
  /** Source of ALPHAVANTAGE_API_KEY (EnvCredentials locally, Secrets Manager in AWS). */
  credentials: SecretsPort;
  /** Origin, e.g. from ALPHAVANTAGE_BASE_URL; undefined/blank → https://www.alphavantage.co. */
  baseUrl?: string | undefined;
  /** fetch implementation (tests inject one). Default global fetch. */
  fetch?: typeof fetch;
  /** Per-request timeout, ms. Default 30 000. */
  timeoutMs?: number;
}

/** A NEWS_SENTIMENT request. */
export interface AlphaVantageNewsQuery {
  /** Tickers the articles must mention, e.g. `['AAPL']` (Alpha Vantage also accepts `CRYPTO:BTC`, `FOREX:USD`). */
  tickers: readonly string[];
  /** Topics, e.g. `['technology', 'earnings']`. */
  topics?: readonly string[];
  /** Earliest publication time, `YYYYMMDDTHHMM`. */
  timeFrom?: string;
  /** Latest publication time, `YYYYMMDDTHHMM`. */
  timeTo?: string;
  sort?: 'LATEST' | 'EARLIEST' | 'RELEVANCE';
  /** Maximum articles, 1..1000 (Alpha Vantage's default 50). */
  limit?: number;
}

const NewsQuerySchema = z.object({
  tickers: z.array(z.string().regex(/^[A-Z0-9.:_-]{1,20}$/, 'must be a ticker such as AAPL or CRYPTO:BTC')).min(1),
  topics: z.array(z.string().regex(/^[a-z_]{1,40}$/, 'must be a topic such as technology or earnings')).optional(),
  timeFrom: z.string().regex(/^\d{8}T\d{4}$/, 'must be YYYYMMDDTHHMM').optional(),
  timeTo: z.string().regex(/^\d{8}T\d{4}$/, 'must be YYYYMMDDTHHMM').optional(),
  sort: z.enum(['LATEST', 'EARLIEST', 'RELEVANCE']).optional(),
  limit: z.number().int().min(1).max(1000).optional(),
});

/** A score sent as a JSON number or as decimal text, as a number. */
const Score = z.union([z.number(), z.string().regex(DECIMAL_TEXT, 'must be a decimal number').transform(Number)]);

/** One article of NEWS_SENTIMENT's `feed`, as Alpha Vantage sends it. */
export const AlphaVantageNewsItemSchema = z.object({
  title: z.string(),
  url: z.string(),
  time_published: z.string().regex(/^\d{8}T\d{4,6}$/, 'must be YYYYMMDDTHHMMSS'),
  authors: z.array(z.string()),
  summary: z.string(),
  banner_image: z.string().nullable().optional(),
  source: z.string(),
  category_within_source: z.string().optional(),
  source_domain: z.string().optional(),
  topics: z.array(z.object({ topic: z.string(), relevance_score: Score })),
  overall_sentiment_score: Score,
  overall_sentiment_label: z.string(),
  ticker_sentiment: z.array(
    z.object({ ticker: z.string(), relevance_score: Score, ticker_sentiment_score: Score, ticker_sentiment_label: z.string() }),
  ),
});

/** NEWS_SENTIMENT's answer, as Alpha Vantage sends it. */
export const AlphaVantageNewsSentimentSchema = z.object({
  items: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]),
  sentiment_score_definition: z.string().optional(),
  relevance_score_definition: z.string().optional(),
  feed: z.array(AlphaVantageNewsItemSchema),
});

/** One article. Scores are unitless numbers: sentiment in [-1, 1] (≤ −0.35 bearish … ≥ 0.35 bullish), relevance in (0, 1]. */
export interface AlphaVantageNewsItem {
  title: string;
  url: string;
  /** Publication time as Alpha Vantage writes it, `YYYYMMDDTHHMMSS` (it states no zone). */
  timePublished: string;
  authors: string[];
  summary: string;
  /** Image URL; null when none ('' or null in the answer). */
  bannerImage: string | null;
  /** Publisher name, e.g. `Benzinga`. */
  source: string;
  categoryWithinSource: string | null;
  sourceDomain: string | null;
  topics: Array<{ topic: string; relevanceScore: number }>;
  overallSentimentScore: number;
  /** `Bearish` | `Somewhat-Bearish` | `Neutral` | `Somewhat-Bullish` | `Bullish` (as sent). */
  overallSentimentLabel: string;
  tickerSentiment: Array<{ ticker: string; relevanceScore: number; sentimentScore: number; sentimentLabel: string }>;
}

/** NEWS_SENTIMENT, typed. */
export interface AlphaVantageNewsSentiment {
  /** Number of articles Alpha Vantage says it returned. */
  items: number;
  sentimentScoreDefinition: string | null;
  relevanceScoreDefinition: string | null;
  feed: AlphaVantageNewsItem[];
}

/** Text fields of OVERVIEW: output name → Alpha Vantage key. */
const OVERVIEW_TEXT = {
  assetType: 'AssetType',
  name: 'Name',
  description: 'Description',
  exchange: 'Exchange',
  currency: 'Currency',
  country: 'Country',
  sector: 'Sector',
  industry: 'Industry',
  fiscalYearEnd: 'FiscalYearEnd',
  lastSplitFactor: 'LastSplitFactor',
} as const;
/** Date fields of OVERVIEW (`YYYY-MM-DD`). */
const OVERVIEW_DATES = {
  latestQuarter: 'LatestQuarter',
  dividendDate: 'DividendDate',
  exDividendDate: 'ExDividendDate',
  lastSplitDate: 'LastSplitDate',
} as const;
/** Numeric fields of OVERVIEW (kept as decimal text; money in the listing currency). */
const OVERVIEW_DECIMALS = {
  marketCapitalization: 'MarketCapitalization',
  ebitda: 'EBITDA',
  peRatio: 'PERatio',
  pegRatio: 'PEGRatio',
  bookValue: 'BookValue',
  dividendPerShare: 'DividendPerShare',
  dividendYield: 'DividendYield',
  eps: 'EPS',
  revenuePerShareTtm: 'RevenuePerShareTTM',
  profitMargin: 'ProfitMargin',
  operatingMarginTtm: 'OperatingMarginTTM',
  returnOnAssetsTtm: 'ReturnOnAssetsTTM',
  returnOnEquityTtm: 'ReturnOnEquityTTM',
  revenueTtm: 'RevenueTTM',
  grossProfitTtm: 'GrossProfitTTM',
  dilutedEpsTtm: 'DilutedEPSTTM',
  quarterlyEarningsGrowthYoy: 'QuarterlyEarningsGrowthYOY',
  quarterlyRevenueGrowthYoy: 'QuarterlyRevenueGrowthYOY',
  analystTargetPrice: 'AnalystTargetPrice',
  trailingPe: 'TrailingPE',
  forwardPe: 'ForwardPE',
  priceToSalesRatioTtm: 'PriceToSalesRatioTTM',
  priceToBookRatio: 'PriceToBookRatio',
  evToRevenue: 'EVToRevenue',
  evToEbitda: 'EVToEBITDA',
  beta: 'Beta',
  week52High: '52WeekHigh',
  week52Low: '52WeekLow',
  movingAverage50Day: '50DayMovingAverage',
  movingAverage200Day: '200DayMovingAverage',
  sharesOutstanding: 'SharesOutstanding',
} as const;

/**
 * OVERVIEW, typed. Every field but `symbol` is null when Alpha Vantage leaves it out or sends one of
 * its "no value" markers (`None`, `-`, `N/A`, ''). Numeric fields are decimal text exactly as sent
 * (money in `currency`, ratios as fractions, e.g. dividendYield `0.0501` = 5.01%); dates `YYYY-MM-DD`.
 */
export type AlphaVantageCompanyOverview = { symbol: string; raw: Record<string, string> } & {
  [K in keyof typeof OVERVIEW_TEXT | keyof typeof OVERVIEW_DATES | keyof typeof OVERVIEW_DECIMALS]: string | null;
};

/** OVERVIEW's answer: a flat object of strings with at least `Symbol`. */
export const AlphaVantageOverviewSchema = z.record(z.string(), z.string()).refine((o) => typeof o.Symbol === 'string' && o.Symbol !== '', {
  message: 'must have a non-empty Symbol',
});

const NO_VALUE = new Set(['', 'None', '-', 'N/A', 'null']);

/** One day of a daily series as Alpha Vantage sends it: field key → value. */
const DailySeriesSchema = z.object({
  'Meta Data': z.record(z.string(), z.unknown()).optional(),
  [SERIES_KEY]: z.record(z.string(), z.record(z.string(), z.unknown())),
});

/**
 * HTTP client of Alpha Vantage's `/query` API (see module doc for the answers and retries).
 * Every method may throw MarketDataError (naming the symbol or tickers) or, when the key is missing,
 * a plain Error naming ALPHAVANTAGE_API_KEY.
 */
export class AlphaVantageClient {
  /** Origin the client talks to. */
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  /** Fails fast once this key kept being throttled (see ThrottleBreaker). */
  private readonly breaker: ThrottleBreaker;
  private key: Promise<string> | undefined;

  /** @throws Error naming ALPHAVANTAGE_BASE_URL when the base URL is not an acceptable origin. */
  constructor(private readonly options: AlphaVantageClientOptions) {
    this.baseUrl = resolveApiBaseUrl(ALPHAVANTAGE_BASE_URL_VARIABLE, options.baseUrl, ALPHAVANTAGE_DEFAULT_BASE_URL);
    this.breaker = options.breaker ?? new ThrottleBreaker();
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /**
   * A daily series of `symbol` as raw-text rows, ascending by date (see module doc for the field
   * rules and the adjusted convention).
   * @param options.adjusted TIME_SERIES_DAILY_ADJUSTED (split/dividend-adjusted bars) instead of TIME_SERIES_DAILY.
   * @param options.outputSize `full` (whole history) or `compact` (latest 100 days).
   * @throws MarketDataError(symbol) for `Error Message`, retries exhausted, an answer without the
   *   series, a series for another symbol, or an unreadable split coefficient (adjusted).
   */
  async getDailyRows(symbol: string, options: { adjusted: boolean; outputSize: AlphaVantageOutputSize }): Promise<CachedBarRow[]> {
    const fn = options.adjusted ? 'TIME_SERIES_DAILY_ADJUSTED' : 'TIME_SERIES_DAILY';
    const label = `${fn} ${symbol} (outputsize=${options.outputSize})`;
    const body = await this.query(symbol, label, SERIES_KEY, { function: fn, symbol, outputsize: options.outputSize, datatype: 'json' });
    const parsed = DailySeriesSchema.safeParse(body);
    if (!parsed.success) throw new MarketDataError(symbol, `${label}: unexpected answer: ${describeIssue(parsed.error, body)}`);
    const metaSymbol = parsed.data['Meta Data']?.['2. Symbol'];
    if (typeof metaSymbol === 'string' && metaSymbol.trim().toUpperCase() !== symbol) {
      throw new MarketDataError(symbol, `${label}: the answer is for ${JSON.stringify(metaSymbol)}, not ${symbol}`);
    }
    const days = Object.entries(parsed.data[SERIES_KEY]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return options.adjusted ? adjustedRows(symbol, label, days) : days.map(([date, day]) => dailyRow(date, day));
  }

  /**
   * NEWS_SENTIMENT for the query.
   * @throws Error naming the query field and value when the query is invalid (nothing is sent);
   *   MarketDataError (symbol = the tickers joined by ',') for a refusal, retries exhausted, or an
   *   answer that does not match the schema (naming the path and value).
   */
  async getNewsSentiment(query: AlphaVantageNewsQuery): Promise<AlphaVantageNewsSentiment> {
    const checked = NewsQuerySchema.safeParse(query);
    if (!checked.success) throw new Error(`NEWS_SENTIMENT query: ${describeIssue(checked.error, query)}`);
    const q = checked.data;
    const who = q.tickers.join(',');
    const label = `NEWS_SENTIMENT ${who}`;
    const body = await this.query(who, label, 'feed', {
      function: 'NEWS_SENTIMENT',
      tickers: who,
      topics: q.topics?.join(','),
      time_from: q.timeFrom,
      time_to: q.timeTo,
      sort: q.sort,
      limit: q.limit,
    });
    const parsed = AlphaVantageNewsSentimentSchema.safeParse(body);
    if (!parsed.success) throw new MarketDataError(who, `${label}: unexpected answer: ${describeIssue(parsed.error, body)}`);
    return toNewsSentiment(parsed.data);
  }

  /**
   * OVERVIEW (company fundamentals) of `symbol`.
   * @throws MarketDataError(symbol) for a refusal, retries exhausted, an empty answer (Alpha Vantage
   *   answers `{}` for a symbol it has no overview of), an overview of another symbol, or a numeric
   *   or date field holding something else (naming the field and the value).
   */
  async getCompanyOverview(symbol: string): Promise<AlphaVantageCompanyOverview> {
    const label = `OVERVIEW ${symbol}`;
    const body = await this.query(symbol, label, 'Symbol', { function: 'OVERVIEW', symbol });
    if (body && typeof body === 'object' && Object.keys(body).length === 0) {
      throw new MarketDataError(symbol, `${label}: Alpha Vantage has no company overview for ${symbol} (empty answer)`);
    }
    const parsed = AlphaVantageOverviewSchema.safeParse(body);
    if (!parsed.success) throw new MarketDataError(symbol, `${label}: unexpected answer: ${describeIssue(parsed.error, body)}`);
    if (parsed.data.Symbol!.toUpperCase() !== symbol) {
      throw new MarketDataError(symbol, `${label}: the answer is for ${JSON.stringify(parsed.data.Symbol)}, not ${symbol}`);
    }
    return toOverview(symbol, label, parsed.data);
  }

  /**
   * One `/query` call under the retry policy; returns the JSON object once it holds `dataKey`.
   * @param who symbol (or tickers) named in errors.
   */
  private async query(who: string, label: string, dataKey: string, params: Record<string, string | number | undefined>): Promise<Record<string, unknown>> {
    const key = await this.apiKey();
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value !== undefined) search.set(name, String(value));
    search.set('apikey', key);
    const url = `${this.baseUrl}/query?${search.toString()}`;
    return withRetries(
      { source: ALPHAVANTAGE_SOURCE, symbol: who, label },
      async () => {
        const { body } = await getJson({
          fetch: this.fetchImpl,
          url,
          symbol: who,
          label,
          ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
        });
        if (!body || typeof body !== 'object' || Array.isArray(body)) {
          throw new MarketDataError(who, `${label}: expected a JSON object, got ${JSON.stringify(body).slice(0, 200)}`);
        }
        const object = body as Record<string, unknown>;
        if (dataKey in object) return object;
        if (typeof object['Error Message'] === 'string') {
          throw new MarketDataError(who, `Alpha Vantage refused ${label}: ${object['Error Message']}`);
        }
        for (const throttle of ['Note', 'Information'] as const) {
          if (typeof object[throttle] === 'string') throw new TransientError('throttled', `${throttle}: ${object[throttle]}`);
        }
        // OVERVIEW of an unknown symbol is `{}`: let the caller say so.
        if (Object.keys(object).length === 0) return object;
        throw new MarketDataError(who, `${label}: the answer has no "${dataKey}" (keys: ${Object.keys(object).slice(0, 10).join(', ')})`);
      },
      { ...this.options, breaker: this.breaker },
    );
  }

  private apiKey(): Promise<string> {
    if (!this.key) {
      const pending = this.options.credentials.getCredentials().then((credentials) => {
        const key = credentials.ALPHAVANTAGE_API_KEY;
        if (!key) {
          throw new Error(`Alpha Vantage API key missing: ${ALPHAVANTAGE_KEY_FIELD} is not set (an environment variable locally, a field of the API-keys secret in AWS)`);
        }
        return key;
      });
      this.key = pending;
      pending.catch(() => {
        if (this.key === pending) this.key = undefined;
      });
    }
    return this.key;
  }
}

function dailyRow(date: string, day: Record<string, unknown>): CachedBarRow {
  return {
    date,
    open: fieldText(day[DAILY_KEYS.open]),
    high: fieldText(day[DAILY_KEYS.high]),
    low: fieldText(day[DAILY_KEYS.low]),
    close: fieldText(day[DAILY_KEYS.close]),
    volume: fieldText(day[DAILY_KEYS.volume]),
  };
}

/** A positive decimal from text, or undefined. */
function positive(text: string): Num | undefined {
  const trimmed = text.trim();
  if (!DECIMAL_TEXT.test(trimmed)) return undefined;
  const n = new Num(trimmed);
  return n.isFinite() && n.gt(0) ? n : undefined;
}

/** `text × factor` rounded to `places`, or the raw text when it is not a decimal. */
function scaled(text: string, factor: Num, places?: number): string {
  const trimmed = text.trim();
  if (!DECIMAL_TEXT.test(trimmed)) return text;
  const product = new Num(trimmed).times(factor);
  return (places === undefined ? product : product.toDecimalPlaces(places)).toFixed();
}

/** Days (ascending) of TIME_SERIES_DAILY_ADJUSTED → fully adjusted rows (module doc). */
function adjustedRows(symbol: string, label: string, days: ReadonlyArray<[string, Record<string, unknown>]>): CachedBarRow[] {
  const rows: CachedBarRow[] = new Array(days.length);
  // Product of the split coefficients of the days after the current one (walking newest → oldest).
  let laterSplits = new Num(1);
  for (let i = days.length - 1; i >= 0; i--) {
    const [date, day] = days[i]!;
    const text = (key: string) => fieldText(day[key]);
    const close = text(ADJUSTED_KEYS.close);
    const adjustedClose = text(ADJUSTED_KEYS.adjustedClose);
    const rawClose = positive(close);
    const adjClose = positive(adjustedClose);
    const volume = text(ADJUSTED_KEYS.volume);
    if (rawClose && adjClose) {
      const factor = adjClose.div(rawClose);
      rows[i] = {
        date,
        open: scaled(text(ADJUSTED_KEYS.open), factor, ADJUSTED_PRICE_PLACES),
        high: scaled(text(ADJUSTED_KEYS.high), factor, ADJUSTED_PRICE_PLACES),
        low: scaled(text(ADJUSTED_KEYS.low), factor, ADJUSTED_PRICE_PLACES),
        close: adjClose.toDecimalPlaces(ADJUSTED_PRICE_PLACES).toFixed(),
        volume: scaled(volume, laterSplits),
      };
    } else {
      rows[i] = {
        date,
        open: text(ADJUSTED_KEYS.open),
        high: text(ADJUSTED_KEYS.high),
        low: text(ADJUSTED_KEYS.low),
        close: adjClose ? close : adjustedClose,
        volume: scaled(volume, laterSplits),
      };
    }
    const coefficientText = text(ADJUSTED_KEYS.splitCoefficient);
    const coefficient = positive(coefficientText);
    if (!coefficient) {
      throw new MarketDataError(
        symbol,
        `${label}: ${date} field "${ADJUSTED_KEYS.splitCoefficient}" is ${JSON.stringify(coefficientText)}, not a positive number; the volumes before it cannot be split-adjusted`,
      );
    }
    laterSplits = laterSplits.times(coefficient);
  }
  return rows;
}

function toNewsSentiment(data: z.infer<typeof AlphaVantageNewsSentimentSchema>): AlphaVantageNewsSentiment {
  return {
    items: data.items,
    sentimentScoreDefinition: data.sentiment_score_definition ?? null,
    relevanceScoreDefinition: data.relevance_score_definition ?? null,
    feed: data.feed.map(toNewsItem),
  };
}

/** One feed item, camelCased (see AlphaVantageNewsItem). */
export function toNewsItem(item: z.infer<typeof AlphaVantageNewsItemSchema>): AlphaVantageNewsItem {
  return {
    title: item.title,
    url: item.url,
    timePublished: item.time_published,
    authors: item.authors,
    summary: item.summary,
    bannerImage: item.banner_image ? item.banner_image : null,
    source: item.source,
    categoryWithinSource: item.category_within_source ?? null,
    sourceDomain: item.source_domain ?? null,
    topics: item.topics.map((t) => ({ topic: t.topic, relevanceScore: t.relevance_score })),
    overallSentimentScore: item.overall_sentiment_score,
    overallSentimentLabel: item.overall_sentiment_label,
    tickerSentiment: item.ticker_sentiment.map((t) => ({
      ticker: t.ticker,
      relevanceScore: t.relevance_score,
      sentimentScore: t.ticker_sentiment_score,
      sentimentLabel: t.ticker_sentiment_label,
    })),
  };
}

function toOverview(symbol: string, label: string, raw: Record<string, string>): AlphaVantageCompanyOverview {
  const value = (key: string): string | null => {
    const text = raw[key]?.trim();
    return text === undefined || NO_VALUE.has(text) ? null : text;
  };
  const out: Record<string, string | null> = {};
  for (const [name, key] of Object.entries(OVERVIEW_TEXT)) out[name] = value(key);
  for (const [name, key] of Object.entries(OVERVIEW_DATES)) {
    const v = value(key);
    if (v !== null && !isCalendarDate(v)) throw new MarketDataError(symbol, `${label}: ${key} must be a date YYYY-MM-DD, got ${JSON.stringify(v)}`);
    out[name] = v;
  }
  for (const [name, key] of Object.entries(OVERVIEW_DECIMALS)) {
    const v = value(key);
    if (v !== null && !DECIMAL_TEXT.test(v)) throw new MarketDataError(symbol, `${label}: ${key} must be a decimal number, got ${JSON.stringify(v)}`);
    out[name] = v;
  }
  return { ...(out as Omit<AlphaVantageCompanyOverview, 'symbol' | 'raw'>), symbol, raw: { ...raw } };
}

/** First zod issue as `path=value: message`. */
function describeIssue(error: z.ZodError, input: unknown): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String);
  const value = path.reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), input);
  const shown = value === undefined ? 'missing' : JSON.stringify(value)?.slice(0, 120);
  return `${path.join('.') || '(root)'}=${shown}: ${issue.message}`;
}

/** Options of AlphaVantageMarketData. */
export interface AlphaVantageMarketDataOptions extends ApiMarketDataOptions, AlphaVantageClientOptions {
  /**
   * true: TIME_SERIES_DAILY_ADJUSTED, bars adjusted for splits and dividends (module doc; a premium
   * function at Alpha Vantage). false (default): TIME_SERIES_DAILY, prices as traded.
   */
  adjusted?: boolean;
}

/**
 * MarketDataPort over Alpha Vantage's daily series, through the bar cache (full history once, then
 * the latest 100 days merged; full reload when they disagree). `listSymbols()` is the configured
 * list (see api-market-data.ts).
 */
export class AlphaVantageMarketData extends ApiMarketData {
  readonly source: string;
  readonly client: AlphaVantageClient;
  readonly adjusted: boolean;

  /** @throws Error for an empty/invalid symbol list or an unacceptable base URL. */
  constructor(options: AlphaVantageMarketDataOptions) {
    super(options);
    this.adjusted = options.adjusted ?? false;
    this.source = this.adjusted ? `${ALPHAVANTAGE_SOURCE}-adjusted` : ALPHAVANTAGE_SOURCE;
    this.client = new AlphaVantageClient({ ...options, onWarning: (warning) => this.warn(warning) });
  }

  protected fetchFull(symbol: string): Promise<CachedBarRow[]> {
    return this.client.getDailyRows(symbol, { adjusted: this.adjusted, outputSize: 'full' });
  }

  protected fetchRecent(symbol: string): Promise<CachedBarRow[]> {
    return this.client.getDailyRows(symbol, { adjusted: this.adjusted, outputSize: 'compact' });
  }
}
