/**
 * Technical-indicator kernels over numeric series.
 *
 * Shapes: every kernel takes `ArrayLike<number>` inputs (plain arrays or typed arrays), indexed by
 * bar, oldest first, and returns a new `Float64Array` of the SAME length as its input. A position
 * whose value is not defined yet (warm-up) holds `NaN`; each docstring states the first defined
 * index exactly. Inputs are never mutated.
 *
 * Errors: a bad period/lag, mismatched lengths or an invalid value throw a `RangeError` whose
 * message names the argument, the index and the value, e.g. `period must be an integer >= 1, got 0`
 * or `close[3] must be a finite number > 0, got -1`.
 *
 * The Wilder indicators (RSI, ATR) and the rest of the technical set live in the feature engine
 * (./feature-engine, docs/FEATURES.md); this module keeps the small helpers the momentum model and
 * the risk metrics use.
 *
 * Pure: no I/O, no clock.
 */

/** Reads `values[i]` (the caller has already checked `i` is in range). */
function at(values: ArrayLike<number>, i: number): number {
  return values[i] as number;
}

/** Throws unless `value` is an integer >= `min`. */
function assertIntAtLeast(name: string, value: number, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/** Copies a series, throwing on anything but a finite number (`positive`: also requires > 0). */
function finiteSeries(name: string, values: ArrayLike<number>, positive = false): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v) || (positive && !(v > 0))) {
      throw new RangeError(`${name}[${i}] must be a finite number${positive ? ' > 0' : ''}, got ${String(v)}`);
    }
    out[i] = v;
  }
  return out;
}

/** Copies a series that may contain NaN (a missing value); throws on ±Infinity and non-numbers. */
function finiteOrNaNSeries(name: string, values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || v === Infinity || v === -Infinity) {
      throw new RangeError(`${name}[${i}] must be a finite number or NaN, got ${String(v)}`);
    }
    out[i] = v;
  }
  return out;
}

/** See {@link sma}: rebuild the window sum when a removed value exceeds this multiple of it. */
const SMA_REBUILD_RATIO = 1e3;

function nanArray(n: number): Float64Array {
  return new Float64Array(n).fill(Number.NaN);
}

/**
 * Simple moving average: `out[t] = (values[t-period+1] + … + values[t]) / period`.
 *
 * - Shape/units: same length and units as `values`.
 * - Warm-up: `out[t]` is NaN for `t < period - 1`; the first value is at index `period - 1`.
 * - Missing data: a window that contains a NaN gives NaN (so SMAs of series with their own warm-up,
 *   e.g. `sma(rollingStdev(r, 20), 5)`, come out right); later NaN-free windows are defined again.
 * - Precision: running sum with Neumaier (improved Kahan–Babuška) compensation (Neumaier 1974,
 *   "Rundungsfehleranalyse einiger Verfahren zur Summation endlicher Summen"), resummed from scratch
 *   each time the window has fully turned over, and also whenever a value that left the window is
 *   more than 1e3 × the remaining sum (e.g. huge values followed by tiny ones, or a signed series
 *   whose window sum cancels to ~0). The error is then of the order of the naive per-window mean's
 *   own rounding error: agreement to ~1e-15 relative for prices. O(n) for positive series; the
 *   resums cost at most O(period) each, O(n·period) in the adversarial worst case.
 * @throws RangeError when `period` is not an integer >= 1, or a value is ±Infinity / not a number.
 */
