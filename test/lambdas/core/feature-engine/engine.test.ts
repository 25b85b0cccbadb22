/**
 * FeatureEngine: column order and docs, buffer reuse across symbols, resume == compute bit for bit
 * (with JSON-round-tripped states), input validation at the boundary, and docs/FEATURES.md kept in
 * sync with the column docs (set UPDATE_FEATURES_MD=1 to rewrite the file).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALL_GROUPS,
  FEATURE_COLUMNS_ALL,
  FeatureEngine,
  renderFeaturesMarkdown,
  type EngineStates,
} from '../../../../lambdas/core/feature-engine/engine';
import { TA_GROUPS } from '../../../../lambdas/core/feature-engine/groups-ta';
import { STATS_GROUPS } from '../../../../lambdas/core/feature-engine/groups-stats';
import type { EngineInput } from '../../../../lambdas/core/feature-engine/types';
import { loadBars, randomWalk, toInput } from './series';

const FEATURES_MD = join(import.meta.dirname, '../../../../docs/FEATURES.md');

/** A benchmark close series for `n` sessions, with a few missing (NaN) sessions. */
function bench(n: number): number[] {
  const b = randomWalk(n, 4242).close;
  return b.map((x, i) => (i % 97 === 13 ? Number.NaN : x));
}

function copy(values: readonly Float64Array[]): Float64Array[] {
  return values.map((v) => Float64Array.from(v));
}

function sameBits(a: readonly Float64Array[], b: readonly Float64Array[], from = 0): boolean {
  if (a.length !== b.length) return false;
  for (let c = 0; c < a.length; c++) {
    const x = a[c] as Float64Array;
    const y = b[c] as Float64Array;
    if (x.length !== y.length) return false;
    for (let t = from; t < x.length; t++) if (!Object.is(x[t], y[t])) return false;
  }
  return true;
}

describe('FeatureEngine columns', () => {
  it('runs the TA groups first, then the statistics groups', () => {
    expect(ALL_GROUPS).toEqual([...TA_GROUPS, ...STATS_GROUPS]);
    const engine = new FeatureEngine();
    expect(engine.names).toEqual(FEATURE_COLUMNS_ALL.map((c) => c.name));
    expect(new Set(engine.names).size).toBe(engine.names.length);
    expect(engine.names.slice(0, 48)).toEqual(TA_GROUPS.flatMap((g) => g.columns.map((c) => c.name)));
  });

  it('documents every column (snake_case name, unit, formula, source, integer warm-up)', () => {
    for (const c of FEATURE_COLUMNS_ALL) {
      expect(c.name, c.name).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(c.unit.length, c.name).toBeGreaterThan(0);
      expect(c.formula.length, c.name).toBeGreaterThan(5);
      expect(c.source.length, c.name).toBeGreaterThan(3);
      expect(Number.isInteger(c.warmup) && c.warmup >= 0, c.name).toBe(true);
    }
  });

  it('refuses duplicate group ids or column names', () => {
    const g = TA_GROUPS[0]!;
    expect(() => new FeatureEngine([g, g])).toThrow(/duplicate feature group id sma/);
    expect(() => new FeatureEngine([g, { ...g, id: 'other' }])).toThrow(/duplicate feature column name sma_5/);
  });
});

describe('FeatureEngine.compute', () => {
  it('gives every column with the length asked, ignoring input rows beyond it', () => {
    const b = randomWalk(300, 1);
    const engine = new FeatureEngine();
    const r = engine.compute(toInput(b, bench(300)), 250);
    expect(r.names).toHaveLength(FEATURE_COLUMNS_ALL.length);
    expect(r.values).toHaveLength(FEATURE_COLUMNS_ALL.length);
    for (const v of r.values) expect(v).toHaveLength(250);
    expect(r.states.rows).toBe(250);
    expect(Object.keys(r.states.groups)).toEqual(ALL_GROUPS.map((g) => g.id));
    const full = new FeatureEngine().compute(toInput(randomWalk(250, 1), bench(250)), 250);
    expect(sameBits(r.values, full.values)).toBe(true);
  });

  it('reuses its buffers across symbols: B after A equals B on a fresh engine (shorter and longer B)', () => {
    const a = toInput(loadBars('AAPL'), bench(1259));
    const shortB = toInput(randomWalk(700, 2), bench(700));
    const longB = toInput(randomWalk(2520, 3), bench(2520));
    const engine = new FeatureEngine();
    engine.compute(a, a.close.length);
    const b1 = copy(engine.compute(shortB, 700).values);
    expect(sameBits(b1, new FeatureEngine().compute(shortB, 700).values)).toBe(true);
    const b2 = copy(engine.compute(longB, 2520).values);
    expect(sameBits(b2, new FeatureEngine().compute(longB, 2520).values)).toBe(true);
    const b3 = engine.compute(shortB, 700).values;
    expect(sameBits(b3, b1)).toBe(true);
  });

  it('handles an empty series', () => {
    const r = new FeatureEngine().compute(toInput(randomWalk(5, 1)), 0);
    for (const v of r.values) expect(v).toHaveLength(0);
  });
});

