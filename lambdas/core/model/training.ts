/**
 * The built-in trainer: labelled samples from the feature engine's output, purged k-fold
 * cross-validation with an embargo, and walk-forward retraining into a {@link ModelBundle} of
 * `ridge-v1` snapshots.
 *
 * Pure: no I/O, no clock, no randomness (same inputs → bit-identical bundle). The shell that reads
 * the CSVs and writes the file is `local/train-cli.ts`.
 *
 * Vocabulary:
 * - the DATE AXIS of a dataset is the sorted union of every symbol's bar dates (NYSE sessions,
 *   `YYYY-MM-DD`); "in session index terms" means positions on that axis;
 * - a SAMPLE is (symbol, t): t is the feature-row date (the last bar before the decision session),
 *   the features are the engine's values at t, the label is the forward return over the next h bars,
 *   demeaned across the symbols of date t (target kind `forward_return_demeaned`);
 * - a sample's LABEL INTERVAL is [t, t + h] on the axis (`dateIndex` … `labelEndIndex`): the label
 *   reads the closes of both ends.
 */
import type { BarDefect } from '../bars';
import { isCalendarDate } from '../calendar';
import {
  MODEL_ARTIFACT_SCHEMA_VERSION,
  type ModelArtifact,
  type ModelBundle,
  type ValidationFold,
  type ValidationReport,
} from './artifact';
import { DEFAULT_FEATURE_LOOKBACK } from './features';
import { fitRidge, predictRidge, RIDGE_FORMAT, type RidgeBody } from './ridge';

/** The label the built-in trainer fits (see `ModelArtifact.target`). */
export const TARGET_KIND = 'forward_return_demeaned' as const;
/** Default label horizon h, in sessions (close_t → close_{t+h}). */
export const DEFAULT_HORIZON = 5;
/** Default number k of cross-validation folds. */
export const DEFAULT_FOLDS = 5;
/**
 * Smallest embargo accepted, as a fraction of the dates of the cross-validated set: López de Prado
 * (2018, §7.4.2) suggests h ≈ 0.01·T, which is also the artifact schema's minimum.
 */
export const MIN_EMBARGO_FRACTION = 0.01;
/** Default sessions between two walk-forward retrainings (about a calendar month). */
export const DEFAULT_RETRAIN_EVERY = 21;
/** Default minimum number of distinct sample dates in a snapshot's training set (about six months). */
export const DEFAULT_MIN_TRAIN_SESSIONS = 126;
/**
 * Default ridge penalty λ (on the SUM of squared residuals, standardized coefficients; see
 * `model/ridge.ts`), chosen a priori and not tuned on any fold: ridge is the posterior mean under
 * a Gaussian prior β_j ~ N(0, τ²) with λ = σ²/τ². For the 5-session demeaned return of large caps
 * the residual σ is about 3 % (daily idiosyncratic volatility ≈ 1.4 % × √5), and a plausible
 * effect of one standard deviation of a feature is τ ≈ 0.1 % (an information coefficient of about
 * 0.03 at that σ), so λ = 0.03² / 0.001² ≈ 1000. On 126 dates × 60 symbols ≈ 7,500 samples this
 * shrinks a lone standardized feature by about 12 %, on the 5-year set by about 2 %; directions
 * that the collinear features (returns, oscillators, Sharpe) barely span are shrunk much harder.
 */
export const DEFAULT_LAMBDA = 1000;

/** One symbol's inputs to {@link buildDataset}: its bars' dates and closes, and the engine's output over them. */
export interface SymbolSeries {
  /** Ticker, unique within a dataset. */
  symbol: string;
  /** Bar dates `YYYY-MM-DD`, strictly ascending (length n): the symbol's valid bars, full history. */
  dates: readonly string[];
  /** Close of each bar, USD per share (length ≥ n). */
  close: ArrayLike<number>;
  /** Feature-engine column names (`FeatureEngine.compute(...).names`). */
  names: readonly string[];
  /**
   * The engine's columns, parallel to `names`, each of length ≥ n and computed over the symbol's
   * FULL history with `benchClose` = the benchmark's closes aligned by date (NaN when missing).
   * Copy them out of the engine (its buffers are reused); only the model's features are read, so
   * the others may be empty arrays.
   */
  values: readonly ArrayLike<number>[];
  /**
   * The symbol's data-quality defects: row defects of `validateBarRows` and series defects of
   * `checkBarSeries` (core/data-quality), anchored by date. Default none.
   */
  defects?: readonly BarDefect[];
}

