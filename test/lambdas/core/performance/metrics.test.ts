import { describe, expect, it } from 'vitest';
import {
  computePerformanceMetrics,
  drawdownSeries,
  METRIC_DOCS,
  monthlyReturns,
  type MetricsDay,
  type MetricsFill,
  type MetricsInput,
  type MetricsTrade,
  type PerformanceMetrics,
} from '../../../../lambdas/core/performance';

/**
 * Asserts `actual` equals the hand-computed `expected` to ~1e-12 relative: toBeCloseTo with
 * 12 − ceil(log10 |expected|) digits, i.e. |actual − expected| < 0.5e-12 × 10^ceil(log10 |expected|).
 */
function close(actual: number | null, expected: number): void {
  expect(actual).not.toBeNull();
  if (expected === 0) {
    expect(actual).toBe(0);
    return;
  }
  expect(actual).toBeCloseTo(expected, 12 - Math.ceil(Math.log10(Math.abs(expected))));
}

/** The error `fn` throws (fails the test if it returns). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`threw a non-Error: ${String(e)}`);
  }
  throw new Error('expected a throw, but the call returned');
}

/** A session with zero exposure and all cash, no benchmark close. */
const day = (date: string, equity: string, extra: Partial<MetricsDay> = {}): MetricsDay => ({
  date,
  equity,
  cash: equity,
  grossExposure: '0',
  benchmarkClose: null,
  ...extra,
});

/** Input over an equity curve only (no trades, fills, orders or benchmark). */
const curve = (initialEquity: string, days: MetricsDay[], extra: Partial<MetricsInput> = {}): MetricsInput => ({
  initialEquity,
  benchmarkStart: null,
  days,
  trades: [],
  fills: [],
  ordersSubmitted: 0,
  ordersFilled: 0,
  ...extra,
});

/** Equity curve [1000, ...equities] on consecutive March 2024 dates (2024-03-01, -02, …). */
const marchCurve = (...equities: number[]): MetricsDay[] =>
  equities.map((e, i) => day(`2024-03-${String(i + 1).padStart(2, '0')}`, String(e)));

// -------------------------------------------------------------------------------------------------
// Series A: 5 sessions, returns chosen to be exact decimals.
//   E_0 = 100000
//   E_1 = 101000       r_1 = +0.01
//   E_2 =  99990       r_2 = 99990/101000 − 1        = −0.01
//   E_3 = 101989.8     r_3 = 101989.8/99990 − 1      = +0.02
//   E_4 = 100969.902   r_4 = 100969.902/101989.8 − 1 = −0.01
//   E_5 = 103998.99906 r_5 = 103998.99906/100969.902 − 1 = +0.03
// Σr = 0.04, mean = 0.008; deviations 0.002, −0.018, 0.012, −0.018, 0.022;
// squares 4e-6 + 324e-6 + 144e-6 + 324e-6 + 484e-6 = 1280e-6; sample var = 1280e-6 / 4 = 320e-6.
// Benchmark (SPY): B_0 = 400, closes 402, 399.99, 403.9899, 403.9899, 410.0497485
//   r_b = +0.005, −0.005, +0.01, 0, +0.015 (Σ = 0.025, mean 0.005)
//   dev_b = 0, −0.01, 0.005, −0.005, 0.01; Σ dev_b² = 0 + 1e-4 + 2.5e-5 + 2.5e-5 + 1e-4 = 2.5e-4
//   Σ dev_r·dev_b = 0 + 0.00018 + 0.00006 + 0.00009 + 0.00022 = 0.00055
// Exposure: 50500/101000 = 0.5, 0/99990 = 0, 50994.9/101989.8 = 0.5, 25242.4755/100969.902 = 0.25,
//   103998.99906/103998.99906 = 1 → mean 2.25 / 5 = 0.45.
const DAYS_A: MetricsDay[] = [
  { date: '2024-01-29', equity: '101000', cash: '50500', grossExposure: '50500', benchmarkClose: 402 },
  { date: '2024-01-30', equity: '99990', cash: '99990', grossExposure: '0', benchmarkClose: 399.99 },
  { date: '2024-01-31', equity: '101989.8', cash: '50994.9', grossExposure: '50994.9', benchmarkClose: 403.9899 },
  { date: '2024-02-01', equity: '100969.902', cash: '75727.4265', grossExposure: '25242.4755', benchmarkClose: 403.9899 },
  { date: '2024-02-02', equity: '103998.99906', cash: '0', grossExposure: '103998.99906', benchmarkClose: 410.0497485 },
];

