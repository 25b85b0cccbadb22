import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  logReturns,
  rollingStdev,
  simpleReturn,
  sma,
} from '../../../lambdas/core/indicators';
import { atrInto, rsiInto } from '../../../lambdas/core/feature-engine/kernels/ta';

// ---------------------------------------------------------------------------------------------
// Helpers and independent reference implementations (deliberately naive: loops straight from the
// textbook definitions, no running state shared with the code under test).
// ---------------------------------------------------------------------------------------------

const REL = 1e-9;

/** |actual − expected| <= rel·|expected| (or <= 1e-12 absolute when expected is 0); NaN must match NaN. */
function expectClose(actual: number | undefined, expected: number | undefined, rel = REL, what = ''): void {
  if (actual === undefined || expected === undefined) throw new Error(`undefined value ${what}`);
  if (Number.isNaN(expected)) {
    expect(actual, what).toBeNaN();
    return;
  }
  const tol = expected === 0 ? 1e-12 : rel * Math.abs(expected);
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(`${what}: expected ${expected}, got ${actual} (|diff| ${Math.abs(actual - expected)} > ${tol})`);
  }
}

function expectSeriesClose(actual: Float64Array, expected: readonly number[], rel = REL, label = ''): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expectClose(actual[i], expected[i], rel, `${label}[${i}]`);
}

/** Indices whose value is NaN. */
function nanIndices(a: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (Number.isNaN(a[i])) out.push(i);
  return out;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function naiveSma(x: readonly number[], p: number): number[] {
  return x.map((_, t) => {
    if (t < p - 1) return NaN;
    let s = 0;
    for (let i = t - p + 1; i <= t; i++) s += x[i]!;
    return s / p;
  });
}

function naiveStdev(x: readonly number[], p: number): number[] {
  return x.map((_, t) => {
    if (t < p - 1) return NaN;
    const w = x.slice(t - p + 1, t + 1);
    if (w.some(Number.isNaN)) return NaN;
    const mean = w.reduce((a, b) => a + b, 0) / p;
    return Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / (p - 1));
  });
}

/**
 * Wilder: RSI = 100 − 100/(1 + RS), RS = avgGain/avgLoss. Evaluated as the identical 100·RS/(1 + RS)
 * because the textbook form cancels catastrophically for RSI near 0 (absolute error ~1e-14 there,
 * which is not 1e-9 relative).
 */
function rsiFromRs(avgGain: number, avgLoss: number): number {
  if (avgLoss === 0) return avgGain === 0 ? 50 : 100;
  const rs = avgGain / avgLoss;
  return (100 * rs) / (1 + rs);
}

/** Wilder RSI by the textbook recursion. */
function naiveRsi(c: readonly number[], p: number): number[] {
  const n = c.length;
  const out: number[] = new Array<number>(n).fill(NaN);
  if (n <= p) return out;
  const gains = [0];
  const losses = [0];
  for (let t = 1; t < n; t++) {
    const d = c[t]! - c[t - 1]!;
    gains.push(Math.max(d, 0));
    losses.push(Math.max(-d, 0));
  }
  let ag = 0;
  let al = 0;
  for (let t = 1; t <= p; t++) {
    ag += gains[t]!;
    al += losses[t]!;
  }
  ag /= p;
  al /= p;
  for (let t = p; t < n; t++) {
    if (t > p) {
      ag = (ag * (p - 1) + gains[t]!) / p;
      al = (al * (p - 1) + losses[t]!) / p;
    }
    out[t] = rsiFromRs(ag, al);
  }
  return out;
}

/**
 * Wilder smoothing in closed form (no recursion): with a = 1/p and x_1..x_t,
 * avg_t = (1−a)^(t−p)·mean(x_1..x_p) + Σ_{s=p+1..t} a·(1−a)^(t−s)·x_s.
 */