describe('FeatureEngine.resume', () => {
  const N = 420;
  const input = toInput(randomWalk(N, 8), bench(N));
  const reference = copy(new FeatureEngine().compute(input, N).values);

  it('compute(k) + resume(k, n, JSON states) equals compute(n) bit for bit (property)', () => {
    const engine = new FeatureEngine();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: N }), fc.integer({ min: 0, max: N }), (x, y) => {
        const [k, n] = x <= y ? [x, y] : [y, x];
        const first = engine.compute(input, k);
        const states = JSON.parse(JSON.stringify(first.states)) as EngineStates;
        const second = engine.resume(input, k, n, states);
        for (let c = 0; c < second.values.length; c++) {
          const v = second.values[c] as Float64Array;
          const r = reference[c] as Float64Array;
          for (let t = 0; t < k; t++) if (!Number.isNaN(v[t] as number)) return false;
          for (let t = k; t < n; t++) if (!Object.is(v[t], r[t])) return false;
        }
        return JSON.stringify(second.states) === JSON.stringify(new FeatureEngine().compute(input, n).states);
      }),
      { numRuns: 40 },
    );
  });

  it('supports one session at a time', () => {
    const engine = new FeatureEngine();
    let states = engine.compute(input, 300).states;
    for (let n = 301; n <= N; n++) {
      const r = engine.resume(input, n - 1, n, JSON.parse(JSON.stringify(states)) as EngineStates);
      for (let c = 0; c < r.values.length; c++) expect(Object.is(r.values[c]![n - 1], reference[c]![n - 1]), `${r.names[c]}[${n - 1}]`).toBe(true);
      states = r.states;
    }
  });

  it('refuses states that do not end at `from`, of another version, or missing a group', () => {
    const engine = new FeatureEngine();
    const { states } = engine.compute(input, 100);
    expect(() => engine.resume(input, 101, 120, states)).toThrow(/states cover 100 rows but from is 101/);
    expect(() => engine.resume(input, 100, 120, { ...states, version: 1 as 2 })).toThrow(/version 2, got version 1/);
    const missing = { ...states, groups: { ...states.groups } };
    delete missing.groups.rsi_14;
    expect(() => engine.resume(input, 100, 120, missing)).toThrow(/no state for feature group rsi_14/);
    expect(() => engine.resume(input, 130, 120, states)).toThrow(/from must be an integer in \[0, 120\], got 130/);
  });
});

