/**
 * XGBoost JSON inference against the reference library. The fixtures in
 * test/fixtures/models/xgboost were written by XGBoost 1.7.4 (`generate.py` there says how to
 * regenerate them); every prediction and margin must equal XGBoost's float32 output exactly
 * (tolerance 0: the float32 emulation is bit-exact on all fixture rows, including rows on split
 * thresholds, float64 values that round onto a threshold, NaNs, extremes, and saturated sigmoids).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelArtifact } from '../../../../lambdas/core/model/artifact';
import { loadPredictor } from '../../../../lambdas/core/model/registry';
import {
  loadXGBoost,
  parseXGBoostModel,
  XGBOOST_JSON_FORMAT,
  XGBOOST_SUPPORTED_OBJECTIVES,
  xgboostArtifact,
  xgboostPredict,
  xgboostPredictor,
  type XGBoostArtifactMeta,
} from '../../../../lambdas/core/model/xgboost';

const DIR = join(import.meta.dirname, '../../../fixtures/models/xgboost');

interface Cases {
  model: string;
  xgboost: string;
  features: string[];
  rows: (number | null)[][];
  predictions: number[];
  margins: number[];
  notes: string[];
}

function readJson(name: string): unknown {
  return JSON.parse(readFileSync(join(DIR, name), 'utf8')) as unknown;
}

function cases(name: string): Cases {
  return readJson(`${name}.cases.json`) as Cases;
}

/** A fresh deep copy of a fixture model, to mutate. */
function modelJson(name: string): any {
  return readJson(`${name}.model.json`);
}

function matrix(c: Cases): Float64Array {
  return Float64Array.from(c.rows.flat(), (v) => (v === null ? Number.NaN : v));
}

const META: XGBoostArtifactMeta = {
  id: 'xgb-test@2024-06-28',
  target: { kind: 'forward_return_demeaned', horizonSessions: 5 },
  trainingWindow: { from: '2020-01-02', to: '2024-06-20', asOf: '2024-06-28' },
  validation: { method: 'reference fixture', purgeSessions: 5, embargoFraction: 0.01, folds: [], meanIc: 0, meanHitRate: 0.5 },
};

/** Every row where `got` is not exactly (`!==`) XGBoost's float32 value, with its note. */
function mismatches(got: Float64Array, want: number[], notes: string[]): string[] {
  const out: string[] = [];
  want.forEach((w, i) => {
    if (got[i] !== w) out.push(`row ${i} (${notes[i]}): got ${got[i]}, XGBoost ${w}`);
  });
  return out;
}

const FIXTURES = [
  'regression',
  'binary',
  'edge-regression',
  'edge-logistic',
  // one small model per further objective (the two above cover reg:squarederror and binary:logistic)
  ...XGBOOST_SUPPORTED_OBJECTIVES.filter((o) => o !== 'reg:squarederror' && o !== 'binary:logistic').map((o) => `obj-${o.replace(':', '-')}`),
];

