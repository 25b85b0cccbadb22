/**
 * The predictor port: a versioned model artifact, and the one interface every model format is
 * loaded behind. Pure: no I/O, no clock. Artifacts are plain JSON values; the adapters that read
 * files or bundled JSON hand them here as `unknown`, and {@link parseModelArtifact} validates them.
 *
 * A model predicts, for each symbol at the feature row of date t (the last bar before the decision
 * session), its forward `horizonSessions`-session return from close_t to close_{t+h} (fraction),
 * cross-sectionally demeaned over the symbols of date t (see the trainer, `model/training.ts`).
 * Only the ranking and the sign of a prediction are used downstream.
 */
import { z } from 'zod';

/** Version of the artifact envelope below; a loader refuses any other. */
export const MODEL_ARTIFACT_SCHEMA_VERSION = 1;

/** One validation fold's out-of-sample reading. Dates are feature-row dates (`YYYY-MM-DD`, New York sessions). */
export const ValidationFoldSchema = z.object({
  /** 1-based fold number within its method. */
  fold: z.number().int().min(1),
  /** `purged-kfold`: the k-fold CV of this artifact's own training set; `walk-forward`: the sessions after a snapshot's as-of date. */
  kind: z.enum(['purged-kfold', 'walk-forward']),
  testFrom: z.string(),
  testTo: z.string(),
  trainSamples: z.number().int().min(0),
  testSamples: z.number().int().min(0),
  /** Training samples dropped because their label interval overlaps the test fold (purge). */
  purged: z.number().int().min(0),
  /** Training samples dropped right after the test fold (embargo). */
  embargoed: z.number().int().min(0),
  /** Mean over test dates of the cross-sectional Spearman rank correlation of prediction and realized label (information coefficient). */
  ic: z.number(),
  /** Fraction of test samples whose prediction has the sign of the realized label (0..1). */
  hitRate: z.number().min(0).max(1),
});
export type ValidationFold = z.infer<typeof ValidationFoldSchema>;

/** How the artifact was validated, and the per-fold readings. */
export const ValidationReportSchema = z.object({
  /** Free text naming the method, e.g. `purged 5-fold CV, purge 5 sessions, embargo 1% of samples`. */
  method: z.string(),
  /** Purge length in sessions (= the label horizon). */
  purgeSessions: z.number().int().min(0),
  /** Embargo as a fraction of the samples (≥ 0.01). */
  embargoFraction: z.number().min(0.01).max(0.5),
  folds: z.array(ValidationFoldSchema),
  meanIc: z.number(),
  meanHitRate: z.number().min(0).max(1),
});
export type ValidationReport = z.infer<typeof ValidationReportSchema>;

/** The artifact envelope, common to every format; `model` is the format's own body. */
export const ModelArtifactSchema = z.object({
  schemaVersion: z.literal(MODEL_ARTIFACT_SCHEMA_VERSION),
  /** Unique, stable id: `<name>@<trainedThrough>` for the built-in trainer. */
  id: z.string().min(1),
  /** Loader key: `ridge-v1`, `xgboost-json`, … (see `model/registry.ts`). */
  format: z.string().min(1),
  /** Feature-engine column names (docs/FEATURES.md), in the order the model reads them. */
  features: z.array(z.string().min(1)).min(1),
  target: z.object({
    kind: z.literal('forward_return_demeaned'),
    /** Label horizon h in sessions: close_t → close_{t+h}. */
    horizonSessions: z.number().int().min(1),
  }),
  trainingWindow: z.object({
    /** First and last feature-row date of the training samples. */
    from: z.string(),
    to: z.string(),
    /**
     * The as-of date: no label used in training reads a bar after it (to + h sessions ≤ asOf). The
     * artifact may decide only sessions strictly after it.
     */
    asOf: z.string(),
  }),
  validation: ValidationReportSchema,
  /** Format-specific body (coefficients, trees, …), validated by the format's loader. */
  model: z.unknown(),
});
export type ModelArtifact = z.infer<typeof ModelArtifactSchema>;

/** A walk-forward bundle: one artifact per retraining, ascending by as-of date. */
export const ModelBundleSchema = z.object({
  schemaVersion: z.literal(MODEL_ARTIFACT_SCHEMA_VERSION),
  kind: z.literal('walk-forward-bundle'),
  name: z.string().min(1),
  /** How it was made, e.g. `npm run train -- --horizon 5 --retrain-every 21`. */
  createdBy: z.string(),
  snapshots: z.array(ModelArtifactSchema).min(1),
  /** Out-of-sample readings of each snapshot on the sessions until the next one (walk-forward folds). */
  walkForward: z.array(ValidationFoldSchema),
});
export type ModelBundle = z.infer<typeof ModelBundleSchema>;

/** A loaded model: predictions for rows of its own feature list. */
export interface Predictor {
  readonly artifact: ModelArtifact;
  /**
   * Predicts one value per row.
   * @param x row-major matrix, `rows × artifact.features.length`, feature values in artifact order;
   *   NaN marks a missing value (each format states how it treats one).
   * @returns one prediction per row (fraction for the built-in target).
   * @throws Error when `x.length !== rows × features.length`.
   */
  predict(x: Float64Array, rows: number): Float64Array;
}

/** Builds a {@link Predictor} from a validated envelope; throws an Error naming the field and value when the body is invalid. */
export type ModelLoader = (artifact: ModelArtifact) => Predictor;

function describe(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Validates an artifact envelope.
 * @throws Error `model artifact <where>: <field>: <problem>` naming the offending fields.
 */
export function parseModelArtifact(value: unknown, where = ''): ModelArtifact {
  const parsed = ModelArtifactSchema.safeParse(value);
  if (!parsed.success) throw new Error(`model artifact ${where}: ${describe(parsed.error.issues)}`.replace('  ', ' '));
  return parsed.data;
}

/**
 * Validates a walk-forward bundle, and that its snapshots are ascending by as-of date with unique
 * ids and one label horizon.
 * @throws Error naming the field and value.
 */
export function parseModelBundle(value: unknown, where = ''): ModelBundle {
  const parsed = ModelBundleSchema.safeParse(value);
  if (!parsed.success) throw new Error(`model bundle ${where}: ${describe(parsed.error.issues)}`.replace('  ', ' '));
  const bundle = parsed.data;
  const ids = new Set<string>();
  bundle.snapshots.forEach((s, i) => {
    if (ids.has(s.id)) throw new Error(`model bundle ${where}: snapshots[${i}].id ${s.id} appears twice`);
    ids.add(s.id);
    const prev = bundle.snapshots[i - 1];
    if (prev && !(prev.trainingWindow.asOf < s.trainingWindow.asOf)) {
      throw new Error(`model bundle ${where}: snapshots[${i}].trainingWindow.asOf ${s.trainingWindow.asOf} is not after ${prev.trainingWindow.asOf}`);
    }
  });
  return bundle;
}

/**
 * The snapshot a session may use: the latest whose as-of date is strictly before the session
 * (`YYYY-MM-DD`), so no label it learned from reads the session's own bar or a later one.
 * @returns the snapshot, or null when every snapshot was trained after the session (a replay that
 *   starts before the first snapshot must not use a model that has seen its future).
 */
export function selectSnapshot(bundle: ModelBundle, sessionDate: string): ModelArtifact | null {
  let chosen: ModelArtifact | null = null;
  for (const s of bundle.snapshots) {
    if (s.trainingWindow.asOf < sessionDate) chosen = s;
    else break;
  }
  return chosen;
}
