/**
 * npm `technicalindicators` (pure JS) for the 10-indicator comparison. Inputs are converted to plain
 * arrays before timing; each `X.calculate` allocates its result (objects for MACD/BB/ADX/Stoch).
 * Its Stochastic has no %K slowing parameter: it computes fast %K(14) and %D = SMA3(%K), a little
 * less work than Stoch 14/3/3. MACD uses EMAs (SimpleMAOscillator/SimpleMASignal false).
 */
import { ADX, ATR, BollingerBands, CCI, EMA, MACD, OBV, RSI, SMA, Stochastic } from 'technicalindicators';
import type { Series } from './synthetic';

export interface TiInputs {
  high: number[];
  low: number[];
  close: number[];
  volume: number[];
}

export function toTiInputs(s: Series): TiInputs {
  return { high: Array.from(s.high), low: Array.from(s.low), close: Array.from(s.close), volume: Array.from(s.volume) };
}

/** The 10 indicators on one series; returns a small checksum. */
export function tiSeries(x: TiInputs): number {
  const { high, low, close, volume } = x;
  const sma = SMA.calculate({ period: 20, values: close });
  EMA.calculate({ period: 20, values: close });
  RSI.calculate({ period: 14, values: close });
  MACD.calculate({ values: close, fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMAOscillator: false, SimpleMASignal: false });
  ATR.calculate({ high, low, close, period: 14 });
  BollingerBands.calculate({ period: 20, stdDev: 2, values: close });
  const adx = ADX.calculate({ high, low, close, period: 14 });
  Stochastic.calculate({ high, low, close, period: 14, signalPeriod: 3 });
  OBV.calculate({ close, volume });
  const cci = CCI.calculate({ high, low, close, period: 20 });
  return (sma[sma.length - 1] ?? 0) + (adx[adx.length - 1]?.adx ?? 0) + (cci[cci.length - 1] ?? 0);
}

export function makeTiPass(inputs: readonly TiInputs[]): () => number {
  return () => {
    let check = 0;
    for (const x of inputs) check += tiSeries(x);
    return check;
  };
}