describe('XGBoost JSON: predictions equal XGBoost 1.7.4 bit for bit', () => {
  it.each(FIXTURES)('%s', (name) => {
    const c = cases(name);
    expect(c.xgboost).toMatch(/^1\.7\./);
    const json = readJson(c.model);
    const model = parseXGBoostModel(json);
    expect(model.featureNames).toEqual(c.features);
    const x = matrix(c);
    const rows = c.rows.length;
    const p = xgboostPredictor(model);
    const pred = p.predict(x, rows);
    const margin = p.predictMargin(x, rows);
    expect(pred.length).toBe(rows);
    // Tolerance 0: exact float32 equality (the brief's bound is 1e-6 absolute).
    expect(mismatches(pred, c.predictions, c.notes)).toEqual([]);
    expect(mismatches(margin, c.margins, c.notes)).toEqual([]);
  });

  it('the fixtures cover what they claim: both default directions, threshold rows, float32-only routing', () => {
    const c = cases('regression');
    const model = parseXGBoostModel(readJson(c.model));
    expect(model.numTrees).toBeGreaterThanOrEqual(50);
    expect(model.objective).toBe('reg:squarederror');
    // depth ≥ 4: some tree has a root-to-leaf path of 4 splits
    const { root, left, right, defaultLeft } = model.trees;
    const depth = (n: number): number => (left[n]! < 0 ? 0 : 1 + Math.max(depth(left[n]!), depth(right[n]!)));
    expect(Math.max(...Array.from(root, depth))).toBeGreaterThanOrEqual(4);
    const internal = Array.from(left.keys()).filter((n) => left[n]! >= 0);
    expect(internal.some((n) => defaultLeft[n] === 1)).toBe(true);
    expect(internal.some((n) => defaultLeft[n] === 0)).toBe(true);
    expect(c.rows.flat().some((v) => v === null)).toBe(true);
    expect(c.notes.filter((n) => n.startsWith('on threshold')).length).toBeGreaterThanOrEqual(20);
  });

  it('comparing in float64 instead of float32 would change predictions (the rounding matters)', () => {
    const c = cases('regression');
    const model = parseXGBoostModel(readJson(c.model));
    const nf = model.numFeature;
    const x = matrix(c);
    // Hand-rolled float64 comparison of the unrounded input, for the rows that round onto a threshold.
    const { root, left, right, feature, defaultLeft, value } = model.trees;
    let differ = 0;
    c.notes.forEach((note, r) => {
      if (!note.startsWith('f64-below-rounds-on')) return;
      let m = model.baseMargin;
      for (let t = 0; t < root.length; t++) {
        let n = root[t]!;
        while (left[n]! >= 0) {
          const v = x[r * nf + feature[n]!]!;
          n = Number.isNaN(v) ? (defaultLeft[n] ? left[n]! : right[n]!) : v < value[n]! ? left[n]! : right[n]!;
        }
        m = Math.fround(m + value[n]!);
      }
      if (m !== c.margins[r]) differ++;
    });
    expect(differ).toBeGreaterThan(0);
  });

  it('sums leaves in float32: 2^24 + 1 stays 2^24, as in XGBoost', () => {
    const c = cases('edge-regression');
    const i = c.notes.indexOf('rsi_14 = 10.0, ret_5 = -1.0'); // left, left: 2^24 + 1
    expect(i).toBeGreaterThanOrEqual(0);
    const model = parseXGBoostModel(readJson(c.model));
    const got = xgboostPredict(model, matrix(c), c.rows.length);
    expect(got[i]).toBe(16777216);
    expect(c.predictions[i]).toBe(16777216);
  });
});

describe('XGBoost JSON: base_score and transforms', () => {
  it('binary:logitraw starts from base_score itself (not its logit) and predicts the margin, as XGBoost 1.7 does', () => {
    const model = parseXGBoostModel(readJson('obj-binary-logitraw.model.json'));
    expect(model.baseScore).toBe(Math.fround(0.3));
    expect(model.baseMargin).toBe(model.baseScore);
    const c = cases('obj-binary-logitraw');
    expect(c.predictions).toEqual(c.margins);
  });

  it('the sigmoid clamps its exp argument at 88.7 like XGBoost: a margin of -100 gives ≈3.0e-39, not 0', () => {
    const c = cases('edge-logistic');
    const i = c.notes.indexOf('rsi_14 = 90.0, ret_5 = -1.0');
    expect(c.margins[i]).toBe(-99.75);
    expect(c.predictions[i]).toBe(Math.fround(1 / Math.fround(Math.exp(Math.fround(88.7)))));
    const got = xgboostPredict(parseXGBoostModel(readJson(c.model)), matrix(c), c.rows.length);
    expect(got[i]).toBe(c.predictions[i]);
    expect(got[i]).toBeGreaterThan(0);
  });

  it('regression: margin starts at base_score, read from its float32 string', () => {
    const json = modelJson('regression');
    expect(json.learner.learner_model_param.base_score).toMatch(/E/);
    const model = parseXGBoostModel(json);
    expect(model.baseScore).toBe(Math.fround(Number(json.learner.learner_model_param.base_score)));
    expect(model.baseMargin).toBe(model.baseScore);
    // A model with no trees predicts base_score.
    json.learner.gradient_booster.model.trees = [];
    json.learner.gradient_booster.model.tree_info = [];
    json.learner.gradient_booster.model.gbtree_model_param.num_trees = '0';
    const empty = parseXGBoostModel(json);
    expect(Array.from(xgboostPredict(empty, new Float64Array(16), 2))).toEqual([model.baseScore, model.baseScore]);
  });

  it('binary:logistic: margin starts at logit(base_score); an empty model predicts base_score', () => {
    const json = modelJson('binary');
    expect(json.learner.learner_model_param.base_score).toBe('3.5E-1');
    const model = parseXGBoostModel(json);
    expect(model.baseMargin).toBeCloseTo(Math.log(0.35 / 0.65), 6);
    json.learner.gradient_booster.model.trees = [];
    json.learner.gradient_booster.model.tree_info = [];
    delete json.learner.gradient_booster.model.gbtree_model_param.num_trees;
    const empty = parseXGBoostModel(json);
    const [p] = xgboostPredict(empty, new Float64Array(8), 1);
    expect(p).toBeCloseTo(0.35, 6);
  });

  it('refuses a base_score outside (0, 1) for a logistic objective', () => {
    const json = modelJson('binary');
    json.learner.learner_model_param.base_score = '1E0';
    expect(() => parseXGBoostModel(json)).toThrow(/learner\.learner_model_param\.base_score is 1; a logistic objective needs 0 < base_score < 1/);
  });

  it('accepts the bracketed base_score of newer XGBoost ("[5E-1]")', () => {
    const json = modelJson('edge-logistic');
    json.learner.learner_model_param.base_score = '[5E-1]';
    expect(parseXGBoostModel(json).baseScore).toBe(0.5);
  });
});

