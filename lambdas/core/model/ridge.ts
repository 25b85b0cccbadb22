/**
 * The built-in model format `ridge-v1`: ridge regression (Hoerl & Kennard 1970, "Ridge Regression:
 * Biased Estimation for Nonorthogonal Problems", Technometrics 12(1)) on standardized features,
 * with an unpenalized intercept.
 *
 * Fit (training rows i = 1..n, features j = 1..p):
 * - standardize every column with the TRAINING mean and population stdev,
 *   z_ij = (x_ij − mean_j) / scale_j, scale_j = sqrt(Σ_i (x_ij − mean_j)² / n) (1 when that is 0:
 *   a constant column then standardizes to 0 and gets coefficient 0);
 * - solve the normal equations (ZᵀZ + λI) β = Zᵀ(y − ȳ) by Cholesky (ml-matrix);
 * - intercept = ȳ (the columns of Z have mean 0, so the unpenalized intercept is the label mean).
 *
 * λ is the penalty on the SUM of squared residuals (not the mean): with a Gaussian prior
 * β_j ~ N(0, τ²) on the standardized coefficients and residual variance σ², the posterior mean is
 * the ridge solution with λ = σ²/τ², whatever n is, so shrinkage fades as training data grows.
 *
 * Predict: ŷ = intercept + Σ_j coef_j · (x_j − mean_j) / scale_j. A missing input (NaN, or any
 * non-finite value) is imputed with the training mean of its column, i.e. it contributes 0 after
 * standardization: the prediction falls back to what the other features say.
 *
 * Pure: no I/O, no clock.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { z } from 'zod';
import type { ModelArtifact, ModelLoader, Predictor } from './artifact';

/** Loader key of this format in `ModelArtifact.format` (see `model/registry.ts`). */
export const RIDGE_FORMAT = 'ridge-v1';

/**
 * The `model` body of a `ridge-v1` artifact; every array has one entry per artifact feature, in
 * artifact order.
 */
export const RidgeBodySchema = z.object({
  /** Training mean of each feature (feature units). */
  mean: z.array(z.number()),
  /** Training population stdev of each feature (feature units; 1 for a constant column), > 0. */
  scale: z.array(z.number().positive()),
  /** Coefficient of each STANDARDIZED feature (label units, here fraction, per standard deviation). */
  coef: z.array(z.number()),
  /** Training label mean (label units). */
  intercept: z.number(),
  /** The penalty λ ≥ 0 it was fitted with (informational; predictions do not use it). */
  lambda: z.number().min(0),
});
/** See {@link RidgeBodySchema}. */
export type RidgeBody = z.infer<typeof RidgeBodySchema>;

/** Options of {@link fitRidge}. */
export interface RidgeFitOptions {
  /** Penalty λ ≥ 0 on Σ β_j² (standardized coefficients), against the SUM of squared residuals. */
  lambda: number;
  /**
   * Fit on these rows only (indices into `x` rows and `y`, each in [0, rows)); default every row.
   * Lets cross-validation fit a fold without copying the matrix.
   */
  rowIndex?: ArrayLike<number>;
}

/**
 * Fits ridge regression on standardized columns (see the module comment for the formulas).
 *
 * @param x row-major matrix `rows × cols`, feature values (finite; the dataset drops NaN samples).
 * @param rows number of rows of `x`.
 * @param cols number of features p ≥ 1.
 * @param y label per row (finite), length ≥ rows.
 * @returns the body `{ mean, scale, coef, intercept, lambda }` (p entries per array).
 * @throws RangeError when shapes disagree, λ is negative or not finite, a row index is out of
 *   range, there is no row, or a used value of `x`/`y` is not finite (naming the row and column);
 *   Error when λ = 0 and ZᵀZ is singular (collinear or constant columns: use λ > 0).
 */
