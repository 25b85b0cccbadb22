/**
 * Model formats behind the predictor port. One loader per `ModelArtifact.format`; adding a format
 * (e.g. LightGBM's text format) means adding one entry here, nothing in the port or the predict step.
 */
import { parseModelArtifact, type ModelArtifact, type ModelLoader, type Predictor } from './artifact';
import { loadRidge, RIDGE_FORMAT } from './ridge';
import { loadXGBoost, XGBOOST_JSON_FORMAT } from './xgboost';

/** Loaders by format key. */
export const MODEL_LOADERS: Readonly<Record<string, ModelLoader>> = {
  [RIDGE_FORMAT]: loadRidge,
  [XGBOOST_JSON_FORMAT]: loadXGBoost,
};

/**
 * Validates an artifact and loads it with its format's loader.
 * @throws Error naming the format when no loader knows it, or the loader's own error naming the field.
 */
export function loadPredictor(value: unknown | ModelArtifact): Predictor {
  const artifact = parseModelArtifact(value);
  const loader = MODEL_LOADERS[artifact.format];
  if (!loader) {
    throw new Error(`model artifact ${artifact.id}: format ${artifact.format} has no loader (known: ${Object.keys(MODEL_LOADERS).join(', ')})`);
  }
  return loader(artifact);
}