function wilderClosedForm(x: readonly number[], p: number): number[] {
  const n = x.length;
  const out: number[] = new Array<number>(n).fill(NaN);
  if (n <= p) return out;
  const a = 1 / p;
  let seed = 0;
  for (let s = 1; s <= p; s++) seed += x[s]!;
  seed /= p;
  for (let t = p; t < n; t++) {
    let v = (1 - a) ** (t - p) * seed;
    for (let s = p + 1; s <= t; s++) v += a * (1 - a) ** (t - s) * x[s]!;
    out[t] = v;
  }
  return out;
}

function closedFormRsi(c: readonly number[], p: number): number[] {
  const gains = c.map((v, t) => (t === 0 ? 0 : Math.max(v - c[t - 1]!, 0)));
  const losses = c.map((v, t) => (t === 0 ? 0 : Math.max(c[t - 1]! - v, 0)));
  const ag = wilderClosedForm(gains, p);
  const al = wilderClosedForm(losses, p);
  return ag.map((g, t) => (Number.isNaN(g) ? NaN : rsiFromRs(g, al[t]!)));
}

function naiveTrueRange(h: readonly number[], l: readonly number[], c: readonly number[]): number[] {
  return h.map((hi, t) => {
    const lo = l[t]!;
    if (t === 0) return hi - lo;
    const pc = c[t - 1]!;
    let m = hi - lo;
    if (Math.abs(hi - pc) > m) m = Math.abs(hi - pc);
    if (Math.abs(lo - pc) > m) m = Math.abs(lo - pc);
    return m;
  });
}

function naiveAtr(h: readonly number[], l: readonly number[], c: readonly number[], p: number): number[] {
  const tr = naiveTrueRange(h, l, c);
  const out: number[] = new Array<number>(tr.length).fill(NaN);
  if (tr.length <= p) return out;
  let atr = 0;
  for (let t = 1; t <= p; t++) atr += tr[t]!;
  atr /= p;
  out[p] = atr;
  for (let t = p + 1; t < tr.length; t++) {
    atr = (atr * (p - 1) + tr[t]!) / p;
    out[t] = atr;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('sma', () => {
  it('matches hand values, first value at index period-1', () => {
    expectSeriesClose(sma([1, 2, 3, 4, 5], 3), [NaN, NaN, 2, 3, 4]);
    expectSeriesClose(sma([4, 8], 1), [4, 8]);
    expectSeriesClose(sma([1, 2], 3), [NaN, NaN]);
    expect(sma([], 5)).toEqual(new Float64Array(0));
  });

  it('equals the naive per-window mean for random positive series (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 1e-3, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 60 }),
        (x, p) => {
          expectSeriesClose(sma(x, p), naiveSma(x, p), REL, 'sma');
        },
      ),
    );
  });

  it('agrees with the naive mean for signed series, relative to the window scale (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 60 }),
        (x, p) => {
          const got = sma(x, p);
          const want = naiveSma(x, p);
          for (let t = p - 1; t < x.length; t++) {
            // A mean near 0 of large ± values has no meaningful relative error; scale by mean |x|.
            const scale = naiveSma(x.map(Math.abs), p)[t]!;
            expect(Math.abs(got[t]! - want[t]!)).toBeLessThanOrEqual(REL * Math.max(scale, 1e-300));
          }
        },
      ),
    );
  });

  it('does not drift on a long series (running sum is guarded)', () => {
    const x = range(200_000).map((i) => 1e6 + 1000 * Math.sin(i) + (i % 7) * 0.001);
    const got = sma(x, 50);
    const want = naiveSma(x, 50);
    for (let t = 49; t < x.length; t += 997) expectClose(got[t], want[t], 1e-12, `t=${t}`);
    expectClose(got[x.length - 1], want[x.length - 1], 1e-12, 'last');
  });

  it('recovers small values exactly after huge ones leave the window', () => {
    // A plain running sum would keep rounding garbage from 1e17 (0.1 is below its ulp of 16).
    const x = [1e17, -1e17, 1e17, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    const got = sma(x, 3);
    expectClose(got[5], (0.1 + 0.2 + 0.3) / 3, 1e-15, 'first all-small window');
    expectClose(got[8], (0.4 + 0.5 + 0.6) / 3, 1e-15, 'last window');
  });

  it('gives NaN for windows containing NaN and recovers after', () => {
    const got = sma([1, 2, NaN, 4, 5, 6, 7], 2);
    expect(nanIndices(got)).toEqual([0, 2, 3]);
    expectSeriesClose(got, [NaN, 1.5, NaN, NaN, 4.5, 5.5, 6.5]);
  });

  it('rejects bad periods and infinite values', () => {
    expect(() => sma([1, 2], 0)).toThrow('period must be an integer >= 1, got 0');
    expect(() => sma([1, 2], -3)).toThrow('period must be an integer >= 1, got -3');
    expect(() => sma([1, 2], 1.5)).toThrow('period must be an integer >= 1, got 1.5');
    expect(() => sma([1, 2], NaN)).toThrow('period must be an integer >= 1, got NaN');
    expect(() => sma([1, Infinity], 1)).toThrow('values[1] must be a finite number or NaN, got Infinity');
  });

  it('accepts typed arrays and does not mutate the input', () => {
    const x = new Float64Array([3, 1, 2]);
    expectSeriesClose(sma(x, 2), [NaN, 2, 1.5]);
    expect(Array.from(x)).toEqual([3, 1, 2]);
  });
});

