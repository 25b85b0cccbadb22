/**
 * Per-symbol features for the decision session: the last value of each feature series computed
 * over a symbol's daily bars. The ten technical indicators (SMA 20/50, EMA 20, RSI 14, MACD
 * 12/26/9, ATR 14, Bollinger 20/2, ADX 14, Stochastic 14/3/3, OBV, CCI 20) and ADV 20 come from the
 * feature engine (./feature-engine, formulas in docs/FEATURES.md), so the live run and the research
 * export (`npm run features`) compute them with the same code. The 20-bar return and volatility the
 * momentum model ranks on come from ./indicators.
 *
 * Pure: no I/O, no clock.
 */
import type { Bar } from './bars';
import { FeatureEngine, type EngineResult } from './feature-engine/engine';
import type { EngineInput } from './feature-engine/types';
import { logReturns, rollingStdev, simpleReturn } from './indicators';

/**
 * Features of one symbol as of the last bar used (the session before the decision session).
 * All values are the LAST value of the corresponding series over every bar given.
 */
export interface SymbolFeatures {
  /** Ticker, as given to {@link computeFeatures}. */
  symbol: string;
  /** Date (`YYYY-MM-DD`) of the last bar used: the session before the decision session. */
  asOf: string;
  /** Number of bars used (all bars given). */
  bars: number;
  /** Last close, USD per share. */
  close: number;
  /** Simple moving average of the last 20 closes, USD per share. */
  sma20: number;
  /** Simple moving average of the last 50 closes, USD per share. */
  sma50: number;
  /** Wilder RSI(14) of closes, 0..100 (seeded over the first 14 changes of the bars given). */
  rsi14: number;
  /** Wilder ATR(14), USD per share (TA-Lib seeding over TR_1..TR_14 of the bars given). */
  atr14: number;
  /** 20-bar simple return, fraction: close_t / close_{t−20} − 1. */
  ret20: number;
  /** Sample stdev (n − 1) of the last 20 daily log returns, fraction per day, NOT annualized. */
  vol20: number;
  /** 20-session average daily volume (simple mean of the last 20 volumes), shares (engine `adv_20`). */
  adv20: number;
  /** EMA(20) of closes, α = 2/21, seeded with the SMA of the first 20 closes given; USD per share (`ema_20`). */
  ema20: number;
  /** MACD line EMA12 − EMA26 of closes, USD per share (`macd_12_26_9`). */
  macd: number;
  /** MACD signal line, EMA9 of the MACD line, USD per share (`macd_signal_12_26_9`). */
  macdSignal: number;
  /** MACD histogram, line − signal, USD per share (`macd_hist_12_26_9`). */
  macdHist: number;
  /** Bollinger upper band SMA20 + 2 × population stdev of the last 20 closes, USD (`bb_upper_20_2`). */
  bbUpper: number;
  /** Bollinger lower band SMA20 − 2 × population stdev, USD (`bb_lower_20_2`). */
  bbLower: number;
  /** Wilder ADX(14), 0..100 (`adx_14`). */
  adx14: number;
  /** Slow stochastic %K (14, smoothed 3), 0..100 (`stoch_k_14_3_3`). */
  stochK: number;
  /** Slow stochastic %D (SMA 3 of %K), 0..100 (`stoch_d_14_3_3`). */
  stochD: number;
  /** On-balance volume from 0 at the first bar given, shares (`obv`). */
  obv: number;
  /** Lambert CCI(20) with the 0.015 constant, unitless (`cci_20`). */
  cci20: number;
}

/** The numeric feature fields of {@link SymbolFeatures}, in report order (identity fields excluded). */
export const FEATURE_COLUMNS = [
  'close',
  'sma20',
  'sma50',
  'rsi14',
  'atr14',
  'ret20',
  'vol20',
  'adv20',
  'ema20',
  'macd',
  'macdSignal',
  'macdHist',
  'bbUpper',
  'bbLower',
  'adx14',
  'stochK',
  'stochD',
  'obv',
  'cci20',
] as const satisfies readonly (keyof SymbolFeatures)[];

