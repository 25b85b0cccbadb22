/**
 * Step 2, features: computes per symbol SMA(20), SMA(50), RSI(14) and ATR(14) (Wilder), the
 * 20-day return and 20-day volatility from the fetched decision window.
 * Artifact in: UNIVERSE, BARS#<symbol>. Artifact out: FEATURES.
 */
import { computeFeatures, type SymbolFeatures } from '../core/features';
import type { Deps } from '../wiring/deps';
import { fromColumns, type BarsArtifact, type UniverseArtifact } from './fetch';
import { lambdaDeps, makeStepHandler } from './shared/middleware';
import { ARTIFACTS, PipelineStateSchema, type PipelineState } from './shared/pipeline-state';

/** Artifact FEATURES. */
export interface FeaturesArtifact {
  features: SymbolFeatures[];
  /** Symbols whose features could not be computed, with the error. */
  skipped: Array<{ symbol: string; reason: string }>;
}

/**
 * Computes features for every usable symbol of the run.
 * @returns counts of symbols computed and skipped (a skipped symbol carries a FEATURE_ERROR reason).
 * @throws Error when an artifact of the run is missing (steps out of order).
 */
export async function featuresStep(state: PipelineState, deps: Deps): Promise<{ symbols: number; skipped: number }> {
  const universe = await deps.artifacts.get<UniverseArtifact>(state.runId, ARTIFACTS.universe);
  const bars = await deps.artifacts.getMany<BarsArtifact>(state.runId, universe.usable.map(ARTIFACTS.bars));
  const artifact: FeaturesArtifact = { features: [], skipped: [] };
  for (const symbol of universe.usable) {
    const columns = bars.get(ARTIFACTS.bars(symbol));
    if (!columns) throw new Error(`artifact ${ARTIFACTS.bars(symbol)} of run ${state.runId} is missing`);
    try {
      artifact.features.push(computeFeatures(symbol, fromColumns(columns)));
    } catch (error) {
      artifact.skipped.push({ symbol, reason: `FEATURE_ERROR: ${(error as Error).message}` });
    }
  }
  await deps.artifacts.put(state.runId, ARTIFACTS.features, artifact, deps.clock.now());
  return { symbols: artifact.features.length, skipped: artifact.skipped.length };
}

/** The step as a middy Lambda handler running with the given deps (the local runner passes its own). */
export const createHandler = (getDeps: () => Deps) => makeStepHandler('features', PipelineStateSchema, featuresStep, getDeps);
/** Lambda entry point: deps from the function's environment. */
export const handler = createHandler(lambdaDeps());