describe('simpleReturn', () => {
  it('matches hand values, first value at index lag', () => {
    expectSeriesClose(simpleReturn([100, 110, 99], 1), [NaN, 0.1, -0.1]);
    expectSeriesClose(simpleReturn([100, 110, 99, 120], 2), [NaN, NaN, -0.01, 120 / 110 - 1]);
    expect(nanIndices(simpleReturn([1, 2, 3], 5))).toEqual([0, 1, 2]);
  });

  it('rejects bad lags and non-positive prices', () => {
    expect(() => simpleReturn([1, 2], 0)).toThrow('lag must be an integer >= 1, got 0');
    expect(() => simpleReturn([1, 0, 2], 1)).toThrow('close[1] must be a finite number > 0, got 0');
    expect(() => simpleReturn([1, -2], 1)).toThrow('close[1] must be a finite number > 0, got -2');
    expect(() => simpleReturn([NaN, 2], 1)).toThrow('close[0] must be a finite number > 0, got NaN');
  });
});

describe('logReturns', () => {
  it('matches hand values, first value at index 1', () => {
    expectSeriesClose(logReturns([100, 110, 99]), [NaN, Math.log(1.1), Math.log(0.9)]);
    expectSeriesClose(logReturns([Math.E, 1]), [NaN, -1]);
    expect(nanIndices(logReturns([5]))).toEqual([0]);
  });

  it('sums to the log of the total return (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.01, max: 1e4, noNaN: true }), { minLength: 2, maxLength: 100 }), (c) => {
        const r = logReturns(c);
        let s = 0;
        for (let t = 1; t < c.length; t++) s += r[t]!;
        expect(Math.abs(s - Math.log(c[c.length - 1]! / c[0]!))).toBeLessThanOrEqual(1e-9);
      }),
    );
  });

  it('rejects non-positive or non-finite prices', () => {
    expect(() => logReturns([1, 0])).toThrow('close[1] must be a finite number > 0, got 0');
    expect(() => logReturns([Infinity, 1])).toThrow('close[0] must be a finite number > 0, got Infinity');
  });
});