/** Options of {@link buildDataset}. */
export interface DatasetOptions {
  /** Engine column names the model reads, in model order (e.g. `DEFAULT_MODEL_FEATURES`). */
  features: readonly string[];
  /** Label horizon h in sessions, integer ≥ 1 (default {@link DEFAULT_HORIZON}). */
  horizon?: number;
  /**
   * Bars a feature row reads, its own included (default `DEFAULT_FEATURE_LOOKBACK` = 253, for the
   * 252-session windows). Used only by the data-quality rule.
   */
  lookback?: number;
}

/**
 * Labelled samples, sorted by date (axis index) and then by the order of the input symbols.
 * Per-sample columns are parallel arrays of length `rows`.
 */
export interface Dataset {
  /** Feature names, in column order of `x`. */
  features: readonly string[];
  /** Label horizon h in sessions. */
  horizon: number;
  /** The date axis: the sorted union of every symbol's bar dates. */
  dates: readonly string[];
  /** The input symbols, in input order (`symbolIndex` points here). */
  symbols: readonly string[];
  /** Number of samples. */
  rows: number;
  /** Number of features (= `features.length`). */
  cols: number;
  /** Row-major `rows × cols` feature matrix (all finite). */
  x: Float64Array;
  /** Label: forward return minus the mean forward return of the symbols with a valid label on that date (fraction). */
  y: Float64Array;
  /** The forward return before demeaning, close_{t+h}/close_t − 1 (fraction). */
  forwardReturn: Float64Array;
  /** Axis index of t, the feature-row date. */
  dateIndex: Int32Array;
  /** Axis index of the date of bar t + h (the label's last close); = dateIndex + h on a gap-free series. */
  labelEndIndex: Int32Array;
  /** Index into `symbols`. */
  symbolIndex: Int32Array;
  /** Feature rows (symbol, t) that gave no sample, by the first reason met in this order. */
  dropped: {
    /** t + h is past the symbol's last bar. */
    noLabel: number;
    /** A data-quality defect lies among the bars the sample reads (see {@link buildDataset}). */
    defect: number;
    /** Some feature is NaN or infinite (warm-up, missing benchmark, zero denominator). */
    missingFeature: number;
  };
}

function assertInteger(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new RangeError(`${name} must be an integer ${range}, got ${String(value)}`);
  }
}

/** Index of the first element of ascending `values` that is ≥ key (or length). */
function lowerBound(values: readonly string[], key: string): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element of ascending `values` that is > key (or length). */
function upperBound(values: readonly string[], key: string): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as string) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Adds 1 over [from, to] (clipped to [0, n)) in a difference array of length n + 1. */
function markRange(diff: Int32Array, n: number, from: number, to: number): void {
  const a = Math.max(0, from);
  const b = Math.min(n - 1, to);
  if (a > b) return;
  diff[a] = (diff[a] as number) + 1;
  diff[b + 1] = (diff[b + 1] as number) - 1;
}

/**
 * Builds the labelled samples of every symbol.
 *
 * For each symbol and each bar t (index into its bars):
 * - label: forward return r = close_{t+h} / close_t − 1 over the symbol's next h bars; the sample's
 *   label interval ends at the date of bar t + h. No sample when t + h is past the last bar;
 * - data-quality rule (the pipeline's decision-window rule of `selectDecisionWindow`, extended over
 *   the label): the sample is dropped when a defect of the symbol is anchored on a date between the
 *   bar t − L + 1 (L = `lookback`; bar 0 when t < L − 1) and the bar t + h, both included: the bars
 *   its features read and the bars its label reads. A defect with a `horizon` (REPEATED_BAR, 20)
 *   counts only from bar t − horizon + 1, as in the pipeline. A MISSING_SESSION is anchored on the
 *   missing session, so a label or a feature window spanning the hole is dropped. A defect anchored
 *   before the first bar (or on no date) does not count;
 * - demeaning: y = r − mean of r over the symbols of date t whose label is VALID, i.e. defined and
 *   with no defect among the bars t … t + h (a label over a bad bar, e.g. an unadjusted split, would
 *   shift every symbol's target). Demeaning happens before the feature checks below, so a symbol
 *   still in warm-up counts in its date's mean;
 * - the sample is kept when its label is valid, its feature window is clean, and every feature is
 *   finite.
 *
 * @param series one entry per symbol (the benchmark itself is usually left out).
 * @returns the samples, sorted by date then input symbol order, and the drop counts.
 * @throws RangeError for a bad horizon/lookback, duplicate symbols or features, an unknown feature
 *   name (naming it and the symbol), unsorted or malformed dates, or series shorter than `dates`.
 */
