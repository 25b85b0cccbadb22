/**
 * Feature groups for returns, risk, liquidity and risk-adjusted / versus-benchmark statistics: the
 * column catalogue (stable names, units, formulas, sources, warm-up) wired to the kernels in
 * ./kernels/stats.ts, which hold the numerics (compensated rolling sums, periodic exact recompute,
 * NaN handling, resumable state).
 *
 * Conventions shared by every column here:
 * - "daily log return" r_t = ln(close_t / close_{t−1}), "daily simple return" r_t = close_t / close_{t−1} − 1,
 *   both defined from row 1 on. A window of w returns ending at row t covers rows [t − w + 1, t], so
 *   its first defined row is w.
 * - Annualization: daily standard deviations × √252, daily means × 252 (US equity sessions per year).
 * - Missing data: NaN in close / volume / benchmark close is a missing bar; any window touching it
 *   is NaN; the first window clear of it is exact again.
 * - Warm-up (`warmup`): the first defined row when the input has no NaN.
 *
 * 28 columns in 4 groups: `returns` (12), `risk` (7), `liquidity` (4), `benchmark_63` (5).
 */
import {
  BENCH_WINDOW,
  DRAWDOWN_WINDOW,
  MOMENTS_WINDOW,
  RETURN_LAGS,
  VOL_WINDOWS,
  runBenchmark,
  runLiquidity,
  runReturns,
  runRisk,
  type BenchmarkState,
  type LiquidityState,
  type ReturnsState,
  type RiskState,
} from './kernels/stats';
import type { FeatureColumnDoc, FeatureGroup } from './types';

const CLM = 'J. Y. Campbell, A. W. Lo & A. C. MacKinlay (1997), The Econometrics of Financial Markets, §1.4';
const SORTINO =
  'F. A. Sortino & L. N. Price (1994), "Performance Measurement in a Downside Risk Framework", J. Investing 3(3), target return 0';
const JOANES_GILL =
  'D. N. Joanes & C. A. Gill (1998), "Comparing measures of sample skewness and kurtosis", The Statistician 47(1)';

const returnColumns: FeatureColumnDoc[] = [
  ...RETURN_LAGS.map(
    (n): FeatureColumnDoc => ({
      name: `ret_${n}`,
      unit: 'fraction',
      formula: `close_t / close_{t−${n}} − 1 (simple return over ${n} session${n === 1 ? '' : 's'})`,
      source: CLM,
      warmup: n,
    }),
  ),
  ...RETURN_LAGS.map(
    (n): FeatureColumnDoc => ({
      name: `logret_${n}`,
      unit: 'fraction (log)',
      formula: `ln(close_t / close_{t−${n}}) (continuously compounded return over ${n} session${n === 1 ? '' : 's'})`,
      source: CLM,
      warmup: n,
    }),
  ),
];

const volColumn = (w: number): FeatureColumnDoc => ({
  name: `vol_${w}`,
  unit: 'fraction per √year (annualized)',
  formula: `sqrt( Σ (r_i − r̄)² / (${w} − 1) ) × √252 over the last ${w} daily log returns (sample stdev, n − 1)`,
  source: 'J. C. Hull, Options, Futures, and Other Derivatives, "Estimating volatility from historical data"; = pandas r.rolling(' + w + ').std(ddof=1) × √252',
  warmup: w,
});

