/**
 * The shared HTTP/retry helper of the market-data adapters: the backoff schedule, what is retried,
 * what is not, and the base-URL check.
 */
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  backoffStep,
  getJson,
  MARKET_DATA_RETRY_POLICY,
  resolveApiBaseUrl,
  TransientError,
  withRetries,
} from '../../../../lambdas/adapters/market-data/http';
import { MarketDataError } from '../../../../lambdas/ports';
import { recordingSleep, respond, sequence } from './helpers';

describe('backoff', () => {
  it('steps start at 250 ms, double, and are capped at 20 s', () => {
    expect(MARKET_DATA_RETRY_POLICY).toEqual({ maxAttempts: 8, baseDelayMs: 250, factor: 2, maxDelayMs: 20_000 });
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => backoffStep(n))).toEqual([250, 500, 1000, 2000, 4000, 8000, 16000, 20000, 20000]);
  });

  it('each wait lies in [step/2, step]', () => {
    expect(backoffDelay(1, () => 0)).toBe(125);
    expect(backoffDelay(1, () => 0.999999)).toBe(250);
    expect(backoffDelay(9, () => 0.999999)).toBe(20_000);
    expect(backoffDelay(9, () => 0)).toBe(10_000);
  });
});

describe('withRetries', () => {
  const context = { source: 'test', symbol: 'AAPL', label: 'GET thing' };

  it('passes a non-transient error through unchanged after one attempt', async () => {
    const refusal = new MarketDataError('AAPL', 'refused');
    let attempts = 0;
    const { sleep, delays } = recordingSleep();
    await expect(
      withRetries(context, async () => {
        attempts++;
        throw refusal;
      }, { sleep }),
    ).rejects.toBe(refusal);
    expect(attempts).toBe(1);
    expect(delays).toEqual([]);
  });

  it('retries transient errors up to maxAttempts and reports through onWarning (whose own errors are ignored)', async () => {
    const { sleep, delays } = recordingSleep();
    let attempts = 0;
    const result = await withRetries(
      context,
      async (n) => {
        attempts++;
        if (n < 3) throw new TransientError('http', `HTTP 503 (${n})`);
        return 'ok';
      },
      {
        sleep,
        random: () => 1,
        onWarning: () => {
          throw new Error('alerting is down');
        },
      },
    );
    expect(result).toBe('ok');
    expect(attempts).toBe(3);
    expect(delays).toEqual([250, 500]);
  });

  it('honours a Retry-After longer than the backoff, but never beyond 20 s', async () => {
    const { sleep, delays } = recordingSleep();
    await withRetries(
      context,
      async (n) => {
        if (n === 1) throw new TransientError('http', 'HTTP 429', 5_000);
        if (n === 2) throw new TransientError('http', 'HTTP 429', 600_000);
        return 'ok';
      },
      { sleep, random: () => 0, onWarning: () => undefined },
    );
    expect(delays).toEqual([5_000, 20_000]);
  });
});

describe('getJson', () => {
  it('reads Retry-After given as an HTTP date and X-RateLimit-Reset', async () => {
    const now = () => Date.parse('2024-03-05T15:00:00Z');
    const dated = sequence(() => respond('', 429, { 'Retry-After': 'Tue, 05 Mar 2024 15:00:07 GMT' }));
    const error = await getJson({ fetch: dated.fetch, url: 'http://127.0.0.1:9/x', symbol: 'AAPL', label: 'x', now }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).retryAfterMs).toBe(7_000);
    const reset = sequence(() => respond('', 429, { 'X-RateLimit-Reset': String(Date.parse('2024-03-05T15:00:02Z') / 1000) }));
    const error2 = await getJson({ fetch: reset.fetch, url: 'http://127.0.0.1:9/x', symbol: 'AAPL', label: 'x', now }).catch((e: unknown) => e);
    expect((error2 as TransientError).retryAfterMs).toBe(2_000);
  });

  it('a request that does not answer in time is a transient timeout', async () => {
    const hanging = ((_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)))) as unknown as typeof fetch;
    const error = await getJson({ fetch: hanging, url: 'http://127.0.0.1:9/x', symbol: 'AAPL', label: 'x', timeoutMs: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).kind).toBe('timeout');
    expect((error as Error).message).toBe('no answer within 5 ms');
  });
});

describe('resolveApiBaseUrl', () => {
  it('defaults, trims a trailing slash, keeps a path prefix', () => {
    expect(resolveApiBaseUrl('X_URL', undefined, 'https://example.com')).toBe('https://example.com');
    expect(resolveApiBaseUrl('X_URL', '  ', 'https://example.com')).toBe('https://example.com');
    expect(resolveApiBaseUrl('X_URL', 'https://proxy.example.org/av/', 'https://example.com')).toBe('https://proxy.example.org/av');
    expect(resolveApiBaseUrl('X_URL', 'http://localhost:8080', 'https://example.com')).toBe('http://localhost:8080');
  });

  it('refuses anything else, naming the variable and the value', () => {
    expect(() => resolveApiBaseUrl('X_URL', 'example.com', 'https://example.com')).toThrow('X_URL must be an absolute URL such as https://example.com, got "example.com"');
    expect(() => resolveApiBaseUrl('X_URL', 'http://example.org', 'https://example.com')).toThrow('X_URL must use https');
    expect(() => resolveApiBaseUrl('X_URL', 'https://u:p@example.org', 'https://example.com')).toThrow('no credentials, query or fragment');
    expect(() => resolveApiBaseUrl('X_URL', 'https://example.org/?apikey=1', 'https://example.com')).toThrow('no credentials, query or fragment');
  });
});
