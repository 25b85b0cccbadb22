/**
 * Portfolio risk metrics over equity and price series: simple daily returns, rolling Sharpe ratio,
 * Ulcer Index, drawdown from the high-water mark, a trend/volatility regime filter, median and
 * average daily volume.
 *
 * Shapes: series are plain arrays indexed by session, oldest first; inputs are never mutated.
 * Floats throughout: these are ratios and statistics, never money (money goes through `Dec`, see
 * money.ts).
 *
 * Errors: a bad parameter or value throws a `RangeError` naming the argument, the index and the
 * value, e.g. `equity[3] must be a finite number > 0, got -1` or
 * `lookback must be an integer >= 2, got 1` (the style of indicators.ts). Not enough data is NOT an
 * error: it gives `null` (or `{ ok: false }` for regimeFilter).
 *
 * Pure: no I/O, no clock.
 */
import { logReturns, rollingStdev, sma } from '../indicators';

/** Trading sessions per year used to annualize daily statistics (the US equity convention). */
export const PERIODS_PER_YEAR = 252;

/** Throws unless `value` is an integer >= `min`. */
function assertIntAtLeast(name: string, value: number, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/** Throws unless every value is a finite number, and also > 0 (`positive`) or >= 0 (`nonNegative`). */
function assertSeries(name: string, values: readonly number[], bound: 'any' | 'positive' | 'nonNegative'): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const ok =
      typeof v === 'number' && Number.isFinite(v) && (bound === 'any' || (bound === 'positive' ? v > 0 : v >= 0));
    if (!ok) {
      const what = bound === 'positive' ? ' > 0' : bound === 'nonNegative' ? ' >= 0' : '';
      throw new RangeError(`${name}[${i}] must be a finite number${what}, got ${String(v)}`);
    }
  }
}

/** Arithmetic mean of a non-empty array. */
function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * Simple (arithmetic) daily returns of an equity curve: `r[i-1] = equity[i] / equity[i-1] − 1`.
 *
 * - Shape/units: `equity` in USD (any currency: only ratios are used), oldest first; the result has
 *   `equity.length − 1` entries (empty for fewer than 2 points), each a fraction (0.01 = +1 %).
 * @throws RangeError `equity[i] must be a finite number > 0, got <value>` naming the first bad index.
 */
export function dailyReturns(equity: readonly number[]): number[] {
  assertSeries('equity', equity, 'positive');
  const out: number[] = [];
  for (let i = 1; i < equity.length; i++) out.push((equity[i] as number) / (equity[i - 1] as number) - 1);
  return out;
}

/** Options of {@link rollingSharpe}. */
export interface SharpeOptions {
  /** Periods per year for annualization (default 252 trading sessions); finite, > 0. */
  periodsPerYear?: number;
  /** Risk-free return per period, a fraction (default 0; e.g. 0.0001 per session); finite. */
  riskFreePerPeriod?: number;
}

/**
 * Annualized Sharpe ratio of the last `lookback` daily simple returns (ex-post Sharpe ratio,
 * W. F. Sharpe 1994, "The Sharpe Ratio", J. Portfolio Management 21(1); annualized by the √T rule
 * given there for i.i.d. returns):
 *
 *   S = mean(r − rf) / sampleStdev(r) × √periodsPerYear
 *
 * with r the last `lookback` returns of {@link dailyReturns}(equity), rf = `riskFreePerPeriod` (a
 * constant, so the stdev of r − rf equals that of r) and the sample stdev using the n − 1
 * denominator (via indicators.ts `rollingStdev`).
 *
 * - Data: needs `lookback + 1` equity points (the last ones are used); `null` when there are fewer.
 * - Zero dispersion: when the stdev is exactly 0, returns `null` if the mean excess return is 0 too
 *   (no information), else `+Infinity` / `−Infinity` by the sign of the mean (a riskless gain /
 *   loss). Only an exact 0 counts: returns equal up to float rounding give a huge finite ratio.
 * - Units: dimensionless, per √year.
 * @param equity account equity per session (USD), oldest first; every value finite and > 0.
 * @param lookback number of returns, integer >= 2 (a sample stdev needs two).
 * @throws RangeError naming the argument and value for a bad `lookback`, option, or equity value
 *   (any index of `equity`, not only the window).
 */
export function rollingSharpe(equity: readonly number[], lookback: number, opts: SharpeOptions = {}): number | null {
  assertIntAtLeast('lookback', lookback, 2);
  const periodsPerYear = opts.periodsPerYear ?? PERIODS_PER_YEAR;
  const rf = opts.riskFreePerPeriod ?? 0;
  if (typeof periodsPerYear !== 'number' || !Number.isFinite(periodsPerYear) || periodsPerYear <= 0) {
    throw new RangeError(`periodsPerYear must be a finite number > 0, got ${String(periodsPerYear)}`);
  }
  if (typeof rf !== 'number' || !Number.isFinite(rf)) {
    throw new RangeError(`riskFreePerPeriod must be a finite number, got ${String(rf)}`);
  }
  const returns = dailyReturns(equity);
  if (returns.length < lookback) return null;
  const window = returns.slice(returns.length - lookback);
  const excess = mean(window) - rf;
  const sd = rollingStdev(window, lookback)[lookback - 1] as number;
  if (sd === 0) return excess === 0 ? null : excess > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  return (excess / sd) * Math.sqrt(periodsPerYear);
}