export function buildDataset(series: readonly SymbolSeries[], options: DatasetOptions): Dataset {
  const horizon = options.horizon ?? DEFAULT_HORIZON;
  const lookback = options.lookback ?? DEFAULT_FEATURE_LOOKBACK;
  assertInteger('horizon', horizon, 1);
  assertInteger('lookback', lookback, 1);
  const features = [...options.features];
  if (features.length === 0) throw new RangeError('features must name at least one engine column');
  if (new Set(features).size !== features.length) throw new RangeError(`features must be unique, got ${features.join(', ')}`);
  const symbols = series.map((s) => s.symbol);
  if (new Set(symbols).size !== symbols.length) throw new RangeError(`symbols must be unique, got ${symbols.join(', ')}`);

  const axisSet = new Set<string>();
  for (const s of series) {
    s.dates.forEach((date, i) => {
      if (!isCalendarDate(date)) throw new RangeError(`${s.symbol} dates[${i}] must be YYYY-MM-DD, got ${JSON.stringify(date)}`);
      if (i > 0 && !((s.dates[i - 1] as string) < date)) throw new RangeError(`${s.symbol} dates[${i}] ${date} is not after ${s.dates[i - 1]}; dates must be strictly ascending`);
      axisSet.add(date);
    });
  }
  const dates = [...axisSet].sort();
  const axis = new Map(dates.map((d, i) => [d, i]));
  const cols = features.length;

  interface Prepared {
    n: number;
    axisOf: Int32Array;
    ret: Float64Array;
    validLabel: Uint8Array;
    cleanWindow: Uint8Array;
    columns: ArrayLike<number>[];
  }
  const prepared: Prepared[] = [];
  const labelSum = new Float64Array(dates.length);
  const labelCount = new Int32Array(dates.length);

  for (const s of series) {
    const n = s.dates.length;
    if (s.close.length < n) throw new RangeError(`${s.symbol} close.length must be >= ${n}, got ${s.close.length}`);
    const columns = features.map((name) => {
      const c = s.names.indexOf(name);
      if (c < 0) throw new RangeError(`feature ${name} is not an engine column (symbol ${s.symbol})`);
      const column = s.values[c];
      if (column === undefined || column.length < n) throw new RangeError(`${s.symbol} column ${name} must have length >= ${n}, got ${column?.length ?? 0}`);
      return column;
    });
    const axisOf = Int32Array.from(s.dates, (d) => axis.get(d) as number);

    const windowDiff = new Int32Array(n + 1);
    const labelDiff = new Int32Array(n + 1);
    for (const defect of s.defects ?? []) {
      if (!isCalendarDate(defect.date)) continue;
      const p = lowerBound(s.dates, defect.date); // first bar on/after the anchor
      const q = upperBound(s.dates, defect.date) - 1; // last bar on/before the anchor
      if (q < 0 || p >= n) continue; // before the first bar, or after the last: no window holds it
      const reach = defect.horizon ?? lookback;
      markRange(windowDiff, n, p - horizon, q + reach - 1);
      markRange(labelDiff, n, p - horizon, q);
    }

    const ret = new Float64Array(n).fill(Number.NaN);
    const validLabel = new Uint8Array(n);
    const cleanWindow = new Uint8Array(n);
    let inWindow = 0;
    let inLabel = 0;
    for (let t = 0; t < n; t++) {
      inWindow += windowDiff[t] as number;
      inLabel += labelDiff[t] as number;
      cleanWindow[t] = inWindow === 0 ? 1 : 0;
      if (t + horizon >= n) continue;
      const r = (s.close[t + horizon] as number) / (s.close[t] as number) - 1;
      ret[t] = r;
      if (Number.isFinite(r) && inLabel === 0) {
        validLabel[t] = 1;
        const d = axisOf[t] as number;
        labelSum[d] = (labelSum[d] as number) + r;
        labelCount[d] = (labelCount[d] as number) + 1;
      }
    }
    prepared.push({ n, axisOf, ret, validLabel, cleanWindow, columns });
  }

  // Kept samples, bucketed by date so the output is sorted by (date, input symbol order).
  const dropped = { noLabel: 0, defect: 0, missingFeature: 0 };
  const perDate = new Int32Array(dates.length);
  const keep: Uint8Array[] = prepared.map((p) => {
    const k = new Uint8Array(p.n);
    for (let t = 0; t < p.n; t++) {
      if (!(t + horizon < p.n) || !Number.isFinite(p.ret[t] as number)) {
        dropped.noLabel++;
        continue;
      }
      if (p.validLabel[t] !== 1 || p.cleanWindow[t] !== 1) {
        dropped.defect++;
        continue;
      }
      let finite = true;
      for (let j = 0; j < cols && finite; j++) finite = Number.isFinite((p.columns[j] as ArrayLike<number>)[t] as number);
      if (!finite) {
        dropped.missingFeature++;
        continue;
      }
      k[t] = 1;
      const d = p.axisOf[t] as number;
      perDate[d] = (perDate[d] as number) + 1;
    }
    return k;
  });
  const offset = new Int32Array(dates.length + 1);
  for (let d = 0; d < dates.length; d++) offset[d + 1] = (offset[d] as number) + (perDate[d] as number);
  const rows = offset[dates.length] as number;
  const cursor = offset.slice(0, dates.length);

  const x = new Float64Array(rows * cols);
  const y = new Float64Array(rows);
  const forwardReturn = new Float64Array(rows);
  const dateIndex = new Int32Array(rows);
  const labelEndIndex = new Int32Array(rows);
  const symbolIndex = new Int32Array(rows);
  prepared.forEach((p, si) => {
    const k = keep[si] as Uint8Array;
    for (let t = 0; t < p.n; t++) {
      if (k[t] !== 1) continue;
      const d = p.axisOf[t] as number;
      const row = cursor[d] as number;
      cursor[d] = row + 1;
      for (let j = 0; j < cols; j++) x[row * cols + j] = (p.columns[j] as ArrayLike<number>)[t] as number;
      const r = p.ret[t] as number;
      forwardReturn[row] = r;
      y[row] = r - (labelSum[d] as number) / (labelCount[d] as number);
      dateIndex[row] = d;
      labelEndIndex[row] = p.axisOf[t + horizon] as number;
      symbolIndex[row] = si;
    }
  });
  return { features, horizon, dates, symbols, rows, cols, x, y, forwardReturn, dateIndex, labelEndIndex, symbolIndex, dropped };
}

