/**
 * HTTP transport for the Alpaca Trading API v2: authentication headers, per-request timeout,
 * error mapping, the retry policy and the client-side rate limit. Native `fetch` (injectable).
 *
 * Errors (types from lambdas/ports.ts):
 * - HTTP status ≥ 400 → `BrokerError(status, body.message, body.code)` (Alpaca error bodies are
 *   `{"code": 40310000, "message": "insufficient buying power"}`);
 * - no response within `timeoutMs` (AbortSignal.timeout) → `BrokerTransportError('timeout')`;
 * - fetch failed (DNS, refused, reset) → `BrokerTransportError('network')`.
 *
 * Retry policy — safety-critical: an order must never be sent twice.
 * - 429 Too Many Requests: retried for EVERY method, POST included (a 429 means Alpaca did not
 *   process the request), after `Retry-After` when present (seconds or HTTP date), else after the
 *   reset time of `X-RateLimit-Reset` (epoch seconds, spec `ratelimit_reset`) or an exponential
 *   backoff, plus jitter; at most `maxAttempts` attempts, then `BrokerError 429`.
 * - 5xx, timeout, network failure: retried only for GET (idempotent reads), bounded likewise.
 *   POST / PATCH / DELETE are NEVER retried on these — the request may have been processed; the
 *   error goes to the caller, which must look the order up by client_order_id before anything else.
 * - Other 4xx: never retried.
 * Backoff for attempt n (1-based): `min(maxDelayMs, baseDelayMs · 2^(n−1)) · (1 + random())`, i.e.
 * between 1× and 2× the exponential step. Retry-After waits are `Retry-After + random() · baseDelayMs`.
 *
 * Every attempt first takes a token from the TokenBucket (default 200 requests/minute, Alpaca's
 * documented limit). Time (`now`, `sleep`) and randomness (`random`) are injectable for tests.
 *
 * Secrets: the key pair is read from the SecretsPort on first use and cached (dropped after a 401 so
 * a rotated key is picked up); it is only ever put in request headers, never in messages or logs.
 */
import { BrokerError, BrokerTransportError, type SecretsPort } from '../../../ports';
import { alpacaKeysFrom, type AlpacaKeys } from './config';
import { AlpacaErrorBodySchema, AlpacaResponseError } from './mapping';
import { realTime, TokenBucket, type TimeSource, type TokenBucketOptions } from './rate-limiter';

/** HTTP methods the adapter uses. */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** Bounds of the retry policy (see module doc). */
export interface RetryPolicy {
  /** Attempts per request, the first included. Default 4. */
  maxAttempts: number;
  /** First backoff step, ms. Default 250. */
  baseDelayMs: number;
  /** Cap of one exponential step (before jitter), ms. Default 8000. */
  maxDelayMs: number;
  /** A 429 asking to wait longer than this is not retried: BrokerError 429 at once. Default 60000 ms. */
  maxRetryAfterMs: number;
}

/** Default retry bounds. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 };

/** Default per-request timeout, ms. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** Transport configuration. Only `baseUrl` and `credentials` are required. */
export interface AlpacaTransportOptions {
  /** Origin from resolveAlpacaEndpoint, e.g. `https://paper-api.alpaca.markets`. */
  baseUrl: string;
  /** Source of APCA_API_KEY_ID / APCA_API_SECRET_KEY (Secrets Manager in AWS, env vars locally). */
  credentials: SecretsPort;
  /** fetch implementation (tests inject one). Default: global fetch. */
  fetch?: typeof fetch;
  /** Per-request timeout, ms (covers the response body too). Default 10 000. */
  timeoutMs?: number;
  /** Retry bounds; unspecified fields keep their defaults. */
  retry?: Partial<RetryPolicy>;
  /** Token-bucket settings (ignored when `bucket` is given). Default 200 per minute, burst 200. */
  rateLimit?: TokenBucketOptions;
  /** A bucket shared with other transports of the same account. */
  bucket?: TokenBucket;
  /** Epoch ms. Default Date.now. */
  now?: () => number;
  /** Waits ms. Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for jitter. Default Math.random. */
  random?: () => number;
  /**
   * Called on every 429 Alpaca answers (before the backoff or the final BrokerError 429), e.g. to
   * raise a MEDIUM alert. Its errors are swallowed: reporting never changes the request's outcome.
   */
  onRateLimited?: (info: { request: string; attempt: number; retryAfterMs?: number }) => void | Promise<void>;
}