/**
 * Ulcer Index (Peter G. Martin, 1987; published in P. Martin & B. McCann, "The Investor's Guide to
 * Fidelity Funds", 1989), in PERCENT, over the last `lookback` equity points:
 *
 *   D_i = 100 × (e_i / max(e_0..e_i) − 1)      (percent drawdown, ≤ 0; the max is taken INSIDE the window)
 *   UI  = sqrt( Σ D_i² / lookback )
 *
 * - Units: percent (UI 5 = a root-mean-square drawdown of 5 %); 0 for a window that never falls
 *   below its running peak. The window's first point is its own peak, so drawdowns that started
 *   before the window are not counted.
 * - Data: `null` when `equity` has fewer than `lookback` points.
 * @param equity account equity per session (USD), oldest first; every value finite and > 0.
 * @param lookback window length in sessions, integer >= 1.
 * @throws RangeError naming the argument and value for a bad `lookback` or equity value.
 */
export function ulcerIndex(equity: readonly number[], lookback: number): number | null {
  assertIntAtLeast('lookback', lookback, 1);
  assertSeries('equity', equity, 'positive');
  if (equity.length < lookback) return null;
  let peak = Number.NEGATIVE_INFINITY;
  let sumSq = 0;
  for (let i = equity.length - lookback; i < equity.length; i++) {
    const e = equity[i] as number;
    if (e > peak) peak = e;
    const dd = 100 * (e / peak - 1);
    sumSq += dd * dd;
  }
  return Math.sqrt(sumSq / lookback);
}

/**
 * Drawdown of the current equity from its high-water mark, as a fraction ≤ 0:
 * `min(0, equity / highWaterMark − 1)`, e.g. −0.1 at 10 % below the peak.
 *
 * - An equity ABOVE the high-water mark (a new peak the caller has not recorded yet) gives 0, not
 *   a positive number: there is no drawdown at a peak.
 * @param equity current account equity (USD), finite (0 gives −1).
 * @param highWaterMark highest equity seen so far (USD), finite and > 0.
 * @throws RangeError `highWaterMark must be a finite number > 0, got <value>` or
 *   `equity must be a finite number, got <value>`.
 */
export function drawdownFromPeak(equity: number, highWaterMark: number): number {
  if (typeof highWaterMark !== 'number' || !Number.isFinite(highWaterMark) || highWaterMark <= 0) {
    throw new RangeError(`highWaterMark must be a finite number > 0, got ${String(highWaterMark)}`);
  }
  if (typeof equity !== 'number' || !Number.isFinite(equity)) {
    throw new RangeError(`equity must be a finite number, got ${String(equity)}`);
  }
  return Math.min(0, equity / highWaterMark - 1);
}

/** Options of {@link regimeFilter}; windows in sessions. */
export interface RegimeOptions {
  /** Trend SMA length (default 200), integer >= 1. */
  smaPeriod?: number;
  /** Realized-volatility window in log returns (default 21), integer >= 2. */
  volWindow?: number;
  /** How many rolling-vol values the median is taken over (default 252), integer >= 1. */
  medianWindow?: number;
}

/** Result of {@link regimeFilter}: the inputs of the decision and the decision, or why there is none. */
export type RegimeResult =
  | {
      ok: true;
      /** Last close (USD/share). */
      close: number;
      /** SMA of the last `smaPeriod` closes (USD/share). */
      sma: number;
      /** Annualized realized volatility of the last `volWindow` log returns (fraction per √year, 0.2 = 20 %). */
      vol: number;
      /** Median of the last `medianWindow` values of the rolling `vol` series (same units); includes `vol` itself. */
      volMedian: number;
      /** close < sma (strict). */
      belowSma: boolean;
      /** vol > volMedian (strict). */
      volAboveMedian: boolean;
      /** belowSma AND volAboveMedian. */
      riskOff: boolean;
    }
  | { ok: false; reason: string };

/**
 * Closes {@link regimeFilter} needs: `max(smaPeriod, volWindow + medianWindow)`.
 *
 * Derivation: n closes give n − 1 log returns (indices 1..n−1); a `volWindow` rolling stdev of them
 * is defined from index `volWindow` on, i.e. n − volWindow values; the median needs `medianWindow`
 * of them, so n ≥ volWindow + medianWindow. The SMA needs n ≥ smaPeriod. Defaults: max(200, 21 + 252)
 * = 273 closes.
 * @throws RangeError for a bad option (see {@link RegimeOptions}).
 */
