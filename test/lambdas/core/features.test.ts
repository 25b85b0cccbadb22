import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Bar } from '../../../lambdas/core/bars';
import { FeatureEngine } from '../../../lambdas/core/feature-engine/engine';
import { computeFeatures, ENGINE_COLUMN_OF, FEATURE_COLUMNS, FEATURE_MIN_BARS } from '../../../lambdas/core/features';
import { allTaRef, atrRef, rsiRef } from './feature-engine/ta-reference';

const REL = 1e-9;

function expectClose(actual: number, expected: number, what: string): void {
  const tol = expected === 0 ? 1e-12 : REL * Math.abs(expected);
  if (!(Math.abs(actual - expected) <= tol)) throw new Error(`${what}: expected ${expected}, got ${actual}`);
}

/** Consecutive calendar dates from 2024-01-01 (weekends included: only strict increase matters here). */
function dates(n: number): string[] {
  const start = Date.UTC(2024, 0, 1);
  return Array.from({ length: n }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
}

/** Bars from closes, with high = close + spread and low = close − spread. */
function barsFromCloses(closes: readonly number[], spread = 1): Bar[] {
  const ds = dates(closes.length);
  return closes.map((close, i) => ({
    date: ds[i]!,
    open: close,
    high: close + spread,
    low: close - spread,
    close,
    volume: 1_000_000,
  }));
}

/** The first `n` bars of a bundled daily file (these files have no defective row in that range). */
function firstBars(symbol: string, n: number): Bar[] {
  const csv = readFileSync(new URL(`../../../data/daily/${symbol}_data.csv`, import.meta.url), 'utf8');
  return csv
    .trim()
    .split(/\r?\n/)
    .slice(1, n + 1)
    .map((line) => {
      const [date, open, high, low, close, volume] = line.split(',');
      return { date: date!, open: Number(open), high: Number(high), low: Number(low), close: Number(close), volume: Number(volume) };
    });
}

function naiveSampleStdev(x: readonly number[]): number {
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  return Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / (x.length - 1));
}

describe('computeFeatures', () => {
  it('computes known values on a linear uptrend (close_t = 100 + t, 60 bars)', () => {
    const closes = Array.from({ length: 60 }, (_, t) => 100 + t);
    const bars = barsFromCloses(closes);
    const f = computeFeatures('LIN', bars);
    expect(f.symbol).toBe('LIN');
    expect(f.asOf).toBe(bars[59]!.date);
    expect(f.bars).toBe(60);
    expect(f.close).toBe(159);
    expectClose(f.sma20, (140 + 159) / 2, 'sma20'); // mean of 140..159
    expectClose(f.sma50, (110 + 159) / 2, 'sma50'); // mean of 110..159
    expect(f.rsi14).toBe(100); // no losses
    // TR_t = max(2, |c+1 − (c−1)|, |c−1 − (c−1)|) = 2 for every t >= 1, so ATR = 2
    expectClose(f.atr14, 2, 'atr14');
    expectClose(f.ret20, 159 / 139 - 1, 'ret20');
    const lastReturns = Array.from({ length: 20 }, (_, k) => Math.log((140 + k) / (139 + k)));
    expectClose(f.vol20, naiveSampleStdev(lastReturns), 'vol20');
  });

  it('computes known values on a zig-zag of log returns (+2%, −1%)', () => {
    // log returns alternate +0.02, −0.01, so the last 20 are ten of each:
    // mean 0.005, deviations ±0.015 → sample stdev 0.015·√(20/19); ret20 = e^(10·0.02 − 10·0.01) − 1.
    const closes = [100];
    for (let t = 1; t < 61; t++) closes.push(closes[t - 1]! * Math.exp(t % 2 === 1 ? 0.02 : -0.01));
    const f = computeFeatures('ZIG', barsFromCloses(closes, 0.5));
    expectClose(f.vol20, 0.015 * Math.sqrt(20 / 19), 'vol20');
    expectClose(f.ret20, Math.exp(0.1) - 1, 'ret20');
    expectClose(f.sma20, closes.slice(-20).reduce((a, b) => a + b, 0) / 20, 'sma20');
    expectClose(f.sma50, closes.slice(-50).reduce((a, b) => a + b, 0) / 50, 'sma50');
    expect(f.rsi14).toBeGreaterThan(50);
    expect(f.rsi14).toBeLessThan(100);
  });

  it('reports RSI 0 and a negative return on a linear downtrend', () => {
    const closes = Array.from({ length: 55 }, (_, t) => 200 - t);
    const f = computeFeatures('DOWN', barsFromCloses(closes));
    expect(f.rsi14).toBe(0);
    expectClose(f.ret20, 146 / 166 - 1, 'ret20');
    expect(f.close).toBeLessThan(f.sma20);
    expect(f.sma20).toBeLessThan(f.sma50);
  });

  it('uses every bar: Wilder RSI/ATR are seeded at the first bar given', () => {
    const bars = firstBars('AAPL', 300);
    const c = bars.map((b) => b.close);
    const f = computeFeatures('AAPL', bars);
    expect(f.bars).toBe(300);
    expect(f.asOf).toBe(bars[299]!.date);
    const cols = { open: bars.map((b) => b.open), high: bars.map((b) => b.high), low: bars.map((b) => b.low), close: c, volume: bars.map((b) => b.volume) };
    expectClose(f.rsi14, rsiRef(c, 14)[299]!, 'rsi14');
    expectClose(f.atr14, atrRef(cols, 14)[299]!, 'atr14');
    // the same last 51 bars alone give a different (less warmed-up) RSI
    expect(computeFeatures('AAPL', bars.slice(-51)).rsi14).not.toBe(f.rsi14);
    expectClose(f.sma50, c.slice(-50).reduce((a, b) => a + b, 0) / 50, 'sma50');
    expectClose(f.ret20, c[299]! / c[279]! - 1, 'ret20');
  });

  it('accepts exactly FEATURE_MIN_BARS (51) bars and rejects fewer, naming the symbol', () => {
    expect(FEATURE_MIN_BARS).toBe(51);
    const closes = Array.from({ length: 51 }, (_, t) => 50 + Math.sin(t));
    const f = computeFeatures('MINB', barsFromCloses(closes, 0.2));
    for (const col of FEATURE_COLUMNS) expect(Number.isFinite(f[col])).toBe(true);
    expect(() => computeFeatures('SHORT', barsFromCloses(closes.slice(1), 0.2))).toThrow(
      'computeFeatures(SHORT): needs at least 51 bars, got 50',
    );
    expect(() => computeFeatures('EMPTY', [])).toThrow('computeFeatures(EMPTY): needs at least 51 bars, got 0');
  });

  it('rejects duplicate, decreasing and malformed dates, naming the symbol and the bars', () => {
    const base = barsFromCloses(Array.from({ length: 60 }, (_, t) => 100 + t));
    const dup = base.map((b) => ({ ...b }));
    dup[30]!.date = dup[29]!.date;
    expect(() => computeFeatures('DUP', dup)).toThrow(
      `computeFeatures(DUP): bar dates must be strictly increasing, got bars[29].date ${dup[29]!.date} then bars[30].date ${dup[29]!.date}`,
    );
    const swapped = base.map((b) => ({ ...b }));
    [swapped[10]!.date, swapped[11]!.date] = [swapped[11]!.date, swapped[10]!.date];
    expect(() => computeFeatures('SWAP', swapped)).toThrow(/computeFeatures\(SWAP\): bar dates must be strictly increasing.*bars\[10\]/);
    const bad = base.map((b) => ({ ...b }));
    bad[5]!.date = '2024-1-06';
    expect(() => computeFeatures('FMT', bad)).toThrow('computeFeatures(FMT): bars[5].date must be YYYY-MM-DD, got 2024-1-06');
  });

  it('names the symbol when an indicator rejects a value', () => {
    const bars = barsFromCloses(Array.from({ length: 60 }, (_, t) => 100 + t));
    bars[7] = { ...bars[7]!, close: 0 };
    expect(() => computeFeatures('ZERO', bars)).toThrow('computeFeatures(ZERO): close[7] must be a finite number > 0, got 0');
  });

  it('throws naming the symbol and the feature when a result is not finite', () => {
    // Closes near the largest double: each bar is fine but the SMA sums overflow to Infinity.
    const bars = barsFromCloses(new Array<number>(60).fill(1e308), 0);
    // The engine's compensated rolling sums refuse the overflow before a non-finite value can escape.
    expect(() => computeFeatures('HUGE', bars)).toThrow(/^computeFeatures\(HUGE\): rolling window \(.*\) overflowed: accumulator Infinity/);
  });

  it('does not mutate the bars', () => {
    const bars = barsFromCloses(Array.from({ length: 60 }, (_, t) => 100 + (t % 5)));
    const copy = structuredClone(bars);
    computeFeatures('SAME', bars);
    expect(bars).toEqual(copy);
  });
});