const riskColumns: FeatureColumnDoc[] = [
  volColumn(VOL_WINDOWS[0] as number),
  volColumn(VOL_WINDOWS[1] as number),
  volColumn(VOL_WINDOWS[2] as number),
  {
    name: `downside_dev_${MOMENTS_WINDOW}`,
    unit: 'fraction per √year (annualized)',
    formula: `sqrt( Σ min(r_i, 0)² / ${MOMENTS_WINDOW} ) × √252 over the last ${MOMENTS_WINDOW} daily log returns (target 0, divided by ALL ${MOMENTS_WINDOW} observations, not by the count of negative ones)`,
    source: SORTINO,
    warmup: MOMENTS_WINDOW,
  },
  {
    name: `skew_${MOMENTS_WINDOW}`,
    unit: 'dimensionless',
    formula: `adjusted Fisher–Pearson sample skewness G1 = √(n(n−1))/(n−2) × m3 / m2^{3/2}, m_k = Σ(r_i − r̄)^k / n, n = ${MOMENTS_WINDOW} daily log returns; NaN when m2 = 0`,
    source: `${JOANES_GILL} (G1); = Excel SKEW, pandas Series.skew / rolling(${MOMENTS_WINDOW}).skew()`,
    warmup: MOMENTS_WINDOW,
  },
  {
    name: `kurt_${MOMENTS_WINDOW}`,
    unit: 'dimensionless (excess, normal = 0)',
    formula: `unbiased excess kurtosis G2 = (n−1)/((n−2)(n−3)) × ((n+1) (m4/m2² − 3) + 6), m_k = Σ(r_i − r̄)^k / n, n = ${MOMENTS_WINDOW} daily log returns; NaN when m2 = 0`,
    source: `${JOANES_GILL} (G2); = Excel KURT, pandas Series.kurt / rolling(${MOMENTS_WINDOW}).kurt()`,
    warmup: MOMENTS_WINDOW,
  },
  {
    name: `max_dd_${DRAWDOWN_WINDOW}`,
    unit: 'fraction (≤ 0)',
    formula: `min over j in [t−${DRAWDOWN_WINDOW - 1}, t] of close_j / max(close_{t−${DRAWDOWN_WINDOW - 1}}..close_j) − 1: the worst peak-to-trough decline inside the last ${DRAWDOWN_WINDOW} closes (the current one included); the running peak starts at the window's first close, so a decline that began before the window is measured from that first close; 0 when the window never falls below its running peak`,
    source: 'M. Magdon-Ismail & A. F. Atiya (2004), "Maximum drawdown", Risk 17(10), restricted to a rolling window',
    warmup: DRAWDOWN_WINDOW - 1,
  },
];

const liquidityColumns: FeatureColumnDoc[] = [
  {
    name: 'adv_20',
    unit: 'shares',
    formula: 'average daily volume: Σ volume_i / 20 over the last 20 sessions (today included)',
    source: 'standard average daily volume (ADV), e.g. R. Kissell (2013), The Science of Algorithmic Trading and Portfolio Management, §2',
    warmup: 19,
  },
  {
    name: 'adv_60',
    unit: 'shares',
    formula: 'average daily volume: Σ volume_i / 60 over the last 60 sessions (today included)',
    source: 'standard average daily volume (ADV), e.g. R. Kissell (2013), The Science of Algorithmic Trading and Portfolio Management, §2',
    warmup: 59,
  },
  {
    name: 'turnover_20',
    unit: 'USD',
    formula:
      'average daily DOLLAR volume Σ close_i × volume_i / 20 over the last 20 sessions. "Turnover" here means dollar volume, not volume / shares outstanding: shares outstanding are not in the data',
    source: 'dollar trading volume as a liquidity measure, e.g. Brennan, Chordia & Subrahmanyam (1998), J. Financial Economics 49(3)',
    warmup: 19,
  },
  {
    name: 'volume_surge_20',
    unit: 'ratio',
    formula:
      'volume_t / (Σ volume_{t−20..t−1} / 20): today over the mean of the PREVIOUS 20 sessions (= adv_20 of yesterday); NaN when that mean is 0 or undefined',
    source: 'relative volume (abnormal volume ratio), e.g. Gervais, Kaniel & Mingelgrin (2001), "The High-Volume Return Premium", J. Finance 56(3)',
    warmup: 20,
  },
];

