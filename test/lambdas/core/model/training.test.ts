/**
 * The trainer: dataset labels, demeaning and the data-quality rule on a hand-made dataset; purged
 * k-fold membership with hand-written indices and a property test that no training label overlaps
 * the test fold; Spearman IC with ties; walk-forward snapshots that never see a label crossing
 * their as-of date (and do not change when every bar after it does).
 */
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CsvCalendar } from '../../../../lambdas/adapters/calendar/csv-calendar';
import { validateBarRows, type BarDefect } from '../../../../lambdas/core/bars';
import { TradingCalendar } from '../../../../lambdas/core/calendar';
import { checkBarSeries } from '../../../../lambdas/core/data-quality';
import { FeatureEngine } from '../../../../lambdas/core/feature-engine/engine';
import { parseModelBundle, type ModelBundle } from '../../../../lambdas/core/model/artifact';
import { DEFAULT_MODEL_FEATURES } from '../../../../lambdas/core/model/features';
import { fitRidge, loadRidge, type RidgeBody } from '../../../../lambdas/core/model/ridge';
import {
  averageRanks,
  buildDataset,
  crossValidate,
  embargoDates,
  purgedKFold,
  scorePredictions,
  spearman,
  trainWalkForward,
  type Dataset,
  type SymbolSeries,
} from '../../../../lambdas/core/model/training';
import { prng as rng } from '../../../support/prng';

const CALENDAR_FILE = fileURLToPath(new URL('../../../../data/calendars/xnys-sessions-1990-2023.csv', import.meta.url));

const day = (i: number): string => `2020-01-${String(i + 1).padStart(2, '0')}`;
const defect = (date: string, rule: BarDefect['rule'], horizon?: number): BarDefect => ({
  line: 0,
  date,
  rule,
  field: 'close',
  value: '',
  message: `${date} ${rule}`,
  ...(horizon === undefined ? {} : { horizon }),
});

describe('DEFAULT_MODEL_FEATURES', () => {
  it('names engine columns only, each once, none of them a USD or share level', () => {
    const engine = new FeatureEngine();
    for (const name of DEFAULT_MODEL_FEATURES) expect(engine.names, name).toContain(name);
    expect(new Set(DEFAULT_MODEL_FEATURES).size).toBe(DEFAULT_MODEL_FEATURES.length);
    const units = new Map(engine.columns.map((c) => [c.name, c.unit]));
    for (const name of DEFAULT_MODEL_FEATURES) expect(['USD', 'shares'], name).not.toContain(units.get(name));
  });

  it('reads nothing from the benchmark: every default feature is defined after the 252-bar warm-up without SPY', () => {
    const bars = randomBars(Array.from({ length: 300 }, (_, i) => `d${i}`), 5);
    const engine = new FeatureEngine();
    const result = engine.compute(
      { open: Float64Array.from(bars.open), high: Float64Array.from(bars.high), low: Float64Array.from(bars.low), close: Float64Array.from(bars.close), volume: Float64Array.from(bars.volume), benchClose: null },
      300,
    );
    for (const name of DEFAULT_MODEL_FEATURES) {
      const column = result.values[engine.names.indexOf(name)]!;
      expect(Number.isFinite(column[252]), `${name} at row 252`).toBe(true);
      expect(Number.isFinite(column[299]), `${name} at row 299`).toBe(true);
    }
  });
});

