/**
 * Backtest performance metrics: returns and risk, closed-trade statistics, activity, execution
 * quality and benchmark comparison of one run, from its daily equity curve, its closed round trips
 * and its fills.
 *
 * Shapes: every series is indexed by session, oldest first; inputs are never mutated. Money arrives
 * as decimal strings (USD) and is summed with `Dec` (../money.ts, decimal.js with 34 significant
 * digits), so P&L sums, commissions and notionals are exact in decimal; a USD result is rounded once
 * to the nearest double at the end. Statistics of returns (means, deviations, covariances) use plain
 * floats: each daily return is computed in decimal and rounded once to a double.
 *
 * Conventions (N = days.length, E_0 = initialEquity, E_i = days[i − 1].equity for i = 1..N):
 * - daily return r_i = E_i / E_{i−1} − 1, i = 1..N (fraction);
 * - annualization by periodsPerYear (default 252 US equity sessions) and the √T rule for i.i.d.
 *   returns (√252 for a daily standard deviation);
 * - drawdown D_t = E_t / max_{0≤s≤t} E_s − 1 (fraction ≤ 0), with E_0 as the first peak.
 * - `null` marks an undefined metric (no sessions, no trades, no losses, zero variance, no
 *   benchmark, …); each metric's doc says when.
 *
 * Errors: bad input throws a `RangeError` (an `Error`) naming the field, its index and the value,
 * e.g. `days[3].equity must be a positive decimal string, got "abc"`. Decimal strings are plain or
 * scientific notation (`"101000.25"`, `"-3.5"`, `"1e-7"`); numbers, `"NaN"`, `"Infinity"` and hex
 * are refused. Not enough data is NOT an error: it gives `null`.
 *
 * Pure: no I/O, no clock.
 */
import { Dec } from '../money';

/** Default periods per year: US equity trading sessions, used to annualize daily statistics. */
export const DEFAULT_PERIODS_PER_YEAR = 252;

// ---------------------------------------------------------------------------------------------------
// Input and output shapes

/** One session of the backtest, at its close. Money as decimal strings (USD). */
export interface MetricsDay {
  /** Session date, YYYY-MM-DD (a real calendar date); strictly increasing along `days`. */
  date: string;
  /** Account equity at the end of the session (USD), decimal string > 0. */
  equity: string;
  /** Cash at the end of the session (USD), decimal string (any sign; not used by any metric yet, validated). */
  cash: string;
  /** Market value of the long positions at the close (USD), decimal string ≥ 0. */
  grossExposure: string;
  /** Benchmark (SPY) close of that session (USD/share), finite number > 0, or null when unknown. */
  benchmarkClose: number | null;
}

/** One closed round trip. */
export interface MetricsTrade {
  symbol: string;
  /** Session date (YYYY-MM-DD) the position was opened. */
  entryDate: string;
  /** Session date (YYYY-MM-DD) it was closed; not before `entryDate`. */
  exitDate: string;
  /** Shares, decimal string > 0. */
  qty: string;
  /** Realized P&L (USD) net of commissions, decimal string (any sign). */
  pnl: string;
}

/** One fill (execution) of an order. */
export interface MetricsFill {
  /** Session date, YYYY-MM-DD. */
  date: string;
  symbol: string;
  side: 'buy' | 'sell';
  /** Shares filled, decimal string > 0. */
  qty: string;
  /** Fill price (USD/share), decimal string > 0. */
  price: string;
  /**
   * Price the order was decided on (USD/share), decimal string > 0, e.g. the signal close; null when
   * no decision price is known (e.g. a market exit): the fill counts for turnover and commissions,
   * not for slippage.
   */
  referencePrice: string | null;
  /** Commission of this fill (USD), decimal string ≥ 0. */
  commission: string;
}

/** Everything {@link computePerformanceMetrics} needs about one backtest run. */
export interface MetricsInput {
  /** Account equity before the first session (USD), decimal string > 0: E_0. */
  initialEquity: string;
  /**
   * Optional date (YYYY-MM-DD) of `initialEquity`, e.g. the session before the first day; earlier
   * than days[0].date. Only used as `maxDrawdownPeakDate` when the deepest drawdown's peak is E_0
   * (that date is null without it).
   */
  startDate?: string;
  /** Benchmark (SPY) close of the session before the first day, finite number > 0, or null. */
  benchmarkStart: number | null;
  /** The sessions, oldest first (may be empty: the return metrics are then null). */
  days: readonly MetricsDay[];
  /** Closed round trips. */
  trades: readonly MetricsTrade[];
  /** All fills, entries and exits. */
  fills: readonly MetricsFill[];
  /** Orders sent to the broker (entries and exits), integer ≥ 0. */
  ordersSubmitted: number;
  /** Of those, orders with any fill, integer in [0, ordersSubmitted]. */
  ordersFilled: number;
  /** Annual risk-free rate, a fraction (0.05 = 5 %/year), finite and > −1; default 0. */
  riskFreeRate?: number;
  /** Periods per year for annualization, finite number > 0; default 252 (sessions). */
  periodsPerYear?: number;
}

