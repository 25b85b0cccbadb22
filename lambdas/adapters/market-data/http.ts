/**
 * HTTP plumbing shared by the market-data API adapters (Alpha Vantage, Alpaca market data): one GET
 * with a timeout, the classification of what came back, and the retry loop (p-retry) with an
 * injectable clock and randomness so tests run instantly and can check every delay.
 *
 * Retry policy (MARKET_DATA_RETRY_POLICY), for reads only — every request here is a GET:
 * - retried: HTTP 429, HTTP 5xx, a timeout, a network failure (DNS, refused, reset), and whatever an
 *   adapter flags as transient (Alpha Vantage's throttle bodies, which arrive as HTTP 200);
 * - never retried: any other HTTP status, an answer that is not JSON, an answer an adapter refuses
 *   (e.g. Alpha Vantage's `Error Message`). Those become a MarketDataError at once.
 * - at most `maxAttempts` attempts in total (default 8). The wait before retry n (n = 1 after the first
 *   failed attempt) is drawn uniformly from [step_n / 2, step_n] with
 *   `step_n = min(maxDelayMs, baseDelayMs · factor^(n−1))` ("equal jitter"): with the defaults
 *   (250 ms, ×2, 20 s) step_n is 250, 500, 1000, 2000, 4000, 8000, 16000 ms, so no single wait exceeds
 *   20 s and the seven waits of a hopeless request add up to at most 31.75 s. A 429 carrying
 *   `Retry-After` (seconds or an HTTP date) or `X-RateLimit-Reset` (epoch seconds) waits at least that
 *   long, but never more than `maxDelayMs`.
 * - after the last attempt: MarketDataError(symbol, `<request>: no usable answer after 8 attempts
 *   (last: <reason>)`) and a warning through `onWarning`. The fetch step quarantines that symbol with
 *   a `NO_DATA` reason and the run goes on.
 *
 * Secrets (API keys) may travel in the URL (Alpha Vantage) or in headers (Alpaca); no message built
 * here contains the URL or a header — only the caller's `label` (e.g. `TIME_SERIES_DAILY AAPL`).
 */
import pRetry, { AbortError } from 'p-retry';
import { MarketDataError } from '../../ports';

/** Bounds of the retry loop (see module doc). */
export interface MarketDataRetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** First exponential step, ms. */
  baseDelayMs: number;
  /** Growth of the step per retry. */
  factor: number;
  /** Cap of one wait, ms (jitter included). */
  maxDelayMs: number;
}

/** The policy both API adapters use: 8 attempts, steps from 250 ms doubling, capped at 20 s. */
export const MARKET_DATA_RETRY_POLICY: Readonly<MarketDataRetryPolicy> = Object.freeze({
  maxAttempts: 8,
  baseDelayMs: 250,
  factor: 2,
  maxDelayMs: 20_000,
});

/** Default per-request timeout, ms (covers reading the body; a full Alpha Vantage history is a few MB). */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;

/**
 * The exponential step of retry `retry` (1-based: 1 is the wait after the first failed attempt),
 * ms: `min(maxDelayMs, baseDelayMs · factor^(retry−1))`.
 */
export function backoffStep(retry: number, policy: MarketDataRetryPolicy = MARKET_DATA_RETRY_POLICY): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * policy.factor ** (retry - 1));
}

/**
 * The wait before retry `retry`, ms: uniform in [step/2, step] (equal jitter) driven by `random`
 * (a number in [0, 1)), rounded to whole ms.
 */
export function backoffDelay(retry: number, random: () => number, policy: MarketDataRetryPolicy = MARKET_DATA_RETRY_POLICY): number {
  const step = backoffStep(retry, policy);
  return Math.round(step / 2 + random() * (step / 2));
}

/** Why an attempt failed in a way worth retrying. */
export type TransientKind = 'throttled' | 'http' | 'timeout' | 'network';

/**
 * A failure worth another attempt (see module doc). Adapters throw it from inside `withRetries`;
 * anything else thrown there ends the loop at once and reaches the caller unchanged.
 */
