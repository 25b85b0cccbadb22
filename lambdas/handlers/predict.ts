/**
 * Step 3, predict: ranks the tradable symbols (the benchmark is never ranked).
 * - `predictor: model` (default): the walk-forward snapshot of the model bundle trained before the
 *   session (`selectSnapshot`: the latest whose as-of date is strictly before the trading date) scores
 *   each symbol's feature-engine row (core/predict `rankByModel`). No such snapshot: every symbol is
 *   ineligible with MODEL_NOT_AVAILABLE and a MEDIUM alert says why.
 * - `predictor: momentum`: the volatility-scaled momentum baseline (core/predict `rankMomentum`).
 * Artifact in: FEATURES. Artifact out: SCORES.
 */
import type { ModelArtifact, Predictor } from '../core/model/artifact';
import { selectSnapshot } from '../core/model/artifact';
import { loadPredictor } from '../core/model/registry';
import { noModelScores, rankByModel, rankMomentum, type Score } from '../core/predict';
import type { Deps } from '../wiring/deps';
import type { FeaturesArtifact } from './features';
import { lambdaDeps, makeStepHandler } from './shared/middleware';
import { ARTIFACTS, PipelineStateSchema, type PipelineState } from './shared/pipeline-state';

/** Loaded predictors by artifact (a warm Lambda or a replay loads each snapshot once). */
const predictors = new WeakMap<ModelArtifact, Predictor>();

function predictorOf(artifact: ModelArtifact): Predictor {
  let p = predictors.get(artifact);
  if (!p) {
    p = loadPredictor(artifact);
    predictors.set(artifact, p);
  }
  return p;
}

/** What predict returns into the workflow state (small: counts, ids, the five best symbols). */
export interface PredictSummary {
  scored: number;
  eligible: number;
  top: string[];
  /** `momentum`, or the model snapshot id that scored the session (null: none was available). */
  model: string | null;
}

/**
 * Scores and ranks the tradable symbols.
 * @returns counts, the model used and the five best-ranked symbols.
 * @throws Error when the model bundle cannot be loaded or reads a feature the feature step does not
 *   compute (the execution fails and alerts: a configuration error, not a per-symbol one).
 */
export async function predictStep(state: PipelineState, deps: Deps): Promise<PredictSummary> {
  const artifact = await deps.artifacts.get<FeaturesArtifact>(state.runId, ARTIFACTS.features);
  const tradable = artifact.features.filter((f) => f.symbol !== deps.config.benchmark);
  let scores: Score[];
  let model: string | null;
  if (deps.config.predictor === 'momentum') {
    scores = rankMomentum(tradable);
    model = 'momentum';
  } else {
    const bundle = await deps.model.load();
    const snapshot = selectSnapshot(bundle, state.tradingDate);
    const symbols = tradable.map((f) => f.symbol);
    if (!snapshot) {
      const why = `no snapshot of model ${bundle.name} has an as-of date before ${state.tradingDate} (first: ${bundle.snapshots[0]!.trainingWindow.asOf}); a model trained on the session's future is never used`;
      scores = noModelScores(symbols, why);
      model = null;
      await deps.alerts.publish({ severity: 'MEDIUM', type: 'MODEL_NOT_AVAILABLE', message: why, runId: state.runId, tradingDate: state.tradingDate, at: deps.clock.now().toISOString() });
    } else if (!artifact.engine) {
      throw new Error(`artifact ${ARTIFACTS.features} of run ${state.runId} has no feature-engine rows; the model needs them`);
    } else {
      scores = rankByModel(symbols, artifact.engine, predictorOf(snapshot), deps.config.minPredictedReturn);
      model = snapshot.id;
    }
  }
  await deps.artifacts.put(state.runId, ARTIFACTS.scores, scores, deps.clock.now());
  const eligible = scores.filter((s) => s.eligible);
  const summary: PredictSummary = { scored: scores.length, eligible: eligible.length, top: eligible.slice(0, 5).map((s) => s.symbol), model };
  await deps.artifacts.put(state.runId, ARTIFACTS.prediction, summary, deps.clock.now());
  return summary;
}

/** The step as a middy Lambda handler running with the given deps (the local runner passes its own). */
export const createHandler = (getDeps: () => Deps) => makeStepHandler('predict', PipelineStateSchema, predictStep, getDeps);
/** Lambda entry point: deps from the function's environment. */
export const handler = createHandler(lambdaDeps());