/** Query parameters; undefined values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** A successful (2xx) answer: status and parsed JSON body (undefined when empty, e.g. 204). */
export interface AlpacaResponse {
  status: number;
  body: unknown;
}

/**
 * One Alpaca account's HTTP client: `request()` applies headers, timeout, rate limit, error
 * mapping and the retry policy of the module doc. Shared by AlpacaBroker and AlpacaCalendar.
 */
export class AlpacaTransport {
  readonly baseUrl: string;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
  readonly bucket: TokenBucket;
  private readonly fetchImpl: typeof fetch;
  private readonly time: TimeSource;
  private readonly random: () => number;
  private readonly onRateLimited: AlpacaTransportOptions['onRateLimited'];
  private keys: Promise<AlpacaKeys> | undefined;

  /** @throws Error when timeoutMs or a retry bound is not a positive number. */
  constructor(private readonly options: AlpacaTransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new Error(`timeoutMs must be > 0, got ${this.timeoutMs}`);
    if (!Number.isInteger(this.retry.maxAttempts) || this.retry.maxAttempts < 1) {
      throw new Error(`retry.maxAttempts must be an integer >= 1, got ${this.retry.maxAttempts}`);
    }
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.time = { now: options.now ?? realTime.now, sleep: options.sleep ?? realTime.sleep };
    this.random = options.random ?? Math.random;
    this.bucket = options.bucket ?? new TokenBucket(options.rateLimit, this.time);
    this.onRateLimited = options.onRateLimited;
  }

  /**
   * Sends one request under the retry policy.
   * @param path e.g. `/v2/orders` (query separate).
   * @param init.body JSON-serialisable request body (POST/PATCH).
   * @returns the 2xx status and parsed JSON body.
   * @throws BrokerError (HTTP ≥ 400, after retries), BrokerTransportError (timeout/network, after
   *   retries for GET), AlpacaResponseError (2xx body that is not JSON), Error (missing credentials).
   */
  async request(method: HttpMethod, path: string, init: { query?: Query; body?: unknown } = {}): Promise<AlpacaResponse> {
    const url = this.url(path, init.query);
    const label = `${method} ${path}`;
    for (let attempt = 1; ; attempt++) {
      const keys = await this.credentials();
      await this.bucket.take();
      let outcome: AlpacaResponse | { error: BrokerError | BrokerTransportError; retryAfterMs?: number };
      try {
        outcome = await this.send(method, url, label, keys, init.body);
      } catch (error) {
        if (!(error instanceof BrokerTransportError)) throw error;
        outcome = { error };
      }
      if (!('error' in outcome)) return outcome;

      const { error } = outcome;
      if (error instanceof BrokerError && error.status === 401) this.keys = undefined;
      if (error instanceof BrokerError && error.status === 429 && this.onRateLimited) {
        try {
          await this.onRateLimited({ request: label, attempt, ...(outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {}) });
        } catch {
          // an alert that cannot be sent must not change the request's outcome
        }
      }
      const delay = this.retryDelay(method, error, attempt, outcome.retryAfterMs);
      if (delay === undefined) throw error;
      await this.time.sleep(delay);
    }
  }

  /** Milliseconds to wait before the next attempt, or undefined when the error must be thrown. */
  private retryDelay(method: HttpMethod, error: BrokerError | BrokerTransportError, attempt: number, retryAfterMs: number | undefined): number | undefined {
    if (attempt >= this.retry.maxAttempts) return undefined;
    if (error instanceof BrokerError && error.status === 429) {
      if (retryAfterMs === undefined) return this.backoff(attempt);
      if (retryAfterMs > this.retry.maxRetryAfterMs) return undefined;
      return retryAfterMs + Math.floor(this.random() * this.retry.baseDelayMs);
    }
    if (method !== 'GET') return undefined;
    if (error instanceof BrokerTransportError || error.status >= 500) return this.backoff(attempt);
    return undefined;
  }

