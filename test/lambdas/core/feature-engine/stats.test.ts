/**
 * Statistics feature groups (lambdas/core/feature-engine/groups-stats.ts, kernels/stats.ts) against an
 * independent naive reference that recomputes every window from scratch (two-pass moments, explicit
 * regression residuals, O(w²) drawdown), on real data (AAPL 2013–2018 with SPY aligned by date) and
 * on a 2,520-bar synthetic random walk; plus warm-up indices, NaN handling, resumability and
 * hand-computed examples.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STATS_GROUPS } from '../../../../lambdas/core/feature-engine/groups-stats';
import type { EngineInput, FeatureGroup } from '../../../../lambdas/core/feature-engine/types';

const SQRT252 = Math.sqrt(252);
const TOL = 1e-9;

// ---------------------------------------------------------------------------------------------------
// Data

function readCsv(path: string): Record<string, string>[] {
  return parse(readFileSync(new URL(path, import.meta.url), 'utf8'), { columns: true, skip_empty_lines: true });
}

const num = (s: string | undefined): number => (s === undefined || s.trim() === '' ? Number.NaN : Number(s));

/** AAPL 2013–2018 with SPY closes aligned by date (NaN where SPY has no bar: it ends 2017-12-29). */
function loadAapl(): EngineInput {
  const spy = new Map<string, number>();
  for (const r of readCsv('../../../../data/daily/SPY.csv')) {
    const c = num(r.close);
    if (r.date && Number.isFinite(c) && c > 0) spy.set(r.date, c);
  }
  const rows = readCsv('../../../../data/sp500-daily-2013-2018/AAPL_data.csv').filter((r) => {
    const vals = [r.open, r.high, r.low, r.close, r.volume].map(num);
    return r.date !== undefined && r.date !== '' && vals.every((v) => Number.isFinite(v)) && num(r.close) > 0;
  });
  const col = (k: string): Float64Array => Float64Array.from(rows, (r) => num(r[k]));
  return {
    open: col('open'),
    high: col('high'),
    low: col('low'),
    close: col('close'),
    volume: col('volume'),
    benchClose: Float64Array.from(rows, (r) => spy.get(r.date as string) ?? Number.NaN),
  };
}

/** Deterministic PRNG (mulberry32) and standard normals (Box–Muller). */
function rng(seed: number): { u: () => number; n: () => number } {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const n = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return { u, n };
}

/** Random walk: SPY log returns N(3e-4, 1%), symbol = 1.2 × SPY + N(0, 1.5%), lognormal volume. */
function synthetic(n: number, seed: number): EngineInput {
  const { u, n: z } = rng(seed);
  const close = new Float64Array(n);
  const bench = new Float64Array(n);
  const volume = new Float64Array(n);
  let lc = Math.log(50);
  let lb = Math.log(200);
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      const b = 0.0003 + 0.01 * z();
      lb += b;
      // Every ~50th session is flat (an exact zero return), the rest follows the market model.
      if (u() > 0.02) lc += 0.0002 + 1.2 * b + 0.015 * z();
    }
    close[i] = Math.round(Math.exp(lc) * 1e4) / 1e4;
    bench[i] = Math.round(Math.exp(lb) * 1e4) / 1e4;
    volume[i] = Math.round(1e6 * Math.exp(0.5 * z()));
  }
  return { open: close, high: close, low: close, close, volume, benchClose: bench };
}

function withNaN(input: EngineInput, key: 'close' | 'volume' | 'benchClose', at: readonly number[]): EngineInput {
  const src = input[key];
  if (src === null) throw new Error('no series');
  const copy = Float64Array.from(src);
  for (const i of at) copy[i] = Number.NaN;
  return { ...input, [key]: copy };
}

// ---------------------------------------------------------------------------------------------------
// Running the groups

const COLUMNS = STATS_GROUPS.flatMap((g) => g.columns);