export class TransientError extends Error {
  constructor(
    readonly kind: TransientKind,
    message: string,
    /** A wait the server asked for (Retry-After / X-RateLimit-Reset), ms. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** Something an adapter wants its operator to know about (a retry, a give-up, a cache problem). */
export interface MarketDataWarning {
  /**
   * Stable code: `RETRY`, `GAVE_UP`, `SKIPPED` (not sent: the throttle breaker is open),
   * `CACHE_READ_FAILED`, `CACHE_WRITE_FAILED`, `CACHE_RESET`.
   */
  code: 'RETRY' | 'GAVE_UP' | 'SKIPPED' | 'CACHE_READ_FAILED' | 'CACHE_WRITE_FAILED' | 'CACHE_RESET';
  /** Data source, e.g. `alphavantage`. */
  source: string;
  symbol: string;
  /** One sentence naming the request and the reason (never a key or a URL). */
  message: string;
  /** For RETRY: the attempt that failed (1-based) and the wait before the next, ms. */
  attempt?: number;
  delayMs?: number;
}

/** Default warning sink: one line on stderr (CloudWatch Logs in Lambda). */
export const consoleWarning = (warning: MarketDataWarning): void => {
  console.warn(`[market-data ${warning.source}] ${warning.code} ${warning.symbol}: ${warning.message}`);
};

/** How long a tripped {@link ThrottleBreaker} stays open, ms: 10 minutes (longer than one fetch step). */
export const THROTTLE_BREAKER_OPEN_MS = 10 * 60_000;

/**
 * Fails fast once an API has stopped answering usefully: when one request used up every attempt on
 * transient failures (Alpha Vantage's `Note`/`Information` throttle bodies, HTTP 429 — the quota is
 * per key —, or a 5xx/network outage), the next symbols would only burn another 31.75 s each and a
 * fetch step over many symbols would outlive its Lambda timeout. While open
 * (THROTTLE_BREAKER_OPEN_MS), requests are not sent: they fail at once with a MarketDataError naming
 * the cause, so fetch quarantines those symbols as NO_DATA and the run goes on with what it has (and
 * with what the bar cache holds no more: a quarantined symbol is not traded). A refusal such as
 * `Error Message` does not trip it. One breaker per adapter instance (i.e. per API key).
 */
export class ThrottleBreaker {
  private openUntilMs = 0;
  private cause = '';

  /** @param now epoch ms (injectable for tests). @param openMs how long a trip lasts, ms. */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly openMs: number = THROTTLE_BREAKER_OPEN_MS,
  ) {}

  /** The reason requests are refused now, or undefined when they may be sent. */
  refusal(): string | undefined {
    if (this.now() >= this.openUntilMs) return undefined;
    return `not sent: the API gave no usable answer to an earlier request (${this.cause}); requests resume after ${new Date(this.openUntilMs).toISOString()}`;
  }

  /** Opens the breaker for `openMs` from now, remembering why. */
  trip(cause: string): void {
    this.openUntilMs = this.now() + this.openMs;
    this.cause = cause;
  }
}

/** Injection points of the retry loop. */
export interface RetryRuntime {
  /** Shared by an adapter's requests: fail fast after one request exhausted its attempts. */
  breaker?: ThrottleBreaker;
  /** Waits ms. Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for the jitter. Default Math.random. */
  random?: () => number;
  /** Overrides of MARKET_DATA_RETRY_POLICY (tests; the adapters' callers normally keep the default). */
  policy?: Partial<MarketDataRetryPolicy>;
  /** Called on every retry and on the final give-up. Its errors are swallowed. Default consoleWarning. */
  onWarning?: (warning: MarketDataWarning) => void;
}

/** Real timers. */
export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` under the retry policy of the module doc.
 * @param context.source data source name for warnings, e.g. `alpaca`.
 * @param context.symbol the symbol the request is for (named in the MarketDataError).
 * @param context.label the request without secrets, e.g. `TIME_SERIES_DAILY AAPL (outputsize=full)`.
 * @param attempt one try; throw TransientError to have it retried, anything else to stop.
 * @returns what the first successful attempt returned.
 * @throws MarketDataError(symbol) when every attempt failed transiently; otherwise whatever a
 *   non-transient failure threw (adapters throw MarketDataError for those).
 */
export async function withRetries<T>(
  context: { source: string; symbol: string; label: string },
  attempt: (attemptNumber: number) => Promise<T>,
  runtime: RetryRuntime = {},
): Promise<T> {
  const policy = { ...MARKET_DATA_RETRY_POLICY, ...runtime.policy };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new Error(`retry maxAttempts must be an integer >= 1, got ${policy.maxAttempts}`);
  }
  const sleep = runtime.sleep ?? realSleep;
  const random = runtime.random ?? Math.random;
  const warn = (warning: MarketDataWarning): void => {
    try {
      (runtime.onWarning ?? consoleWarning)(warning);
    } catch {
      // reporting never changes the outcome of a request
    }
  };
  const refusal = runtime.breaker?.refusal();
  if (refusal !== undefined) {
    const message = `${context.label}: ${refusal}`;
    warn({ code: 'SKIPPED', source: context.source, symbol: context.symbol, message });
    throw new MarketDataError(context.symbol, message);
  }
  try {
    return await pRetry(
      async (attemptNumber) => {
        try {
          return await attempt(attemptNumber);
        } catch (error) {
          if (error instanceof TransientError) throw error;
          // Not worth another attempt: p-retry rethrows the wrapped error unchanged.
          throw new AbortError(error instanceof Error ? error : new Error(String(error)));
        }
      },
      {
        retries: policy.maxAttempts - 1,
        // The waits are slept in onFailedAttempt (injectable, jittered as documented); p-retry's own are 0.
        minTimeout: 0,
        maxTimeout: 0,
        factor: 1,
        randomize: false,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft <= 0) return;
          const retryAfter = error instanceof TransientError ? error.retryAfterMs : undefined;
          let delayMs = backoffDelay(attemptNumber, random, policy);
          if (retryAfter !== undefined) delayMs = Math.max(delayMs, Math.min(policy.maxDelayMs, Math.ceil(retryAfter)));
          warn({
            code: 'RETRY',
            source: context.source,
            symbol: context.symbol,
            message: `${context.label}: attempt ${attemptNumber} of ${policy.maxAttempts} failed (${error.message}); retrying in ${delayMs} ms`,
            attempt: attemptNumber,
            delayMs,
          });
          await sleep(delayMs);
        },
      },
    );
  } catch (error) {
    if (!(error instanceof TransientError)) throw error;
    const message = `${context.label}: no usable answer after ${policy.maxAttempts} attempts (last: ${error.message})`;
    warn({ code: 'GAVE_UP', source: context.source, symbol: context.symbol, message });
    runtime.breaker?.trip(`${context.symbol}: ${error.message}`);
    throw new MarketDataError(context.symbol, message);
  }
}

/** A JSON answer of a GET that came back 2xx. */
export interface JsonResponse {
  status: number;
  body: unknown;
}

/**
 * One GET of a JSON resource, classified for `withRetries`:
 * - 2xx with a JSON body → `{ status, body }`;
 * - 429 or 5xx → TransientError('http') (429 with the wait its headers ask for);
 * - other status ≥ 300 → MarketDataError(symbol, `<label>: HTTP <status> <first 200 chars of body>`);
 * - 2xx whose body is not JSON → MarketDataError naming the label and the start of the body;
 * - no answer within `timeoutMs` → TransientError('timeout'); fetch failed → TransientError('network').
 * @param request.url full URL (may hold a key: it is never put in a message).
 * @param request.label what to call the request in messages, without secrets.
 * @param request.now epoch ms, for an HTTP-date Retry-After. Default Date.now.
 */
export async function getJson(request: {
  fetch: typeof fetch;
  url: string;
  headers?: Record<string, string>;
  symbol: string;
  label: string;
  timeoutMs?: number;
  now?: () => number;
}): Promise<JsonResponse> {
  const timeoutMs = request.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  let status: number;
  let headers: Headers;
  let text: string;
  try {
    const response = await request.fetch(request.url, { method: 'GET', headers: { Accept: 'application/json', ...request.headers }, signal });
    status = response.status;
    headers = response.headers;
    text = await response.text();
  } catch (error) {
    if (signal.aborted || (error as { name?: unknown } | null)?.name === 'TimeoutError') {
      throw new TransientError('timeout', `no answer within ${timeoutMs} ms`, undefined, { cause: error });
    }
    const detail = error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error);
    throw new TransientError('network', `network error: ${detail}`, undefined, { cause: error });
  }
  const excerpt = JSON.stringify(text.trim().slice(0, 200));
  if (status === 429) throw new TransientError('http', `HTTP 429 ${excerpt}`, retryAfterMs(headers, request.now ?? Date.now));
  if (status >= 500) throw new TransientError('http', `HTTP ${status} ${excerpt}`);
  if (status < 200 || status >= 300) throw new MarketDataError(request.symbol, `${request.label}: HTTP ${status} ${excerpt}`);
  try {
    return { status, body: JSON.parse(text) as unknown };
  } catch {
    throw new MarketDataError(request.symbol, `${request.label}: answer is not JSON (HTTP ${status}): ${excerpt}`);
  }
}

/** The wait a 429 asks for: Retry-After (seconds or HTTP date), else X-RateLimit-Reset (epoch seconds). */
function retryAfterMs(headers: Headers, now: () => number): number | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (Number.isFinite(at)) return Math.max(0, at - now());
  }
  const reset = headers.get('x-ratelimit-reset')?.trim();
  if (reset && /^\d+$/.test(reset)) {
    const wait = Number(reset) * 1000 - now();
    if (wait > 0) return wait;
  }
  return undefined;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Checks an API origin given in an environment variable: an absolute https URL (http only on
 * 127.0.0.1 / localhost / [::1], for test servers), no credentials, query or fragment. A trailing `/`
 * is dropped; a path prefix is kept (a proxy may mount the API under one).
 * @param variable the variable's name, for the message (e.g. `ALPHAVANTAGE_BASE_URL`).
 * @param value its value; undefined or blank → `fallback`.
 * @returns the origin (plus path prefix) without a trailing slash.
 * @throws Error naming the variable and the value when it is not acceptable.
 */
export function resolveApiBaseUrl(variable: string, value: string | undefined, fallback: string): string {
  const raw = value?.trim() ?? '';
  if (raw === '') return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${variable} must be an absolute URL such as ${fallback}, got ${JSON.stringify(raw)}`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new Error(`${variable} must be a plain origin (no credentials, query or fragment), got ${JSON.stringify(raw)}`);
  }
  const loopback = LOOPBACK_HOSTS.has(url.hostname.toLowerCase());
  if (url.protocol !== 'https:' && !(loopback && url.protocol === 'http:')) {
    throw new Error(`${variable} must use https (http only on 127.0.0.1/localhost), got ${JSON.stringify(raw)}`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
