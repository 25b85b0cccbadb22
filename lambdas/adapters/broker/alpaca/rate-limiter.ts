/**
 * Client-side token bucket that keeps one adapter instance under Alpaca's Trading API rate limit
 * (200 requests per minute per account, Alpaca docs "Rate limit"; the API answers 429 beyond it).
 *
 * The bucket starts full with `capacity` tokens and refills continuously at `refillPerMinute`
 * tokens per minute, never above `capacity`. Every HTTP request (each retry included) takes one
 * token; when none is left, `take()` waits until one has refilled. Waiters are served in call
 * order (FIFO), so concurrent callers cannot overdraw the bucket.
 *
 * It limits one process (one Lambda container). Alpaca counts per account, so several concurrent
 * containers can still meet a 429, which the transport's backoff handles.
 *
 * Time is injected (`now`, `sleep`) so tests run instantly and deterministically.
 */

/** Time functions; defaults are the real clock and timers. */
export interface TimeSource {
  /** Current time, epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

/** The real clock: `Date.now()` and `setTimeout`. */
export const realTime: TimeSource = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Bucket size and refill rate. */
export interface TokenBucketOptions {
  /** Maximum burst, tokens (requests). Default 200. */
  capacity?: number;
  /** Refill rate, tokens per minute. Default 200 (Alpaca's 200 requests/minute). */
  refillPerMinute?: number;
}

/** Alpaca's documented Trading API limit: 200 requests per minute per account. */
export const ALPACA_REQUESTS_PER_MINUTE = 200;

/** One token in the bucket's internal units (milliseconds per minute). */
const UNITS_PER_TOKEN = 60_000;

/** Token bucket (see module doc): `take()` before every request; FIFO waiting through the injected clock. */
export class TokenBucket {
  readonly capacity: number;
  /** Refill rate, tokens per minute. */
  readonly refillPerMinute: number;
  /**
   * Fill level in token-milliseconds-per-minute units (1 token = 60 000 units; refill adds
   * `refillPerMinute` units per ms), so integer rates give exact integer arithmetic.
   */
  private units: number;
  private updatedAt: number;
  /** Tail of the FIFO of callers; each take() waits for the previous one. */
  private queue: Promise<void> = Promise.resolve();

  /**
   * @throws Error when capacity or refillPerMinute is not a positive finite number.
   */
  constructor(
    options: TokenBucketOptions = {},
    private readonly time: TimeSource = realTime,
  ) {
    const capacity = options.capacity ?? ALPACA_REQUESTS_PER_MINUTE;
    const perMinute = options.refillPerMinute ?? ALPACA_REQUESTS_PER_MINUTE;
    if (!Number.isFinite(capacity) || capacity < 1) throw new Error(`token bucket capacity must be >= 1, got ${capacity}`);
    if (!Number.isFinite(perMinute) || perMinute <= 0) throw new Error(`token bucket refillPerMinute must be > 0, got ${perMinute}`);
    this.capacity = capacity;
    this.refillPerMinute = perMinute;
    this.units = capacity * UNITS_PER_TOKEN;
    this.updatedAt = time.now();
  }

  /** Tokens available now (fractional while refilling). */
  available(): number {
    this.refill();
    return this.units / UNITS_PER_TOKEN;
  }

  /**
   * Takes one token, waiting (through the injected `sleep`) until one is available.
   * @returns milliseconds this call waited for its token (0 when one was free).
   */
  take(): Promise<number> {
    const turn = this.queue.then(() => this.takeNow());
    // The next caller waits for this one whatever happens to it.
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  private async takeNow(): Promise<number> {
    let waited = 0;
    for (;;) {
      this.refill();
      if (this.units >= UNITS_PER_TOKEN) {
        this.units -= UNITS_PER_TOKEN;
        return waited;
      }
      const wait = Math.max(1, Math.ceil((UNITS_PER_TOKEN - this.units) / this.refillPerMinute));
      await this.time.sleep(wait);
      waited += wait;
    }
  }

  private refill(): void {
    const now = this.time.now();
    const elapsed = Math.max(0, now - this.updatedAt);
    this.units = Math.min(this.capacity * UNITS_PER_TOKEN, this.units + elapsed * this.refillPerMinute);
    this.updatedAt = now;
  }
}