describe('buildDataset: labels, demeaning and the data-quality rule', () => {
  // Axis 2020-01-01 … 2020-01-10 (d0 … d9). Horizon 2, lookback 3.
  // A: every date; REPEATED_BAR at d6 with horizon 1; f1 NaN at t = 0.
  // B: no bar on d4 (MISSING_SESSION anchored there), 9 bars.
  // C: every date, clean; f1 NaN at t = 1.
  const closeA = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  const datesB = [0, 1, 2, 3, 5, 6, 7, 8, 9].map(day);
  const closeB = [20, 22, 21, 23, 25, 24, 26, 27, 28];
  const closeC = [5, 5.5, 6, 5, 6, 7, 6.5, 7, 8, 9];
  const f = (n: number, nanAt: number) => [Float64Array.from({ length: n }, (_, t) => (t === nanAt ? Number.NaN : t + 1)), Float64Array.from({ length: n }, (_, t) => 10 * t)];
  const series: SymbolSeries[] = [
    { symbol: 'A', dates: closeA.map((_, i) => day(i)), close: closeA, names: ['f1', 'f2', 'unused'], values: [...f(10, 0), new Float64Array(0)], defects: [defect(day(6), 'REPEATED_BAR', 1)] },
    { symbol: 'B', dates: datesB, close: closeB, names: ['unused', 'f1', 'f2'], values: [new Float64Array(0), ...f(9, -1)], defects: [defect(day(4), 'MISSING_SESSION')] },
    { symbol: 'C', dates: closeC.map((_, i) => day(i)), close: closeC, names: ['f1', 'f2'], values: f(10, 1) },
  ];
  let ds: Dataset;
  beforeAll(() => {
    ds = buildDataset(series, { features: ['f2', 'f1'], horizon: 2, lookback: 3 });
  });

  it('keeps exactly the hand-picked samples, sorted by date then symbol, with the drop counts', () => {
    // A: labels t = 0..7; the REPEATED_BAR at d6 (horizon 1) hits t = 4..6 (label) → kept 1, 2, 3, 7 (t = 0 has NaN f1).
    // B: labels bars 0..6; the hole at d4 hits labels of bars 2, 3 (d2, d3) and windows of bars 2..5 (d2, d3, d5, d6) → kept d0, d1, d7.
    // C: labels t = 0..7, t = 1 has NaN f1 → kept 0, 2..7.
    const kept = Array.from({ length: ds.rows }, (_, i) => `${ds.symbols[ds.symbolIndex[i]!]}@${ds.dates[ds.dateIndex[i]!]!.slice(8)}`);
    expect(kept).toEqual(['B@01', 'C@01', 'A@02', 'B@02', 'A@03', 'C@03', 'A@04', 'C@04', 'C@05', 'C@06', 'C@07', 'A@08', 'B@08', 'C@08']);
    expect(ds.dates).toEqual(Array.from({ length: 10 }, (_, i) => day(i)));
    expect(ds.dropped).toEqual({ noLabel: 6, defect: 7, missingFeature: 2 });
    expect(ds.rows + 6 + 7 + 2).toBe(29);
    expect(ds.features).toEqual(['f2', 'f1']);
    // Features in the requested order: B at d0 (t = 0) → f2 = 0, f1 = 1.
    expect(Array.from(ds.x.subarray(0, 2))).toEqual([0, 1]);
  });

  it('labels the forward return over the symbol\'s next h bars, its interval ending at bar t + h (across a hole)', () => {
    const at = (symbol: string, date: number): number => {
      const i = Array.from({ length: ds.rows }, (_, k) => k).find((k) => ds.symbols[ds.symbolIndex[k]!] === symbol && ds.dateIndex[k] === date);
      if (i === undefined) throw new Error(`no sample ${symbol}@${date}`);
      return i;
    };
    expect(ds.forwardReturn[at('A', 1)]).toBe(13 / 11 - 1);
    // B at d1 (bar 1): bar 3 is d3 → 23/22 − 1, interval ends on axis index 3.
    expect(ds.forwardReturn[at('B', 1)]).toBe(23 / 22 - 1);
    expect(ds.labelEndIndex[at('B', 1)]).toBe(3);
    // B at d7 (bar 6): bar 8 = d9.
    expect(ds.labelEndIndex[at('B', 7)]).toBe(9);
    expect(ds.labelEndIndex[at('C', 4)]).toBe(6);
  });

  it('demeans over every symbol with a valid label on the date, including ones whose features are NaN', () => {
    const rA = (t: number) => closeA[t + 2]! / closeA[t]! - 1;
    const rC = (t: number) => closeC[t + 2]! / closeC[t]! - 1;
    const rB = (bar: number) => closeB[bar + 2]! / closeB[bar]! - 1;
    const y = (symbol: string, date: number) => {
      const i = Array.from({ length: ds.rows }, (_, k) => k).find((k) => ds.symbols[ds.symbolIndex[k]!] === symbol && ds.dateIndex[k] === date)!;
      return ds.y[i]!;
    };
    // d0: A (NaN feature, valid label), B, C.
    expect(y('B', 0)).toBeCloseTo(rB(0) - (rA(0) + rB(0) + rC(0)) / 3, 15);
    // d1: A, B, C (C has a NaN feature but a valid label).
    expect(y('C', 0)).toBeCloseTo(rC(0) - (rA(0) + rB(0) + rC(0)) / 3, 15);
    expect(y('A', 1)).toBeCloseTo(rA(1) - (rA(1) + rB(1) + rC(1)) / 3, 15);
    // d2: B's label spans the hole → not in the mean.
    expect(y('A', 2)).toBeCloseTo(rA(2) - (rA(2) + rC(2)) / 2, 15);
    // d4: A's label reads the repeated bar (d6) → only C; d5: B (bar 4, label valid, window dirty) and C.
    expect(y('C', 4)).toBeCloseTo(0, 15);
    expect(y('C', 5)).toBeCloseTo(rC(5) - (rB(4) + rC(5)) / 2, 15);
    // d7: A, B (bar 6), C.
    expect(y('B', 7)).toBeCloseTo(rB(6) - (rA(7) + rB(6) + rC(7)) / 3, 15);
  });

  it('refuses an unknown feature, duplicate symbols, unsorted dates and a bad horizon', () => {
    expect(() => buildDataset(series, { features: ['f1', 'nope'] })).toThrow('feature nope is not an engine column (symbol A)');
    expect(() => buildDataset([series[0]!, series[0]!], { features: ['f1'] })).toThrow('symbols must be unique');
    expect(() => buildDataset([{ ...series[2]!, dates: [...series[2]!.dates].reverse() }], { features: ['f1'] })).toThrow(/dates must be strictly ascending/);
    expect(() => buildDataset(series, { features: ['f1'], horizon: 0 })).toThrow('horizon must be an integer >= 1, got 0');
  });
});

