/**
 * ridge-v1: the closed-form fit on standardized columns (known coefficients, a hand-solved
 * 2-feature case, shrinkage with λ), NaN imputation at prediction time, and the loader's
 * validation of the body.
 */
import { describe, expect, it } from 'vitest';
import { MODEL_ARTIFACT_SCHEMA_VERSION, parseModelArtifact, type ModelArtifact } from '../../../../lambdas/core/model/artifact';
import { fitRidge, loadRidge, predictRidge, RIDGE_FORMAT, type RidgeBody } from '../../../../lambdas/core/model/ridge';
import { prng as rng } from '../../../support/prng';


/** Raw-scale slopes of a body: coef_j / scale_j. */
const rawSlopes = (body: RidgeBody): number[] => body.coef.map((c, j) => c / (body.scale[j] as number));

function artifactWith(model: unknown, features = ['a', 'b']): ModelArtifact {
  return parseModelArtifact({
    schemaVersion: MODEL_ARTIFACT_SCHEMA_VERSION,
    id: 'test@2020-01-02',
    format: RIDGE_FORMAT,
    features,
    target: { kind: 'forward_return_demeaned', horizonSessions: 5 },
    trainingWindow: { from: '2019-01-02', to: '2019-12-24', asOf: '2020-01-02' },
    validation: { method: 'test', purgeSessions: 5, embargoFraction: 0.01, folds: [], meanIc: 0, meanHitRate: 0 },
    model,
  });
}