// Trades: wins 500.25 + 300.00 + 100 = 900.25 (3), losses −200.10 − 100.05 = −300.15 (2), one 0.
const TRADES_A: MetricsTrade[] = [
  { symbol: 'AAPL', entryDate: '2024-01-29', exitDate: '2024-01-30', qty: '10', pnl: '500.25' },
  { symbol: 'MSFT', entryDate: '2024-01-29', exitDate: '2024-01-31', qty: '5', pnl: '-200.10' },
  { symbol: 'NVDA', entryDate: '2024-01-30', exitDate: '2024-01-30', qty: '1', pnl: '0' },
  { symbol: 'AAPL', entryDate: '2024-01-31', exitDate: '2024-02-01', qty: '3', pnl: '300.00' },
  { symbol: 'AMZN', entryDate: '2024-01-31', exitDate: '2024-02-02', qty: '2', pnl: '-100.05' },
  { symbol: 'META', entryDate: '2024-02-01', exitDate: '2024-02-02', qty: '4', pnl: '100' },
];

// Fills: notional n = qty × price, side-signed slippage s = ±(price − ref)/ref × 1e4
//   buy  10 @ 100.10 ref 100.00: n = 1001.0, s = +0.10/100 × 1e4 = +10 bps (paid up)
//   sell 10 @  99.80 ref 100.00: n =  998.0, s = −(−0.20/100) × 1e4 = +20 bps (sold below)
//   buy   5 @ 199.90 ref 200.00: n =  999.5, s = −0.10/200 × 1e4 = −5 bps (improvement)
// Σn = 2998.5; Σ n·s = 10010 + 19960 − 4997.5 = 24972.5; commissions 1 + 1 + 0.5 = 2.5
const FILLS_A: MetricsFill[] = [
  { date: '2024-01-29', symbol: 'AAPL', side: 'buy', qty: '10', price: '100.10', referencePrice: '100.00', commission: '1.00' },
  { date: '2024-01-30', symbol: 'AAPL', side: 'sell', qty: '10', price: '99.80', referencePrice: '100.00', commission: '1.00' },
  { date: '2024-01-31', symbol: 'MSFT', side: 'buy', qty: '5', price: '199.90', referencePrice: '200.00', commission: '0.50' },
];

const INPUT_A: MetricsInput = {
  initialEquity: '100000',
  benchmarkStart: 400,
  days: DAYS_A,
  trades: TRADES_A,
  fills: FILLS_A,
  ordersSubmitted: 4,
  ordersFilled: 3,
};

/** Series A with the benchmark closes (and start) replaced. */
const withCloses = (closes: (number | null)[], benchmarkStart: number | null = 400): MetricsInput => ({
  ...INPUT_A,
  benchmarkStart,
  days: DAYS_A.map((d, i) => ({ ...d, benchmarkClose: closes[i] ?? null })),
});

describe('computePerformanceMetrics on series A (hand-computed)', () => {
  const m = computePerformanceMetrics(INPUT_A);

  it('total return: 103998.99906 / 100000 − 1 = 0.0399899906', () => {
    close(m.totalReturn, 0.0399899906);
  });

  it('CAGR: 1.0399899906^(252/5) − 1', () => {
    close(m.cagr, Math.pow(1.0399899906, 252 / 5) - 1);
  });

  it('annualized volatility: sqrt(320e-6) × √252 = sqrt(0.08064)', () => {
    close(m.annualizedVolatility, Math.sqrt(0.08064));
  });

  it('Sharpe (rf = 0): 0.008 / sqrt(320e-6) × √252 = 0.008 × sqrt(787500)', () => {
    close(m.sharpe, 0.008 * Math.sqrt(787500));
  });

  it('Sortino (rf = 0): DD = sqrt((0.01² + 0.01²) / 5) = sqrt(4e-5); 0.008 / DD × √252 = 0.008 × sqrt(6300000)', () => {
    close(m.sortino, 0.008 * Math.sqrt(6_300_000));
  });

  it('max drawdown −0.01, ties resolved to the first trough: peak 01-29, trough 01-30, recovered 01-31', () => {
    // D = 0, 99990/101000 − 1 = −0.01, 0 (101989.8 > 101000), 100969.902/101989.8 − 1 = −0.01, 0
    close(m.maxDrawdown, -0.01);
    expect(m.maxDrawdownPeakDate).toBe('2024-01-29');
    expect(m.maxDrawdownTroughDate).toBe('2024-01-30');
    expect(m.maxDrawdownRecoveryDate).toBe('2024-01-31');
  });

  it('Calmar: CAGR / 0.01', () => {
    close(m.calmar, (Math.pow(1.0399899906, 252 / 5) - 1) / 0.01);
  });

  it('Ulcer index: 100 × sqrt((0.01² + 0.01²) / 5) = 100 × sqrt(4e-5) (percent)', () => {
    close(m.ulcerIndex, 100 * Math.sqrt(4e-5));
  });

  it('time under water 2/5 = 0.4, longest run 1 session', () => {
    close(m.timeUnderWater, 0.4);
    expect(m.longestUnderwaterSessions).toBe(1);
  });

  it('trade statistics; the zero-P&L trade counts in trades but is neither win nor loss', () => {
    expect(m.trades).toBe(6);
    close(m.winRate, 3 / 6); // 3 wins of 6 trades
    close(m.grossProfit, 900.25); // 500.25 + 300 + 100
    close(m.grossLoss, -300.15); // −200.10 − 100.05
    close(m.profitFactor, 900.25 / 300.15);
    close(m.payoffRatio, 900.25 / 3 / (300.15 / 2)); // = 1800.5 / 900.45
    close(m.expectancy, 600.1 / 6); // (900.25 − 300.15) / 6
  });

  it('turnover: (2998.5 / 2) / mean equity × 252 / 5, mean equity = 507948.70106 / 5 = 101589.740212', () => {
    close(m.turnover, (1499.25 / 101589.740212) * (252 / 5));
  });

  it('average exposure: (0.5 + 0 + 0.5 + 0.25 + 1) / 5 = 0.45', () => {
    close(m.averageExposure, 0.45);
  });

  it('slippage: notional-weighted, side-signed: 24972.5 / 2998.5 bps', () => {
    close(m.slippageBps, 24972.5 / 2998.5);
  });

  it('fill rate 3/4, commissions 2.5 USD', () => {
    close(m.fillRate, 0.75);
    close(m.commissions, 2.5);
  });

  it('benchmark return: 410.0497485 / 400 − 1 = 0.02512437125', () => {
    close(m.benchmarkReturn, 0.02512437125);
  });

  it('beta 0.00055 / 0.00025 = 2.2, correlation 0.00055 / sqrt(0.00128 × 0.00025)', () => {
    close(m.beta, 2.2);
    close(m.correlation, 0.00055 / Math.sqrt(0.00128 * 0.00025));
  });

  it('does not mutate the input (deeply frozen input is accepted)', () => {
    const frozen = structuredClone(INPUT_A);
    for (const arr of [frozen.days, frozen.trades, frozen.fills]) {
      for (const x of arr) Object.freeze(x);
      Object.freeze(arr);
    }
    Object.freeze(frozen);
    expect(computePerformanceMetrics(frozen)).toEqual(m);
  });
});