/** Runs every group over [0, n) in the given chunks (state JSON round-tripped), returns name → column. */
function runAll(input: EngineInput, n: number, splits: readonly number[] = []): Map<string, Float64Array> {
  const result = new Map<string, Float64Array>();
  for (const g of STATS_GROUPS as readonly FeatureGroup<unknown>[]) {
    const out = g.columns.map(() => new Float64Array(n).fill(12345)); // garbage: every row must be written
    let state: unknown = null;
    let from = 0;
    for (const to of [...splits, n]) {
      state = g.run(input, out, from, to, state === null ? null : JSON.parse(JSON.stringify(state)));
      from = to;
    }
    g.columns.forEach((c, k) => result.set(c.name, out[k] as Float64Array));
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------
// Naive reference: every window recomputed from scratch

type Ref = (t: number) => number;

function window(x: Float64Array, t: number, w: number): number[] | null {
  if (t - w + 1 < 0) return null;
  const win = Array.from(x.subarray(t - w + 1, t + 1));
  return win.every((v) => Number.isFinite(v)) ? win : null;
}
const meanOf = (a: readonly number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
const devSum = (a: readonly number[], k: number): number => {
  const m = meanOf(a);
  return a.reduce((s, v) => s + (v - m) ** k, 0);
};

function reference(input: EngineInput): Map<string, Ref> {
  const c = input.close;
  const v = input.volume;
  const b = input.benchClose;
  const n = c.length;
  const logr = new Float64Array(n).fill(Number.NaN);
  const simple = new Float64Array(n).fill(Number.NaN);
  const bench = new Float64Array(n).fill(Number.NaN);
  for (let i = 1; i < n; i++) {
    logr[i] = Math.log((c[i] as number) / (c[i - 1] as number));
    simple[i] = (c[i] as number) / (c[i - 1] as number) - 1;
    if (b !== null) bench[i] = (b[i] as number) / (b[i - 1] as number) - 1;
  }
  const refs = new Map<string, Ref>();
  for (const lag of [1, 5, 21, 63, 126, 252]) {
    refs.set(`ret_${lag}`, (t) => (t < lag ? Number.NaN : (c[t] as number) / (c[t - lag] as number) - 1));
    refs.set(`logret_${lag}`, (t) => (t < lag ? Number.NaN : Math.log((c[t] as number) / (c[t - lag] as number))));
  }
  for (const w of [21, 63, 252]) {
    refs.set(`vol_${w}`, (t) => {
      const a = window(logr, t, w);
      return a === null ? Number.NaN : Math.sqrt(devSum(a, 2) / (w - 1)) * SQRT252;
    });
  }
  refs.set('downside_dev_63', (t) => {
    const a = window(logr, t, 63);
    return a === null ? Number.NaN : Math.sqrt(a.reduce((s, r) => s + Math.min(r, 0) ** 2, 0) / 63) * SQRT252;
  });
  // pandas nanops.nanskew / nankurt, written with the SUMS of powers of deviations.
  refs.set('skew_63', (t) => {
    const a = window(logr, t, 63);
    if (a === null) return Number.NaN;
    const k = a.length;
    return ((k * Math.sqrt(k - 1)) / (k - 2)) * (devSum(a, 3) / devSum(a, 2) ** 1.5);
  });
  refs.set('kurt_63', (t) => {
    const a = window(logr, t, 63);
    if (a === null) return Number.NaN;
    const k = a.length;
    const m2 = devSum(a, 2);
    return (
      (k * (k + 1) * (k - 1) * devSum(a, 4)) / ((k - 2) * (k - 3) * m2 * m2) - (3 * (k - 1) ** 2) / ((k - 2) * (k - 3))
    );
  });
  // Max drawdown as the worst ratio over all ordered pairs i <= j of the window (O(w²)).
  refs.set('max_dd_252', (t) => {
    const a = window(c, t, 252);
    if (a === null) return Number.NaN;
    let worst = 0;
    for (let j = 0; j < a.length; j++) {
      for (let i = 0; i <= j; i++) worst = Math.min(worst, (a[j] as number) / (a[i] as number) - 1);
    }
    return worst;
  });
  for (const w of [20, 60]) {
    refs.set(`adv_${w}`, (t) => {
      const a = window(v, t, w);
      return a === null ? Number.NaN : meanOf(a);
    });
  }
  const dollar = Float64Array.from(c, (x, i) => x * (v[i] as number));
  refs.set('turnover_20', (t) => {
    const a = window(dollar, t, 20);
    return a === null ? Number.NaN : meanOf(a);
  });
  refs.set('volume_surge_20', (t) => {
    const a = t >= 1 ? window(v, t - 1, 20) : null;
    if (a === null) return Number.NaN;
    const m = meanOf(a);
    return m === 0 ? Number.NaN : (v[t] as number) / m;
  });
  refs.set('sharpe_63', (t) => {
    const a = window(simple, t, 63);
    return a === null ? Number.NaN : (meanOf(a) / Math.sqrt(devSum(a, 2) / 62)) * SQRT252;
  });
  refs.set('sortino_63', (t) => {
    const a = window(simple, t, 63);
    if (a === null) return Number.NaN;
    const dd = Math.sqrt(a.reduce((s, r) => s + Math.min(r, 0) ** 2, 0) / 63) * SQRT252;
    return (meanOf(a) * 252) / dd;
  });
  const regression = (t: number): { beta: number; corr: number; idio: number } | null => {
    const x = window(simple, t, 63);
    const y = window(bench, t, 63);
    if (x === null || y === null) return null;
    const mx = meanOf(x);
    const my = meanOf(y);
    let sxy = 0;
    for (let i = 0; i < 63; i++) sxy += ((x[i] as number) - mx) * ((y[i] as number) - my);
    const cov = sxy / 62;
    const vx = devSum(x, 2) / 62;
    const vy = devSum(y, 2) / 62;
    const beta = cov / vy;
    const alpha = mx - beta * my;
    let ssr = 0;
    for (let i = 0; i < 63; i++) ssr += ((x[i] as number) - alpha - beta * (y[i] as number)) ** 2;
    return { beta, corr: cov / Math.sqrt(vx * vy), idio: Math.sqrt(ssr / 61) * SQRT252 };
  };
  refs.set('beta_63', (t) => regression(t)?.beta ?? Number.NaN);
  refs.set('corr_63', (t) => regression(t)?.corr ?? Number.NaN);
  refs.set('idio_vol_63', (t) => regression(t)?.idio ?? Number.NaN);
  return refs;
}

/**
 * Relative error: |got − ref| ≤ 1e-9 × max(|ref|, floor). The floor only matters where the reference
 * is (near) 0: 1e-12 for most columns (e.g. ret_1 is exactly 0 on a flat session), 1e-6 for the
 * dimensionless statistics that cross 0 (skewness, Sharpe, beta…), whose natural scale is ~1.
 * Observed worst errors are ~4e-11 even without any floor.
 */
const ZERO_CROSSING = new Set(['skew_63', 'kurt_63', 'sharpe_63', 'sortino_63', 'beta_63', 'corr_63']);

/** Compares every column with the reference; returns the worst scaled error per column. */
function compareAll(input: EngineInput, got: Map<string, Float64Array>): Map<string, number> {
  const refs = reference(input);
  const n = input.close.length;
  const worst = new Map<string, number>();
  expect([...refs.keys()].sort()).toEqual(COLUMNS.map((c) => c.name).sort());
  for (const [name, ref] of refs) {
    const col = got.get(name) as Float64Array;
    const floor = ZERO_CROSSING.has(name) ? 1e-6 : 1e-12;
    let w = 0;
    let defined = 0;
    for (let t = 0; t < n; t++) {
      const r = ref(t);
      const g = col[t] as number;
      if (Number.isNaN(r)) {
        if (!Number.isNaN(g)) expect.fail(`${name}[${t}]: expected NaN, got ${g}`);
        continue;
      }
      defined++;
      const err = Math.abs(g - r) / Math.max(Math.abs(r), floor);
      if (!(err <= TOL)) expect.fail(`${name}[${t}]: got ${g}, reference ${r} (scaled error ${err})`);
      w = Math.max(w, err);
    }
    expect(defined, `${name} has defined values`).toBeGreaterThan(0);
    worst.set(name, w);
  }
  return worst;
}

function expectBitEqual(a: Map<string, Float64Array>, b: Map<string, Float64Array>): void {
  for (const [name, col] of a) {
    const other = b.get(name) as Float64Array;
    for (let t = 0; t < col.length; t++) {
      if (!Object.is(col[t], other[t])) expect.fail(`${name}[${t}]: ${col[t]} !== ${other[t]}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------

const EXPECTED_NAMES = [
  'ret_1', 'ret_5', 'ret_21', 'ret_63', 'ret_126', 'ret_252',
  'logret_1', 'logret_5', 'logret_21', 'logret_63', 'logret_126', 'logret_252',
  'vol_21', 'vol_63', 'vol_252', 'downside_dev_63', 'skew_63', 'kurt_63', 'max_dd_252',
  'adv_20', 'adv_60', 'turnover_20', 'volume_surge_20',
  'sharpe_63', 'sortino_63', 'beta_63', 'corr_63', 'idio_vol_63',
]; // prettier-ignore

const WARMUP: Record<string, number> = {
  ret_1: 1, ret_5: 5, ret_21: 21, ret_63: 63, ret_126: 126, ret_252: 252,
  logret_1: 1, logret_5: 5, logret_21: 21, logret_63: 63, logret_126: 126, logret_252: 252,
  vol_21: 21, vol_63: 63, vol_252: 252, downside_dev_63: 63, skew_63: 63, kurt_63: 63, max_dd_252: 251,
  adv_20: 19, adv_60: 59, turnover_20: 19, volume_surge_20: 20,
  sharpe_63: 63, sortino_63: 63, beta_63: 63, corr_63: 63, idio_vol_63: 63,
}; // prettier-ignore

describe('statistics feature groups: catalogue', () => {
  it('exports the 28 stable column names, each documented, with unique group ids', () => {
    expect(COLUMNS.map((c) => c.name)).toEqual(EXPECTED_NAMES);
    expect(new Set(STATS_GROUPS.map((g) => g.id)).size).toBe(STATS_GROUPS.length);
    for (const c of COLUMNS) {
      expect(c.unit.length, c.name).toBeGreaterThan(0);
      expect(c.formula.length, c.name).toBeGreaterThan(20);
      expect(c.source.length, c.name).toBeGreaterThan(5);
      expect(c.warmup, c.name).toBe(WARMUP[c.name]);
    }
  });
});

describe('statistics feature groups vs a naive from-scratch reference (≤ 1e-9 relative)', () => {
  it('real data: AAPL 2013–2018 with SPY aligned by date (SPY ends 2017-12-29: NaN benchmark after)', () => {
    const input = loadAapl();
    const n = input.close.length;
    expect(n).toBeGreaterThan(1200);
    const got = runAll(input, n);
    compareAll(input, got);
    // No NaN in AAPL's closes or volumes: the first defined row of every column is its documented warm-up.
    for (const c of COLUMNS) {
      const col = got.get(c.name) as Float64Array;
      const first = col.findIndex((v) => !Number.isNaN(v));
      expect(first, c.name).toBe(c.warmup);
    }
    // The benchmark columns stop where SPY's data does; Sharpe/Sortino (symbol only) do not.
    const lastSpy = input.benchClose?.findLastIndex((v) => !Number.isNaN(v)) ?? -1;
    expect(lastSpy).toBeLessThan(n - 1);
    expect((got.get('beta_63') as Float64Array)[lastSpy]).not.toBeNaN();
    expect((got.get('beta_63') as Float64Array)[lastSpy + 1]).toBeNaN();
    expect((got.get('sharpe_63') as Float64Array)[n - 1]).not.toBeNaN();
  });

  it('synthetic 2,520-bar random walk (with flat sessions)', () => {
    const input = synthetic(2520, 7);
    const got = runAll(input, 2520);
    compareAll(input, got);
    for (const c of COLUMNS) {
      const col = got.get(c.name) as Float64Array;
      expect(col[c.warmup - 1], `${c.name}[warmup − 1]`).toBeNaN();
      expect(Number.isFinite(col[c.warmup]), `${c.name}[warmup]`).toBe(true);
      expect(col.subarray(c.warmup).every((v) => Number.isFinite(v)), c.name).toBe(true);
    }
  });

  it('synthetic series with missing closes, volumes and benchmark closes', () => {
    let input = synthetic(1400, 11);
    input = withNaN(input, 'close', [400, 401, 1000]);
    input = withNaN(input, 'volume', [150, 700]);
    input = withNaN(input, 'benchClose', [90, 1200]);
    compareAll(input, runAll(input, 1400));
  });

  it('price levels far from 1 (drift control): closes around 1e5 with tiny returns, volumes around 1e9', () => {
    const base = synthetic(2520, 3);
    const input: EngineInput = {
      ...base,
      close: base.close.map((c) => 1e5 + c * 1e-2),
      volume: base.volume.map((v) => 1e9 + v),
    };
    compareAll(input, runAll(input, 2520));
  });

  it('adversarial drift: huge volumes then small ones, a 100× price shock then near-flat closes', () => {
    const n = 700;
    const { n: z } = rng(99);
    const close = new Float64Array(n);
    const bench = new Float64Array(n);
    const volume = new Float64Array(n);
    let lc = Math.log(20);
    for (let i = 0; i < n; i++) {
      if (i === 330) lc += Math.log(100); // one 100× jump, then returns of ~1e-5
      else if (i > 0) lc += 1e-5 * z();
      close[i] = Math.exp(lc);
      bench[i] = 300 * Math.exp(1e-5 * z() + (i >= 400 && i < 402 ? 2 : 0));
      volume[i] = i < 50 ? 1e15 * (1 + 0.1 * z()) : Math.round(1000 * Math.exp(z()));
    }
    const input: EngineInput = { open: close, high: close, low: close, close, volume, benchClose: bench };
    compareAll(input, runAll(input, n));
  });
});

describe('statistics feature groups: missing benchmark', () => {
  it('a NaN benchmark close blanks exactly the windows containing its two returns, then recovers', () => {
    const clean = synthetic(800, 5);
    const gap = withNaN(clean, 'benchClose', [300]);
    const got = runAll(gap, 800);
    const ref = runAll(clean, 800);
    // b_300 and b_301 are NaN; a 63-return window ending at t contains one of them for t in [300, 363].
    for (const name of ['beta_63', 'corr_63', 'idio_vol_63']) {
      const col = got.get(name) as Float64Array;
      const cleanCol = ref.get(name) as Float64Array;
      for (let t = 63; t < 800; t++) {
        if (t >= 300 && t <= 363) expect(col[t], `${name}[${t}]`).toBeNaN();
        else {
          expect(Number.isFinite(col[t]), `${name}[${t}]`).toBe(true);
          expect(Math.abs((col[t] as number) - (cleanCol[t] as number))).toBeLessThanOrEqual(
            1e-12 * Math.max(1e-2, Math.abs(cleanCol[t] as number)),
          );
        }
      }
    }
    compareAll(gap, got);
    // Columns that do not use the benchmark are bit-identical.
    for (const name of EXPECTED_NAMES.filter((n) => !['beta_63', 'corr_63', 'idio_vol_63'].includes(n))) {
      expectBitEqual(new Map([[name, got.get(name) as Float64Array]]), new Map([[name, ref.get(name) as Float64Array]]));
    }
  });

  it('no benchmark at all (benchClose null): beta/corr/idio_vol are all NaN, the rest is unchanged', () => {
    const input = synthetic(400, 9);
    const got = runAll({ ...input, benchClose: null }, 400);
    const ref = runAll(input, 400);
    for (const name of ['beta_63', 'corr_63', 'idio_vol_63']) {
      expect((got.get(name) as Float64Array).every((v) => Number.isNaN(v)), name).toBe(true);
    }
    const rest = EXPECTED_NAMES.filter((n) => !['beta_63', 'corr_63', 'idio_vol_63'].includes(n));
    expectBitEqual(
      new Map(rest.map((n) => [n, got.get(n) as Float64Array])),
      new Map(rest.map((n) => [n, ref.get(n) as Float64Array])),
    );
  });
});

describe('statistics feature groups: resumable', () => {
  const N = 600;

  it('run(0,k) then run(k,n,state) (state through JSON) equals run(0,n) bit for bit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.uniqueArray(fc.integer({ min: 1, max: N - 1 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: N - 1 }), { maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: N - 1 }), { maxLength: 3 }),
        (seed, splits, nanClose, nanBench) => {
          let input = synthetic(N, seed);
          input = withNaN(input, 'close', nanClose);
          input = withNaN(input, 'benchClose', nanBench);
          const whole = runAll(input, N);
          const pieces = runAll(
            input,
            N,
            [...splits].sort((a, b) => a - b),
          );
          expectBitEqual(whole, pieces);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('one session at a time over 2,520 bars equals the batch run bit for bit', () => {
    const input = withNaN(synthetic(2520, 21), 'benchClose', [1000]);
    const splits = Array.from({ length: 2519 }, (_, i) => i + 1);
    expectBitEqual(runAll(input, 2520), runAll(input, 2520, splits));
  });

  it('rejects a missing or stale state and bad arguments with a RangeError', () => {
    const input = synthetic(300, 1);
    for (const g of STATS_GROUPS as readonly FeatureGroup<unknown>[]) {
      const out = g.columns.map(() => new Float64Array(300));
      const s = g.run(input, out, 0, 100, null);
      expect(() => g.run(input, out, 100, 200, null)).toThrow(RangeError);
      expect(() => g.run(input, out, 150, 200, s)).toThrow(/state\.next/);
      expect(() => g.run(input, out.slice(1), 0, 10, null)).toThrow(RangeError);
      expect(() => g.run(input, out, 0, 301, null)).toThrow(RangeError);
    }
    const bad = { ...input, close: Float64Array.from(input.close) };
    bad.close[5] = -1;
    const risk = STATS_GROUPS[1] as FeatureGroup<unknown>;
    expect(() => risk.run(bad, risk.columns.map(() => new Float64Array(300)), 0, 10, null)).toThrow(
      'close[5] must be a finite number > 0 or NaN, got -1',
    );
  });
});

describe('statistics feature groups: hand-computed examples', () => {
  it('beta, corr, idio_vol of a market model with beta 2 and orthogonal residuals', () => {
    // Benchmark returns cycle (1 %, 0, −1 %), residuals (0.1 %, −0.2 %, 0.1 %) (mean 0, orthogonal
    // to the benchmark), symbol = 2 × benchmark + residual = (2.1 %, −0.2 %, −1.9 %): 21 cycles = 63.
    // Σb² = 21 × 2e-4 = 0.0042, Σrb = 21 × 4e-4 = 0.0084 → β = 2, α = 0; Σe² = 21 × 6e-6 = 1.26e-4;
    // Σr² = 4 × 0.0042 + 1.26e-4 = 0.016926; corr = 0.0084 / √(0.016926 × 0.0042).
    const b = [0.01, 0, -0.01];
    const r = [0.021, -0.002, -0.019];
    const n = 64;
    const close = new Float64Array(n);
    const bench = new Float64Array(n);
    close[0] = 100;
    bench[0] = 400;
    for (let i = 1; i < n; i++) {
      close[i] = (close[i - 1] as number) * (1 + (r[(i - 1) % 3] as number));
      bench[i] = (bench[i - 1] as number) * (1 + (b[(i - 1) % 3] as number));
    }
    const got = runAll({ open: close, high: close, low: close, close, volume: new Float64Array(n).fill(1), benchClose: bench }, n);
    const at = (name: string): number => (got.get(name) as Float64Array)[63] as number;
    expect((got.get('beta_63') as Float64Array)[62]).toBeNaN();
    expect(at('beta_63')).toBeCloseTo(2, 12);
    expect(at('corr_63')).toBeCloseTo(0.0084 / Math.sqrt(0.016926 * 0.0042), 12);
    expect(at('idio_vol_63')).toBeCloseTo(Math.sqrt(1.26e-4 / 61) * Math.sqrt(252), 12);
    expect(at('sharpe_63')).toBeCloseTo(0, 12); // mean symbol return 0
  });

  it('max_dd_252 measures the decline from the running peak INSIDE the 252-close window', () => {
    // 100 flat; 120 at row 100, falling 3 per row to 90 at row 110; 130 from row 120 on, except a
    // dip to 117 at row 200.
    const n = 460;
    const close = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (i < 100) close[i] = 100;
      else if (i <= 110) close[i] = 120 - 3 * (i - 100);
      else if (i < 120) close[i] = 90 + (i - 110);
      else close[i] = i === 200 ? 117 : 130;
    }
    const dd = runAll(
      { open: close, high: close, low: close, close, volume: new Float64Array(n).fill(1), benchClose: null },
      n,
    ).get('max_dd_252') as Float64Array;
    expect(dd[250]).toBeNaN();
    expect(dd[251]).toBeCloseTo(90 / 120 - 1, 15); // window [0, 251]: peak 120 → trough 90 = −25 %
    expect(dd[351]).toBeCloseTo(-0.25, 15); // window [100, 351] still starts at the peak
    expect(dd[352]).toBeCloseTo(90 / 117 - 1, 15); // window [101, 352]: its running peak is 117
    expect(dd[356]).toBeCloseTo(90 / 105 - 1, 15); // window [105, 356]: starts mid-decline at 105
    expect(dd[400]).toBeCloseTo(117 / 130 - 1, 15); // window [149, 400]: only the dip to 117 (−10 %)
    expect(dd[451]).toBe(0); // window [200, 451] starts AT the dip: 117 then 130, never below the peak
    expect(dd[459]).toBe(0);
  });

  it('volume_surge_20 divides by the mean of the previous 20 sessions (NaN when that mean is 0)', () => {
    const n = 45;
    const volume = new Float64Array(n);
    for (let i = 0; i < 20; i++) volume[i] = 100 + (i % 2 === 0 ? 10 : -10); // mean 100
    volume[20] = 250;
    for (let i = 21; i < n; i++) volume[i] = 0;
    const close = new Float64Array(n).fill(10);
    const got = runAll({ open: close, high: close, low: close, close, volume, benchClose: null }, n);
    const surge = got.get('volume_surge_20') as Float64Array;
    expect(surge[19]).toBeNaN();
    expect(surge[20]).toBe(2.5);
    expect((got.get('adv_20') as Float64Array)[19]).toBe(100);
    expect((got.get('turnover_20') as Float64Array)[19]).toBe(1000);
    expect(surge[41]).toBeNaN(); // rows 21..40 all 0 volume: mean of the previous 20 is 0
  });
});
