/**
 * Technical-analysis half of the feature engine: every TA column against an independent naive
 * reference (./ta-reference.ts) on real and synthetic bars, exact warm-up indices, the batch
 * kernels, npm `technicalindicators` where it uses the same convention, and resumability.
 *
 * Tolerance: |engine − reference| <= 1e-9 · max(|reference|, scale), where `scale` is the column's
 * natural magnitude (1 for USD, 0..100 and index columns, 0.01 for fractions and percent
 * oscillators that hover around 0). Integer-valued columns (cross) must match exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ti from 'technicalindicators';
import { TA_GROUPS } from '../../../../lambdas/core/feature-engine/groups-ta';
import {
  adxInto,
  atrInto,
  bollingerInto,
  cciInto,
  emaInto,
  macdInto,
  obvInto,
  rsiInto,
  smaInto,
  stochInto,
} from '../../../../lambdas/core/feature-engine/kernels/ta';
import type { EngineInput, FeatureGroup } from '../../../../lambdas/core/feature-engine/types';
import { allTaRef, smaRef, type Bars } from './ta-reference';
import { loadBars, randomWalk, toInput } from './series';

const TA_COLUMNS = TA_GROUPS.flatMap((g) => g.columns);
const REL = 1e-9;

/** Natural magnitude of a column's values (see the file comment). */
function scaleOf(unit: string): number {
  return unit === 'fraction' || unit === 'percent' || unit.startsWith('ratio') ? 0.01 : 1;
}

/** Runs every TA group over rows [0, n) and returns the columns by name. */
function runTa(input: EngineInput, n: number): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const g of TA_GROUPS) {
    const bufs = g.columns.map(() => new Float64Array(n).fill(12345));
    g.run(input, bufs, 0, n, null);
    g.columns.forEach((c, i) => (out[c.name] = bufs[i] as Float64Array));
  }
  return out;
}

interface Mismatch {
  column: string;
  index: number;
  engine: number;
  reference: number;
}

/** Compares every TA column from its warm-up on; returns the worst relative error and the mismatches. */
function compareAll(b: Bars): { worst: Record<string, number>; mismatches: Mismatch[] } {
  const n = b.close.length;
  const got = runTa(toInput(b), n);
  const ref = allTaRef(b);
  const mismatches: Mismatch[] = [];
  const worst: Record<string, number> = {};
  for (const c of TA_COLUMNS) {
    const e = got[c.name] as Float64Array;
    const r = ref[c.name];
    expect(r, `reference for ${c.name}`).toBeDefined();
    const scale = scaleOf(c.unit);
    let w = 0;
    for (let t = c.warmup; t < n; t++) {
      const x = e[t] as number;
      const y = r![t] as number;
      const err = Math.abs(x - y) / Math.max(Math.abs(y), scale);
      if (!(err <= (c.unit === '-1/0/+1' ? 0 : REL))) mismatches.push({ column: c.name, index: t, engine: x, reference: y });
      if (err > w) w = err;
    }
    worst[c.name] = w;
  }
  return { worst, mismatches };
}