// ---------------------------------------------------------------------------------------------
// Scoring

/**
 * Ranks 1..n of `values`, ties sharing the average of the ranks they span (the "fractional"
 * ranking Spearman's coefficient uses): [10, 20, 20, 30] → [1, 2.5, 2.5, 4].
 */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (values[a] as number) - (values[b] as number));
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[order[j + 1] as number] === values[order[i] as number]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k] as number] = rank;
    i = j + 1;
  }
  return ranks;
}

/**
 * Spearman's rank correlation (Spearman 1904): the Pearson correlation of the average ranks of `a`
 * and `b` (ties averaged, so it is exact with ties, unlike 1 − 6Σd²/(n(n²−1))).
 * @returns a value in [−1, 1], or NaN when n < 2 or either side is constant (no ranking).
 * @throws RangeError when the lengths differ.
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`spearman needs equal lengths, got ${a.length} and ${b.length}`);
  const n = a.length;
  if (n < 2) return Number.NaN;
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const mean = (n + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = (ra[i] as number) - mean;
    const db = (rb[i] as number) - mean;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return Number.NaN;
  return sab / Math.sqrt(saa * sbb);
}

/** Out-of-sample reading of a set of predictions. */
export interface Score {
  /**
   * Information coefficient: the mean over dates of the cross-sectional Spearman correlation of
   * prediction and label. Dates where it is undefined (fewer than 2 samples, or constant
   * predictions or labels) are skipped; 0 when no date has one.
   */
  ic: number;
  /** Dates that entered the IC mean. */
  icDates: number;
  /**
   * Share of samples where sign(prediction) = sign(label), in [0, 1]; a zero prediction or a zero
   * label counts as a miss (there is no side to be right about). 0 for no sample.
   */
  hitRate: number;
  /** Samples scored. */
  samples: number;
}

/**
 * Scores predictions against labels: IC and hit rate (definitions in {@link Score}).
 * @param prediction one per sample.
 * @param label one per sample (the demeaned forward return).
 * @param date the date (any id, e.g. the axis index) of each sample, to group cross-sections.
 * @throws RangeError when the lengths differ.
 */
export function scorePredictions(prediction: ArrayLike<number>, label: ArrayLike<number>, date: ArrayLike<number>): Score {
  const n = prediction.length;
  if (label.length !== n || date.length !== n) throw new RangeError(`prediction, label and date must have equal lengths, got ${n}, ${label.length}, ${date.length}`);
  const groups = new Map<number, number[]>();
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const p = prediction[i] as number;
    const l = label[i] as number;
    if ((p > 0 && l > 0) || (p < 0 && l < 0)) hits++;
    const d = date[i] as number;
    const g = groups.get(d);
    if (g === undefined) groups.set(d, [i]);
    else g.push(i);
  }
  let sum = 0;
  let count = 0;
  for (const members of groups.values()) {
    const rho = spearman(
      members.map((i) => prediction[i] as number),
      members.map((i) => label[i] as number),
    );
    if (Number.isFinite(rho)) {
      sum += rho;
      count++;
    }
  }
  return { ic: count === 0 ? 0 : sum / count, icDates: count, hitRate: n === 0 ? 0 : hits / n, samples: n };
}