describe('options: risk-free rate and periods per year', () => {
  it('riskFreeRate 5 %: rf_d = 1.05^(1/252) − 1 shifts the Sharpe numerator and the Sortino target', () => {
    const rfD = Math.pow(1.05, 1 / 252) - 1; // ≈ 0.000193615
    const m = computePerformanceMetrics({ ...INPUT_A, riskFreeRate: 0.05 });
    // Sharpe = (0.008 − rf_d) / sqrt(320e-6) × √252 (the stdev of r − rf_d is that of r).
    close(m.sharpe, ((0.008 - rfD) / Math.sqrt(320e-6)) * Math.sqrt(252));
    // Only r = −0.01 (twice) is below rf_d: DD = sqrt(2 (0.01 + rf_d)² / 5) = (0.01 + rf_d) sqrt(0.4).
    close(m.sortino, ((0.008 - rfD) / ((0.01 + rfD) * Math.sqrt(0.4))) * Math.sqrt(252));
    // Volatility does not depend on rf.
    close(m.annualizedVolatility, Math.sqrt(0.08064));
  });

  it('periodsPerYear 12 annualizes CAGR, vol, Sharpe, Sortino and turnover with 12', () => {
    const m = computePerformanceMetrics({ ...INPUT_A, periodsPerYear: 12 });
    close(m.cagr, Math.pow(1.0399899906, 12 / 5) - 1);
    close(m.annualizedVolatility, Math.sqrt(320e-6 * 12));
    close(m.sharpe, 0.008 * Math.sqrt(12 / 320e-6));
    close(m.sortino, 0.008 * Math.sqrt(12 / 4e-5));
    close(m.turnover, (1499.25 / 101589.740212) * (12 / 5));
    close(m.calmar, (Math.pow(1.0399899906, 12 / 5) - 1) / 0.01);
  });
});

