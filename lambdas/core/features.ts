/**
 * Per-symbol features for the decision session: the last value of each indicator series computed
 * over a symbol's daily bars (see ./indicators for the formulas and their sources).
 *
 * Pure: no I/O, no clock.
 */
import type { Bar } from './bars';
import { atrWilder, logReturns, rollingStdev, rsiWilder, simpleReturn, sma } from './indicators';

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
  /** 20-session average daily volume (simple mean of the last 20 volumes), shares. */
  adv20: number;
}

/** The numeric feature fields of {@link SymbolFeatures}, in report order (identity fields excluded). */
export const FEATURE_COLUMNS = ['close', 'sma20', 'sma50', 'rsi14', 'atr14', 'ret20', 'vol20', 'adv20'] as const satisfies readonly (keyof SymbolFeatures)[];

/** One of {@link FEATURE_COLUMNS}. */
export type FeatureColumn = (typeof FEATURE_COLUMNS)[number];

const SMA_SHORT = 20;
const SMA_LONG = 50;
const RSI_PERIOD = 14;
const ATR_PERIOD = 14;
const RET_LAG = 20;
const VOL_PERIOD = 20;
const ADV_PERIOD = 20;

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
  const where = `computeFeatures(${symbol})`;
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

  const close = Float64Array.from(bars, (b) => b.close);
  const high = Float64Array.from(bars, (b) => b.high);
  const low = Float64Array.from(bars, (b) => b.low);
  const volume = Float64Array.from(bars, (b) => b.volume);

  let features: SymbolFeatures;
  try {
    features = {
      symbol,
      asOf: (bars[bars.length - 1] as Bar).date,
      bars: bars.length,
      close: last(close),
      sma20: last(sma(close, SMA_SHORT)),
      sma50: last(sma(close, SMA_LONG)),
      rsi14: last(rsiWilder(close, RSI_PERIOD)),
      atr14: last(atrWilder(high, low, close, ATR_PERIOD)),
      ret20: last(simpleReturn(close, RET_LAG)),
      vol20: last(rollingStdev(logReturns(close), VOL_PERIOD)),
      adv20: last(sma(volume, ADV_PERIOD)),
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
  return features;
}