// ---------------------------------------------------------------------------------------------
// Purged k-fold cross-validation

/** Label intervals of samples, on a date axis: sample i spans [dateIndex[i], labelEndIndex[i]]. */
export interface LabelIntervals {
  dateIndex: ArrayLike<number>;
  labelEndIndex: ArrayLike<number>;
}

/** Options of {@link purgedKFold}. */
export interface PurgedKFoldOptions {
  /** Number of folds k, integer in [2, number of dates] (default {@link DEFAULT_FOLDS}). */
  folds?: number;
  /** Embargo as a fraction of the dates, in [0.01, 0.5] (default {@link MIN_EMBARGO_FRACTION}). */
  embargoFraction?: number;
}

/** One fold of {@link purgedKFold}. Sample lists are indices into the intervals, ascending. */
export interface PurgedSplit {
  /** 1-based fold number. */
  fold: number;
  /** Axis index of the first and last test date. */
  testFrom: number;
  testTo: number;
  /** Distinct test dates. */
  testDates: number;
  /** Last axis index a test label reads (max labelEndIndex of the test samples). */
  testLabelEnd: number;
  test: number[];
  train: number[];
  /** Non-test samples whose label interval overlaps [testFrom, testLabelEnd]. */
  purged: number[];
  /** Non-test samples, not purged, dated in the embargo dates right after the test fold. */
  embargoed: number[];
}

/**
 * Checks an embargo fraction.
 * @throws Error naming the value when it is not a number in [0.01, 0.5] (below 1 % the embargo no
 *   longer covers the serial correlation of overlapping features; above 50 % little is left to train on).
 */
export function assertEmbargoFraction(embargoFraction: number): void {
  if (typeof embargoFraction !== 'number' || !Number.isFinite(embargoFraction) || embargoFraction < MIN_EMBARGO_FRACTION || embargoFraction > 0.5) {
    throw new Error(`embargoFraction must be a number in [${MIN_EMBARGO_FRACTION}, 0.5] (an embargo of at least 1% of the dates), got ${String(embargoFraction)}`);
  }
}

/**
 * Number of embargo dates for `dates` dates: ⌈embargoFraction × dates⌉ (computed with a 1e-9
 * allowance so that 0.01 × 300 gives 3, not 4 from floating-point error).
 */
export function embargoDates(embargoFraction: number, dates: number): number {
  return Math.ceil(embargoFraction * dates - 1e-9);
}

/**
 * Purged k-fold cross-validation with an embargo (M. López de Prado, Advances in Financial Machine
 * Learning, Wiley 2018, ch. 7, §7.4).
 *
 * - Folds: the D distinct dates of `samples` are cut into k contiguous blocks (the first D mod k
 *   blocks get one date more, as numpy.array_split); every sample of a date is in its date's fold.
 * - Purge: a non-test sample is dropped from training when its label interval [t, labelEnd]
 *   overlaps the test fold's [first test t, last test labelEnd] (samples before the fold whose
 *   label reaches into it, and samples after it dated before its last label ends). With clean
 *   data labelEnd = t + h, so the purge is h sessions on either side.
 * - Embargo: of the rest, a sample dated in the first ⌈embargoFraction × D⌉ dates after the test
 *   fold (counted in the samples' own dates) is dropped too: features there (returns, volatilities
 *   over long windows) are serially correlated with the test labels. This counts from the fold's
 *   last date, not from its last label end as López de Prado's code does; the purge covers the
 *   first h of those dates.
 *
 * @param intervals label intervals of every sample (axis indices).
 * @param samples the samples to split (indices into `intervals`, any order); default all.
 * @returns k splits, in fold order; each sample of `samples` is in exactly one of test, train,
 *   purged, embargoed of every split.
 * @throws Error when the embargo fraction is below 0.01 or above 0.5 (see {@link assertEmbargoFraction});
 *   RangeError when k is not an integer in [2, D].
 */
