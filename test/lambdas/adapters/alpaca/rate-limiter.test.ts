import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../../lambdas/adapters/broker/alpaca/rate-limiter';
import { ManualTime } from './helpers';

describe('TokenBucket (injected clock: runs instantly)', () => {
  it('serves a burst of `capacity` without waiting, then one token per 60000/rate ms', async () => {
    const time = new ManualTime(0);
    const bucket = new TokenBucket({ capacity: 200, refillPerMinute: 200 }, time);
    for (let i = 0; i < 200; i++) expect(await bucket.take()).toBe(0);
    expect(time.sleeps).toEqual([]);
    expect(await bucket.take()).toBe(300); // 200/min = one token every 300 ms
    expect(time.sleeps).toEqual([300]);
    expect(time.t).toBe(300);
  });

  it('refills with elapsed time, never above capacity', async () => {
    const time = new ManualTime(0);
    const bucket = new TokenBucket({ capacity: 3, refillPerMinute: 60 }, time);
    await bucket.take();
    await bucket.take();
    await bucket.take();
    expect(bucket.available()).toBe(0);
    time.t += 1_500; // 1.5 tokens at one per second
    expect(bucket.available()).toBe(1.5);
    time.t += 60_000;
    expect(bucket.available()).toBe(3);
  });

  it('serves concurrent callers in order without overdrawing', async () => {
    const time = new ManualTime(0);
    const bucket = new TokenBucket({ capacity: 2, refillPerMinute: 60 }, time);
    const waits = await Promise.all([bucket.take(), bucket.take(), bucket.take(), bucket.take()]);
    expect(waits).toEqual([0, 0, 1000, 1000]);
    expect(time.t).toBe(2000);
    expect(bucket.available()).toBe(0);
  });

  it('refuses a nonsensical configuration', () => {
    expect(() => new TokenBucket({ capacity: 0 })).toThrow('token bucket capacity must be >= 1, got 0');
    expect(() => new TokenBucket({ refillPerMinute: -1 })).toThrow('token bucket refillPerMinute must be > 0, got -1');
  });
});