/**
 * The metrics of one run. Fractions are plain ratios (0.1 = 10 %); USD values are numbers (computed
 * exactly in decimal, rounded once to the nearest double); dates are YYYY-MM-DD. `null` = undefined
 * for this input (see each field). {@link METRIC_DOCS} has a label, unit and formula for every key.
 */
export interface PerformanceMetrics {
  // Returns and risk
  /** E_N / E_0 − 1 (fraction); null without sessions. */
  totalReturn: number | null;
  /** Compound annual growth rate (E_N/E_0)^(ppy/N) − 1 (fraction per year); null without sessions (or if not finite). */
  cagr: number | null;
  /** Sample stdev (n − 1) of the daily returns × √ppy (fraction per √year); null with fewer than 2 sessions. */
  annualizedVolatility: number | null;
  /** mean(r − rf_d) / stdev(r) × √ppy (Sharpe 1966/1994); null with fewer than 2 sessions or zero variance. */
  sharpe: number | null;
  /** mean(r − rf_d) / DD × √ppy, DD the downside deviation (Sortino & Price 1994); null without sessions or when DD = 0. */
  sortino: number | null;
  /** Deepest drawdown min_t D_t (fraction ≤ 0; 0 if never below a peak); null without sessions. */
  maxDrawdown: number | null;
  /** Date of the peak of the deepest drawdown (the last session at that peak before the trough); `startDate` (or null) when the peak is E_0; null without a drawdown. */
  maxDrawdownPeakDate: string | null;
  /** Date of the trough of the deepest drawdown (the first, if several are equally deep); null without a drawdown. */
  maxDrawdownTroughDate: string | null;
  /** First session after the trough with equity ≥ the peak; null if not recovered or without a drawdown. */
  maxDrawdownRecoveryDate: string | null;
  /** CAGR / |maxDrawdown| (Young 1991); null when maxDrawdown is 0 or null. */
  calmar: number | null;
  /** sqrt(mean(D_t²)) × 100 over the N sessions, in PERCENT (Martin & McCann 1989); null without sessions. */
  ulcerIndex: number | null;
  /** Fraction of the N sessions with equity strictly below the running peak; null without sessions. */
  timeUnderWater: number | null;
  /** Longest run of consecutive sessions below the running peak (sessions); null without sessions. */
  longestUnderwaterSessions: number | null;
  // Trades
  /** Number of closed round trips (zero-P&L trades included). */
  trades: number;
  /** Winning trades (pnl > 0) / all trades (fraction); null without trades. */
  winRate: number | null;
  /** grossProfit / |grossLoss|; null without losing trades. */
  profitFactor: number | null;
  /** mean winning pnl / |mean losing pnl|; null without a winning or without a losing trade. */
  payoffRatio: number | null;
  /** Mean pnl per trade (USD per trade, a number), zero-P&L trades included; null without trades. */
  expectancy: number | null;
  /** Σ pnl of the winning trades (USD, ≥ 0; 0 without wins). */
  grossProfit: number;
  /** Σ pnl of the losing trades (USD, ≤ 0; 0 without losses). */
  grossLoss: number;
  // Activity
  /** Annualized one-way turnover: (Σ |fill notional| / 2) / mean equity × ppy / N (fraction of equity per year); null without sessions. */
  turnover: number | null;
  /** mean over sessions of grossExposure / equity (fraction); null without sessions. */
  averageExposure: number | null;
  // Execution
  /** Notional-weighted mean side-signed slippage versus the reference price (bps, positive = cost); null without fills. */
  slippageBps: number | null;
  /** ordersFilled / ordersSubmitted (fraction); null when no order was submitted. */
  fillRate: number | null;
  /** Σ commissions of the fills (USD, ≥ 0). */
  commissions: number;
  // Benchmark
  /** Last non-null benchmark close / benchmarkStart − 1 (fraction); null without benchmarkStart or any close. */
  benchmarkReturn: number | null;
  /** cov(r, r_b) / var(r_b) of the paired daily returns; null with fewer than 2 pairs or zero benchmark variance. */
  beta: number | null;
  /** Pearson correlation of the paired daily returns, in [−1, 1]; null with fewer than 2 pairs or a zero variance. */
  correlation: number | null;
}

/** Group of a metric in reports (the order of {@link METRIC_DOCS}). */
export type MetricGroup = 'Returns and risk' | 'Trades' | 'Activity' | 'Execution' | 'Benchmark';

/** Documentation of one {@link PerformanceMetrics} key, for the HTML report and the console print. */
export interface MetricDoc {
  /** The key in {@link PerformanceMetrics}. */
  key: keyof PerformanceMetrics;
  group: MetricGroup;
  /** Short human label, e.g. "Sharpe ratio". */
  label: string;
  /** Unit, e.g. "fraction", "USD", "bps", "sessions", "date". */
  unit: string;
  /** Formula in plain text (notation of the module comment). */
  formula: string;
  /** Where the definition comes from, when it has a published source. */
  source?: string;
}

/** One calendar month of {@link monthlyReturns}. */
export interface MonthlyReturn {
  /** Calendar year, e.g. 2024. */
  year: number;
  /** Calendar month, 1-12. */
  month: number;
  /** Month return (fraction): last equity of the month / last equity of the previous month (or initialEquity) − 1. */
  ret: number;
}