export function purgedKFold(intervals: LabelIntervals, samples?: ArrayLike<number>, options: PurgedKFoldOptions = {}): PurgedSplit[] {
  const k = options.folds ?? DEFAULT_FOLDS;
  const embargoFraction = options.embargoFraction ?? MIN_EMBARGO_FRACTION;
  assertEmbargoFraction(embargoFraction);
  const all = samples === undefined ? Array.from({ length: intervals.dateIndex.length }, (_, i) => i) : Array.from(samples);
  const ordered = [...all].sort((a, b) => (intervals.dateIndex[a] as number) - (intervals.dateIndex[b] as number) || a - b);
  const dateList = [...new Set(ordered.map((i) => intervals.dateIndex[i] as number))];
  const d = dateList.length;
  assertInteger('folds', k, 2);
  if (d < k) throw new RangeError(`folds must be an integer in [2, ${d}] (the number of dates), got ${k}`);
  const embargo = embargoDates(embargoFraction, d);

  const splits: PurgedSplit[] = [];
  const base = Math.floor(d / k);
  const extra = d % k;
  let start = 0;
  for (let f = 0; f < k; f++) {
    const size = base + (f < extra ? 1 : 0);
    const end = start + size; // test dates are dateList[start .. end − 1]
    const testFrom = dateList[start] as number;
    const testTo = dateList[end - 1] as number;
    const embargoTo = end < d ? (dateList[Math.min(d, end + embargo) - 1] as number) : testTo;
    const test: number[] = [];
    for (const i of ordered) {
      const t = intervals.dateIndex[i] as number;
      if (t >= testFrom && t <= testTo) test.push(i);
    }
    let testLabelEnd = testTo;
    for (const i of test) testLabelEnd = Math.max(testLabelEnd, intervals.labelEndIndex[i] as number);
    const train: number[] = [];
    const purged: number[] = [];
    const embargoed: number[] = [];
    for (const i of ordered) {
      const t = intervals.dateIndex[i] as number;
      if (t >= testFrom && t <= testTo) continue;
      const labelEnd = intervals.labelEndIndex[i] as number;
      if (t <= testLabelEnd && labelEnd >= testFrom) purged.push(i);
      else if (t > testTo && t <= embargoTo) embargoed.push(i);
      else train.push(i);
    }
    const byIndex = (a: number, b: number): number => a - b;
    splits.push({
      fold: f + 1,
      testFrom,
      testTo,
      testDates: size,
      testLabelEnd,
      test: test.sort(byIndex),
      train: train.sort(byIndex),
      purged: purged.sort(byIndex),
      embargoed: embargoed.sort(byIndex),
    });
    start = end;
  }
  return splits;
}

/** Options of {@link crossValidate}. */
export interface CrossValidationOptions extends PurgedKFoldOptions {
  /** Ridge penalty λ ≥ 0 (see `fitRidge`). */
  lambda: number;
}

/** A purged k-fold fold with its test date count (for the console table). */
export interface CrossValidationFold extends ValidationFold {
  /** Distinct test dates. */
  testDates: number;
}

/** What {@link crossValidate} returns. */
export interface CrossValidationResult {
  /** The report stored in an artifact's `validation` (folds without `testDates`). */
  report: ValidationReport;
  /** The same folds with their test date counts. */
  folds: CrossValidationFold[];
  /** Embargo length in dates, and the number of dates cross-validated. */
  embargoDates: number;
  dates: number;
}

/** Copies rows `index` of a row-major matrix into a new one. */
function gatherRows(x: Float64Array, cols: number, index: readonly number[]): Float64Array {
  const out = new Float64Array(index.length * cols);
  index.forEach((r, k) => out.set(x.subarray(r * cols, (r + 1) * cols), k * cols));
  return out;
}

/**
 * Purged k-fold cross-validation of ridge on `samples` of `dataset` (see {@link purgedKFold}):
 * for each fold, fits ridge on its training samples (standardized with THEIR mean and stdev) and
 * scores its test samples (IC and hit rate, {@link scorePredictions}).
 * `meanIc`/`meanHitRate` are the unweighted means over folds.
 * @throws as {@link purgedKFold}; RangeError when a fold has no training sample left.
 */
export function crossValidate(dataset: Dataset, samples: ArrayLike<number>, options: CrossValidationOptions): CrossValidationResult {
  const folds = options.folds ?? DEFAULT_FOLDS;
  const embargoFraction = options.embargoFraction ?? MIN_EMBARGO_FRACTION;
  const splits = purgedKFold(dataset, samples, { folds, embargoFraction });
  const d = new Set(Array.from(samples, (i) => dataset.dateIndex[i] as number)).size;
  const embargo = embargoDates(embargoFraction, d);
  const out: CrossValidationFold[] = splits.map((split) => {
    if (split.train.length === 0) throw new RangeError(`fold ${split.fold} of ${folds} has no training sample left after purge and embargo (${d} dates)`);
    const body = fitRidge(dataset.x, dataset.rows, dataset.cols, dataset.y, { lambda: options.lambda, rowIndex: split.train });
    const prediction = predictRidge(body, gatherRows(dataset.x, dataset.cols, split.test), split.test.length);
    const score = scorePredictions(
      prediction,
      split.test.map((i) => dataset.y[i] as number),
      split.test.map((i) => dataset.dateIndex[i] as number),
    );
    return {
      fold: split.fold,
      kind: 'purged-kfold' as const,
      testFrom: dataset.dates[split.testFrom] as string,
      testTo: dataset.dates[split.testTo] as string,
      trainSamples: split.train.length,
      testSamples: split.test.length,
      purged: split.purged.length,
      embargoed: split.embargoed.length,
      ic: score.ic,
      hitRate: score.hitRate,
      testDates: split.testDates,
    };
  });
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  const report: ValidationReport = {
    method: `purged ${folds}-fold CV over contiguous blocks of dates (López de Prado 2018, ch. 7): purge = training samples whose ${dataset.horizon}-session label interval overlaps the test fold's; embargo = the ${embargo} dates (${(embargoFraction * 100).toFixed(2).replace(/\.?0+$/, '')}% of ${d}) after the test fold; IC = mean daily cross-sectional Spearman correlation`,
    purgeSessions: dataset.horizon,
    embargoFraction,
    folds: out.map(({ testDates: _unused, ...fold }) => fold),
    meanIc: mean(out.map((f) => f.ic)),
    meanHitRate: mean(out.map((f) => f.hitRate)),
  };
  return { report, folds: out, embargoDates: embargo, dates: d };
}