export function sma(values: ArrayLike<number>, period: number): Float64Array {
  assertIntAtLeast('period', period, 1);
  const x = finiteOrNaNSeries('values', values);
  const n = x.length;
  const out = nanArray(n);

  let sum = 0;
  let comp = 0; // Neumaier compensation: the low-order bits `sum` lost
  let nansInWindow = 0;
  let removedMax = 0; // largest |value| subtracted since the last rebuild
  const add = (v: number): void => {
    const t = sum + v;
    comp += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
    sum = t;
  };

  for (let t = 0; t < n; t++) {
    const v = at(x, t);
    if (Number.isNaN(v)) nansInWindow++;
    else add(v);
    if (t >= period) {
      const old = at(x, t - period);
      if (Number.isNaN(old)) nansInWindow--;
      else {
        add(-old);
        removedMax = Math.max(removedMax, Math.abs(old));
      }
    }
    if (t < period - 1) continue;
    const start = t - period + 1;
    // Rebuild (a) each time the window has fully turned over, so no stale error survives, and
    // (b) when values that left dwarf what remains (|removed| > 1e3·|sum|): their rounding residue
    // (~eps²·|removed|) would otherwise be large relative to the current window.
    if ((start > 0 && start % period === 0) || removedMax > SMA_REBUILD_RATIO * Math.abs(sum + comp)) {
      sum = 0;
      comp = 0;
      removedMax = 0;
      for (let i = start; i <= t; i++) {
        const w = at(x, i);
        if (!Number.isNaN(w)) add(w);
      }
    }
    if (nansInWindow === 0) out[t] = (sum + comp) / period;
  }
  return out;
}

/**
 * Simple (arithmetic) return over `lag` bars: `out[t] = close_t / close_{t−lag} − 1`.
 *
 * - Shape/units: same length as `close`; a fraction (0.05 = +5 %). Warm-up: NaN for t < lag; the
 *   first value is at index `lag`.
 * @throws RangeError when `lag` is not an integer >= 1 or a close is not a finite number > 0.
 */
export function simpleReturn(close: ArrayLike<number>, lag: number): Float64Array {
  assertIntAtLeast('lag', lag, 1);
  const c = finiteSeries('close', close, true);
  const n = c.length;
  const out = nanArray(n);
  for (let t = lag; t < n; t++) out[t] = at(c, t) / at(c, t - lag) - 1;
  return out;
}

/**
 * One-bar continuously compounded (log) returns: `out[t] = ln(close_t / close_{t−1})`
 * (e.g. Campbell, Lo & MacKinlay 1997, "The Econometrics of Financial Markets", §1.4).
 *
 * - Shape/units: same length as `close`; natural-log units per bar (≈ fraction for small moves).
 *   Warm-up: out[0] is NaN; the first value is at index 1.
 * @throws RangeError when a close is not a finite number > 0.
 */
export function logReturns(close: ArrayLike<number>): Float64Array {
  const c = finiteSeries('close', close, true);
  const n = c.length;
  const out = nanArray(n);
  for (let t = 1; t < n; t++) out[t] = Math.log(at(c, t) / at(c, t - 1));
  return out;
}

/**
 * Rolling SAMPLE standard deviation (n − 1 denominator) over the trailing `period` values:
 * `out[t] = sqrt( Σ_{i=t−period+1..t} (x_i − mean)² / (period − 1) )`.
 *
 * - Shape/units: same length and units as `values`.
 * - Warm-up: NaN for t < period − 1; the first value is at index `period − 1`. A window containing a
 *   NaN gives NaN (e.g. `rollingStdev(logReturns(c), 20)` starts at index 20).
 * - Precision: each window uses the corrected two-pass algorithm (Chan, Golub & LeVeque 1983,
 *   "Algorithms for computing the sample variance"), O(n·period), no catastrophic cancellation.
 * @throws RangeError when `period` is not an integer >= 2 (a sample stdev needs two values) or a
 *   value is ±Infinity / not a number.
 */
export function rollingStdev(values: ArrayLike<number>, period: number): Float64Array {
  assertIntAtLeast('period', period, 2);
  const x = finiteOrNaNSeries('values', values);
  const n = x.length;
  const out = nanArray(n);
  let lastNaN = -1;
  for (let t = 0; t < n; t++) {
    if (Number.isNaN(at(x, t))) lastNaN = t;
    const start = t - period + 1;
    if (start < 0 || lastNaN >= start) continue;
    let sum = 0;
    for (let i = start; i <= t; i++) sum += at(x, i);
    const mean = sum / period;
    let sq = 0;
    let dev = 0;
    for (let i = start; i <= t; i++) {
      const d = at(x, i) - mean;
      sq += d * d;
      dev += d;
    }
    const variance = (sq - (dev * dev) / period) / (period - 1);
    out[t] = Math.sqrt(Math.max(variance, 0));
  }
  return out;
}
