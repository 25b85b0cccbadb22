/**
 * Transport behaviour of the Alpaca adapter: headers, error mapping, timeouts, the retry policy
 * (429 for every method; 5xx/transport only for GET; never resend a POST/PATCH/DELETE) and the
 * token bucket. Time is injected: nothing here sleeps for real beyond a 5 ms timeout.
 */
import { entryRequest } from '../../../support/orders';
import { describe, expect, it } from 'vitest';
import { AlpacaBroker, type AlpacaBrokerOptions } from '../../../../lambdas/adapters/broker/alpaca/alpaca-broker';
import { BrokerError, BrokerTransportError, type SubmitOrderRequest } from '../../../../lambdas/ports';
import { alpacaOrder, hang, json, keys, ManualTime, networkFailure, noContent, scriptedFetch, type Handler } from './helpers';

const ACCOUNT = { cash: '1000', equity: '1000', buying_power: '2000', trading_blocked: false, trade_suspended_by_user: false, account_blocked: false };
const ENTRY: SubmitOrderRequest = entryRequest();
const acceptedEntry = () =>
  json(200, alpacaOrder({ order_class: 'oto', legs: [alpacaOrder({ id: 'c1a2b3c4-0000-4000-8000-000000000002', client_order_id: 'leg-1', side: 'sell', type: 'stop', limit_price: null, stop_price: '152.1', status: 'held', order_class: 'oto' })] }));

function setup(handler: Handler | Handler[], options: Partial<AlpacaBrokerOptions> & { randoms?: number[] } = {}) {
  const { fetch, calls } = scriptedFetch(handler);
  const time = new ManualTime();
  const randoms = options.randoms ? [...options.randoms] : undefined;
  const broker = new AlpacaBroker({
    credentials: keys(),
    fetch,
    now: time.now,
    sleep: time.sleep,
    random: () => (randoms ? (randoms.shift() ?? 0) : 0.5),
    ...options,
  });
  return { broker, calls, time };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('requests', () => {
  it('sends the key headers to the paper endpoint and never puts the secret anywhere else', async () => {
    const { broker, calls } = setup(() => json(200, ACCOUNT));
    await broker.getAccount();
    const [call] = calls;
    expect(call!.url.toString()).toBe('https://paper-api.alpaca.markets/v2/account');
    expect(call!.headers['apca-api-key-id']).toBe('AKTEST');
    expect(call!.headers['apca-api-secret-key']).toBe('secret-123');
    expect(call!.headers.accept).toBe('application/json');
    expect(call!.url.toString()).not.toContain('secret-123');
  });

  it('reads the credentials once, and again after a 401 (rotated key)', async () => {
    const credentials = keys();
    const { broker } = setup([() => json(200, ACCOUNT), () => json(200, ACCOUNT), () => json(401, { code: 40110000, message: 'unauthorized.' }), () => json(200, ACCOUNT)], { credentials });
    await broker.getAccount();
    await broker.getAccount();
    expect(credentials.reads).toBe(1);
    const error = await rejection(broker.getAccount());
    expect(error).toEqual(new BrokerError(401, 'unauthorized.', 40110000));
    expect((error as Error).message).not.toContain('secret-123');
    await broker.getAccount();
    expect(credentials.reads).toBe(2);
  });

  it('missing credentials: an error naming the variable, and nothing is sent', async () => {
    const { broker, calls } = setup(() => json(200, ACCOUNT), { credentials: keys({ APCA_API_KEY_ID: 'AKTEST' }) });
    await expect(broker.getAccount()).rejects.toThrow('Alpaca credentials missing: APCA_API_SECRET_KEY not set in the credentials source');
    await expect(broker.submitOrder(ENTRY)).rejects.toThrow(/APCA_API_SECRET_KEY/);
    expect(calls).toHaveLength(0);
  });
});

describe('error mapping', () => {
  it('HTTP >= 400 → BrokerError(status, body.message, body.code)', async () => {
    const { broker } = setup(() => json(403, { code: 40310000, message: 'insufficient buying power' }));
    const error = await rejection(broker.submitOrder(ENTRY));
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ status: 403, message: 'insufficient buying power', code: 40310000 });
  });

  it('422 duplicate client_order_id keeps Alpaca message and code', async () => {
    const { broker } = setup(() => json(422, { code: 40010001, message: 'client_order_id must be unique' }));
    await expect(broker.submitOrder(ENTRY)).rejects.toMatchObject({ status: 422, message: 'client_order_id must be unique', code: 40010001 });
  });

  it('a body that is not JSON keeps its text; an empty one says HTTP <status>', async () => {
    const { broker } = setup([() => new Response('<html>bad gateway</html>', { status: 502 }), () => new Response('', { status: 500 })]);
    await expect(broker.submitOrder(ENTRY)).rejects.toMatchObject({ status: 502, message: '<html>bad gateway</html>', code: undefined });
    await expect(broker.submitOrder(ENTRY)).rejects.toMatchObject({ status: 500, message: 'HTTP 500' });
  });

  it('a timeout → BrokerTransportError timeout; a fetch failure → BrokerTransportError network', async () => {
    const t = setup(hang, { timeoutMs: 5, retry: { maxAttempts: 1 } });
    const timeout = await rejection(t.broker.getAccount());
    expect(timeout).toBeInstanceOf(BrokerTransportError);
    expect(timeout).toMatchObject({ kind: 'timeout', message: 'GET /v2/account: no response within 5 ms' });

    const n = setup(networkFailure, { retry: { maxAttempts: 1 } });
    const network = await rejection(n.broker.getAccount());
    expect(network).toBeInstanceOf(BrokerTransportError);
    expect(network).toMatchObject({ kind: 'network', message: 'GET /v2/account: fetch failed (read ECONNRESET)' });
  });

  it('a 2xx body that is not JSON is refused, naming the request', async () => {
    const { broker } = setup(() => new Response('OK', { status: 200 }));
    await expect(broker.getAccount()).rejects.toThrow('GET /v2/account: response 200 is not JSON: "OK"');
  });
});