describe('TA columns against the naive reference', () => {
  it('has 48 uniquely named columns', () => {
    expect(TA_COLUMNS).toHaveLength(48);
    expect(new Set(TA_COLUMNS.map((c) => c.name)).size).toBe(48);
    expect(new Set(TA_GROUPS.map((g) => g.id)).size).toBe(TA_GROUPS.length);
  });

  it('matches on a 2,520-bar synthetic random walk', () => {
    const { mismatches } = compareAll(randomWalk(2520, 7));
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it.each(['AAPL', 'AMD', 'DHR', 'LNT'])('matches on real bars of %s (defective rows skipped)', (symbol) => {
    const bars = loadBars(symbol);
    expect(bars.close.length).toBeGreaterThan(1000);
    const { mismatches } = compareAll(bars);
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('matches on a long, strongly trending walk (drift control of the rolling sums)', () => {
    const b = randomWalk(6000, 99);
    // Add a steep trend and a price-level jump so stale sums would show.
    for (let i = 0; i < b.close.length; i++) {
      const f = i < 3000 ? 1 + i / 50 : 1e-2;
      for (const k of ['open', 'high', 'low', 'close'] as const) b[k][i] = (b[k][i] as number) * f;
    }
    const { mismatches } = compareAll(b);
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('writes NaN exactly before each warm-up index and finite values from it', () => {
    const b = randomWalk(400, 3);
    const n = b.close.length;
    const got = runTa(toInput(b), n);
    for (const c of TA_COLUMNS) {
      const v = got[c.name] as Float64Array;
      const firstFinite = v.findIndex((x) => Number.isFinite(x));
      expect(firstFinite, c.name).toBe(c.warmup);
      for (let t = c.warmup; t < n; t++) expect(Number.isFinite(v[t] as number), `${c.name}[${t}]`).toBe(true);
    }
  });

  it('handles series shorter than the warm-up (all NaN) and a single bar', () => {
    for (const n of [0, 1, 2, 15]) {
      const b = randomWalk(Math.max(n, 1), 5);
      const got = runTa(toInput(b), n);
      for (const c of TA_COLUMNS) {
        const v = got[c.name] as Float64Array;
        for (let t = 0; t < Math.min(n, c.warmup); t++) expect(v[t], `${c.name}[${t}] n=${n}`).toBeNaN();
        for (let t = c.warmup; t < n; t++) expect(Number.isFinite(v[t] as number), `${c.name}[${t}] n=${n}`).toBe(true);
        if (n <= c.warmup) expect(v.every((x) => Number.isNaN(x)), `${c.name} n=${n}`).toBe(true);
      }
    }
  });

  it('gives neutral values on a perfectly flat market', () => {
    const n = 300;
    const b: Bars = { open: [], high: [], low: [], close: [], volume: [] };
    for (let i = 0; i < n; i++) for (const k of ['open', 'high', 'low', 'close'] as const) b[k].push(50);
    for (let i = 0; i < n; i++) b.volume.push(1000);
    const got = runTa(toInput(b), n);
    const last = (name: string): number => got[name]![n - 1] as number;
    expect(last('rsi_14')).toBe(50);
    expect(last('stoch_k_14_3_3')).toBe(50);
    expect(last('mfi_14')).toBe(50);
    expect(last('bb_pctb_20_2')).toBe(0.5);
    expect(last('cci_20')).toBe(0);
    expect(last('tsi_25_13')).toBe(0);
    expect(last('adx_14')).toBe(0);
    expect(last('sma_200')).toBe(50);
    expect(last('bb_width_20_2')).toBe(0);
    expect(last('obv')).toBe(0);
    expect(last('sma_50_200_cross')).toBe(0);
  });

  it('gives exact neutral values once a moving market has been flat for a whole window', () => {
    const b = randomWalk(300, 17);
    for (let i = 250; i < 300; i++) for (const k of ['open', 'high', 'low', 'close'] as const) b[k][i] = 42;
    const got = runTa(toInput(b), 300);
    for (let t = 250 + 14; t < 300; t++) expect(got.mfi_14![t], `mfi_14[${t}]`).toBe(50);
    for (let t = 250 + 19; t < 300; t++) {
      expect(got.cci_20![t], `cci_20[${t}]`).toBe(0);
      expect(got.cmf_20![t], `cmf_20[${t}]`).toBe(0);
      expect(got.donchian_upper_20![t]).toBe(42);
      expect(Math.abs(got.bb_pctb_20_2![t]! - 0.5)).toBeLessThan(1e-6);
    }
  });
});

describe('batch kernels', () => {
  const b = randomWalk(2520, 11);
  const input = toInput(b);
  const n = b.close.length;
  const cols = runTa(input, n);
  const f = (): Float64Array => new Float64Array(n).fill(777);

  it('are bit-identical to the engine columns', () => {
    const o = f();
    smaInto(input.close, 20, o);
    expect(o).toEqual(cols.sma_20);
    emaInto(input.close, 50, o);
    expect(o).toEqual(cols.ema_50);
    rsiInto(input.close, 14, o);
    expect(o).toEqual(cols.rsi_14);
    atrInto(input.high, input.low, input.close, 14, o);
    expect(o).toEqual(cols.atr_14);
    adxInto(input.high, input.low, input.close, 14, o);
    expect(o).toEqual(cols.adx_14);
    cciInto(input.high, input.low, input.close, 20, o);
    expect(o).toEqual(cols.cci_20);
    obvInto(input.close, input.volume, o);
    expect(o).toEqual(cols.obv);
    const [m, s, h] = [f(), f(), f()];
    macdInto(input.close, 12, 26, 9, m, s, h);
    expect([m, s, h]).toEqual([cols.macd_12_26_9, cols.macd_signal_12_26_9, cols.macd_hist_12_26_9]);
    const [u, mid, l] = [f(), f(), f()];
    bollingerInto(input.close, 20, 2, u, mid, l);
    expect([u, mid, l]).toEqual([cols.bb_upper_20_2, cols.bb_middle_20_2, cols.bb_lower_20_2]);
    const [k, d] = [f(), f()];
    stochInto(input.high, input.low, input.close, 14, 3, 3, k, d);
    expect([k, d]).toEqual([cols.stoch_k_14_3_3, cols.stoch_d_14_3_3]);
  });

  it('support other parameters (checked against the reference)', () => {
    const o = f();
    for (const p of [1, 2, 7, 63, 252]) {
      smaInto(input.close, p, o);
      const r = smaRef(b.close, p);
      for (let t = 0; t < n; t++) {
        if (t < p - 1) expect(o[t]).toBeNaN();
        else expect(Math.abs((o[t] as number) - (r[t] as number)) / (r[t] as number)).toBeLessThanOrEqual(1e-12);
      }
    }
  });

  it('smaInto gives NaN for windows containing a NaN and recovers after', () => {
    const src = Float64Array.from([1, 2, 3, Number.NaN, 5, 6, 7, 8]);
    const o = new Float64Array(8);
    smaInto(src, 2, o);
    expect(Array.from(o)).toEqual([Number.NaN, 1.5, 2.5, Number.NaN, Number.NaN, 5.5, 6.5, 7.5]);
  });

  it('reject bad arguments with RangeErrors naming them', () => {
    const o = f();
    expect(() => smaInto(input.close, 0, o)).toThrow(/period must be an integer >= 1, got 0/);
    expect(() => emaInto(input.close, 2.5, o)).toThrow(/period must be an integer >= 1, got 2.5/);
    expect(() => rsiInto(input.close, 14, new Float64Array(3))).toThrow(/out.length must be >= 2520/);
    expect(() => macdInto(input.close, 26, 12, 9, o, f(), f())).toThrow(/slow must be an integer >= 27, got 12/);
    expect(() => atrInto(input.high.subarray(1), input.low, input.close, 14, o)).toThrow(/high.length must equal close.length 2520, got 2519/);
    expect(() => bollingerInto(input.close, 20, -1, o, f(), f())).toThrow(/k must be a finite number >= 0, got -1/);
    expect(() => stochInto(input.high, input.low, input.close, 14, 0, 3, o, f())).toThrow(/kSlow must be an integer >= 1, got 0/);
    expect(() => obvInto(input.close, input.volume.subarray(2), o)).toThrow(/volume.length must equal close.length/);
    expect(() => cciInto(input.high, input.low, input.close, -3, o)).toThrow(/period must be an integer >= 1, got -3/);
    expect(() => adxInto(input.high, input.low, input.close, 14, new Float64Array(1))).toThrow(/outAdx.length must be >= 2520/);
  });
});

describe('agreement with npm technicalindicators (same conventions)', () => {
  const b = loadBars('AAPL');
  const n = b.close.length;
  const got = runTa(toInput(b), n);
  const hlc = { high: b.high, low: b.low, close: b.close };

  /** Compares the tail-aligned library output with ours from index `from` on. */
  function expectClose(name: string, theirs: number[], ours: Float64Array, tol: number, from = 0): void {
    const offset = n - theirs.length;
    let worst = 0;
    for (let i = 0; i < theirs.length; i++) {
      const t = i + offset;
      if (t < from) continue;
      const y = theirs[i] as number;
      worst = Math.max(worst, Math.abs((ours[t] as number) - y) / Math.max(Math.abs(y), 1));
    }
    expect(worst, name).toBeLessThanOrEqual(tol);
  }
  const col = (name: string): Float64Array => got[name] as Float64Array;

  it('SMA, EMA, ATR, Bollinger, CCI, OBV, ADX/DI, Keltner, TRIX', () => {
    for (const p of [5, 20, 200]) {
      expectClose(`sma_${p}`, ti.SMA.calculate({ period: p, values: b.close }), col(`sma_${p}`), 1e-12);
      expectClose(`ema_${p}`, ti.EMA.calculate({ period: p, values: b.close }), col(`ema_${p}`), 1e-12);
    }
    expectClose('atr_14', ti.ATR.calculate({ ...hlc, period: 14 }), col('atr_14'), 1e-12);
    const bb = ti.BollingerBands.calculate({ period: 20, stdDev: 2, values: b.close });
    expectClose('bb_upper', bb.map((x) => x.upper), col('bb_upper_20_2'), 1e-12);
    expectClose('bb_middle', bb.map((x) => x.middle), col('bb_middle_20_2'), 1e-12);
    expectClose('bb_lower', bb.map((x) => x.lower), col('bb_lower_20_2'), 1e-12);
    expectClose('bb_pctb', bb.map((x) => x.pb), col('bb_pctb_20_2'), 1e-9);
    expectClose('cci_20', ti.CCI.calculate({ ...hlc, period: 20 }), col('cci_20'), 1e-9);
    expectClose('obv', ti.OBV.calculate({ close: b.close, volume: b.volume }), col('obv'), 0);
    const adx = ti.ADX.calculate({ ...hlc, period: 14 });
    expectClose('adx_14', adx.map((x) => x.adx), col('adx_14'), 1e-9);
    expectClose('plus_di_14', adx.map((x) => x.pdi), col('plus_di_14'), 1e-9);
    expectClose('minus_di_14', adx.map((x) => x.mdi), col('minus_di_14'), 1e-9);
    const kc = ti.KeltnerChannels.calculate({ ...hlc, maPeriod: 20, atrPeriod: 10, useSMA: false, multiplier: 2 });
    expectClose('keltner_upper', kc.map((x) => x.upper), col('keltner_upper_20_2'), 1e-12);
    expectClose('keltner_lower', kc.map((x) => x.lower), col('keltner_lower_20_2'), 1e-12);
    expectClose('trix_15', ti.TRIX.calculate({ period: 15, values: b.close }), col('trix_15'), 1e-9);
  });

  it('slow stochastic %K = their %D of the fast %K; RSI/MFI (they round to 2 decimals)', () => {
    const st = ti.Stochastic.calculate({ ...hlc, period: 14, signalPeriod: 3 });
    expectClose('stoch_k', st.filter((x) => x.d !== undefined).map((x) => x.d as number), col('stoch_k_14_3_3'), 1e-9);
    expectClose('rsi_14', ti.RSI.calculate({ period: 14, values: b.close }), col('rsi_14'), 0.0051);
    expectClose('mfi_14', ti.MFI.calculate({ ...hlc, volume: b.volume, period: 14 }), col('mfi_14'), 0.0051);
  });

  it('MACD after its differently seeded fast EMA has converged', () => {
    // technicalindicators seeds EMA12 on close[0..11]; TA-Lib (and we) on close[14..25]. The
    // difference decays as (11/13)^t: below 1e-15 of the price after ~250 bars.
    const m = ti.MACD.calculate({ values: b.close, fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMAOscillator: false, SimpleMASignal: false });
    expectClose('macd', m.map((x) => x.MACD as number), col('macd_12_26_9'), 1e-9, 300);
    expectClose('macd_signal', m.map((x) => x.signal as number), col('macd_signal_12_26_9'), 1e-9, 300);
    expectClose('macd_hist', m.map((x) => x.histogram as number), col('macd_hist_12_26_9'), 1e-9, 300);
  });
});

describe('resumability of every TA group', () => {
  const b = randomWalk(460, 21);
  const input = toInput(b);

  function runSplit(g: FeatureGroup, n: number, cuts: number[]): Float64Array[] {
    const bufs = g.columns.map(() => new Float64Array(n).fill(-1));
    let state: unknown = null;
    let from = 0;
    for (const cut of [...cuts, n]) {
      state = g.run(input, bufs, from, cut, state);
      const json = JSON.stringify(state);
      expect(json, `${g.id} state must be JSON without NaN`).not.toMatch(/NaN|Infinity/);
      state = JSON.parse(json);
      from = cut;
    }
    return bufs;
  }

  it.each(TA_GROUPS.map((g) => [g.id, g] as const))('%s: run(0,k) + run(k,n,state) equals run(0,n) bit for bit', (_id, g) => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 460 }),
        fc.array(fc.integer({ min: 0, max: 460 }), { minLength: 1, maxLength: 3 }),
        (n, rawCuts) => {
          const cuts = [...new Set(rawCuts.map((c) => Math.min(c, n)))].sort((x, y) => x - y);
          const whole = runSplit(g, n, []);
          const split = runSplit(g, n, cuts);
          for (let c = 0; c < whole.length; c++) {
            const w = whole[c] as Float64Array;
            const s = split[c] as Float64Array;
            for (let t = 0; t < n; t++) if (!Object.is(w[t], s[t])) return false;
          }
          return true;
        },
      ),
      { numRuns: 60 },
    );
  });

  it('does not mutate the state it is given', () => {
    for (const g of TA_GROUPS) {
      const bufs = g.columns.map(() => new Float64Array(460));
      const state = g.run(input, bufs, 0, 250, null);
      const before = JSON.stringify(state);
      g.run(input, bufs, 250, 460, state);
      expect(JSON.stringify(state), g.id).toBe(before);
    }
  });
});
