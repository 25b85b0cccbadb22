/** Value check on one series: SMA20, Bollinger 20/2 and OBV from the engine vs tulind (speed runs assert nothing). */
import { allocateOutputs, engineSeries, type TaKernels } from './impl-engine';
import { agreement, toTulindInputs, type Agreement, type Tulind } from './impl-tulind';
import type { Series } from './synthetic';

export function sanityCheck(k: TaKernels, t: Tulind, s: Series): Agreement[] {
  const o = allocateOutputs(s.close.length);
  engineSeries(k, s, o);
  const x = toTulindInputs(s);
  const [sma] = t.call('sma')(x.close, [20]) as [number[]];
  const [lower, middle, upper] = t.call('bbands')(x.close, [20, 2]) as [number[], number[], number[]];
  const [obv] = t.call('obv')(x.closeVolume, []) as [number[]];
  return [
    agreement('sma_20', o.sma, sma),
    agreement('bb_upper_20_2', o.bbUpper, upper),
    agreement('bb_middle_20_2', o.bbMiddle, middle),
    agreement('bb_lower_20_2', o.bbLower, lower),
    agreement('obv', o.obv, obv),
  ];
}