describe('FeatureEngine input validation', () => {
  const good = (): EngineInput => toInput(randomWalk(50, 9), bench(50));
  const engine = new FeatureEngine();
  const withValue = (field: 'open' | 'high' | 'low' | 'close' | 'volume', i: number, v: number): EngineInput => {
    const input = good();
    input[field][i] = v;
    return input;
  };

  it.each([
    ['close', 7, Number.NaN, /close\[7\] must be a finite number > 0, got NaN/],
    ['close', 3, -1, /close\[3\] must be a finite number > 0, got -1/],
    ['open', 0, 0, /open\[0\] must be a finite number > 0, got 0/],
    ['high', 9, Number.POSITIVE_INFINITY, /high\[9\] must be a finite number > 0, got Infinity/],
    ['low', 12, 1e9, /high\[12\] must be >= low\[12\], got high .* < low 1000000000/],
    ['volume', 4, -5, /volume\[4\] must be a finite number >= 0, got -5/],
  ] as const)('%s[%i] = %s is refused', (field, i, v, message) => {
    expect(() => engine.compute(withValue(field, i, v), 50)).toThrow(RangeError);
    expect(() => engine.compute(withValue(field, i, v), 50)).toThrow(message);
  });

  it('refuses short series, bad lengths and bad benchmark closes', () => {
    const input = good();
    expect(() => engine.compute({ ...input, volume: input.volume.subarray(0, 40) }, 50)).toThrow(/volume.length must be >= length 50, got 40/);
    expect(() => engine.compute(input, 51)).toThrow(/open.length must be >= length 51, got 50/);
    expect(() => engine.compute(input, -1)).toThrow(/length must be an integer >= 0, got -1/);
    expect(() => engine.compute(input, 2.5)).toThrow(/length must be an integer >= 0, got 2.5/);
    const badBench = good();
    badBench.benchClose![5] = -3;
    expect(() => engine.compute(badBench, 50)).toThrow(/benchClose\[5\] must be NaN \(no benchmark bar\) or a finite number > 0, got -3/);
    expect(() => engine.compute({ ...input, benchClose: input.benchClose!.subarray(0, 10) }, 50)).toThrow(/benchClose.length must be >= length 50, got 10/);
  });

  it('only validates rows [0, length)', () => {
    const input = withValue('close', 49, -1);
    expect(() => engine.compute(input, 49)).not.toThrow();
  });
});

describe('docs/FEATURES.md', () => {
  it('is what renderFeaturesMarkdown generates from the column docs', () => {
    const expected = renderFeaturesMarkdown();
    if (process.env.UPDATE_FEATURES_MD === '1') writeFileSync(FEATURES_MD, expected);
    const actual = readFileSync(FEATURES_MD, 'utf8');
    expect(actual, 'docs/FEATURES.md is stale: rerun with UPDATE_FEATURES_MD=1').toBe(expected);
  });

  it('has one table row per column, pipes escaped', () => {
    const md = renderFeaturesMarkdown();
    const rows = md.split('\n').filter((l) => /^\| \d+ \|/.test(l));
    expect(rows).toHaveLength(FEATURE_COLUMNS_ALL.length);
    for (const [i, row] of rows.entries()) {
      // 7 unescaped pipes delimit the 6 cells.
      expect(row.replace(/\\\|/g, '').split('|'), row).toHaveLength(8);
      expect(row).toContain(`\`${FEATURE_COLUMNS_ALL[i]!.name}\``);
    }
  });
});

describe('FeatureEngine never looks ahead', () => {
  it('rows 0..t are bit-identical however every bar after t is changed (all 76 columns, benchmark too)', () => {
    const n = 400;
    const base = randomWalk(n, 777);
    const baseBench = bench(n);
    const engine = new FeatureEngine();
    const reference = copy(engine.compute(toInput(base, baseBench), n).values);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: n - 2 }), fc.integer({ min: 1, max: 1_000_000 }), (t, seed) => {
        // Bars after t replaced by an unrelated walk (scaled so prices stay valid), benchmark too.
        const other = randomWalk(n, seed);
        const scale = (x: number) => x * (1 + (seed % 7));
        const mix = (a: number[], b: number[]) => a.map((v, i) => (i <= t ? v : scale(b[i] as number)));
        const changed = {
          open: mix(base.open, other.open),
          high: mix(base.high, other.high),
          low: mix(base.low, other.low),
          close: mix(base.close, other.close),
          volume: base.volume.map((v, i) => (i <= t ? v : (other.volume[i] as number) * 3)),
        };
        const changedBench = baseBench.map((v, i) => (i <= t ? v : scale(other.close[i] as number)));
        const values = engine.compute(toInput(changed, changedBench), n).values;
        for (let c = 0; c < values.length; c++) {
          const got = values[c] as Float64Array;
          const want = reference[c] as Float64Array;
          for (let i = 0; i <= t; i++) {
            if (!Object.is(got[i], want[i])) throw new Error(`${engine.names[c]}[${i}] changed when bars after ${t} changed: ${want[i]} → ${got[i]}`);
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});