describe('fitRidge', () => {
  it('recovers known coefficients of a noiseless linear relation (λ = 0) on differently scaled columns', () => {
    const random = rng(7);
    const rows = 500;
    const cols = 3;
    const x = new Float64Array(rows * cols);
    const y = new Float64Array(rows);
    const slope = [2, -3, 0.5];
    for (let r = 0; r < rows; r++) {
      x[r * 3] = random() * 100; // USD-like scale
      x[r * 3 + 1] = random() * 0.01 - 0.005; // return-like scale
      x[r * 3 + 2] = random() * 10 + 50;
      y[r] = 1.5 + slope[0]! * x[r * 3]! + slope[1]! * x[r * 3 + 1]! + slope[2]! * x[r * 3 + 2]!;
    }
    const body = fitRidge(x, rows, cols, y, { lambda: 0 });
    rawSlopes(body).forEach((s, j) => expect(s).toBeCloseTo(slope[j]!, 8));
    const prediction = predictRidge(body, x, rows);
    for (let r = 0; r < rows; r++) expect(prediction[r]).toBeCloseTo(y[r]!, 8);
  });

  it('recovers coefficients through noise within their standard error, and standardizes with the training mean and population stdev', () => {
    const random = rng(11);
    const rows = 20_000;
    const x = new Float64Array(rows * 2);
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const a = random() * 2 - 1;
      const b = a * 0.5 + random(); // correlated columns
      x[r * 2] = a;
      x[r * 2 + 1] = b;
      y[r] = 0.3 * a - 0.7 * b + (random() - 0.5) * 0.2;
    }
    const body = fitRidge(x, rows, 2, y, { lambda: 1 });
    const [sa, sb] = rawSlopes(body);
    expect(sa).toBeCloseTo(0.3, 2);
    expect(sb).toBeCloseTo(-0.7, 2);
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += x[r * 2]!;
    mean /= rows;
    let variance = 0;
    for (let r = 0; r < rows; r++) variance += (x[r * 2]! - mean) ** 2;
    expect(body.mean[0]).toBeCloseTo(mean, 12);
    expect(body.scale[0]).toBeCloseTo(Math.sqrt(variance / rows), 12);
  });

  it('matches a hand-solved 2-feature case: (ZᵀZ + λI)β = Zᵀ(y − ȳ), intercept ȳ', () => {
    // x1 = 1,2,3,4: mean 2.5, population variance 1.25. x2 = 0,1,0,1: mean 0.5, stdev 0.5 → z2 = −1,1,−1,1.
    // y = 1,3,2,5: ȳ = 2.75, y − ȳ = −1.75, 0.25, −0.75, 2.25.
    // ZᵀZ = [[4, c], [c, 4]] with c = Σ(x1 − 2.5)·z2 / √1.25 = 2/√1.25; Zᵀ(y − ȳ) = [5.5/√1.25, 5].
    // λ = 1: A = [[5, c], [c, 5]], det = 25 − 4/1.25 = 21.8;
    // β1 = (5·5.5/√1.25 − c·5)/21.8 = 17.5/(√1.25·21.8), β2 = (5·5 − c·5.5/√1.25)/21.8 = (25 − 8.8)/21.8.
    const x = Float64Array.from([1, 0, 2, 1, 3, 0, 4, 1]);
    const y = Float64Array.from([1, 3, 2, 5]);
    const body = fitRidge(x, 4, 2, y, { lambda: 1 });
    expect(body.mean).toEqual([2.5, 0.5]);
    expect(body.scale[0]).toBeCloseTo(Math.sqrt(1.25), 15);
    expect(body.scale[1]).toBeCloseTo(0.5, 15);
    expect(body.intercept).toBeCloseTo(2.75, 15);
    expect(body.coef[0]).toBeCloseTo(17.5 / (Math.sqrt(1.25) * 21.8), 12);
    expect(body.coef[1]).toBeCloseTo(16.2 / 21.8, 12);
    expect(body.lambda).toBe(1);
    // Prediction at x = (5, 1): 2.75 + β1·2.5/√1.25 + β2·1.
    const p = predictRidge(body, Float64Array.from([5, 1]), 1);
    expect(p[0]).toBeCloseTo(2.75 + (17.5 / (Math.sqrt(1.25) * 21.8)) * (2.5 / Math.sqrt(1.25)) + 16.2 / 21.8, 12);
  });

  it('shrinks the coefficients toward 0 as λ grows, leaving the intercept (unpenalized) at ȳ', () => {
    const random = rng(3);
    const rows = 300;
    const x = new Float64Array(rows * 3);
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < 3; j++) x[r * 3 + j] = random();
      y[r] = 4 + x[r * 3]! - 2 * x[r * 3 + 1]! + 0.5 * x[r * 3 + 2]! + random() * 0.1;
    }
    const norms: number[] = [];
    let intercept = Number.NaN;
    for (const lambda of [0, 10, 100, 1000, 1e9]) {
      const body = fitRidge(x, rows, 3, y, { lambda });
      norms.push(Math.hypot(...body.coef));
      if (Number.isNaN(intercept)) intercept = body.intercept;
      expect(body.intercept).toBe(intercept);
    }
    for (let i = 1; i < norms.length; i++) expect(norms[i]).toBeLessThan(norms[i - 1]!);
    expect(norms[norms.length - 1]).toBeLessThan(1e-5);
  });

  it('fits only the rows of rowIndex, as if the others were not there', () => {
    const x = Float64Array.from([1, 0, 2, 1, 3, 0, 4, 1, 100, -100]);
    const y = Float64Array.from([1, 3, 2, 5, 1e6]);
    const subset = fitRidge(x, 5, 2, y, { lambda: 1, rowIndex: [0, 1, 2, 3] });
    const alone = fitRidge(x.subarray(0, 8), 4, 2, y, { lambda: 1 });
    expect(subset).toEqual(alone);
  });

  it('gives a constant column coefficient 0 (scale 1) when λ > 0, and refuses a singular system at λ = 0', () => {
    const x = Float64Array.from([1, 7, 2, 7, 3, 7, 4, 7]);
    const y = Float64Array.from([1, 2, 3, 4]);
    const body = fitRidge(x, 4, 2, y, { lambda: 0.5 });
    expect(body.scale[1]).toBe(1);
    expect(body.coef[1]).toBe(0);
    expect(() => fitRidge(x, 4, 2, y, { lambda: 0 })).toThrow(/singular with lambda 0/);
  });

  it('refuses bad shapes and non-finite training values, naming them', () => {
    const x = Float64Array.from([1, 2, 3, 4]);
    const y = Float64Array.from([1, 2]);
    expect(() => fitRidge(x, 3, 2, y, { lambda: 1 })).toThrow('x.length must be rows × cols = 6, got 4');
    expect(() => fitRidge(x, 2, 2, y, { lambda: -1 })).toThrow('lambda must be a finite number >= 0, got -1');
    expect(() => fitRidge(Float64Array.from([1, Number.NaN, 3, 4]), 2, 2, y, { lambda: 1 })).toThrow('x[row 0, col 1] must be finite, got NaN');
    expect(() => fitRidge(x, 2, 2, Float64Array.from([1, Number.POSITIVE_INFINITY]), { lambda: 1 })).toThrow('y[1] must be finite, got Infinity');
    expect(() => fitRidge(x, 2, 2, y, { lambda: 1, rowIndex: [] })).toThrow('at least one training row');
    expect(() => fitRidge(x, 2, 2, y, { lambda: 1, rowIndex: [2] })).toThrow('rowIndex[0] must be an integer in [0, 2), got 2');
  });
});

