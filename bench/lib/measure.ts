/** Measurements shared by the main process (Node 24) and the tulind child (the Node tulind loads in). */
import { performance } from 'node:perf_hooks';
import { asKernels, INDICATOR_KEYS, makeEngineIndicatorPasses, makeEnginePass, type IndicatorKey } from './impl-engine';
import { makeTulindPass, toTulindInputs, type Agreement, type TulindLoad } from './impl-tulind';
import { sanityCheck } from './sanity';
import { seriesView, type SyntheticSet } from './synthetic';
import { timePasses, type Timing } from './timing';

export type EngineMeasure =
  | { ok: true; timing: Timing; /** Median seconds of each indicator alone over all series (when asked). */ perIndicatorS: Partial<Record<IndicatorKey, number>> }
  | { ok: false; reason: string };

export type TulindMeasure =
  | {
      ok: true;
      version: string;
      from: string;
      /** Seconds to turn the Float64Array inputs into the plain arrays tulind accepts (untimed in `timing`). */
      prepareS: number;
      timing: Timing;
      sanity: Agreement[] | null;
      sanityError?: string;
    }
  | { ok: false; reason: string };

/** Engine kernels over the whole set, from an already imported kernels module (+ per indicator). */
export function measureEngine(kernelsModule: unknown, set: SyntheticSet, passes: number, indicatorPasses: number | null): EngineMeasure {
  try {
    const k = asKernels(kernelsModule);
    const views = Array.from({ length: set.series }, (_, s) => seriesView(set, s));
    const timing = timePasses(makeEnginePass(k, views, set.bars), passes);
    const perIndicatorS: Partial<Record<IndicatorKey, number>> = {};
    if (indicatorPasses !== null) {
      const each = makeEngineIndicatorPasses(k, views, set.bars);
      for (const key of INDICATOR_KEYS) perIndicatorS[key] = timePasses(each[key], indicatorPasses).medianS;
    }
    return { ok: true, timing, perIndicatorS };
  } catch (error) {
    return { ok: false, reason: `engine kernels failed: ${(error as Error).stack ?? String(error)}` };
  }
}

/** tulind over the whole set when `loadTulind` succeeded here (plus the sanity check when kernels are given). */
export function measureTulind(load: TulindLoad, set: SyntheticSet, passes: number, kernelsModule: unknown | null): TulindMeasure {
  if (!load.ok) return { ok: false, reason: `tulind does not load in Node ${process.version}: ${load.errors.join('; ')}` };
  const t = load.tulind;
  try {
    const start = performance.now();
    const inputs = Array.from({ length: set.series }, (_, s) => toTulindInputs(seriesView(set, s)));
    const prepareS = (performance.now() - start) / 1000;
    const timing = timePasses(makeTulindPass(t, inputs), passes);
    let sanity: Agreement[] | null = null;
    let sanityError: string | undefined;
    if (kernelsModule !== null) {
      try {
        sanity = sanityCheck(asKernels(kernelsModule), t, seriesView(set, 0));
      } catch (error) {
        sanityError = (error as Error).message;
      }
    }
    return { ok: true, version: t.version, from: t.from, prepareS, timing, sanity, ...(sanityError ? { sanityError } : {}) };
  } catch (error) {
    return { ok: false, reason: `tulind loaded from ${t.from} but failed: ${(error as Error).stack ?? String(error)}` };
  }
}
