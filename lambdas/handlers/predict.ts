/**
 * Step 3, predict: ranks the tradable symbols with the baseline cross-sectional momentum score
 * (core/predict). The benchmark is never ranked.
 * Artifact in: FEATURES. Artifact out: SCORES.
 */
import { rankMomentum, type Score } from '../core/predict';
import type { Deps } from '../wiring/deps';
import type { FeaturesArtifact } from './features';
import { lambdaDeps, makeStepHandler } from './shared/middleware';
import { ARTIFACTS, PipelineStateSchema, type PipelineState } from './shared/pipeline-state';

/**
 * Scores and ranks the tradable symbols.
 * @returns counts and the five best-ranked symbols.
 */
export async function predictStep(state: PipelineState, deps: Deps): Promise<{ scored: number; eligible: number; top: string[] }> {
  const { features } = await deps.artifacts.get<FeaturesArtifact>(state.runId, ARTIFACTS.features);
  const scores: Score[] = rankMomentum(features.filter((f) => f.symbol !== deps.config.benchmark));
  await deps.artifacts.put(state.runId, ARTIFACTS.scores, scores, deps.clock.now());
  const eligible = scores.filter((s) => s.eligible);
  return { scored: scores.length, eligible: eligible.length, top: eligible.slice(0, 5).map((s) => s.symbol) };
}

/** The step as a middy Lambda handler running with the given deps (the local runner passes its own). */
export const createHandler = (getDeps: () => Deps) => makeStepHandler('predict', PipelineStateSchema, predictStep, getDeps);
/** Lambda entry point: deps from the function's environment. */
export const handler = createHandler(lambdaDeps());