describe('drawdown dates', () => {
  it('recovered: 1000 → 1100, 990, 880, 1000, 1100, 1050', () => {
    // D = 0, 990/1100 − 1 = −0.1, 880/1100 − 1 = −0.2, 1000/1100 − 1 = −1/11, 0 (back at 1100), 1050/1100 − 1 = −1/22
    const m = computePerformanceMetrics(curve('1000', marchCurve(1100, 990, 880, 1000, 1100, 1050)));
    close(m.maxDrawdown, -0.2);
    expect(m.maxDrawdownPeakDate).toBe('2024-03-01');
    expect(m.maxDrawdownTroughDate).toBe('2024-03-03');
    expect(m.maxDrawdownRecoveryDate).toBe('2024-03-05'); // first session with equity >= 1100
    // under water on 03-02, 03-03, 03-04 (a run of 3; equal to the peak on 03-05 ends it) and 03-06: 4 of 6
    close(m.timeUnderWater, 4 / 6);
    expect(m.longestUnderwaterSessions).toBe(3);
    // Ulcer = 100 × sqrt((0.01 + 0.04 + 1/121 + 1/484) / 6) = 100 × sqrt((0.05 + 5/484) / 6)
    close(m.ulcerIndex, 100 * Math.sqrt((0.05 + 5 / 484) / 6));
    // Calmar = CAGR / 0.2 with CAGR = 1.05^(252/6) − 1
    close(m.calmar, (Math.pow(1.05, 252 / 6) - 1) / 0.2);
  });

  it('not recovered: 1000 → 1200, 900, 1100 gives a null recovery date', () => {
    // D = 0, 900/1200 − 1 = −0.25, 1100/1200 − 1 = −1/12
    const m = computePerformanceMetrics(curve('1000', marchCurve(1200, 900, 1100)));
    close(m.maxDrawdown, -0.25);
    expect(m.maxDrawdownPeakDate).toBe('2024-03-01');
    expect(m.maxDrawdownTroughDate).toBe('2024-03-02');
    expect(m.maxDrawdownRecoveryDate).toBeNull();
    close(m.timeUnderWater, 2 / 3);
    expect(m.longestUnderwaterSessions).toBe(2);
  });

  it('peak at the initial equity: peak date null, or startDate when given', () => {
    // E_0 = 1000 is the peak: D = 950/1000 − 1 = −0.05, 900/1000 − 1 = −0.1, then back to 1000 (recovered)
    const input = curve('1000', marchCurve(950, 900, 1000));
    const m = computePerformanceMetrics(input);
    close(m.maxDrawdown, -0.1);
    expect(m.maxDrawdownPeakDate).toBeNull();
    expect(m.maxDrawdownTroughDate).toBe('2024-03-02');
    expect(m.maxDrawdownRecoveryDate).toBe('2024-03-03');
    const withStart = computePerformanceMetrics({ ...input, startDate: '2024-02-29' });
    expect(withStart.maxDrawdownPeakDate).toBe('2024-02-29');
  });

  it('an equal high moves the peak date to the latest session at the peak', () => {
    // 1000 → 1100 (peak), 1050 (−1/22), 1100 (= peak, D = 0), 990 (990/1100 − 1 = −0.1)
    const m = computePerformanceMetrics(curve('1000', marchCurve(1100, 1050, 1100, 990)));
    close(m.maxDrawdown, -0.1);
    expect(m.maxDrawdownPeakDate).toBe('2024-03-03');
    expect(m.maxDrawdownTroughDate).toBe('2024-03-04');
    expect(m.maxDrawdownRecoveryDate).toBeNull();
    close(m.timeUnderWater, 2 / 4);
    expect(m.longestUnderwaterSessions).toBe(1);
  });

  it('no drawdown: maxDrawdown 0, dates and Calmar null, Ulcer 0', () => {
    const m = computePerformanceMetrics(curve('1000', marchCurve(1000, 1010, 1020)));
    expect(m.maxDrawdown).toBe(0);
    expect(m.maxDrawdownPeakDate).toBeNull();
    expect(m.maxDrawdownTroughDate).toBeNull();
    expect(m.maxDrawdownRecoveryDate).toBeNull();
    expect(m.calmar).toBeNull();
    expect(m.ulcerIndex).toBe(0);
    expect(m.timeUnderWater).toBe(0);
    expect(m.longestUnderwaterSessions).toBe(0);
  });
});

describe('degenerate return series', () => {
  it('zero variance (r = 0.01 every session): vol 0, Sharpe null, Sortino null', () => {
    // 100000 → 101000 → 102010 → 103030.1: each return is exactly 0.01
    const days = [day('2024-01-02', '101000'), day('2024-01-03', '102010'), day('2024-01-04', '103030.1')];
    const m = computePerformanceMetrics(curve('100000', days));
    expect(m.annualizedVolatility).toBe(0);
    expect(m.sharpe).toBeNull();
    expect(m.sortino).toBeNull(); // no return below rf_d = 0
    close(m.totalReturn, 0.030301);
    close(m.cagr, Math.pow(1.01, 252) - 1); // (1.01³)^(252/3)
    expect(m.maxDrawdown).toBe(0);
    expect(m.calmar).toBeNull();
  });

  it('zero variance below a high risk-free target: Sortino = −√252, Sharpe still null', () => {
    // rf = 20 (2000 %/year): rf_d = 21^(1/252) − 1 ≈ 0.01215 > 0.01, so every return misses the target by
    // the same amount k = 0.01 − rf_d < 0: mean excess = k, DD = |k| → Sortino = k/|k| × √252 = −√252.
    const days = [day('2024-01-02', '101000'), day('2024-01-03', '102010'), day('2024-01-04', '103030.1')];
    const m = computePerformanceMetrics(curve('100000', days, { riskFreeRate: 20 }));
    close(m.sortino, -Math.sqrt(252));
    expect(m.sharpe).toBeNull();
  });

  it('flat equity: every return 0 → total return 0, CAGR 0, vol 0, Sharpe and Sortino null', () => {
    const m = computePerformanceMetrics(curve('1000', marchCurve(1000, 1000, 1000)));
    expect(m.totalReturn).toBe(0);
    expect(m.cagr).toBe(0);
    expect(m.annualizedVolatility).toBe(0);
    expect(m.sharpe).toBeNull();
    expect(m.sortino).toBeNull();
  });

  it('one session: vol and Sharpe null (need 2), Sortino −√252, drawdown from E_0', () => {
    // 100000 → 99000: r = −0.01, DD = sqrt(0.01² / 1) = 0.01, Sortino = −0.01 / 0.01 × √252
    const m = computePerformanceMetrics(curve('100000', [day('2024-01-02', '99000')]));
    close(m.totalReturn, -0.01);
    close(m.cagr, Math.pow(0.99, 252) - 1);
    expect(m.annualizedVolatility).toBeNull();
    expect(m.sharpe).toBeNull();
    close(m.sortino, -Math.sqrt(252));
    close(m.maxDrawdown, -0.01);
    expect(m.maxDrawdownPeakDate).toBeNull();
    expect(m.maxDrawdownTroughDate).toBe('2024-01-02');
    close(m.ulcerIndex, 1); // 100 × sqrt(0.01²)
  });

  it('no sessions: every session-based metric is null; trade and execution metrics still computed', () => {
    const m = computePerformanceMetrics({ ...INPUT_A, days: [] });
    for (const key of [
      'totalReturn',
      'cagr',
      'annualizedVolatility',
      'sharpe',
      'sortino',
      'maxDrawdown',
      'maxDrawdownPeakDate',
      'maxDrawdownTroughDate',
      'maxDrawdownRecoveryDate',
      'calmar',
      'ulcerIndex',
      'timeUnderWater',
      'longestUnderwaterSessions',
      'turnover',
      'averageExposure',
      'benchmarkReturn',
      'beta',
      'correlation',
    ] as const) {
      expect(m[key], key).toBeNull();
    }
    expect(m.trades).toBe(6);
    close(m.slippageBps, 24972.5 / 2998.5);
    close(m.commissions, 2.5);
  });
});