/** One point of {@link drawdownSeries}. */
export interface DrawdownPoint {
  /** Session date, YYYY-MM-DD. */
  date: string;
  /** D_t = E_t / running peak − 1 (fraction ≤ 0), E_0 the first peak. */
  drawdown: number;
}

// ---------------------------------------------------------------------------------------------------
// Metric documentation

const SHARPE_SRC =
  'W. F. Sharpe 1966, "Mutual Fund Performance", J. Business 39(1); W. F. Sharpe 1994, "The Sharpe Ratio", J. Portfolio Management 21(1)';
const SORTINO_SRC =
  'F. A. Sortino & L. N. Price 1994, "Performance Measurement in a Downside Risk Framework", J. Investing 3(3)';
const ULCER_SRC =
  'P. G. Martin 1987; P. G. Martin & B. McCann 1989, "The Investor\'s Guide to Fidelity Funds"';
const CALMAR_SRC = 'T. W. Young 1991, "Calmar Ratio: A Smoother Tool", Futures 20(1)';

/**
 * Label, unit and formula of every {@link PerformanceMetrics} key, in report order (grouped).
 * Notation: E_t equity (USD) at the end of session t, E_0 = initialEquity, N sessions,
 * r_t = E_t/E_{t−1} − 1, ppy = periodsPerYear (default 252), rf_d = (1 + rf)^(1/ppy) − 1,
 * D_t = E_t / max_{s≤t} E_s − 1, r_b the benchmark daily return.
 */
export const METRIC_DOCS: readonly MetricDoc[] = [
  { key: 'totalReturn', group: 'Returns and risk', label: 'Total return', unit: 'fraction', formula: 'E_N / E_0 − 1' },
  { key: 'cagr', group: 'Returns and risk', label: 'CAGR', unit: 'fraction per year', formula: '(E_N / E_0)^(ppy / N) − 1' },
  {
    key: 'annualizedVolatility',
    group: 'Returns and risk',
    label: 'Annualized volatility',
    unit: 'fraction per √year',
    formula: 'sample stdev (n − 1) of r_t × √ppy',
  },
  {
    key: 'sharpe',
    group: 'Returns and risk',
    label: 'Sharpe ratio',
    unit: 'ratio per √year',
    formula: 'mean(r_t − rf_d) / stdev(r_t) × √ppy',
    source: SHARPE_SRC,
  },
  {
    key: 'sortino',
    group: 'Returns and risk',
    label: 'Sortino ratio',
    unit: 'ratio per √year',
    formula: 'mean(r_t − rf_d) / DD × √ppy, DD = sqrt(Σ_{t=1..N} min(0, r_t − rf_d)² / N)',
    source: SORTINO_SRC,
  },
  { key: 'maxDrawdown', group: 'Returns and risk', label: 'Max drawdown', unit: 'fraction (≤ 0)', formula: 'min_t D_t' },
  {
    key: 'maxDrawdownPeakDate',
    group: 'Returns and risk',
    label: 'Max drawdown peak',
    unit: 'date',
    formula: 'last session at the running peak before the trough (startDate if the peak is E_0)',
  },
  {
    key: 'maxDrawdownTroughDate',
    group: 'Returns and risk',
    label: 'Max drawdown trough',
    unit: 'date',
    formula: 'first session t with D_t = min D',
  },
  {
    key: 'maxDrawdownRecoveryDate',
    group: 'Returns and risk',
    label: 'Max drawdown recovery',
    unit: 'date',
    formula: 'first session after the trough with E_t ≥ peak (none: not recovered)',
  },
  {
    key: 'calmar',
    group: 'Returns and risk',
    label: 'Calmar ratio',
    unit: 'ratio',
    formula: 'CAGR / |max drawdown|',
    source: CALMAR_SRC,
  },
  {
    key: 'ulcerIndex',
    group: 'Returns and risk',
    label: 'Ulcer index',
    unit: 'percent',
    formula: '100 × sqrt(Σ_{t=1..N} D_t² / N)',
    source: ULCER_SRC,
  },
  {
    key: 'timeUnderWater',
    group: 'Returns and risk',
    label: 'Time under water',
    unit: 'fraction of sessions',
    formula: '#{t : E_t < max_{s≤t} E_s} / N',
  },
  {
    key: 'longestUnderwaterSessions',
    group: 'Returns and risk',
    label: 'Longest under water',
    unit: 'sessions',
    formula: 'longest run of consecutive sessions with E_t < max_{s≤t} E_s',
  },
  { key: 'trades', group: 'Trades', label: 'Trades', unit: 'count', formula: 'closed round trips (zero-P&L included)' },
  { key: 'winRate', group: 'Trades', label: 'Win rate', unit: 'fraction', formula: '#{pnl > 0} / #trades' },
  {
    key: 'profitFactor',
    group: 'Trades',
    label: 'Profit factor',
    unit: 'ratio',
    formula: 'gross profit / |gross loss|',
  },
  {
    key: 'payoffRatio',
    group: 'Trades',
    label: 'Payoff ratio',
    unit: 'ratio',
    formula: 'mean(pnl | pnl > 0) / |mean(pnl | pnl < 0)|',
  },
  { key: 'expectancy', group: 'Trades', label: 'Expectancy', unit: 'USD per trade', formula: 'Σ pnl / #trades' },
  { key: 'grossProfit', group: 'Trades', label: 'Gross profit', unit: 'USD', formula: 'Σ pnl over pnl > 0' },
  { key: 'grossLoss', group: 'Trades', label: 'Gross loss', unit: 'USD (≤ 0)', formula: 'Σ pnl over pnl < 0' },
  {
    key: 'turnover',
    group: 'Activity',
    label: 'Turnover (annualized, one-way)',
    unit: 'fraction of equity per year',
    formula: '(Σ qty × price / 2) / mean(E_1..E_N) × ppy / N',
  },
  {
    key: 'averageExposure',
    group: 'Activity',
    label: 'Average exposure',
    unit: 'fraction of equity',
    formula: 'mean_t(grossExposure_t / E_t)',
  },
  {
    key: 'slippageBps',
    group: 'Execution',
    label: 'Slippage',
    unit: 'bps (positive = cost)',
    formula: 'Σ n_f × s_f × (price − ref) / ref × 1e4 / Σ n_f over fills with a reference price, n_f = qty × price, s_f = +1 buy, −1 sell',
  },
  { key: 'fillRate', group: 'Execution', label: 'Fill rate', unit: 'fraction', formula: 'ordersFilled / ordersSubmitted' },
  { key: 'commissions', group: 'Execution', label: 'Commissions', unit: 'USD', formula: 'Σ commission over fills' },
  {
    key: 'benchmarkReturn',
    group: 'Benchmark',
    label: 'Benchmark return',
    unit: 'fraction',
    formula: 'last benchmark close / benchmarkStart − 1',
  },
  {
    key: 'beta',
    group: 'Benchmark',
    label: 'Beta',
    unit: 'ratio',
    formula: 'cov(r_t, r_b,t) / var(r_b,t) over sessions with both closes',
  },
  {
    key: 'correlation',
    group: 'Benchmark',
    label: 'Correlation',
    unit: 'ratio in [−1, 1]',
    formula: 'Pearson cov(r_t, r_b,t) / (sd(r_t) × sd(r_b,t)) over sessions with both closes',
  },
];