describe('Spearman IC and hit rate', () => {
  it('averages tied ranks', () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([3, 1, 3, 3]))).toEqual([3, 1, 3, 3]);
  });

  it('matches a hand value with ties', () => {
    // ranks a = 1, 2.5, 2.5, 4, 5; ranks b = 2, 1, 4, 3, 5; deviations from 3:
    // Σ da·db = 2 + 1 − 0.5 + 0 + 4 = 6.5, Σ da² = 9.5, Σ db² = 10 → ρ = 6.5/√95.
    expect(spearman([1, 2, 2, 3, 5], [2, 1, 4, 3, 5])).toBeCloseTo(6.5 / Math.sqrt(95), 15);
    expect(spearman([1, 2, 3], [30, 20, 10])).toBe(-1);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNaN();
    expect(spearman([1], [1])).toBeNaN();
  });

  it('IC is the mean of the per-date correlations (undefined dates skipped); a zero sign is a miss', () => {
    const prediction = [1, 2, 2, 3, 5, /* date 2 */ 0.1, -0.2, 0.3, /* date 3: one sample */ 1];
    const label = [2, 1, 4, 3, 5, /* date 2 */ 0.3, 0.2, 0.1, /* date 3 */ -1];
    const date = [1, 1, 1, 1, 1, 2, 2, 2, 3];
    const score = scorePredictions(prediction, label, date);
    expect(score.icDates).toBe(2);
    expect(score.ic).toBeCloseTo((6.5 / Math.sqrt(95) + spearman([0.1, -0.2, 0.3], [0.3, 0.2, 0.1])) / 2, 15);
    // Hits: date 1 all positive (5), date 2: 0.1/0.3 and 0.3/0.1 (2), date 3 a miss → 7 of 9.
    expect(score.hitRate).toBeCloseTo(7 / 9, 15);
    expect(scorePredictions([0, 1, -1], [1, 0, -1], [1, 1, 1]).hitRate).toBeCloseTo(1 / 3, 15);
    expect(scorePredictions([], [], [])).toEqual({ ic: 0, icDates: 0, hitRate: 0, samples: 0 });
  });
});