const B = BENCH_WINDOW;
const benchColumns: FeatureColumnDoc[] = [
  {
    name: `sharpe_${B}`,
    unit: 'dimensionless per √year (annualized)',
    formula: `mean(r) / sampleStdev(r) × √252 over the last ${B} daily SIMPLE returns of the symbol, rf = 0, stdev with n − 1; NaN when the stdev is 0. Depends on the symbol only: defined even without a benchmark`,
    source: 'W. F. Sharpe (1994), "The Sharpe Ratio", J. Portfolio Management 21(1) (ex-post, √T annualization)',
    warmup: B,
  },
  {
    name: `sortino_${B}`,
    unit: 'dimensionless per √year (annualized)',
    formula: `mean(r) × 252 / ( sqrt(Σ min(r_i, 0)² / ${B}) × √252 ) over the last ${B} daily SIMPLE returns of the symbol (target 0, downside deviation over all ${B} observations); NaN when no return is negative. Depends on the symbol only`,
    source: SORTINO,
    warmup: B,
  },
  {
    name: `beta_${B}`,
    unit: 'dimensionless',
    formula: `cov(r, b) / var(b) = Σ(r_i − r̄)(b_i − b̄) / Σ(b_i − b̄)² over the last ${B} daily simple returns of the symbol (r) and of the benchmark SPY (b) (sample moments; the n − 1 cancels); OLS slope of the market model. NaN when var(b) = 0, when the window holds a missing (NaN) benchmark or symbol return, or when there is no benchmark`,
    source: 'market-model OLS beta, Campbell, Lo & MacKinlay (1997), §4.3 / W. F. Sharpe (1964), J. Finance 19(3)',
    warmup: B,
  },
  {
    name: `corr_${B}`,
    unit: '-1..1',
    formula: `Pearson correlation Σ(r_i − r̄)(b_i − b̄) / sqrt(Σ(r_i − r̄)² Σ(b_i − b̄)²) over the last ${B} daily simple returns of symbol and benchmark; NaN when either variance is 0, when the window holds a missing return, or when there is no benchmark`,
    source: 'K. Pearson (1895), product-moment correlation',
    warmup: B,
  },
  {
    name: `idio_vol_${B}`,
    unit: 'fraction per √year (annualized)',
    formula: `sqrt( Σ e_i² / (${B} − 2) ) × √252 with e_i = r_i − α − β b_i the residuals of the market-model OLS over the last ${B} daily simple returns (Σ e² = Σ(r−r̄)² − β Σ(r−r̄)(b−b̄)); ${B} − 2 degrees of freedom because α and β are estimated (the standard error of the regression); NaN when var(b) = 0, when the window holds a missing return, or when there is no benchmark`,
    source: 'idiosyncratic volatility, Ang, Hodrick, Xing & Zhang (2006), J. Finance 61(1) (here with the market model instead of Fama–French 3 factors)',
    warmup: B,
  },
];

/** Returns: `ret_{1,5,21,63,126,252}` then `logret_{1,5,21,63,126,252}` (one fused pass). */
export const returnsGroup: FeatureGroup<ReturnsState> = {
  id: 'returns',
  columns: returnColumns,
  run: runReturns,
};

/** Risk: vol_21, vol_63, vol_252, downside_dev_63, skew_63, kurt_63, max_dd_252. */
export const riskGroup: FeatureGroup<RiskState> = {
  id: 'risk',
  columns: riskColumns,
  run: runRisk,
};

/** Liquidity: adv_20, adv_60, turnover_20, volume_surge_20. */
export const liquidityGroup: FeatureGroup<LiquidityState> = {
  id: 'liquidity',
  columns: liquidityColumns,
  run: runLiquidity,
};

/** Risk-adjusted return and versus benchmark: sharpe_63, sortino_63, beta_63, corr_63, idio_vol_63. */
export const benchmarkGroup: FeatureGroup<BenchmarkState> = {
  id: 'benchmark_63',
  columns: benchColumns,
  run: runBenchmark,
};

/** Statistics feature groups, in output order (28 columns). */
export const STATS_GROUPS: readonly FeatureGroup[] = [returnsGroup, riskGroup, liquidityGroup, benchmarkGroup];