/** The engine column (docs/FEATURES.md) behind each engine-computed field of {@link SymbolFeatures}. */
export const ENGINE_COLUMN_OF = {
  sma20: 'sma_20',
  sma50: 'sma_50',
  rsi14: 'rsi_14',
  atr14: 'atr_14',
  adv20: 'adv_20',
  ema20: 'ema_20',
  macd: 'macd_12_26_9',
  macdSignal: 'macd_signal_12_26_9',
  macdHist: 'macd_hist_12_26_9',
  bbUpper: 'bb_upper_20_2',
  bbLower: 'bb_lower_20_2',
  adx14: 'adx_14',
  stochK: 'stoch_k_14_3_3',
  stochD: 'stoch_d_14_3_3',
  obv: 'obv',
  cci20: 'cci_20',
} as const satisfies Partial<Record<FeatureColumn, string>>;

/** One of {@link FEATURE_COLUMNS}. */
export type FeatureColumn = (typeof FEATURE_COLUMNS)[number];

const RET_LAG = 20;
const VOL_PERIOD = 20;

/**
 * One engine for the process, its buffers reused from symbol to symbol (deterministic: a result
 * depends only on the bars given, never on the symbol computed before).
 */
const engine = new FeatureEngine();
const COLUMN_INDEX = new Map(engine.names.map((name, i) => [name, i]));

function lastOf(result: EngineResult, name: string, n: number): number {
  const index = COLUMN_INDEX.get(name);
  if (index === undefined) throw new Error(`feature engine has no column ${name}`);
  return (result.values[index] as Float64Array)[n - 1] as number;
}

/**
 * Fewest bars {@link computeFeatures} accepts: 51.
 *
 * Bars each feature needs before its first defined value: SMA(50) 50; ret20 21 (20 changes);
 * vol20 21 (20 log returns need 21 closes); RSI(14) and ATR(14) 15 (14 changes to seed). SMA(50)
 * is therefore the binding constraint at 50 bars. The constant is one more, 51, so that every one
 * of the 50 sessions in the SMA(50) window also has a previous close — i.e. all features describe
 * the same 50 close-to-close changes and none depends on a bar without a predecessor (TR_0, which
 * Wilder's ATR seed skips). It is also the lower bound of the strategy config's `minBars`
 * (config.ts), which adds further warm-up on top for the Wilder-smoothed RSI/ATR.
 */
export const FEATURE_MIN_BARS = 51;

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

function last(series: Float64Array): number {
  return series[series.length - 1] as number;
}

/**
 * Computes the features of one symbol from ALL the given bars and reports the last value of each
 * series (Wilder RSI/ATR are seeded at the start of `bars`, so the history given affects them).
 *
 * @param symbol ticker, used in the result and in every error message.
 * @param bars daily bars in ascending date order, already validated upstream (finite prices,
 *   high >= low, prices > 0). Not mutated.
 * @returns the {@link SymbolFeatures} as of `bars[bars.length - 1].date`.
 * @throws Error whose message starts `computeFeatures(<symbol>):` when there are fewer than
 *   {@link FEATURE_MIN_BARS} bars, a date is not `YYYY-MM-DD`, dates are not strictly increasing,
 *   an indicator rejects a value (message names the field and index, e.g. `close[7]`), or any
 *   resulting feature is not finite (e.g. overflow).
 */
export function computeFeatures(symbol: string, bars: readonly Bar[]): SymbolFeatures {
  return computeFeatureRow(symbol, bars, null).features;
}

/** Every feature-engine column name (docs/FEATURES.md), in the engine's order: the order of {@link FeatureRow.engineRow}. */
export const ENGINE_COLUMNS: readonly string[] = Object.freeze([...engine.names]);

/** {@link SymbolFeatures} plus the last row of all 76 feature-engine columns (what a model reads). */
export interface FeatureRow {
  features: SymbolFeatures;
  /** Value of each {@link ENGINE_COLUMNS} column at the last bar, in that order; null where the engine gives NaN (warm-up, or no benchmark). */
  engineRow: Array<number | null>;
}

/**
 * The feature engine's input for `bars` (ascending by date): open/high/low/close in USD and volume
 * in shares as Float64Arrays, plus the benchmark's close on each bar's date (NaN where it has none),
 * or null without a benchmark.
 * @param benchClose the benchmark close aligned to `bars` (length bars.length), a lookup by date, or null.
 */
