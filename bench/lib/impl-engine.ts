/**
 * The engine side of the 10-indicator comparison: the batch kernels of
 * lambdas/core/feature-engine/kernels/ta.ts, called with outputs preallocated once and reused for
 * every series. The module is loaded dynamically (from the .ts under tsx, or from an esbuild bundle in
 * the Node 20 child) and checked at run time against the signatures below.
 */
import type { Series } from './synthetic';

/** The kernel signatures the benchmark relies on (outputs are preallocated by the caller): the engine's own. */
export type TaKernels = Pick<typeof import('../../lambdas/core/feature-engine/kernels/ta'), (typeof KERNEL_NAMES)[number]>;

export const KERNEL_NAMES = [
  'smaInto',
  'emaInto',
  'rsiInto',
  'macdInto',
  'atrInto',
  'bollingerInto',
  'adxInto',
  'stochInto',
  'obvInto',
  'cciInto',
] as const;

/** Returns the module as `TaKernels`, or throws naming the missing functions. */
export function asKernels(mod: unknown): TaKernels {
  const record = (mod ?? {}) as Record<string, unknown>;
  const missing = KERNEL_NAMES.filter((name) => typeof record[name] !== 'function');
  if (missing.length > 0) throw new Error(`kernels module lacks ${missing.join(', ')}`);
  return record as unknown as TaKernels;
}

/** The 15 output buffers of the 10 indicators, allocated once for series of `bars` bars. */
export interface EngineOutputs {
  sma: Float64Array;
  ema: Float64Array;
  rsi: Float64Array;
  macd: Float64Array;
  macdSignal: Float64Array;
  macdHist: Float64Array;
  atr: Float64Array;
  bbUpper: Float64Array;
  bbMiddle: Float64Array;
  bbLower: Float64Array;
  adx: Float64Array;
  stochK: Float64Array;
  stochD: Float64Array;
  obv: Float64Array;
  cci: Float64Array;
}

export function allocateOutputs(bars: number): EngineOutputs {
  const f = (): Float64Array => new Float64Array(bars);
  return {
    sma: f(), ema: f(), rsi: f(), macd: f(), macdSignal: f(), macdHist: f(), atr: f(),
    bbUpper: f(), bbMiddle: f(), bbLower: f(), adx: f(), stochK: f(), stochD: f(), obv: f(), cci: f(),
  };
}

/** The 10 indicators on one series: SMA20, EMA20, RSI14, MACD 12/26/9, ATR14, BB 20/2, ADX14, Stoch 14/3/3, OBV, CCI20. */
export function engineSeries(k: TaKernels, s: Series, o: EngineOutputs): void {
  k.smaInto(s.close, 20, o.sma);
  k.emaInto(s.close, 20, o.ema);
  k.rsiInto(s.close, 14, o.rsi);
  k.macdInto(s.close, 12, 26, 9, o.macd, o.macdSignal, o.macdHist);
  k.atrInto(s.high, s.low, s.close, 14, o.atr);
  k.bollingerInto(s.close, 20, 2, o.bbUpper, o.bbMiddle, o.bbLower);
  k.adxInto(s.high, s.low, s.close, 14, o.adx);
  k.stochInto(s.high, s.low, s.close, 14, 3, 3, o.stochK, o.stochD);
  k.obvInto(s.close, s.volume, o.obv);
  k.cciInto(s.high, s.low, s.close, 20, o.cci);
}

/** A pass over all series (views prepared once); returns a checksum of the last values. */
export function makeEnginePass(k: TaKernels, series: readonly Series[], bars: number): () => number {
  const o = allocateOutputs(bars);
  const last = bars - 1;
  return () => {
    let check = 0;
    for (const s of series) {
      engineSeries(k, s, o);
      check += (o.sma[last] as number) + (o.adx[last] as number) + (o.cci[last] as number);
    }
    return check;
  };
}

/** Keys of the per-indicator breakdown (same as the C program's). */
export const INDICATOR_KEYS = ['sma', 'ema', 'rsi', 'macd', 'atr', 'bbands', 'adx', 'stoch', 'obv', 'cci'] as const;
export type IndicatorKey = (typeof INDICATOR_KEYS)[number];

/** One indicator alone over all series, per key (for the per-indicator breakdown). */
export function makeEngineIndicatorPasses(k: TaKernels, series: readonly Series[], bars: number): Record<IndicatorKey, () => number> {
  const o = allocateOutputs(bars);
  const last = bars - 1;
  const each = (run: (s: Series) => void, out: Float64Array) => (): number => {
    for (const s of series) run(s);
    return out[last] as number;
  };
  return {
    sma: each((s) => k.smaInto(s.close, 20, o.sma), o.sma),
    ema: each((s) => k.emaInto(s.close, 20, o.ema), o.ema),
    rsi: each((s) => k.rsiInto(s.close, 14, o.rsi), o.rsi),
    macd: each((s) => k.macdInto(s.close, 12, 26, 9, o.macd, o.macdSignal, o.macdHist), o.macdHist),
    atr: each((s) => k.atrInto(s.high, s.low, s.close, 14, o.atr), o.atr),
    bbands: each((s) => k.bollingerInto(s.close, 20, 2, o.bbUpper, o.bbMiddle, o.bbLower), o.bbUpper),
    adx: each((s) => k.adxInto(s.high, s.low, s.close, 14, o.adx), o.adx),
    stoch: each((s) => k.stochInto(s.high, s.low, s.close, 14, 3, 3, o.stochK, o.stochD), o.stochD),
    obv: each((s) => k.obvInto(s.close, s.volume, o.obv), o.obv),
    cci: each((s) => k.cciInto(s.high, s.low, s.close, 20, o.cci), o.cci),
  };
}