describe('retry policy: 429 for every method', () => {
  it('POST after 429 with Retry-After: waits Retry-After + jitter (< baseDelay), then sends once more', async () => {
    const { broker, calls, time } = setup([() => json(429, { code: 42910000, message: 'rate limit exceeded' }, { 'Retry-After': '2' }), acceptedEntry], {
      randoms: [0.5],
    });
    const order = await broker.submitOrder(ENTRY);
    expect(order.clientOrderId).toBe('momo1-20180207-AAPL-b-en');
    expect(calls.map((c) => c.method)).toEqual(['POST', 'POST']);
    expect(time.sleeps).toEqual([2000 + Math.floor(0.5 * 250)]);
  });

  it('every 429 is reported to onRateLimited (for the MEDIUM alert), and a failing reporter changes nothing', async () => {
    const seen: Array<{ request: string; attempt: number; retryAfterMs?: number }> = [];
    const { broker } = setup([() => json(429, {}, { 'Retry-After': '2' }), () => json(429, {}), () => json(200, ACCOUNT)], {
      onRateLimited: (info) => {
        seen.push(info);
      },
    });
    await broker.getAccount();
    expect(seen).toEqual([
      { request: 'GET /v2/account', attempt: 1, retryAfterMs: 2000 },
      { request: 'GET /v2/account', attempt: 2 },
    ]);
    const failing = setup([() => json(429, {}, { 'Retry-After': '1' }), () => json(200, ACCOUNT)], {
      onRateLimited: () => {
        throw new Error('SNS down');
      },
    });
    await expect(failing.broker.getAccount()).resolves.toMatchObject({ cash: '1000' });
  });

  it('jitter bounds of a Retry-After wait: [Retry-After, Retry-After + baseDelayMs)', async () => {
    for (const r of [0, 0.999999]) {
      const { broker, time } = setup([() => json(429, {}, { 'Retry-After': '1' }), () => json(200, ACCOUNT)], { randoms: [r] });
      await broker.getAccount();
      expect(time.sleeps[0]).toBeGreaterThanOrEqual(1000);
      expect(time.sleeps[0]).toBeLessThan(1250);
    }
  });

  it('without Retry-After: exponential backoff with jitter in [step, 2·step), bounded attempts, then BrokerError 429', async () => {
    const limited = () => json(429, { code: 42910000, message: 'rate limit exceeded' });
    const { broker, calls, time } = setup(limited, { randoms: [0, 0.5, 0.999999], retry: { maxAttempts: 4, baseDelayMs: 250 } });
    const error = await rejection(broker.submitOrder(ENTRY));
    expect(error).toMatchObject({ status: 429, message: 'rate limit exceeded' });
    expect(calls).toHaveLength(4);
    // steps 250, 500, 1000 ms; each delay in [step, 2·step)
    expect(time.sleeps).toEqual([250, 750, 1999]);
    [250, 500, 1000].forEach((step, i) => {
      expect(time.sleeps[i]).toBeGreaterThanOrEqual(step);
      expect(time.sleeps[i]).toBeLessThan(2 * step);
    });
  });

  it('the exponential step is capped at maxDelayMs', async () => {
    const { broker, time } = setup(() => json(429, {}), { randoms: [0, 0, 0, 0, 0], retry: { maxAttempts: 6, baseDelayMs: 1000, maxDelayMs: 3000 } });
    await expect(broker.getAccount()).rejects.toMatchObject({ status: 429 });
    expect(time.sleeps).toEqual([1000, 2000, 3000, 3000, 3000]);
  });

  it('uses X-RateLimit-Reset (epoch seconds) when there is no Retry-After', async () => {
    const time = new ManualTime(1_700_000_000_000);
    const { fetch } = scriptedFetch([() => json(429, {}, { 'X-RateLimit-Reset': '1700000003' }), () => json(200, ACCOUNT)]);
    const broker = new AlpacaBroker({ credentials: keys(), fetch, now: time.now, sleep: time.sleep, random: () => 0 });
    await broker.getAccount();
    expect(time.sleeps).toEqual([3000]);
  });

  it('a Retry-After beyond maxRetryAfterMs is not waited for', async () => {
    const { broker, calls, time } = setup(() => json(429, { message: 'slow down' }, { 'Retry-After': '600' }));
    await expect(broker.getAccount()).rejects.toMatchObject({ status: 429, message: 'slow down' });
    expect(calls).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('DELETE and PATCH are retried after a 429 too (not processed)', async () => {
    const { broker, calls } = setup([
      () => json(429, {}, { 'Retry-After': '0' }),
      noContent,
      () => json(429, {}, { 'Retry-After': '0' }),
      () => json(200, { suspend_trade: true }),
    ]);
    await broker.cancelOrder('61e69015-8549-4bfd-b9c3-01e75843f47d');
    await broker.setSuspendTrade(true);
    expect(calls.map((c) => c.method)).toEqual(['DELETE', 'DELETE', 'PATCH', 'PATCH']);
  });
});

describe('retry policy: never resend a POST/PATCH/DELETE whose outcome is unknown', () => {
  it('POST 500: thrown at once, sent once, no wait', async () => {
    const { broker, calls, time } = setup(() => json(500, { code: 50010000, message: 'internal server error' }));
    await expect(broker.submitOrder(ENTRY)).rejects.toMatchObject({ status: 500, message: 'internal server error' });
    expect(calls).toHaveLength(1);
    expect(time.sleeps).toEqual([]);
  });

  it('POST 503 and 504: thrown at once', async () => {
    for (const status of [503, 504]) {
      const { broker, calls } = setup(() => json(status, { message: 'unavailable' }));
      await expect(broker.submitOrder(ENTRY)).rejects.toMatchObject({ status });
      expect(calls).toHaveLength(1);
    }
  });

  it('POST timeout: BrokerTransportError timeout, sent once', async () => {
    const { broker, calls } = setup(hang, { timeoutMs: 5 });
    await expect(broker.submitOrder(ENTRY)).rejects.toMatchObject({ name: 'BrokerTransportError', kind: 'timeout' });
    expect(calls).toHaveLength(1);
  });

  it('POST network failure: BrokerTransportError network, sent once', async () => {
    const { broker, calls } = setup(networkFailure);
    await expect(broker.submitOrder(ENTRY)).rejects.toMatchObject({ name: 'BrokerTransportError', kind: 'network' });
    expect(calls).toHaveLength(1);
  });

  it('DELETE 503 and PATCH 500 / timeout: thrown at once', async () => {
    const del = setup(() => json(503, {}));
    await expect(del.broker.cancelOrder('61e69015-8549-4bfd-b9c3-01e75843f47d')).rejects.toMatchObject({ status: 503 });
    expect(del.calls).toHaveLength(1);
    const patch = setup(() => json(500, {}));
    await expect(patch.broker.setSuspendTrade(true)).rejects.toMatchObject({ status: 500 });
    expect(patch.calls).toHaveLength(1);
    const slow = setup(hang, { timeoutMs: 5 });
    await expect(slow.broker.setSuspendTrade(true)).rejects.toMatchObject({ kind: 'timeout' });
    expect(slow.calls).toHaveLength(1);
  });
});

describe('retry policy: GET is idempotent', () => {
  it('GET 503, 503, 200: retried with backoff, succeeds', async () => {
    const { broker, calls, time } = setup([() => json(503, {}), () => json(503, {}), () => json(200, ACCOUNT)], { randoms: [0, 0] });
    expect((await broker.getAccount()).equity).toBe('1000');
    expect(calls).toHaveLength(3);
    expect(time.sleeps).toEqual([250, 500]);
  });

  it('GET timeouts and network failures are retried, bounded by maxAttempts', async () => {
    const { broker, calls } = setup(networkFailure, { retry: { maxAttempts: 3 } });
    await expect(broker.getAccount()).rejects.toMatchObject({ kind: 'network' });
    expect(calls).toHaveLength(3);
    const slow = setup([hang, () => json(200, ACCOUNT)], { timeoutMs: 5 });
    expect((await slow.broker.getAccount()).cash).toBe('1000');
    expect(slow.calls).toHaveLength(2);
  });

  it('GET 4xx other than 429 is not retried', async () => {
    const { broker, calls } = setup(() => json(422, { message: 'invalid' }));
    await expect(broker.getAccount()).rejects.toMatchObject({ status: 422 });
    expect(calls).toHaveLength(1);
  });
});

describe('token bucket: under 200 requests per minute', () => {
  it('the 201st request within a minute waits for a token (injected clock)', async () => {
    const { broker, calls, time } = setup(() => json(200, ACCOUNT));
    for (let i = 0; i < 200; i++) await broker.getAccount();
    expect(time.sleeps).toEqual([]);
    const before = time.t;
    await broker.getAccount();
    expect(calls).toHaveLength(201);
    expect(time.sleeps).toEqual([300]);
    expect(time.t - before).toBe(300);
  });

  it('every attempt, retries included, takes a token', async () => {
    const { broker, calls, time } = setup([() => json(503, {}), () => json(200, ACCOUNT)], { rateLimit: { capacity: 1, refillPerMinute: 1 }, randoms: [0] });
    await broker.getAccount();
    expect(calls).toHaveLength(2);
    // backoff 250 ms, then the second attempt waits for the bucket: 60 000 ms per token − 250 ms refilled
    expect(time.sleeps).toEqual([250, 59_750]);
  });
});