// ---------------------------------------------------------------------------------------------------
// Validation

type DecValue = InstanceType<typeof Dec>;

/** A value for an error message: strings quoted (JSON), everything else via String (NaN stays NaN). */
function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Plain or scientific decimal notation; refuses NaN, Infinity, hex/binary/octal and blanks. */
const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

type DecimalBound = 'any' | 'positive' | 'nonNegative';

/** Parses a decimal string, throwing `<field> must be a <bound> decimal string, got <value>`. */
function parseDecimal(field: string, value: unknown, bound: DecimalBound): DecValue {
  const what = bound === 'positive' ? 'a positive decimal string' : bound === 'nonNegative' ? 'a non-negative decimal string' : 'a decimal string';
  if (typeof value !== 'string' || !DECIMAL_RE.test(value)) throw new RangeError(`${field} must be ${what}, got ${show(value)}`);
  const d = new Dec(value);
  if (!d.isFinite() || (bound === 'positive' && d.lte(0)) || (bound === 'nonNegative' && d.isNegative() && !d.isZero())) {
    throw new RangeError(`${field} must be ${what}, got ${show(value)}`);
  }
  return d;
}

/** Throws unless `value` is a YYYY-MM-DD string naming a real (proleptic Gregorian) calendar date. */
function assertDate(field: string, value: unknown): asserts value is string {
  const m = typeof value === 'string' ? DATE_RE.exec(value) : null;
  if (m) {
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    const t = new Date(Date.UTC(y, mo - 1, d));
    if (t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d) return;
  }
  throw new RangeError(`${field} must be a YYYY-MM-DD calendar date, got ${show(value)}`);
}

/** Throws unless `value` is a non-empty string. */
function assertNonEmptyString(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new RangeError(`${field} must be a non-empty string, got ${show(value)}`);
  }
}