// ---------------------------------------------------------------------------------------------
// Walk-forward

/** Options of {@link trainWalkForward}. */
export interface WalkForwardOptions {
  /** Bundle name; snapshot ids are `<name>@<asOf>`. Non-empty, without `@`. */
  name: string;
  /** Label horizon in sessions; must equal `dataset.horizon` when given. */
  horizon?: number;
  /** Sessions between two retrainings, integer ≥ 1 (default {@link DEFAULT_RETRAIN_EVERY}). */
  retrainEvery?: number;
  /** Minimum distinct sample dates in a training set, integer ≥ 1 (default {@link DEFAULT_MIN_TRAIN_SESSIONS}). */
  minTrainSessions?: number;
  /** Ridge penalty λ ≥ 0 (default {@link DEFAULT_LAMBDA}). */
  lambda?: number;
  /** Cross-validation folds k (default {@link DEFAULT_FOLDS}). */
  folds?: number;
  /** Cross-validation embargo fraction, ≥ 0.01 (default {@link MIN_EMBARGO_FRACTION}). */
  embargoFraction?: number;
  /**
   * As-of date of the last snapshot `YYYY-MM-DD` (default the last date of the axis); when it is
   * not an axis date, the last axis date before it is used.
   */
  to?: string;
  /** Stored in `bundle.createdBy` (default `trainWalkForward`). */
  createdBy?: string;
  /** Called after each snapshot (cheap progress reporting). */
  onProgress?: (done: number, total: number, asOf: string) => void;
}

/**
 * Walk-forward training into a bundle of `ridge-v1` snapshots.
 *
 * Schedule: as-of dates A are taken every `retrainEvery` axis sessions BACKWARD from `to` (so the
 * last snapshot's as-of is `to` and the grid does not depend on the data before it), keeping those
 * whose training set spans at least `minTrainSessions` distinct sample dates; ascending.
 *
 * Snapshot at A (id `<name>@<A>`):
 * - training set: the samples with labelEndIndex ≤ A (t + h ≤ A in session index terms): no label
 *   used in training reads a bar after A. Whatever happens to the bars after A, the snapshot is
 *   bit-identical (it reads features at t ≤ A − h and closes up to A only);
 * - model: ridge on the whole training set; `validation`: the purged k-fold CV of that set
 *   ({@link crossValidate}); `trainingWindow`: first and last training t, and asOf = A.
 *
 * Walk-forward fold of that snapshot (in `bundle.walkForward`, folds numbered 1… in order,
 * snapshots without test samples skipped): its out-of-sample IC and hit rate on the samples with
 * A < t ≤ the next snapshot's as-of (for the last snapshot, t ≤ A + retrainEvery sessions). Their
 * labels may read bars after that; that is fine for an out-of-sample reading. `purged` counts the
 * samples left out of training because their label crosses A (t ≤ A < t + h); `embargoed` is 0.
 *
 * @throws RangeError for a bad option (naming it and the value) or a horizon that differs from
 *   the dataset's; Error when no as-of date has `minTrainSessions` dates of training samples, or
 *   when the embargo fraction is below 1 %.
 */