export function engineInputOf(bars: readonly Bar[], benchClose: Float64Array | ReadonlyMap<string, number> | null): EngineInput {
  // Plain loops: Float64Array.from with a map function goes through the iterator protocol, ~20× slower.
  const n = bars.length;
  const input = { open: new Float64Array(n), high: new Float64Array(n), low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const b = bars[i] as Bar;
    input.open[i] = b.open;
    input.high[i] = b.high;
    input.low[i] = b.low;
    input.close[i] = b.close;
    input.volume[i] = b.volume;
  }
  if (benchClose === null || benchClose instanceof Float64Array) return { ...input, benchClose };
  const aligned = new Float64Array(n);
  for (let i = 0; i < n; i++) aligned[i] = benchClose.get((bars[i] as Bar).date) ?? Number.NaN;
  return { ...input, benchClose: aligned };
}

/**
 * As {@link computeFeatures}, and also the last row of every engine column, with the benchmark's
 * closes for the columns that need them (beta_63, corr_63, idio_vol_63).
 * @param benchClose the benchmark's close on each of `bars`' dates (NaN where it has no bar), same
 *   length as `bars`; null: no benchmark (those columns are null).
 * @throws as {@link computeFeatures}, and an Error when `benchClose` has the wrong length.
 */
export function computeFeatureRow(symbol: string, bars: readonly Bar[], benchClose: Float64Array | null): FeatureRow {
  const where = `computeFeatures(${symbol})`;
  if (benchClose !== null && benchClose.length !== bars.length) {
    throw new Error(`${where}: benchClose has ${benchClose.length} values for ${bars.length} bars`);
  }
  if (bars.length < FEATURE_MIN_BARS) {
    throw new Error(`${where}: needs at least ${FEATURE_MIN_BARS} bars, got ${bars.length}`);
  }
  for (let i = 0; i < bars.length; i++) {
    const date = (bars[i] as Bar).date;
    if (typeof date !== 'string' || !DATE_RE.test(date)) {
      throw new Error(`${where}: bars[${i}].date must be YYYY-MM-DD, got ${String(date)}`);
    }
    if (i > 0) {
      const prev = (bars[i - 1] as Bar).date;
      if (!(prev < date)) {
        throw new Error(
          `${where}: bar dates must be strictly increasing, got bars[${i - 1}].date ${prev} then bars[${i}].date ${date}`,
        );
      }
    }
  }

  const n = bars.length;
  const input = engineInputOf(bars, benchClose);
  const close = input.close;

  let features: SymbolFeatures;
  let engineRow: Array<number | null>;
  try {
    const result = engine.compute(input, n);
    engineRow = result.values.map((column) => {
      const v = (column as Float64Array)[n - 1] as number;
      return Number.isFinite(v) ? v : null;
    });
    const fromEngine = {} as Record<keyof typeof ENGINE_COLUMN_OF, number>;
    for (const [field, column] of Object.entries(ENGINE_COLUMN_OF)) {
      fromEngine[field as keyof typeof ENGINE_COLUMN_OF] = lastOf(result, column, n);
    }
    features = {
      symbol,
      asOf: (bars[n - 1] as Bar).date,
      bars: n,
      close: close[n - 1] as number,
      ...fromEngine,
      ret20: last(simpleReturn(close, RET_LAG)),
      vol20: last(rollingStdev(logReturns(close), VOL_PERIOD)),
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${where}: ${message}`, { cause: err });
  }

  for (const column of FEATURE_COLUMNS) {
    const value = features[column];
    if (!Number.isFinite(value)) {
      throw new Error(`${where}: feature ${column} is not finite, got ${value} as of ${features.asOf}`);
    }
  }
  return { features, engineRow };
}

/**
 * The benchmark's close on each of `dates` (NaN where the benchmark has no bar that day): the
 * `benchClose` input of {@link computeFeatureRow}.
 * @param dates ascending `YYYY-MM-DD` dates of the symbol's bars; `benchmark` ascending bars.
 */
export function alignBenchmark(dates: readonly string[], benchmark: readonly Pick<Bar, 'date' | 'close'>[]): Float64Array {
  const out = new Float64Array(dates.length).fill(Number.NaN);
  let j = 0;
  for (let i = 0; i < dates.length; i++) {
    const d = dates[i] as string;
    while (j < benchmark.length && (benchmark[j] as Bar).date < d) j++;
    if (j < benchmark.length && (benchmark[j] as Bar).date === d) out[i] = (benchmark[j] as Bar).close;
  }
  return out;
}