describe('rollingStdev', () => {
  it('matches hand values (sample, n-1 denominator)', () => {
    // mean 5, Σ(x−mean)² = 32 → sample variance 32/7
    const got = rollingStdev([2, 4, 4, 4, 5, 5, 7, 9], 8);
    expect(nanIndices(got)).toEqual(range(7));
    expectClose(got[7], Math.sqrt(32 / 7), REL, 'sd');
    expectSeriesClose(rollingStdev([1, 3, 6], 2), [NaN, Math.SQRT2, Math.sqrt(4.5)]);
  });

  it('equals the naive two-pass sample stdev (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 2, maxLength: 200 }),
        fc.integer({ min: 2, max: 40 }),
        (x, p) => {
          expectSeriesClose(rollingStdev(x, p), naiveStdev(x, p), REL, 'sd');
        },
      ),
    );
  });

  it('is accurate for a large offset (no cancellation)', () => {
    const x = range(40).map((i) => 1e8 + (i % 2 === 0 ? 0.5 : -0.5));
    const got = rollingStdev(x, 20);
    // ten +0.5 and ten −0.5 → Σd² = 5 → sd = sqrt(5/19)
    expectClose(got[39], Math.sqrt(5 / 19), 1e-9, 'offset');
  });

  it('gives NaN for windows containing NaN (e.g. over logReturns)', () => {
    const r = logReturns([100, 101, 99, 102, 103, 101]);
    const got = rollingStdev(r, 3);
    expect(nanIndices(got)).toEqual([0, 1, 2]);
    expectSeriesClose(got, naiveStdev(Array.from(r), 3));
    expect(nanIndices(rollingStdev([1, 2, 3, NaN, 5, 6, 7], 2))).toEqual([0, 3, 4]);
  });

  it('rejects period < 2 and infinite values', () => {
    expect(() => rollingStdev([1, 2, 3], 1)).toThrow('period must be an integer >= 2, got 1');
    expect(() => rollingStdev([1, 2, 3], 2.2)).toThrow('period must be an integer >= 2, got 2.2');
    expect(() => rollingStdev([1, -Infinity], 2)).toThrow('values[1] must be a finite number or NaN, got -Infinity');
  });
});

describe('real data: AAPL daily bars', () => {
  const csv = readFileSync(new URL('../../../data/daily/AAPL_data.csv', import.meta.url), 'utf8');
  const lines = csv.trim().split(/\r?\n/);
  const header = lines[0]!.split(',');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`missing column ${name}`);
    return i;
  };
  const rows = lines.slice(1).map((line) => line.split(','));
  const num = (name: string): number[] => {
    const i = col(name);
    return rows.map((r, k) => {
      const v = Number(r[i]);
      if (!Number.isFinite(v) || r[i] === '') throw new Error(`bad ${name} on data line ${k + 2}: ${r[i]}`);
      return v;
    });
  };
  const high = num('high');
  const low = num('low');
  const close = num('close');

  it('has the expected shape', () => {
    expect(header).toEqual(['date', 'open', 'high', 'low', 'close', 'volume', 'Name']);
    expect(close.length).toBeGreaterThan(1000);
  });

  // RSI and ATR live in the feature engine now; these closed-form checks keep pinning its kernels.
  it('RSI(14) of the feature engine equals the naive references after warm-up', () => {
    const got = new Float64Array(close.length);
    rsiInto(Float64Array.from(close), 14, got);
    expect(nanIndices(got)).toEqual(range(14));
    expectSeriesClose(got, naiveRsi(close, 14), REL, 'naive');
    expectSeriesClose(got, closedFormRsi(close, 14), REL, 'closed form');
  });

  it('ATR(14) of the feature engine equals the naive references after warm-up', () => {
    const got = new Float64Array(close.length);
    atrInto(Float64Array.from(high), Float64Array.from(low), Float64Array.from(close), 14, got);
    expect(nanIndices(got)).toEqual(range(14));
    expectSeriesClose(got, naiveAtr(high, low, close, 14), REL, 'naive');
    expectSeriesClose(got, wilderClosedForm(naiveTrueRange(high, low, close), 14), REL, 'closed form');
  });

  it('SMA(50) and 20-day stdev of log returns equal the naive references', () => {
    expectSeriesClose(sma(close, 50), naiveSma(close, 50), REL, 'sma50');
    const r = close.map((c, t) => (t === 0 ? NaN : Math.log(c / close[t - 1]!)));
    expectSeriesClose(rollingStdev(logReturns(close), 20), naiveStdev(r, 20), REL, 'vol20');
  });
});