describe('XGBoost JSON: the predictor port', () => {
  const regression = cases('regression');

  it('loads through the registry (loadPredictor) and predicts like XGBoost', () => {
    const artifact = xgboostArtifact(readJson(regression.model), META);
    expect(artifact.format).toBe(XGBOOST_JSON_FORMAT);
    expect(artifact.features).toEqual(regression.features);
    const predictor = loadPredictor(JSON.parse(JSON.stringify(artifact)));
    expect(predictor.artifact.id).toBe(META.id);
    const got = predictor.predict(matrix(regression), regression.rows.length);
    expect(mismatches(got, regression.predictions, regression.notes)).toEqual([]);
  });

  it('loadXGBoost directly, with margins', () => {
    const p = loadXGBoost(xgboostArtifact(readJson(regression.model), META));
    expect(mismatches(p.predict(matrix(regression), regression.rows.length), regression.predictions, regression.notes)).toEqual([]);
    expect(mismatches(p.predictMargin(matrix(regression), regression.rows.length), regression.margins, regression.notes)).toEqual([]);
  });

  it('the envelope refuses an objective whose output is not a signed return (a probability would make every symbol a buy)', () => {
    const c = cases('binary');
    const artifact = xgboostArtifact(readJson(c.model), META);
    expect(() => loadXGBoost(artifact)).toThrow(/objective "binary:logistic" does not predict a signed return/);
    expect(() => loadPredictor(artifact)).toThrow(/binary:logistic/);
    // Without the envelope the classifier still predicts exactly like XGBoost.
    const p = xgboostPredictor(parseXGBoostModel(readJson(c.model)));
    expect(mismatches(p.predict(matrix(c), c.rows.length), c.predictions, c.notes)).toEqual([]);
    expect(mismatches(p.predictMargin(matrix(c), c.rows.length), c.margins, c.notes)).toEqual([]);
  });

  it('zero rows give an empty result', () => {
    const p = loadXGBoost(xgboostArtifact(readJson(regression.model), META));
    expect(p.predict(new Float64Array(0), 0)).toEqual(new Float64Array(0));
  });

  it('throws on a wrong-size input, naming both sizes', () => {
    const p = loadXGBoost(xgboostArtifact(readJson(regression.model), META));
    expect(() => p.predict(new Float64Array(15), 2)).toThrow(/x has 15 values; expected rows × features = 2 × 8 = 16/);
    expect(() => p.predict(new Float64Array(8), 1.5)).toThrow(/rows is 1\.5/);
  });

  it('throws when the envelope features differ from the model feature_names', () => {
    const json = readJson(regression.model);
    const swapped = [...regression.features];
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    const artifact: ModelArtifact = { ...xgboostArtifact(json, META), features: swapped };
    expect(() => loadXGBoost(artifact)).toThrow(
      /xgboost model artifact xgb-test@2024-06-28: feature 0 is "ret_5" but learner\.feature_names\[0\] is "rsi_14"/,
    );
    expect(() => loadPredictor(artifact)).toThrow(/feature 0 is "ret_5"/);
    expect(() => loadXGBoost({ ...artifact, features: regression.features.slice(1) })).toThrow(
      /7 feature names given; learner\.learner_model_param\.num_feature is 8/,
    );
    expect(() => xgboostArtifact(json, { ...META, features: swapped })).toThrow(/feature 0 is "ret_5"/);
  });

  it('a model saved without feature_names takes the envelope names, and needs them', () => {
    const json = modelJson('regression');
    json.learner.feature_names = [];
    const model = parseXGBoostModel(json);
    expect(model.featureNames).toBeNull();
    expect(() => xgboostPredictor(model)).toThrow(/learner\.feature_names is absent; pass the feature names/);
    expect(() => xgboostArtifact(json, META)).toThrow(/feature_names is absent/);
    const p = loadXGBoost(xgboostArtifact(json, { ...META, features: regression.features.map((f) => `x_${f}`) }));
    expect(mismatches(p.predict(matrix(regression), regression.rows.length), regression.predictions, regression.notes)).toEqual([]);
  });

  it('refuses an artifact of another format', () => {
    const artifact = { ...xgboostArtifact(readJson(regression.model), META), format: 'ridge-v1' };
    expect(() => loadXGBoost(artifact)).toThrow(/format is "ridge-v1"; expected "xgboost-json"/);
  });

  it('is fast enough: 5,000 rows × 60 trees well under a second', () => {
    const p = loadXGBoost(xgboostArtifact(readJson(regression.model), META));
    const rows = 5000;
    const x = new Float64Array(rows * 8).map((_, i) => Math.sin(i) * 50);
    const t0 = performance.now();
    const out = p.predict(x, rows);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(out.every(Number.isFinite)).toBe(true);
  });
});