describe('purgedKFold', () => {
  // One sample per date 0..9, label interval [t, t + 2].
  const intervals = { dateIndex: Array.from({ length: 10 }, (_, t) => t), labelEndIndex: Array.from({ length: 10 }, (_, t) => t + 2) };

  it('splits contiguous date blocks, purges overlapping labels and embargoes the dates after the test fold (hand-written)', () => {
    // k = 3 over 10 dates → blocks of 4, 3, 3 dates; embargo ⌈0.3 × 10⌉ = 3 dates.
    const splits = purgedKFold(intervals, undefined, { folds: 3, embargoFraction: 0.3 });
    const view = splits.map(({ fold, testFrom, testTo, testDates, testLabelEnd, test, train, purged, embargoed }) => ({ fold, testFrom, testTo, testDates, testLabelEnd, test, train, purged, embargoed }));
    expect(view).toEqual([
      // Test 0..3, labels to 5: 4 and 5 overlap; embargo dates 4, 5, 6 → only 6 left to embargo.
      { fold: 1, testFrom: 0, testTo: 3, testDates: 4, testLabelEnd: 5, test: [0, 1, 2, 3], train: [7, 8, 9], purged: [4, 5], embargoed: [6] },
      // Test 4..6, labels to 8: 2 (to 4) and 3 (to 5) reach into it, 7 and 8 start before 8 ends; embargo 7, 8, 9 → 9.
      { fold: 2, testFrom: 4, testTo: 6, testDates: 3, testLabelEnd: 8, test: [4, 5, 6], train: [0, 1], purged: [2, 3, 7, 8], embargoed: [9] },
      // Test 7..9: 5 (to 7) and 6 (to 8) reach into it; nothing after it to embargo.
      { fold: 3, testFrom: 7, testTo: 9, testDates: 3, testLabelEnd: 11, test: [7, 8, 9], train: [0, 1, 2, 3, 4], purged: [5, 6], embargoed: [] },
    ]);
  });

  it('keeps every sample of a date in one fold, and splits only the given samples (dates of the subset, not of the axis)', () => {
    // Two symbols per date on dates 0, 2, 4, 6, 8, 10 (samples 2d and 2d+1); label [t, t + 3].
    const dateIndex = [0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12];
    const labelEndIndex = dateIndex.map((t) => t + 3);
    // Subset: everything but the last sample (date 12); k = 2 → dates {0, 2, 4} and {6, 8, 10}; embargo ⌈0.01 × 6⌉ = 1 date.
    const splits = purgedKFold({ dateIndex, labelEndIndex }, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0], { folds: 2, embargoFraction: 0.01 });
    expect(splits.map((s) => [s.test, s.train, s.purged, s.embargoed])).toEqual([
      // Test dates 0..4 (labels to 7): samples of date 6 overlap → purged; embargo = date 6 (already purged).
      [[0, 1, 2, 3, 4, 5], [8, 9, 10, 11], [6, 7], []],
      // Test dates 6..10: date 4's labels (to 7) overlap.
      [[6, 7, 8, 9, 10, 11], [0, 1, 2, 3], [4, 5], []],
    ]);
  });

  it('refuses an embargo under 1% of the dates, and more folds than dates', () => {
    expect(() => purgedKFold(intervals, undefined, { embargoFraction: 0.009 })).toThrow('embargoFraction must be a number in [0.01, 0.5] (an embargo of at least 1% of the dates), got 0.009');
    expect(() => purgedKFold(intervals, undefined, { embargoFraction: 0 })).toThrow(/got 0$/);
    expect(() => purgedKFold(intervals, undefined, { folds: 11 })).toThrow('folds must be an integer in [2, 10] (the number of dates), got 11');
    expect(() => purgedKFold(intervals, undefined, { folds: 1 })).toThrow('folds must be an integer >= 2, got 1');
  });

  it('counts embargo dates as ⌈fraction × dates⌉ without floating-point overshoot', () => {
    expect(embargoDates(0.01, 300)).toBe(3);
    expect(embargoDates(0.01, 301)).toBe(4);
    expect(embargoDates(0.01, 981)).toBe(10);
    expect(embargoDates(0.01, 50)).toBe(1);
  });

  it('property: no training label interval overlaps the test fold, no training sample sits in the embargo, and every sample is placed once', () => {
    const arbitrary = fc.record({
      perDate: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 60 }),
      spans: fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 200, maxLength: 200 }),
      folds: fc.integer({ min: 2, max: 8 }),
      embargo: fc.double({ min: 0.01, max: 0.5, noNaN: true }),
    });
    fc.assert(
      fc.property(arbitrary, ({ perDate, spans, folds, embargo }) => {
        const dateIndex: number[] = [];
        perDate.forEach((count, d) => {
          for (let c = 0; c < count; c++) dateIndex.push(d);
        });
        const labelEndIndex = dateIndex.map((t, i) => t + spans[i % spans.length]!);
        const dates = [...new Set(dateIndex)];
        fc.pre(dates.length >= folds);
        const splits = purgedKFold({ dateIndex, labelEndIndex }, undefined, { folds, embargoFraction: embargo });
        const e = embargoDates(embargo, dates.length);
        expect(splits).toHaveLength(folds);
        const testedOnce = new Array<number>(dateIndex.length).fill(0);
        for (const s of splits) {
          const testStart = Math.min(...s.test.map((i) => dateIndex[i]!));
          const testEnd = Math.max(...s.test.map((i) => labelEndIndex[i]!));
          const lastTestDate = Math.max(...s.test.map((i) => dateIndex[i]!));
          const embargoed = new Set(dates.filter((d) => d > lastTestDate).slice(0, e));
          for (const i of s.train) {
            // [t, labelEnd] ∩ [testStart, testEnd] = ∅
            expect(dateIndex[i]! > testEnd || labelEndIndex[i]! < testStart).toBe(true);
            expect(embargoed.has(dateIndex[i]!)).toBe(false);
          }
          for (const i of s.purged) expect(dateIndex[i]! <= testEnd && labelEndIndex[i]! >= testStart).toBe(true);
          for (const i of s.embargoed) expect(embargoed.has(dateIndex[i]!)).toBe(true);
          const placed = [...s.test, ...s.train, ...s.purged, ...s.embargoed].sort((a, b) => a - b);
          expect(placed).toEqual(dateIndex.map((_, i) => i));
          // A date is never split between test and the rest.
          const testDates = new Set(s.test.map((i) => dateIndex[i]!));
          for (const i of [...s.train, ...s.purged, ...s.embargoed]) expect(testDates.has(dateIndex[i]!)).toBe(false);
          for (const i of s.test) testedOnce[i]!++;
        }
        expect(testedOnce.every((n) => n === 1)).toBe(true);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Walk-forward on synthetic bars through the real engine and data-quality checks.

const WF_FEATURES = ['ret_1', 'ret_5', 'ret_21', 'rsi_14', 'vol_21', 'bb_pctb_20_2', 'beta_63'];
const WF_HORIZON = 3;

interface SyntheticBars {
  dates: string[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  volume: number[];
}


function randomBars(dates: readonly string[], seed: number): SyntheticBars {
  const random = rng(seed);
  const bars: SyntheticBars = { dates: [...dates], open: [], high: [], low: [], close: [], volume: [] };
  let price = 50 + seed;
  for (let i = 0; i < dates.length; i++) {
    const open = price * (1 + (random() - 0.5) * 0.01);
    price *= 1 + (random() - 0.5) * 0.04;
    const close = price;
    bars.open.push(open);
    bars.close.push(close);
    bars.high.push(Math.max(open, close) * (1 + random() * 0.01));
    bars.low.push(Math.min(open, close) * (1 - random() * 0.01));
    bars.volume.push(Math.round(1e6 * (0.5 + random())));
  }
  return bars;
}

/** Bars after index `after` multiplied by random factors in [0.5, 1.5] (the whole bar, so it stays valid). */
function perturbAfter(bars: SyntheticBars, after: number, seed: number): SyntheticBars {
  const random = rng(seed);
  const out: SyntheticBars = { dates: [...bars.dates], open: [...bars.open], high: [...bars.high], low: [...bars.low], close: [...bars.close], volume: [...bars.volume] };
  for (let i = after + 1; i < bars.dates.length; i++) {
    const k = 0.5 + random();
    out.open[i] = bars.open[i]! * k;
    out.high[i] = bars.high[i]! * k;
    out.low[i] = bars.low[i]! * k;
    out.close[i] = bars.close[i]! * k;
    out.volume[i] = Math.round(bars.volume[i]! * (0.5 + random()));
  }
  return out;
}

function datasetOf(symbols: ReadonlyMap<string, SyntheticBars>, bench: SyntheticBars, calendar: TradingCalendar): Dataset {
  const engine = new FeatureEngine();
  const benchClose = new Map(bench.dates.map((d, i) => [d, bench.close[i]!]));
  const series: SymbolSeries[] = [];
  for (const [symbol, b] of symbols) {
    const rows = b.dates.map((date, i) => ({ line: i + 2, date, open: String(b.open[i]), high: String(b.high[i]), low: String(b.low[i]), close: String(b.close[i]), volume: String(b.volume[i]) }));
    const validated = validateBarRows(rows);
    const bars = validated.bars;
    const result = engine.compute(
      {
        open: Float64Array.from(bars, (x) => x.open),
        high: Float64Array.from(bars, (x) => x.high),
        low: Float64Array.from(bars, (x) => x.low),
        close: Float64Array.from(bars, (x) => x.close),
        volume: Float64Array.from(bars, (x) => x.volume),
        benchClose: Float64Array.from(bars, (x) => benchClose.get(x.date) ?? Number.NaN),
      },
      bars.length,
    );
    series.push({
      symbol,
      dates: bars.map((x) => x.date),
      close: Float64Array.from(bars, (x) => x.close),
      names: result.names,
      values: result.values.map((v) => Float64Array.from(v)),
      defects: [...validated.defects, ...checkBarSeries(validated, calendar)],
    });
  }
  return buildDataset(series, { features: WF_FEATURES, horizon: WF_HORIZON, lookback: 64 });
}

describe('trainWalkForward', () => {
  let calendar: TradingCalendar;
  let dates: string[];
  let symbols: Map<string, SyntheticBars>;
  let bench: SyntheticBars;
  let dataset: Dataset;
  let bundle: ModelBundle;
  const options = { name: 'synthetic', retrainEvery: 15, minTrainSessions: 40, lambda: 10, folds: 3, embargoFraction: 0.02 };

  beforeAll(async () => {
    calendar = new TradingCalendar(await new CsvCalendar({ file: CALENDAR_FILE }).loadSessions());
    dates = calendar.sessionsBetween('2019-01-02', '2019-12-31').map((s) => s.date);
    symbols = new Map(['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF'].map((s, k) => [s, randomBars(dates, 100 + k)]));
    bench = randomBars(dates, 7);
    dataset = datasetOf(symbols, bench, calendar);
    bundle = trainWalkForward(dataset, { ...options, to: dates[dates.length - 1]! });
  });

  it('builds a bundle that parses, with loadable snapshots ascending by as-of, the last one as of --to', () => {
    const parsed = parseModelBundle(JSON.parse(JSON.stringify(bundle)));
    expect(parsed.snapshots.length).toBeGreaterThanOrEqual(5);
    for (const s of parsed.snapshots) {
      expect(s.id).toBe(`synthetic@${s.trainingWindow.asOf}`);
      expect(s.features).toEqual(WF_FEATURES);
      expect(s.target).toEqual({ kind: 'forward_return_demeaned', horizonSessions: WF_HORIZON });
      expect(s.validation.folds).toHaveLength(3);
      expect(s.validation.folds.every((f) => f.kind === 'purged-kfold')).toBe(true);
      loadRidge(s);
    }
    expect(parsed.snapshots.at(-1)!.trainingWindow.asOf).toBe(dates[dates.length - 1]);
    // Retrain grid: every 15 sessions backward from --to.
    const axis = dataset.dates;
    const asOfs = parsed.snapshots.map((s) => axis.indexOf(s.trainingWindow.asOf));
    for (let k = 1; k < asOfs.length; k++) expect(asOfs[k]! - asOfs[k - 1]!).toBe(15);
    expect(parsed.walkForward.length).toBeGreaterThan(0);
    expect(parsed.walkForward.every((f) => f.kind === 'walk-forward' && f.embargoed === 0)).toBe(true);
  });

  it('trains every snapshot only on samples with t + h ≤ asOf (session index), all of them, and starts once minTrainSessions dates exist', () => {
    const axis = dataset.dates;
    bundle.snapshots.forEach((s, k) => {
      const asOf = axis.indexOf(s.trainingWindow.asOf);
      expect(axis.indexOf(s.trainingWindow.to) + WF_HORIZON).toBeLessThanOrEqual(asOf);
      const eligible: number[] = [];
      for (let i = 0; i < dataset.rows; i++) if (dataset.dateIndex[i]! + WF_HORIZON <= asOf) eligible.push(i);
      // Synthetic bars have no holes, so labelEnd = t + h exactly.
      for (const i of eligible) expect(dataset.labelEndIndex[i]).toBe(dataset.dateIndex[i]! + WF_HORIZON);
      // The purged k-fold places each training sample once per fold: their sum is the training set.
      const f = s.validation.folds[0]!;
      expect(f.trainSamples + f.testSamples + f.purged + f.embargoed).toBe(eligible.length);
      // Refitting on exactly that set reproduces the stored body.
      const body = fitRidge(dataset.x, dataset.rows, dataset.cols, dataset.y, { lambda: options.lambda, rowIndex: eligible });
      expect(s.model).toEqual(body);
      const dates = new Set(eligible.map((i) => dataset.dateIndex[i]));
      expect(dates.size).toBeGreaterThanOrEqual(options.minTrainSessions);
      if (k === 0) {
        const earlier = new Set<number>();
        for (let i = 0; i < dataset.rows; i++) if (dataset.dateIndex[i]! + WF_HORIZON <= asOf - options.retrainEvery) earlier.add(dataset.dateIndex[i]!);
        expect(earlier.size).toBeLessThan(options.minTrainSessions);
      }
    });
  });

  it('reads each snapshot out of sample on the sessions after its as-of until the next one', () => {
    const axis = dataset.dates;
    for (const f of bundle.walkForward) {
      const owner = bundle.snapshots.filter((s) => s.trainingWindow.asOf < f.testFrom).at(-1)!;
      const next = bundle.snapshots[bundle.snapshots.indexOf(owner) + 1];
      const a = axis.indexOf(owner.trainingWindow.asOf);
      const end = next ? axis.indexOf(next.trainingWindow.asOf) : a + options.retrainEvery;
      let count = 0;
      for (let i = 0; i < dataset.rows; i++) if (dataset.dateIndex[i]! > a && dataset.dateIndex[i]! <= end) count++;
      expect(f.testSamples).toBe(count);
      expect(axis.indexOf(f.testTo)).toBeLessThanOrEqual(end);
      expect(f.ic).toBeGreaterThanOrEqual(-1);
      expect(f.ic).toBeLessThanOrEqual(1);
    }
  });

  it('look-ahead: perturbing every bar after A (symbols and benchmark) leaves the snapshots up to A bit-identical', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 3 }), (seed, pick) => {
        const k = Math.min(pick, bundle.snapshots.length - 2);
        const snapshot = bundle.snapshots[k]!;
        const a = dates.indexOf(snapshot.trainingWindow.asOf);
        const perturbed = new Map([...symbols].map(([s, b], j) => [s, perturbAfter(b, a, seed + j)]));
        const other = trainWalkForward(datasetOf(perturbed, perturbAfter(bench, a, seed + 99), calendar), { ...options, to: dates[dates.length - 1]! });
        for (let j = 0; j <= k; j++) expect(JSON.stringify(other.snapshots[j])).toBe(JSON.stringify(bundle.snapshots[j]));
        // The perturbation is real: the last snapshot, trained after it, changes.
        expect(JSON.stringify(other.snapshots.at(-1))).not.toBe(JSON.stringify(bundle.snapshots.at(-1)));
      }),
      { numRuns: 4 },
    );
  });

  it('is deterministic, and refuses options it cannot honor', () => {
    expect(JSON.stringify(trainWalkForward(dataset, { ...options, to: dates[dates.length - 1]! }))).toBe(JSON.stringify(bundle));
    expect(() => trainWalkForward(dataset, { ...options, embargoFraction: 0.005 })).toThrow(/embargoFraction must be a number in \[0.01, 0.5\]/);
    expect(() => trainWalkForward(dataset, { ...options, horizon: 5 })).toThrow('horizon 5 differs from the dataset\'s label horizon 3');
    expect(() => trainWalkForward(dataset, { ...options, minTrainSessions: 10_000 })).toThrow(/fewer than minTrainSessions 10000/);
    expect(() => trainWalkForward(dataset, { ...options, to: '2018-06-01' })).toThrow('to 2018-06-01 is before the first date of the data 2019-01-02');
    expect(() => trainWalkForward(dataset, { ...options, name: 'a@b' })).toThrow(/name must be a non-empty string without @/);
  });

  it('cross-validates with fold-local standardization: the report means are the fold means', () => {
    const train = Array.from({ length: dataset.rows }, (_, i) => i);
    const cv = crossValidate(dataset, train, { folds: 4, embargoFraction: 0.05, lambda: 10 });
    expect(cv.report.folds).toHaveLength(4);
    expect(cv.report.meanIc).toBeCloseTo(cv.report.folds.reduce((s, f) => s + f.ic, 0) / 4, 15);
    expect(cv.report.meanHitRate).toBeCloseTo(cv.report.folds.reduce((s, f) => s + f.hitRate, 0) / 4, 15);
    expect(cv.embargoDates).toBe(Math.ceil(0.05 * cv.dates));
    expect(cv.report.purgeSessions).toBe(WF_HORIZON);
    expect((bundle.snapshots[0]!.model as RidgeBody).coef).toHaveLength(WF_FEATURES.length);
  });
});