export function trainWalkForward(dataset: Dataset, options: WalkForwardOptions): ModelBundle {
  const retrainEvery = options.retrainEvery ?? DEFAULT_RETRAIN_EVERY;
  const minTrainSessions = options.minTrainSessions ?? DEFAULT_MIN_TRAIN_SESSIONS;
  const lambda = options.lambda ?? DEFAULT_LAMBDA;
  const folds = options.folds ?? DEFAULT_FOLDS;
  const embargoFraction = options.embargoFraction ?? MIN_EMBARGO_FRACTION;
  const { name } = options;
  if (typeof name !== 'string' || name === '' || name.includes('@')) throw new RangeError(`name must be a non-empty string without @, got ${JSON.stringify(name)}`);
  if (options.horizon !== undefined && options.horizon !== dataset.horizon) {
    throw new RangeError(`horizon ${String(options.horizon)} differs from the dataset's label horizon ${dataset.horizon}`);
  }
  assertInteger('retrainEvery', retrainEvery, 1);
  assertInteger('minTrainSessions', minTrainSessions, 1);
  assertInteger('folds', folds, 2);
  assertEmbargoFraction(embargoFraction);
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0) throw new RangeError(`lambda must be a finite number >= 0, got ${String(lambda)}`);
  const { dates } = dataset;
  if (dates.length === 0 || dataset.rows === 0) throw new Error('the dataset has no samples: nothing to train on');

  let toIndex = dates.length - 1;
  if (options.to !== undefined) {
    if (!isCalendarDate(options.to)) throw new RangeError(`to must be a date YYYY-MM-DD, got ${JSON.stringify(options.to)}`);
    toIndex = upperBound(dates, options.to) - 1;
    if (toIndex < 0) throw new RangeError(`to ${options.to} is before the first date of the data ${dates[0]}`);
  }

  /** Samples with labelEnd ≤ a, ascending (= by date). */
  const trainingSet = (a: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < dataset.rows; i++) if ((dataset.labelEndIndex[i] as number) <= a) out.push(i);
    return out;
  };
  const distinctDates = (set: readonly number[]): number => new Set(set.map((i) => dataset.dateIndex[i] as number)).size;

  const schedule: number[] = [];
  for (let a = toIndex; a >= 0; a -= retrainEvery) {
    if (distinctDates(trainingSet(a)) < minTrainSessions) break;
    schedule.unshift(a);
  }
  if (schedule.length === 0) {
    throw new Error(`no snapshot: as of ${dates[toIndex]} the training set spans ${distinctDates(trainingSet(toIndex))} sample dates, fewer than minTrainSessions ${minTrainSessions}`);
  }

  const snapshots: ModelArtifact[] = [];
  const walkForward: ValidationFold[] = [];
  schedule.forEach((a, k) => {
    const train = trainingSet(a);
    const body: RidgeBody = fitRidge(dataset.x, dataset.rows, dataset.cols, dataset.y, { lambda, rowIndex: train });
    const cv = crossValidate(dataset, train, { folds, embargoFraction, lambda });
    const asOf = dates[a] as string;
    let lastT = 0;
    for (const i of train) lastT = Math.max(lastT, dataset.dateIndex[i] as number);
    snapshots.push({
      schemaVersion: MODEL_ARTIFACT_SCHEMA_VERSION,
      id: `${name}@${asOf}`,
      format: RIDGE_FORMAT,
      features: [...dataset.features],
      target: { kind: TARGET_KIND, horizonSessions: dataset.horizon },
      trainingWindow: { from: dates[dataset.dateIndex[train[0] as number] as number] as string, to: dates[lastT] as string, asOf },
      validation: cv.report,
      model: body,
    });

    const next = schedule[k + 1] ?? a + retrainEvery;
    const test: number[] = [];
    let crossing = 0;
    for (let i = 0; i < dataset.rows; i++) {
      const t = dataset.dateIndex[i] as number;
      if (t > a && t <= next) test.push(i);
      if (t <= a && (dataset.labelEndIndex[i] as number) > a) crossing++;
    }
    if (test.length > 0) {
      const prediction = predictRidge(body, gatherRows(dataset.x, dataset.cols, test), test.length);
      const score = scorePredictions(
        prediction,
        test.map((i) => dataset.y[i] as number),
        test.map((i) => dataset.dateIndex[i] as number),
      );
      walkForward.push({
        fold: walkForward.length + 1,
        kind: 'walk-forward',
        testFrom: dates[dataset.dateIndex[test[0] as number] as number] as string,
        testTo: dates[dataset.dateIndex[test[test.length - 1] as number] as number] as string,
        trainSamples: train.length,
        testSamples: test.length,
        purged: crossing,
        embargoed: 0,
        ic: score.ic,
        hitRate: score.hitRate,
      });
    }
    options.onProgress?.(k + 1, schedule.length, asOf);
  });

  return {
    schemaVersion: MODEL_ARTIFACT_SCHEMA_VERSION,
    kind: 'walk-forward-bundle',
    name,
    createdBy: options.createdBy ?? 'trainWalkForward',
    snapshots,
    walkForward,
  };
}