describe('FEATURE_COLUMNS', () => {
  it('lists the numeric features in report order', () => {
    expect(FEATURE_COLUMNS).toEqual([
      'close', 'sma20', 'sma50', 'rsi14', 'atr14', 'ret20', 'vol20', 'adv20',
      'ema20', 'macd', 'macdSignal', 'macdHist', 'bbUpper', 'bbLower', 'adx14', 'stochK', 'stochD', 'obv', 'cci20',
    ]);
  });
});

describe('the pipeline uses the feature engine', () => {
  const bars = firstBars('MSFT', 300);
  const f = computeFeatures('MSFT', bars);

  it('takes each engine field bit for bit from the engine column named in ENGINE_COLUMN_OF', () => {
    const engine = new FeatureEngine();
    const cols = (k: 'open' | 'high' | 'low' | 'close' | 'volume') => Float64Array.from(bars, (b) => b[k]);
    const result = engine.compute({ open: cols('open'), high: cols('high'), low: cols('low'), close: cols('close'), volume: cols('volume'), benchClose: null }, 300);
    for (const [field, column] of Object.entries(ENGINE_COLUMN_OF)) {
      const series = result.values[engine.names.indexOf(column)]!;
      expect(f[field as keyof typeof ENGINE_COLUMN_OF], field).toBe(series[299]);
    }
  });

  it('matches the independent reference formulas for the ten indicators on real bars', () => {
    const ref = allTaRef({
      open: bars.map((b) => b.open),
      high: bars.map((b) => b.high),
      low: bars.map((b) => b.low),
      close: bars.map((b) => b.close),
      volume: bars.map((b) => b.volume),
    });
    for (const [field, column] of Object.entries(ENGINE_COLUMN_OF)) {
      if (column === 'adv_20') continue; // a statistics column, checked below
      const expected = ref[column]?.[299];
      if (expected === undefined) throw new Error(`no reference for ${column}`);
      expectClose(f[field as keyof typeof ENGINE_COLUMN_OF], expected, field);
    }
    expectClose(f.adv20, bars.slice(-20).reduce((a, b) => a + b.volume, 0) / 20, 'adv20');
  });
});