  /** Exponential step of attempt n with jitter: [1×, 2×) of min(maxDelayMs, baseDelayMs·2^(n−1)). */
  private backoff(attempt: number): number {
    const step = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(step * (1 + this.random()));
  }

  private async send(
    method: HttpMethod,
    url: string,
    label: string,
    keys: AlpacaKeys,
    body: unknown,
  ): Promise<AlpacaResponse | { error: BrokerError; retryAfterMs?: number }> {
    const headers: Record<string, string> = {
      'APCA-API-KEY-ID': keys.keyId,
      'APCA-API-SECRET-KEY': keys.secretKey,
      Accept: 'application/json',
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let status: number;
    let text: string;
    let responseHeaders: Headers;
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const response = await this.fetchImpl(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal,
      });
      status = response.status;
      responseHeaders = response.headers;
      text = await response.text();
    } catch (error) {
      throw this.transportError(label, error, signal.aborted);
    }

    if (status >= 400) {
      const error = toBrokerError(status, text);
      return status === 429 ? { error, ...this.retryAfter(responseHeaders) } : { error };
    }
    if (text.trim() === '') return { status, body: undefined };
    try {
      return { status, body: JSON.parse(text) as unknown };
    } catch {
      throw new AlpacaResponseError(label, '', text.slice(0, 200), `${label}: response ${status} is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
    }
  }

  /** The wait a 429 asks for: Retry-After (seconds or HTTP date), else X-RateLimit-Reset (epoch s). */
  private retryAfter(headers: Headers): { retryAfterMs?: number } {
    const now = this.time.now();
    const retryAfter = headers.get('retry-after')?.trim();
    if (retryAfter) {
      if (/^\d+(\.\d+)?$/.test(retryAfter)) return { retryAfterMs: Math.ceil(Number(retryAfter) * 1000) };
      const at = Date.parse(retryAfter);
      if (Number.isFinite(at)) return { retryAfterMs: Math.max(0, at - now) };
    }
    const reset = headers.get('x-ratelimit-reset')?.trim();
    if (reset && /^\d+$/.test(reset)) {
      const wait = Number(reset) * 1000 - now;
      if (wait > 0) return { retryAfterMs: wait };
    }
    return {};
  }

  private transportError(label: string, error: unknown, timedOut: boolean): BrokerTransportError {
    if (timedOut || (error as { name?: unknown } | null)?.name === 'TimeoutError') {
      return new BrokerTransportError('timeout', `${label}: no response within ${this.timeoutMs} ms`, { cause: error });
    }
    const detail = error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error);
    return new BrokerTransportError('network', `${label}: ${detail}`, { cause: error });
  }

  private credentials(): Promise<AlpacaKeys> {
    if (!this.keys) {
      const pending = this.options.credentials.getCredentials().then((c) => alpacaKeysFrom(c));
      this.keys = pending;
      pending.catch(() => {
        if (this.keys === pending) this.keys = undefined;
      });
    }
    return this.keys;
  }

  private url(path: string, query: Query | undefined): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(key, String(value));
    const search = params.toString();
    return `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
  }
}

/**
 * BrokerError of an HTTP error answer: message and code from Alpaca's JSON body
 * (`{"code":40410000,"message":"order not found"}`), else the raw text or `HTTP <status>`.
 */
export function toBrokerError(status: number, text: string): BrokerError {
  let message = text.trim() === '' ? `HTTP ${status}` : text.trim().slice(0, 500);
  let code: number | undefined;
  try {
    const parsed = AlpacaErrorBodySchema.safeParse(JSON.parse(text));
    if (parsed.success) {
      if (parsed.data.message) message = parsed.data.message;
      code = parsed.data.code;
    }
  } catch {
    // not JSON: keep the text
  }
  return new BrokerError(status, message, code);
}