export function fitRidge(x: Float64Array, rows: number, cols: number, y: ArrayLike<number>, options: RidgeFitOptions): RidgeBody {
  const { lambda } = options;
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be an integer >= 0, got ${String(rows)}`);
  if (!Number.isInteger(cols) || cols < 1) throw new RangeError(`cols must be an integer >= 1, got ${String(cols)}`);
  if (x.length !== rows * cols) throw new RangeError(`x.length must be rows × cols = ${rows * cols}, got ${x.length}`);
  if (y.length < rows) throw new RangeError(`y.length must be >= rows ${rows}, got ${y.length}`);
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0) throw new RangeError(`lambda must be a finite number >= 0, got ${String(lambda)}`);
  const index = options.rowIndex;
  const n = index === undefined ? rows : index.length;
  if (n === 0) throw new RangeError('fitRidge needs at least one training row, got none');
  const rowAt = (k: number): number => {
    if (index === undefined) return k;
    const r = index[k] as number;
    if (!Number.isInteger(r) || r < 0 || r >= rows) throw new RangeError(`rowIndex[${k}] must be an integer in [0, ${rows}), got ${String(r)}`);
    return r;
  };

  // Means (and a finiteness check of every used value).
  const mean = new Float64Array(cols);
  let yMean = 0;
  for (let k = 0; k < n; k++) {
    const r = rowAt(k);
    const base = r * cols;
    for (let j = 0; j < cols; j++) {
      const v = x[base + j] as number;
      if (!Number.isFinite(v)) throw new RangeError(`x[row ${r}, col ${j}] must be finite, got ${String(v)}`);
      mean[j] = (mean[j] as number) + v;
    }
    const t = y[r] as number;
    if (!Number.isFinite(t)) throw new RangeError(`y[${r}] must be finite, got ${String(t)}`);
    yMean += t;
  }
  for (let j = 0; j < cols; j++) mean[j] = (mean[j] as number) / n;
  yMean /= n;

  // Population stdevs (two-pass, for accuracy).
  const scale = new Float64Array(cols);
  for (let k = 0; k < n; k++) {
    const base = rowAt(k) * cols;
    for (let j = 0; j < cols; j++) {
      const d = (x[base + j] as number) - (mean[j] as number);
      scale[j] = (scale[j] as number) + d * d;
    }
  }
  for (let j = 0; j < cols; j++) {
    const s = Math.sqrt((scale[j] as number) / n);
    scale[j] = s > 0 && Number.isFinite(s) ? s : 1;
  }

  // ZᵀZ (upper triangle, mirrored) and Zᵀ(y − ȳ).
  const gram = new Float64Array(cols * cols);
  const rhs = new Float64Array(cols);
  const z = new Float64Array(cols);
  for (let k = 0; k < n; k++) {
    const r = rowAt(k);
    const base = r * cols;
    for (let j = 0; j < cols; j++) z[j] = ((x[base + j] as number) - (mean[j] as number)) / (scale[j] as number);
    const t = (y[r] as number) - yMean;
    for (let j = 0; j < cols; j++) {
      const zj = z[j] as number;
      rhs[j] = (rhs[j] as number) + zj * t;
      const row = j * cols;
      for (let l = j; l < cols; l++) gram[row + l] = (gram[row + l] as number) + zj * (z[l] as number);
    }
  }
  const a = new Matrix(cols, cols);
  for (let j = 0; j < cols; j++) {
    for (let l = j; l < cols; l++) {
      const v = (gram[j * cols + l] as number) + (j === l ? lambda : 0);
      a.set(j, l, v);
      a.set(l, j, v);
    }
  }
  const cholesky = new CholeskyDecomposition(a);
  if (!cholesky.isPositiveDefinite()) {
    throw new Error(`ridge normal equations are singular with lambda ${lambda} (collinear or constant feature columns over ${n} rows): use lambda > 0`);
  }
  const beta = cholesky.solve(Matrix.columnVector(Array.from(rhs)));
  const coef: number[] = [];
  for (let j = 0; j < cols; j++) coef.push(beta.get(j, 0));
  return { mean: Array.from(mean), scale: Array.from(scale), coef, intercept: yMean, lambda };
}

/**
 * Predictions of a ridge body for `rows` rows (formula in the module comment). A non-finite input
 * (NaN marks a missing value) is imputed with the training mean, i.e. contributes 0.
 * @param body a fitted body (arrays of equal length p).
 * @param x row-major matrix `rows × p`, features in body order.
 * @returns one prediction per row (label units).
 * @throws Error when `x.length !== rows × p`.
 */
export function predictRidge(body: RidgeBody, x: Float64Array, rows: number): Float64Array {
  const cols = body.coef.length;
  if (!Number.isInteger(rows) || rows < 0 || x.length !== rows * cols) {
    throw new Error(`x.length must be rows × features = ${String(rows)} × ${cols}, got ${x.length}`);
  }
  // Fold the standardization into per-column weights: coef_j · (x_j − mean_j) / scale_j.
  const weight = new Float64Array(cols);
  for (let j = 0; j < cols; j++) weight[j] = (body.coef[j] as number) / (body.scale[j] as number);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let sum = body.intercept;
    for (let j = 0; j < cols; j++) {
      const v = x[base + j] as number;
      if (Number.isFinite(v)) sum += (weight[j] as number) * (v - (body.mean[j] as number));
    }
    out[r] = sum;
  }
  return out;
}

/**
 * {@link ModelLoader} of `ridge-v1`: validates `artifact.model` as a {@link RidgeBody} whose arrays
 * each hold one entry per `artifact.features` entry, and returns a {@link Predictor} over
 * {@link predictRidge} (NaN inputs imputed with the training mean).
 * @throws Error `model artifact <id>: model.<field>: <problem>` naming the first offending fields
 *   (missing or non-numeric field, non-positive scale, negative lambda, wrong array length).
 */
export const loadRidge: ModelLoader = (artifact: ModelArtifact): Predictor => {
  const parsed = RidgeBodySchema.safeParse(artifact.model);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .slice(0, 5)
      .map((i) => `model.${i.path.join('.')}`.replace(/\.$/, '') + `: ${i.message}`)
      .join('; ');
    throw new Error(`model artifact ${artifact.id}: ${detail}`);
  }
  const body = parsed.data;
  const p = artifact.features.length;
  for (const field of ['mean', 'scale', 'coef'] as const) {
    if (body[field].length !== p) {
      throw new Error(`model artifact ${artifact.id}: model.${field} has ${body[field].length} values but features has ${p}`);
    }
  }
  return {
    artifact,
    predict(x: Float64Array, rows: number): Float64Array {
      return predictRidge(body, x, rows);
    },
  };
};