describe('XGBoost JSON: refuses what it cannot predict, naming the field and value', () => {
  const refuse = (mutate: (json: any) => void, message: RegExp) => {
    const json = modelJson('regression');
    mutate(json);
    expect(() => parseXGBoostModel(json)).toThrow(message);
  };

  it('booster other than gbtree', () => {
    refuse((j) => (j.learner.gradient_booster.name = 'dart'), /learner\.gradient_booster\.name is "dart"; only gbtree is supported/);
    refuse((j) => (j.learner.gradient_booster = { name: 'gblinear', model: { weights: [] } }), /learner\.gradient_booster\.name is "gblinear"; only gbtree is supported/);
  });

  it('unknown or multi-class objective', () => {
    refuse((j) => (j.learner.objective.name = 'reg:quantileerror'), /learner\.objective\.name is "reg:quantileerror"; supported: reg:squarederror, /);
    refuse((j) => (j.learner.objective.name = 'multi:softprob'), /learner\.objective\.name is "multi:softprob"; multi-class models are not supported/);
    refuse((j) => (j.learner.objective.name = 'toString'), /learner\.objective\.name is "toString"; supported/);
  });

  it('multi-output models', () => {
    refuse((j) => (j.learner.learner_model_param.num_class = '3'), /learner\.learner_model_param\.num_class is "3"; multi-class models are not supported/);
    refuse((j) => (j.learner.learner_model_param.num_target = '2'), /learner\.learner_model_param\.num_target is "2"; only single-output/);
    refuse((j) => (j.learner.gradient_booster.model.tree_info[3] = 1), /tree_info\[3\] is 1; only output group 0/);
    refuse((j) => (j.learner.gradient_booster.model.gbtree_model_param.size_leaf_vector = '2'), /size_leaf_vector is "2"; vector leaves/);
  });

  it('categorical splits', () => {
    refuse((j) => (j.learner.gradient_booster.model.trees[2].split_type[0] = 1), /trees\[2\]\.split_type\[0\] is 1; only numerical splits/);
    refuse((j) => (j.learner.feature_types = ['float', 'c']), /learner\.feature_types\[1\] is "c"; categorical features are not supported/);
  });

  it('malformed trees', () => {
    refuse((j) => j.learner.gradient_booster.model.trees[0].split_conditions.pop(), /trees\[0\]\.split_conditions has \d+ entries; left_children has \d+/);
    refuse((j) => (j.learner.gradient_booster.model.trees[0].left_children[0] = 0), /trees\[0\] node 0 is reached twice/);
    refuse((j) => (j.learner.gradient_booster.model.trees[0].right_children[0] = 999), /trees\[0\] node 0 has child 999; the tree has \d+ nodes/);
    refuse((j) => (j.learner.gradient_booster.model.trees[0].split_indices[0] = 8), /trees\[0\]\.split_indices\[0\] is 8; num_feature is 8/);
    refuse((j) => (j.learner.gradient_booster.model.trees[0].left_children = 'x'), /trees\[0\]\.left_children is "x"; expected an array/);
    refuse((j) => j.learner.gradient_booster.model.trees.pop(), /num_trees is "60"; trees has 59/);
    refuse((j) => (j.learner.learner_model_param.base_score = 'abc'), /base_score is "abc"; expected a number/);
    expect(() => parseXGBoostModel([])).toThrow(/the model is \[\]; expected the object Booster\.save_model writes/);
    expect(() => parseXGBoostModel({})).toThrow(/learner is missing; expected an object/);
  });
});