describe('trade statistics edge cases', () => {
  const withTrades = (pnls: string[]): PerformanceMetrics =>
    computePerformanceMetrics({
      ...INPUT_A,
      trades: pnls.map((pnl) => ({ symbol: 'X', entryDate: '2024-01-29', exitDate: '2024-01-30', qty: '1', pnl })),
    });

  it('no losing trades: profit factor and payoff null', () => {
    // wins 10 + 5.5 = 15.5, one 0: win rate 2/3, expectancy 15.5 / 3
    const m = withTrades(['10', '0', '5.5']);
    expect(m.profitFactor).toBeNull();
    expect(m.payoffRatio).toBeNull();
    close(m.winRate, 2 / 3);
    close(m.grossProfit, 15.5);
    expect(m.grossLoss).toBe(0);
    close(m.expectancy, 15.5 / 3);
  });

  it('no winning trades: profit factor 0, payoff null, win rate 0', () => {
    const m = withTrades(['-10', '-5']);
    expect(m.profitFactor).toBe(0);
    expect(m.payoffRatio).toBeNull();
    expect(m.winRate).toBe(0);
    close(m.expectancy, -7.5);
    close(m.grossLoss, -15);
  });

  it('no trades: count 0, ratios null, gross sums 0', () => {
    const m = withTrades([]);
    expect(m.trades).toBe(0);
    expect(m.winRate).toBeNull();
    expect(m.profitFactor).toBeNull();
    expect(m.payoffRatio).toBeNull();
    expect(m.expectancy).toBeNull();
    expect(m.grossProfit).toBe(0);
    expect(m.grossLoss).toBe(0);
  });

  it('sums money in decimal: 0.1 + 0.2 = 0.3 exactly (floats would give 0.30000000000000004)', () => {
    const m = withTrades(['0.1', '0.2']);
    expect(m.grossProfit).toBe(0.3);
    const f = computePerformanceMetrics({
      ...INPUT_A,
      fills: FILLS_A.map((x, i) => ({ ...x, commission: i === 0 ? '0.1' : i === 1 ? '0.2' : '0' })),
    });
    expect(f.commissions).toBe(0.3);
  });
});

describe('execution edge cases', () => {
  it('no fills: slippage null, turnover 0, commissions 0; no orders: fill rate null', () => {
    const m = computePerformanceMetrics({ ...INPUT_A, fills: [], ordersSubmitted: 0, ordersFilled: 0 });
    expect(m.slippageBps).toBeNull();
    expect(m.turnover).toBe(0);
    expect(m.commissions).toBe(0);
    expect(m.fillRate).toBeNull();
  });

  it('a sell above the reference is negative slippage (improvement): −(101 − 100)/100 × 1e4 = −100 bps', () => {
    const m = computePerformanceMetrics({
      ...INPUT_A,
      fills: [{ date: '2024-01-29', symbol: 'X', side: 'sell', qty: '3', price: '101', referencePrice: '100', commission: '0' }],
    });
    close(m.slippageBps, -100);
  });
});