/** Throws unless `value` is null or a finite number > 0 (a benchmark close). */
function assertCloseOrNull(field: string, value: unknown): asserts value is number | null {
  if (value === null) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${field} must be null or a finite number > 0, got ${show(value)}`);
  }
}

/** Validated sessions: equities as decimals, dates checked and strictly increasing. */
interface ParsedDays {
  e0: DecValue;
  dates: string[];
  equity: DecValue[];
}

/** Validates initialEquity and the date/equity of every day (the part the helpers need). */
function parseEquityCurve(initialEquity: unknown, days: readonly Pick<MetricsDay, 'date' | 'equity'>[]): ParsedDays {
  const e0 = parseDecimal('initialEquity', initialEquity, 'positive');
  if (!Array.isArray(days)) throw new RangeError(`days must be an array, got ${show(days)}`);
  const dates: string[] = [];
  const equity: DecValue[] = [];
  for (let i = 0; i < days.length; i++) {
    const day = days[i] as Pick<MetricsDay, 'date' | 'equity'> | undefined;
    if (typeof day !== 'object' || day === null) throw new RangeError(`days[${i}] must be an object, got ${show(day)}`);
    assertDate(`days[${i}].date`, day.date);
    const prev = dates[i - 1];
    if (prev !== undefined && !(day.date > prev)) {
      throw new RangeError(`days[${i}].date must be after days[${i - 1}].date (${show(prev)}), got ${show(day.date)}`);
    }
    dates.push(day.date);
    equity.push(parseDecimal(`days[${i}].equity`, day.equity, 'positive'));
  }
  return { e0, dates, equity };
}

// ---------------------------------------------------------------------------------------------------
// Float statistics helpers

/** Arithmetic mean of a non-empty array. */
function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** True when every value equals the first exactly (zero variance, immune to rounding of the mean). */
function allEqual(values: readonly number[]): boolean {
  return values.every((v) => v === values[0]);
}

/** Σ (x_i − mean x)(y_i − mean y) over equal-length non-empty arrays (two-pass). */
function coMoment(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
  return s;
}

/** Finite number or null. */
const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

// ---------------------------------------------------------------------------------------------------
// Helpers exported for reports

/**
 * Drawdown of every session from the running peak: D_t = E_t / max_{0≤s≤t} E_s − 1, a fraction
 * ≤ 0 (0 at a new or equal high), with E_0 = `initialEquity` as the first peak (so a loss on the
 * first session is already a drawdown). Computed in decimal, rounded once to a double.
 *
 * @param initialEquity equity before the first session (USD), decimal string > 0.
 * @param days sessions oldest first (only `date` and `equity` are read): dates YYYY-MM-DD strictly
 *   increasing, equity (USD) decimal string > 0.
 * @returns one `{ date, drawdown }` per day, in order.
 * @throws RangeError naming the field and value, e.g. `days[3].equity must be a positive decimal
 *   string, got "abc"`, `initialEquity must be a positive decimal string, got "0"`,
 *   `days[1].date must be after days[0].date ("2024-01-02"), got "2024-01-02"`.
 */
export function drawdownSeries(
  initialEquity: string,
  days: readonly Pick<MetricsDay, 'date' | 'equity'>[],
): DrawdownPoint[] {
  const { e0, dates, equity } = parseEquityCurve(initialEquity, days);
  let peak = e0;
  const out: DrawdownPoint[] = [];
  for (let i = 0; i < equity.length; i++) {
    const e = equity[i] as DecValue;
    if (e.gte(peak)) peak = e;
    out.push({ date: dates[i] as string, drawdown: e.div(peak).minus(1).toNumber() });
  }
  return out;
}

/**
 * Calendar-month returns of the equity curve: for each month with at least one session,
 * ret = (last equity of the month) / (last equity of the previous month with sessions, or
 * `initialEquity` for the first month) − 1, a fraction. Computed in decimal, rounded once to a
 * double. Months without sessions are skipped (not reported as 0).
 *
 * @param initialEquity equity before the first session (USD), decimal string > 0.
 * @param days sessions oldest first (only `date` and `equity` are read), as for {@link drawdownSeries}.
 * @returns `{ year, month (1-12), ret }[]` in chronological order; empty without days.
 * @throws RangeError naming the field and value, as {@link drawdownSeries}.
 */
export function monthlyReturns(
  initialEquity: string,
  days: readonly Pick<MetricsDay, 'date' | 'equity'>[],
): MonthlyReturn[] {
  const { e0, dates, equity } = parseEquityCurve(initialEquity, days);
  const out: MonthlyReturn[] = [];
  let base = e0;
  for (let i = 0; i < equity.length; i++) {
    const month = (dates[i] as string).slice(0, 7);
    const next = dates[i + 1];
    if (next !== undefined && next.slice(0, 7) === month) continue;
    const last = equity[i] as DecValue;
    out.push({ year: Number(month.slice(0, 4)), month: Number(month.slice(5, 7)), ret: last.div(base).minus(1).toNumber() });
    base = last;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The metrics

/**
 * All performance metrics of one backtest run (see {@link PerformanceMetrics} for each field,
 * {@link METRIC_DOCS} for labels/units/formulas, and the module comment for the notation).
 *
 * Definitions (N = days.length, E_0 = initialEquity, r_i = E_i/E_{i−1} − 1, ppy = periodsPerYear):
 * - totalReturn = E_N/E_0 − 1; CAGR = (E_N/E_0)^(ppy/N) − 1 (compound annual growth).
 * - annualizedVolatility = sample stdev (n − 1) of r × √ppy (√T rule for i.i.d. returns).
 * - rf_d = (1 + riskFreeRate)^(1/ppy) − 1, the per-period rate compounding to the annual rate.
 * - Sharpe = mean(r − rf_d) / stdev(r) × √ppy (ex-post Sharpe ratio; W. F. Sharpe 1966, "Mutual
 *   Fund Performance", J. Business 39(1); 1994, "The Sharpe Ratio", J. Portfolio Management 21(1)).
 *   Null when stdev is 0 (all returns exactly equal) or N < 2.
 * - Sortino = mean(r − rf_d) / DD × √ppy, DD = sqrt(Σ_{i=1..N} min(0, r_i − rf_d)² / N): the
 *   target is rf_d and the mean runs over ALL N returns, not only the negative ones (F. A. Sortino
 *   & L. N. Price 1994, "Performance Measurement in a Downside Risk Framework", J. Investing 3(3)).
 *   Null when DD = 0 (no return below the target).
 * - D_t = E_t / max_{0≤s≤t} E_s − 1; maxDrawdown = min D_t (ties: the earliest trough); the peak
 *   date is the last session at the running peak before the trough (`startDate`, or null, when that
 *   peak is E_0); the recovery date is the first later session with E_t ≥ that peak.
 * - Calmar = CAGR / |maxDrawdown| over the whole run (T. W. Young 1991, "Calmar Ratio: A Smoother
 *   Tool", Futures 20(1); Young used 36 months, here the run length). Null when maxDrawdown = 0.
 * - Ulcer index = 100 × sqrt(Σ_{t=1..N} D_t² / N), in PERCENT (P. G. Martin 1987; P. G. Martin &
 *   B. McCann 1989, "The Investor's Guide to Fidelity Funds"); E_0 is a peak but not a sample.
 * - timeUnderWater = #{t : E_t < running peak} / N; longestUnderwaterSessions = the longest run of
 *   such consecutive sessions (a session back AT the peak ends a run).
 * - Trades: a win has pnl > 0, a loss pnl < 0; a trade with pnl exactly 0 is neither but counts in
 *   `trades`, in the win-rate denominator and in the expectancy. grossProfit = Σ wins (≥ 0),
 *   grossLoss = Σ losses (≤ 0), profitFactor = grossProfit/|grossLoss|, payoffRatio =
 *   (grossProfit/#wins)/(|grossLoss|/#losses), expectancy = Σ pnl / #trades (USD per trade, a
 *   number). Sums are exact decimals.
 * - turnover = (Σ_fills qty × price / 2) / mean(E_1..E_N) × ppy / N: half the traded notional
 *   (one-way: a round trip counts once), per unit of average equity, annualized (fraction per year).
 * - averageExposure = mean_t(grossExposure_t / E_t) (fraction; 1 = fully invested, long only).
 * - slippageBps = Σ n_f s_f (price_f − ref_f)/ref_f × 1e4 / Σ n_f with n_f = qty × price (fill
 *   notional, USD) and s_f = +1 for a buy, −1 for a sell: positive = cost (bought above or sold
 *   below the reference price), negative = price improvement. Sums over the fills with a reference
 *   price only (null reference: no known decision price); null when there is none.
 * - fillRate = ordersFilled / ordersSubmitted; commissions = Σ fill commissions (USD).
 * - Benchmark: r_b,i = B_i/B_{i−1} − 1 with B_0 = benchmarkStart and B_i = days[i−1].benchmarkClose.
 *   A pair (r_i, r_b,i) is used only when both B_{i−1} and B_i are non-null, so a null close drops
 *   the pairs of its own session and of the next one (no return is bridged over a gap). beta =
 *   cov(r, r_b)/var(r_b), correlation = cov(r, r_b)/(sd(r) sd(r_b)) (Pearson, clamped to [−1, 1]),
 *   over the pairs with their own means; null with fewer than 2 pairs or a zero variance.
 *   benchmarkReturn = (last non-null close) / benchmarkStart − 1, null if either is missing.
 *
 * @param input see {@link MetricsInput}.
 * @returns the metrics; `null` marks a metric undefined for this input.
 * @throws RangeError naming the field, index and value on bad input, e.g.
 *   `days[3].equity must be a positive decimal string, got "abc"`,
 *   `days[0].benchmarkClose must be null or a finite number > 0, got 0`,
 *   `trades[1].pnl must be a decimal string, got "x"`,
 *   `fills[0].side must be "buy" or "sell", got "short"`,
 *   `ordersFilled must be an integer in [0, ordersSubmitted = 4], got 5`,
 *   `periodsPerYear must be a finite number > 0, got 0`,
 *   `riskFreeRate must be a finite number > -1, got -1`.
 */
export function computePerformanceMetrics(input: MetricsInput): PerformanceMetrics {
  // ---- validation -------------------------------------------------------------------------------
  const ppy = input.periodsPerYear ?? DEFAULT_PERIODS_PER_YEAR;
  if (typeof ppy !== 'number' || !Number.isFinite(ppy) || ppy <= 0) {
    throw new RangeError(`periodsPerYear must be a finite number > 0, got ${show(ppy)}`);
  }
  const rf = input.riskFreeRate ?? 0;
  if (typeof rf !== 'number' || !Number.isFinite(rf) || rf <= -1) {
    throw new RangeError(`riskFreeRate must be a finite number > -1, got ${show(rf)}`);
  }
  const { e0, dates, equity } = parseEquityCurve(input.initialEquity, input.days);
  if (input.startDate !== undefined) {
    assertDate('startDate', input.startDate);
    const first = dates[0];
    if (first !== undefined && !(input.startDate < first)) {
      throw new RangeError(`startDate must be before days[0].date (${show(first)}), got ${show(input.startDate)}`);
    }
  }
  assertCloseOrNull('benchmarkStart', input.benchmarkStart);
  const exposure: DecValue[] = [];
  const closes: (number | null)[] = [];
  input.days.forEach((day, i) => {
    parseDecimal(`days[${i}].cash`, day.cash, 'any');
    exposure.push(parseDecimal(`days[${i}].grossExposure`, day.grossExposure, 'nonNegative'));
    assertCloseOrNull(`days[${i}].benchmarkClose`, day.benchmarkClose);
    closes.push(day.benchmarkClose);
  });
  if (!Array.isArray(input.trades)) throw new RangeError(`trades must be an array, got ${show(input.trades)}`);
  const pnls = input.trades.map((t, i) => {
    if (typeof t !== 'object' || t === null) throw new RangeError(`trades[${i}] must be an object, got ${show(t)}`);
    assertNonEmptyString(`trades[${i}].symbol`, t.symbol);
    assertDate(`trades[${i}].entryDate`, t.entryDate);
    assertDate(`trades[${i}].exitDate`, t.exitDate);
    if (t.exitDate < t.entryDate) {
      throw new RangeError(`trades[${i}].exitDate must not be before entryDate (${show(t.entryDate)}), got ${show(t.exitDate)}`);
    }
    parseDecimal(`trades[${i}].qty`, t.qty, 'positive');
    return parseDecimal(`trades[${i}].pnl`, t.pnl, 'any');
  });
  if (!Array.isArray(input.fills)) throw new RangeError(`fills must be an array, got ${show(input.fills)}`);
  const fills = input.fills.map((f, i) => {
    if (typeof f !== 'object' || f === null) throw new RangeError(`fills[${i}] must be an object, got ${show(f)}`);
    assertDate(`fills[${i}].date`, f.date);
    assertNonEmptyString(`fills[${i}].symbol`, f.symbol);
    if (f.side !== 'buy' && f.side !== 'sell') {
      throw new RangeError(`fills[${i}].side must be "buy" or "sell", got ${show(f.side)}`);
    }
    return {
      sign: f.side === 'buy' ? 1 : -1,
      qty: parseDecimal(`fills[${i}].qty`, f.qty, 'positive'),
      price: parseDecimal(`fills[${i}].price`, f.price, 'positive'),
      ref: f.referencePrice === null ? null : parseDecimal(`fills[${i}].referencePrice`, f.referencePrice, 'positive'),
      commission: parseDecimal(`fills[${i}].commission`, f.commission, 'nonNegative'),
    };
  });
  const submitted = input.ordersSubmitted;
  if (typeof submitted !== 'number' || !Number.isInteger(submitted) || submitted < 0) {
    throw new RangeError(`ordersSubmitted must be an integer >= 0, got ${show(submitted)}`);
  }
  const filled = input.ordersFilled;
  if (typeof filled !== 'number' || !Number.isInteger(filled) || filled < 0 || filled > submitted) {
    throw new RangeError(`ordersFilled must be an integer in [0, ordersSubmitted = ${submitted}], got ${show(filled)}`);
  }

  const n = equity.length;
  const sqrtPpy = Math.sqrt(ppy);

  // ---- returns and risk -------------------------------------------------------------------------
  const returns: number[] = [];
  for (let i = 0; i < n; i++) {
    const prev = i === 0 ? e0 : (equity[i - 1] as DecValue);
    returns.push((equity[i] as DecValue).div(prev).minus(1).toNumber());
  }
  const last = equity[n - 1];
  const growth = last === undefined ? null : last.div(e0);
  const totalReturn = growth === null ? null : growth.minus(1).toNumber();
  const cagr = growth === null ? null : finiteOrNull(Math.pow(growth.toNumber(), ppy / n) - 1);

  let annualizedVolatility: number | null = null;
  let sharpe: number | null = null;
  const rfDaily = Math.pow(1 + rf, 1 / ppy) - 1;
  const meanExcess = n > 0 ? mean(returns) - rfDaily : 0;
  if (n >= 2) {
    const sd = allEqual(returns) ? 0 : Math.sqrt(coMoment(returns, returns) / (n - 1));
    annualizedVolatility = sd * sqrtPpy;
    if (sd > 0) sharpe = (meanExcess / sd) * sqrtPpy;
  }
  let sortino: number | null = null;
  if (n >= 1) {
    let downSq = 0;
    for (const r of returns) {
      const d = Math.min(0, r - rfDaily);
      downSq += d * d;
    }
    const dd = Math.sqrt(downSq / n);
    if (dd > 0) sortino = (meanExcess / dd) * sqrtPpy;
  }

  // Drawdowns: peakIdx −1 = E_0.
  let peak = e0;
  let peakIdx = -1;
  let maxDd = 0;
  let troughIdx = -1;
  let troughPeakIdx = -1;
  let troughPeak = e0;
  let sumSqDd = 0;
  let underwater = 0;
  let run = 0;
  let longestRun = 0;
  for (let t = 0; t < n; t++) {
    const e = equity[t] as DecValue;
    if (e.gte(peak)) {
      peak = e;
      peakIdx = t;
      run = 0;
      continue; // D_t = 0
    }
    const d = e.div(peak).minus(1).toNumber();
    sumSqDd += d * d;
    underwater++;
    run++;
    if (run > longestRun) longestRun = run;
    if (d < maxDd) {
      maxDd = d;
      troughIdx = t;
      troughPeakIdx = peakIdx;
      troughPeak = peak;
    }
  }
  let peakDate: string | null = null;
  let troughDate: string | null = null;
  let recoveryDate: string | null = null;
  if (troughIdx >= 0) {
    troughDate = dates[troughIdx] as string;
    peakDate = troughPeakIdx >= 0 ? (dates[troughPeakIdx] as string) : (input.startDate ?? null);
    for (let t = troughIdx + 1; t < n; t++) {
      if ((equity[t] as DecValue).gte(troughPeak)) {
        recoveryDate = dates[t] as string;
        break;
      }
    }
  }
  const maxDrawdown = n > 0 ? maxDd : null;
  const calmar = cagr !== null && maxDd < 0 ? cagr / -maxDd : null;
  const ulcerIndex = n > 0 ? 100 * Math.sqrt(sumSqDd / n) : null;
  const timeUnderWater = n > 0 ? underwater / n : null;
  const longestUnderwaterSessions = n > 0 ? longestRun : null;

  // ---- trades -----------------------------------------------------------------------------------
  let grossProfit = new Dec(0);
  let grossLoss = new Dec(0);
  let wins = 0;
  let losses = 0;
  for (const p of pnls) {
    if (p.gt(0)) {
      grossProfit = grossProfit.plus(p);
      wins++;
    } else if (p.lt(0)) {
      grossLoss = grossLoss.plus(p);
      losses++;
    }
  }
  const tradeCount = pnls.length;
  const winRate = tradeCount > 0 ? wins / tradeCount : null;
  const profitFactor = losses > 0 ? grossProfit.div(grossLoss.abs()).toNumber() : null;
  const payoffRatio =
    wins > 0 && losses > 0 ? grossProfit.div(wins).div(grossLoss.abs().div(losses)).toNumber() : null;
  const expectancy = tradeCount > 0 ? grossProfit.plus(grossLoss).div(tradeCount).toNumber() : null;

  // ---- activity ---------------------------------------------------------------------------------
  let notional = new Dec(0);
  let weightedSlip = new Dec(0);
  let slipNotional = new Dec(0);
  let commissions = new Dec(0);
  for (const f of fills) {
    const nf = f.qty.times(f.price);
    notional = notional.plus(nf);
    if (f.ref !== null) {
      slipNotional = slipNotional.plus(nf);
      weightedSlip = weightedSlip.plus(nf.times(f.sign).times(f.price.minus(f.ref)).div(f.ref));
    }
    commissions = commissions.plus(f.commission);
  }
  let turnover: number | null = null;
  let averageExposure: number | null = null;
  if (n > 0) {
    let sumEquity = new Dec(0);
    let sumExposure = new Dec(0);
    for (let t = 0; t < n; t++) {
      const e = equity[t] as DecValue;
      sumEquity = sumEquity.plus(e);
      sumExposure = sumExposure.plus((exposure[t] as DecValue).div(e));
    }
    const meanEquity = sumEquity.div(n);
    turnover = notional.div(2).div(meanEquity).times(ppy).div(n).toNumber();
    averageExposure = sumExposure.div(n).toNumber();
  }

  // ---- execution --------------------------------------------------------------------------------
  const slippageBps = slipNotional.gt(0) ? weightedSlip.times(1e4).div(slipNotional).toNumber() : null;
  const fillRate = submitted > 0 ? filled / submitted : null;

  // ---- benchmark --------------------------------------------------------------------------------
  let lastClose: number | null = null;
  for (const c of closes) if (c !== null) lastClose = c;
  const benchmarkReturn =
    input.benchmarkStart !== null && lastClose !== null ? lastClose / input.benchmarkStart - 1 : null;
  const pr: number[] = [];
  const pb: number[] = [];
  let prevClose = input.benchmarkStart;
  for (let i = 0; i < n; i++) {
    const c = closes[i] as number | null;
    if (prevClose !== null && c !== null) {
      pr.push(returns[i] as number);
      pb.push(c / prevClose - 1);
    }
    prevClose = c;
  }
  let beta: number | null = null;
  let correlation: number | null = null;
  if (pb.length >= 2 && !allEqual(pb)) {
    const sxy = coMoment(pr, pb);
    const syy = coMoment(pb, pb);
    beta = sxy / syy;
    if (!allEqual(pr)) {
      const sxx = coMoment(pr, pr);
      correlation = Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
    }
  }

  return {
    totalReturn,
    cagr,
    annualizedVolatility,
    sharpe,
    sortino,
    maxDrawdown,
    maxDrawdownPeakDate: peakDate,
    maxDrawdownTroughDate: troughDate,
    maxDrawdownRecoveryDate: recoveryDate,
    calmar,
    ulcerIndex,
    timeUnderWater,
    longestUnderwaterSessions,
    trades: tradeCount,
    winRate,
    profitFactor,
    payoffRatio,
    expectancy,
    grossProfit: grossProfit.toNumber(),
    grossLoss: grossLoss.toNumber(),
    turnover,
    averageExposure,
    slippageBps,
    fillRate,
    commissions: commissions.toNumber(),
    benchmarkReturn,
    beta,
    correlation,
  };
}