describe('predictRidge and NaN imputation', () => {
  const body: RidgeBody = { mean: [1, 10], scale: [2, 5], coef: [0.4, -1], intercept: 0.01, lambda: 3 };

  it('computes intercept + Σ coef_j (x_j − mean_j)/scale_j', () => {
    const p = predictRidge(body, Float64Array.from([3, 20, 1, 10]), 2);
    expect(p[0]).toBeCloseTo(0.01 + 0.4 * 1 - 1 * 2, 15);
    expect(p[1]).toBeCloseTo(0.01, 15);
  });

  it('imputes a NaN input with the training mean: it contributes 0, the other features still count', () => {
    const p = predictRidge(body, Float64Array.from([Number.NaN, 20, 3, Number.NaN, Number.NaN, Number.NaN]), 3);
    expect(p[0]).toBe(predictRidge(body, Float64Array.from([1, 20]), 1)[0]);
    expect(p[1]).toBe(predictRidge(body, Float64Array.from([3, 10]), 1)[0]);
    expect(p[2]).toBe(0.01);
  });

  it('refuses a matrix of the wrong size', () => {
    expect(() => predictRidge(body, new Float64Array(3), 2)).toThrow('x.length must be rows × features = 2 × 2, got 3');
  });
});

describe('loadRidge', () => {
  const good: RidgeBody = { mean: [1, 10], scale: [2, 5], coef: [0.4, -1], intercept: 0.01, lambda: 3 };

  it('loads a valid body into a predictor over the artifact features', () => {
    const predictor = loadRidge(artifactWith(good));
    expect(predictor.artifact.id).toBe('test@2020-01-02');
    expect(Array.from(predictor.predict(Float64Array.from([3, 20, Number.NaN, Number.NaN]), 2))).toEqual([0.01 + 0.4 - 2, 0.01]);
    expect(() => predictor.predict(new Float64Array(3), 1)).toThrow('x.length must be rows × features = 1 × 2, got 3');
  });

  it('refuses a malformed body, naming the field', () => {
    const { coef: _coef, ...noCoef } = good;
    expect(() => loadRidge(artifactWith(noCoef))).toThrow(/model artifact test@2020-01-02: model\.coef: /);
    expect(() => loadRidge(artifactWith({ ...good, scale: [2, 0] }))).toThrow(/model\.scale\.1: /);
    expect(() => loadRidge(artifactWith({ ...good, intercept: 'x' }))).toThrow(/model\.intercept: /);
    expect(() => loadRidge(artifactWith({ ...good, lambda: -1 }))).toThrow(/model\.lambda: /);
    expect(() => loadRidge(artifactWith({ ...good, mean: [1, Number.NaN] }))).toThrow(/model\.mean\.1: /);
    expect(() => loadRidge(artifactWith(null))).toThrow(/model artifact test@2020-01-02: model: /);
    expect(() => loadRidge(artifactWith(good, ['a', 'b', 'c']))).toThrow('model artifact test@2020-01-02: model.mean has 2 values but features has 3');
  });
});