describe('benchmark', () => {
  it('skips the pairs of a null close and of the session after it', () => {
    // Close of 01-31 missing: pairs of 01-31 (no B_3) and 02-01 (no B_{3} as previous close) are dropped.
    // Remaining pairs (r, r_b): (0.01, 0.005), (−0.01, −0.005), (0.03, 410.0497485/403.9899 − 1 = 0.015)
    // r = 2·r_b exactly → beta 2, correlation 1.
    const m = computePerformanceMetrics(withCloses([402, 399.99, null, 403.9899, 410.0497485]));
    close(m.beta, 2);
    close(m.correlation, 1);
    close(m.benchmarkReturn, 0.02512437125);
  });

  it('a null last close: benchmark return uses the last known close, pairs stop there', () => {
    // benchmarkReturn = 403.9899 / 400 − 1 = 0.00997475
    // pairs: r = 0.01, −0.01, 0.02, −0.01 (mean 0.0025); r_b = 0.005, −0.005, 0.01, 0 (mean 0.0025)
    // dev_r = 0.0075, −0.0125, 0.0175, −0.0125; dev_b = 0.0025, −0.0075, 0.0075, −0.0025
    // Σ dev_r·dev_b = 1.875e-5 + 9.375e-5 + 1.3125e-4 + 3.125e-5 = 2.75e-4
    // Σ dev_b² = 6.25e-6 + 5.625e-5 + 5.625e-5 + 6.25e-6 = 1.25e-4 → beta = 2.2
    // Σ dev_r² = 5.625e-5 + 1.5625e-4 + 3.0625e-4 + 1.5625e-4 = 6.75e-4
    const m = computePerformanceMetrics(withCloses([402, 399.99, 403.9899, 403.9899, null]));
    close(m.benchmarkReturn, 0.00997475);
    close(m.beta, 2.2);
    close(m.correlation, 2.75e-4 / Math.sqrt(6.75e-4 * 1.25e-4));
  });

  it('null benchmarkStart: benchmark return null, the first session has no pair', () => {
    // pairs: r = −0.01, 0.02, −0.01, 0.03 (mean 0.0075); r_b = −0.005, 0.01, 0, 0.015 (mean 0.005)
    // dev_r = −0.0175, 0.0125, −0.0175, 0.0225; dev_b = −0.01, 0.005, −0.005, 0.01
    // Σ dev_r·dev_b = 1.75e-4 + 6.25e-5 + 8.75e-5 + 2.25e-4 = 5.5e-4; Σ dev_b² = 2.5e-4 → beta 2.2
    // Σ dev_r² = 3.0625e-4 + 1.5625e-4 + 3.0625e-4 + 5.0625e-4 = 1.275e-3
    const m = computePerformanceMetrics(withCloses([402, 399.99, 403.9899, 403.9899, 410.0497485], null));
    expect(m.benchmarkReturn).toBeNull();
    close(m.beta, 2.2);
    close(m.correlation, 5.5e-4 / Math.sqrt(1.275e-3 * 2.5e-4));
  });

  it('all closes null: benchmark return, beta and correlation null', () => {
    const m = computePerformanceMetrics(withCloses([null, null, null, null, null]));
    expect(m.benchmarkReturn).toBeNull();
    expect(m.beta).toBeNull();
    expect(m.correlation).toBeNull();
  });

  it('fewer than 2 pairs or a constant benchmark: beta and correlation null', () => {
    const onePair = computePerformanceMetrics(withCloses([402, null, null, null, null]));
    close(onePair.benchmarkReturn, 0.005);
    expect(onePair.beta).toBeNull();
    expect(onePair.correlation).toBeNull();
    const flat = computePerformanceMetrics(withCloses([400, 400, 400, 400, 400]));
    expect(flat.benchmarkReturn).toBe(0);
    expect(flat.beta).toBeNull();
    expect(flat.correlation).toBeNull();
  });

  it('zero-variance portfolio against a moving benchmark: beta 0, correlation null', () => {
    const days = [
      day('2024-01-02', '101000', { benchmarkClose: 402 }),
      day('2024-01-03', '102010', { benchmarkClose: 399.99 }),
    ];
    const m = computePerformanceMetrics(curve('100000', days, { benchmarkStart: 400 }));
    expect(m.beta).toBe(0);
    expect(m.correlation).toBeNull();
  });
});

describe('monthlyReturns', () => {
  it('series A: January 101989.8/100000 − 1 = 0.019898, February 103998.99906/101989.8 − 1 = 0.0197', () => {
    const r = monthlyReturns('100000', DAYS_A);
    expect(r.map(({ year, month }) => [year, month])).toEqual([
      [2024, 1],
      [2024, 2],
    ]);
    close(r[0]?.ret ?? null, 0.019898);
    close(r[1]?.ret ?? null, 0.0197);
  });

  it('skips months without sessions and chains from the last month that had one', () => {
    // Jan 101000/100000 − 1 = 0.01; Mar 102000/101000 − 1 = 1/101; Jan 2025 102000/102000 − 1 = 0
    const r = monthlyReturns('100000', [
      day('2024-01-31', '101000'),
      day('2024-03-01', '99990'),
      day('2024-03-04', '102000'),
      day('2025-01-02', '102000'),
    ]);
    expect(r.map(({ year, month }) => [year, month])).toEqual([
      [2024, 1],
      [2024, 3],
      [2025, 1],
    ]);
    close(r[0]?.ret ?? null, 0.01);
    close(r[1]?.ret ?? null, 1 / 101);
    expect(r[2]?.ret).toBe(0);
  });

  it('is empty without days and validates its input', () => {
    expect(monthlyReturns('100000', [])).toEqual([]);
    expect(thrown(() => monthlyReturns('abc', [])).message).toBe(
      'initialEquity must be a positive decimal string, got "abc"',
    );
    expect(thrown(() => monthlyReturns('1', [day('2024-01-02', '-5')])).message).toBe(
      'days[0].equity must be a positive decimal string, got "-5"',
    );
    expect(thrown(() => drawdownSeries('1', [day('2024-01-03', '1'), day('2024-01-02', '1')])).message).toBe(
      'days[1].date must be after days[0].date ("2024-01-03"), got "2024-01-02"',
    );
  });
});