export function regimeCloseCount(opts: RegimeOptions = {}): number {
  const { smaPeriod, volWindow, medianWindow } = regimeOptions(opts);
  return Math.max(smaPeriod, volWindow + medianWindow);
}

function regimeOptions(opts: RegimeOptions): Required<RegimeOptions> {
  const smaPeriod = opts.smaPeriod ?? 200;
  const volWindow = opts.volWindow ?? 21;
  const medianWindow = opts.medianWindow ?? 252;
  assertIntAtLeast('smaPeriod', smaPeriod, 1);
  assertIntAtLeast('volWindow', volWindow, 2);
  assertIntAtLeast('medianWindow', medianWindow, 1);
  return { smaPeriod, volWindow, medianWindow };
}

/**
 * Market regime filter: risk-off when the trend is down AND volatility is elevated (a 200-day
 * moving-average trend filter, cf. M. Faber 2007, "A Quantitative Approach to Tactical Asset
 * Allocation", combined with a realized-volatility-above-its-median condition).
 *
 * - close = last close; sma = mean of the last `smaPeriod` closes (indicators.ts `sma`).
 * - vol = sample stdev (n − 1) of the last `volWindow` daily LOG returns ln(c_t / c_{t−1})
 *   (indicators.ts `logReturns`, `rollingStdev`), × √252.
 * - volMedian = {@link median} of the last `medianWindow` values of that rolling, annualized vol
 *   series (the newest value, `vol`, is one of them).
 * - belowSma = close < sma; volAboveMedian = vol > volMedian; riskOff = belowSma AND volAboveMedian.
 *   Strict inequalities: a close exactly at its SMA, or a vol exactly at its median, is NOT risk-off
 *   (with medianWindow 1 the median is vol itself, so volAboveMedian is always false).
 * - Data: needs {@link regimeCloseCount}(opts) = max(smaPeriod, volWindow + medianWindow) closes
 *   (273 with the defaults); the last ones are used. With fewer: `{ ok: false, reason }`, the reason
 *   naming both counts, e.g. `regime filter needs 273 closes (max(smaPeriod 200, volWindow 21 +
 *   medianWindow 252)), got 100`.
 * @param closes daily closes (USD/share) of the market proxy (e.g. SPY), oldest first; finite, > 0.
 * @throws RangeError naming the option and value for a bad option, or `closes[i]` for a bad close.
 */
export function regimeFilter(closes: readonly number[], opts: RegimeOptions = {}): RegimeResult {
  const { smaPeriod, volWindow, medianWindow } = regimeOptions(opts);
  assertSeries('closes', closes, 'positive');
  const needed = Math.max(smaPeriod, volWindow + medianWindow);
  const n = closes.length;
  if (n < needed) {
    return {
      ok: false,
      reason: `regime filter needs ${needed} closes (max(smaPeriod ${smaPeriod}, volWindow ${volWindow} + medianWindow ${medianWindow})), got ${n}`,
    };
  }
  const close = closes[n - 1] as number;
  const average = sma(closes.slice(n - smaPeriod), smaPeriod)[smaPeriod - 1] as number;

  // The last volWindow + medianWindow closes give exactly medianWindow defined rolling-vol values.
  const tail = closes.slice(n - (volWindow + medianWindow));
  const rolling = rollingStdev(logReturns(tail), volWindow);
  const annualize = Math.sqrt(PERIODS_PER_YEAR);
  const vols: number[] = [];
  for (let t = volWindow; t < tail.length; t++) vols.push((rolling[t] as number) * annualize);
  const vol = vols[vols.length - 1] as number;
  const volMedian = median(vols) as number;

  const belowSma = close < average;
  const volAboveMedian = vol > volMedian;
  return { ok: true, close, sma: average, vol, volMedian, belowSma, volAboveMedian, riskOff: belowSma && volAboveMedian };
}

/**
 * Median: the middle value of the sorted values, or the mean of the two middle values for an even
 * count. `null` for an empty array. Does not mutate `values` (sorts a copy).
 * @throws RangeError `values[i] must be a finite number, got <value>`.
 */
export function median(values: readonly number[]): number | null {
  assertSeries('values', values, 'any');
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Average daily volume: the arithmetic mean of the last `window` daily volumes.
 *
 * - Units: shares per session (fractional results possible). `null` when there are fewer than
 *   `window` volumes.
 * @param volumes daily volumes (shares), oldest first; finite, >= 0.
 * @param window sessions, integer >= 1.
 * @throws RangeError naming the argument and value for a bad `window` or volume.
 */
export function averageDailyVolume(volumes: readonly number[], window: number): number | null {
  assertIntAtLeast('window', window, 1);
  assertSeries('volumes', volumes, 'nonNegative');
  if (volumes.length < window) return null;
  return mean(volumes.slice(volumes.length - window));
}