describe('drawdownSeries', () => {
  it('series A: 0, −0.01, 0, −0.01, 0', () => {
    const s = drawdownSeries('100000', DAYS_A);
    expect(s.map((p) => p.date)).toEqual(DAYS_A.map((d) => d.date));
    const expected = [0, -0.01, 0, -0.01, 0];
    s.forEach((p, i) => close(p.drawdown, expected[i] as number));
  });

  it('1000 → 1100, 990, 880, 1000, 1100, 1050: 0, −0.1, −0.2, −1/11, 0, −1/22', () => {
    const s = drawdownSeries('1000', marchCurve(1100, 990, 880, 1000, 1100, 1050));
    const expected = [0, -0.1, -0.2, -1 / 11, 0, -1 / 22];
    s.forEach((p, i) => close(p.drawdown, expected[i] as number));
  });

  it('a first-session loss is a drawdown from the initial equity: 1000 → 900 gives −0.1', () => {
    close(drawdownSeries('1000', [day('2024-01-02', '900')])[0]?.drawdown ?? null, -0.1);
  });
});

describe('METRIC_DOCS', () => {
  it('documents every PerformanceMetrics key exactly once, with group, label, unit and formula', () => {
    const keys = Object.keys(computePerformanceMetrics(INPUT_A)).sort();
    const docKeys = METRIC_DOCS.map((d) => d.key as string);
    expect(new Set(docKeys).size).toBe(docKeys.length);
    expect([...docKeys].sort()).toEqual(keys);
    const groups = ['Returns and risk', 'Trades', 'Activity', 'Execution', 'Benchmark'];
    for (const d of METRIC_DOCS) {
      expect(groups).toContain(d.group);
      expect(d.label.length, d.key).toBeGreaterThan(0);
      expect(d.unit.length, d.key).toBeGreaterThan(0);
      expect(d.formula.length, d.key).toBeGreaterThan(0);
    }
    // groups appear as contiguous blocks in report order
    const order = METRIC_DOCS.map((d) => d.group).filter((g, i, a) => i === 0 || a[i - 1] !== g);
    expect(order).toEqual(groups);
  });
});

describe('input validation: errors name the field and the value', () => {
  const mutateDay = (i: number, patch: Record<string, unknown>): MetricsInput =>
    ({ ...INPUT_A, days: DAYS_A.map((d, j) => (j === i ? { ...d, ...patch } : d)) }) as MetricsInput;
  const mutateTrade = (i: number, patch: Record<string, unknown>): MetricsInput =>
    ({ ...INPUT_A, trades: TRADES_A.map((t, j) => (j === i ? { ...t, ...patch } : t)) }) as MetricsInput;
  const mutateFill = (i: number, patch: Record<string, unknown>): MetricsInput =>
    ({ ...INPUT_A, fills: FILLS_A.map((f, j) => (j === i ? { ...f, ...patch } : f)) }) as MetricsInput;

  it.each<[string, MetricsInput, string]>([
    ['initialEquity text', { ...INPUT_A, initialEquity: 'abc' }, 'initialEquity must be a positive decimal string, got "abc"'],
    ['initialEquity 0', { ...INPUT_A, initialEquity: '0' }, 'initialEquity must be a positive decimal string, got "0"'],
    [
      'initialEquity as a number',
      { ...INPUT_A, initialEquity: 100000 as unknown as string },
      'initialEquity must be a positive decimal string, got 100000',
    ],
    ['equity text', mutateDay(3, { equity: 'abc' }), 'days[3].equity must be a positive decimal string, got "abc"'],
    ['equity 0', mutateDay(1, { equity: '0' }), 'days[1].equity must be a positive decimal string, got "0"'],
    ['equity NaN', mutateDay(2, { equity: 'NaN' }), 'days[2].equity must be a positive decimal string, got "NaN"'],
    ['impossible date', mutateDay(2, { date: '2024-02-30' }), 'days[2].date must be a YYYY-MM-DD calendar date, got "2024-02-30"'],
    [
      'repeated date',
      mutateDay(1, { date: '2024-01-29' }),
      'days[1].date must be after days[0].date ("2024-01-29"), got "2024-01-29"',
    ],
    ['cash text', mutateDay(0, { cash: '' }), 'days[0].cash must be a decimal string, got ""'],
    [
      'negative exposure',
      mutateDay(4, { grossExposure: '-1' }),
      'days[4].grossExposure must be a non-negative decimal string, got "-1"',
    ],
    ['benchmark close 0', mutateDay(0, { benchmarkClose: 0 }), 'days[0].benchmarkClose must be null or a finite number > 0, got 0'],
    [
      'benchmark close NaN',
      mutateDay(1, { benchmarkClose: Number.NaN }),
      'days[1].benchmarkClose must be null or a finite number > 0, got NaN',
    ],
    ['benchmarkStart', { ...INPUT_A, benchmarkStart: -1 }, 'benchmarkStart must be null or a finite number > 0, got -1'],
    [
      'startDate after the first day',
      { ...INPUT_A, startDate: '2024-01-29' },
      'startDate must be before days[0].date ("2024-01-29"), got "2024-01-29"',
    ],
    ['trade pnl', mutateTrade(1, { pnl: 'x' }), 'trades[1].pnl must be a decimal string, got "x"'],
    ['trade qty', mutateTrade(0, { qty: '0' }), 'trades[0].qty must be a positive decimal string, got "0"'],
    ['trade symbol', mutateTrade(2, { symbol: '' }), 'trades[2].symbol must be a non-empty string, got ""'],
    ['trade date', mutateTrade(0, { entryDate: '2024/01/29' }), 'trades[0].entryDate must be a YYYY-MM-DD calendar date, got "2024/01/29"'],
    [
      'trade exit before entry',
      mutateTrade(0, { exitDate: '2024-01-28' }),
      'trades[0].exitDate must not be before entryDate ("2024-01-29"), got "2024-01-28"',
    ],
    ['fill side', mutateFill(0, { side: 'short' }), 'fills[0].side must be "buy" or "sell", got "short"'],
    ['fill qty', mutateFill(1, { qty: '-10' }), 'fills[1].qty must be a positive decimal string, got "-10"'],
    ['fill price', mutateFill(2, { price: 'Infinity' }), 'fills[2].price must be a positive decimal string, got "Infinity"'],
    [
      'fill reference price',
      mutateFill(0, { referencePrice: '0' }),
      'fills[0].referencePrice must be a positive decimal string, got "0"',
    ],
    ['fill commission', mutateFill(0, { commission: '-1' }), 'fills[0].commission must be a non-negative decimal string, got "-1"'],
    ['fill date', mutateFill(0, { date: '' }), 'fills[0].date must be a YYYY-MM-DD calendar date, got ""'],
    ['ordersSubmitted', { ...INPUT_A, ordersSubmitted: 1.5 }, 'ordersSubmitted must be an integer >= 0, got 1.5'],
    ['ordersFilled', { ...INPUT_A, ordersFilled: 5 }, 'ordersFilled must be an integer in [0, ordersSubmitted = 4], got 5'],
    ['riskFreeRate', { ...INPUT_A, riskFreeRate: -1 }, 'riskFreeRate must be a finite number > -1, got -1'],
    ['riskFreeRate NaN', { ...INPUT_A, riskFreeRate: Number.NaN }, 'riskFreeRate must be a finite number > -1, got NaN'],
    ['periodsPerYear', { ...INPUT_A, periodsPerYear: 0 }, 'periodsPerYear must be a finite number > 0, got 0'],
  ])('%s', (_name, input, message) => {
    const err = thrown(() => computePerformanceMetrics(input));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe(message);
  });
});

describe('slippage over fills without a reference price', () => {
  it('a fill with referencePrice null counts for turnover and commissions, not for slippage', async () => {
    const { computePerformanceMetrics } = await import('../../../../lambdas/core/performance/metrics');
    const days = [{ date: '2020-01-02', equity: '1000', cash: '1000', grossExposure: '0', benchmarkClose: null }];
    const base = { initialEquity: '1000', benchmarkStart: null, days, trades: [], ordersSubmitted: 2, ordersFilled: 2 };
    // Buy 1 @ 101 vs ref 100: +100 bps on notional 101. Sell 1 @ 99, no ref: out of the slippage.
    const m = computePerformanceMetrics({
      ...base,
      fills: [
        { date: '2020-01-02', symbol: 'A', side: 'buy', qty: '1', price: '101', referencePrice: '100', commission: '0.5' },
        { date: '2020-01-02', symbol: 'A', side: 'sell', qty: '1', price: '99', referencePrice: null, commission: '0.5' },
      ],
    });
    expect(m.slippageBps).toBeCloseTo(100, 10);
    expect(m.commissions).toBe(1);
    // turnover = (101 + 99)/2 / 1000 × 252 / 1 = 25.2
    expect(m.turnover).toBeCloseTo(25.2, 10);
    const none = computePerformanceMetrics({ ...base, fills: [{ date: '2020-01-02', symbol: 'A', side: 'sell', qty: '1', price: '99', referencePrice: null, commission: '0' }] });
    expect(none.slippageBps).toBeNull();
  });
});
