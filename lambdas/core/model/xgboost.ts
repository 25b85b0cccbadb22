/**
 * Inference for gradient-boosted trees saved in XGBoost's JSON model format
 * (`Booster.save_model('m.json')`), behind the predictor port of `model/artifact.ts`. Pure: no I/O,
 * no clock; the caller hands the parsed JSON in as `unknown`.
 *
 * Scope. One output (regression or binary), booster `gbtree` (including random-forest style
 * `num_parallel_tree > 1`), numerical splits only. Everything else (`gblinear`, `dart`,
 * categorical splits, multi-class or multi-target models, unknown objectives) is refused with an
 * Error naming the field and its value, rather than predicted wrongly.
 *
 * Arithmetic: reproduces XGBoost's CPU predictor (verified bit for bit against XGBoost 1.7.4 by
 * `test/fixtures/models/xgboost/generate.py`). XGBoost keeps everything in float32: a `DMatrix`
 * stores feature values as float32, a `RegTree` node stores its split threshold and its leaf value
 * as float32 (one union field; the JSON writes both in `split_conditions`), and the prediction
 * buffer is float32. So, per row:
 *   1. each feature value x is rounded to float32 (`Math.fround`), NaN meaning missing;
 *   2. in each tree, from the root: missing → the node's `default_left` child; else
 *      `x < split_condition` → left child, otherwise right (a value equal to the threshold goes
 *      right); until a leaf, whose value is its `split_conditions` entry (`base_weights` holds the
 *      weight before the learning rate and is not used for prediction);
 *   3. margin = base margin, then `margin = fround(margin + leaf)` tree after tree, in file order;
 *   4. prediction = the objective's transform of the margin, in float32: the sigmoid
 *      `1/(1+expf(min(-m, 88.7)))` for `reg:logistic` and `binary:logistic`, `expf(m)` for the
 *      log-link ones (`count:poisson`, `reg:gamma`, `reg:tweedie`), `m > 0 ? 1 : 0` for
 *      `binary:hinge`, the margin itself otherwise (including `binary:logitraw`).
 * The base margin is the objective's link applied to `learner_model_param.base_score`, which
 * XGBoost stores untransformed as a float32 string ("5E-1"): logit(base_score) for `reg:logistic`
 * and `binary:logistic` (computed as `-logf(1/b - 1)` in float32), log(base_score) for the
 * log-link ones, base_score itself otherwise (note: also for `binary:logitraw`, as XGBoost 1.7
 * does). Results are float32 values widened to float64.
 *
 * Other XGBoost versions: the JSON layout read here is the one 1.x and 2.x write (a bracketed
 * `base_score` like "[5E-1]" is accepted too), but the arithmetic above is pinned only against
 * 1.7.4; re-run the fixture generator against another version before trusting it bit for bit.
 * Early stopping's `best_iteration` attribute is ignored: all trees are summed, as
 * `Booster.predict` does by default.
 *
 * Trees are precompiled into one set of flat typed arrays (children as absolute node indices,
 * thresholds and leaves in a Float32Array), so prediction is a tight loop without objects.
 *
 * Design note: another tree format, e.g. LightGBM's text model (`model.txt`: `Tree=k` blocks with
 * `split_feature`, `threshold`, `decision_type`, `left_child`/`right_child` where a negative child
 * `~i` is leaf i, `leaf_value`, and an `objective=` header line), plugs in as one more
 * `ModelLoader`: a `lightgbm.ts` parses the text (handed in as the artifact's `model` string) into
 * the same kind of flat arrays, with its own conventions (double thresholds, `x <= threshold` goes
 * left, missing handling from `decision_type`'s default-left and missing-type bits, sum in double),
 * and `model/registry.ts` gets one entry `{ 'lightgbm-text': loadLightGBM }`. The port
 * (`ModelArtifact`, `Predictor`, `ModelLoader`) and the predict step do not change: they only see
 * `predict(x, rows)` over the envelope's feature order.
 */
import { MODEL_ARTIFACT_SCHEMA_VERSION, type ModelArtifact, type ModelLoader, type Predictor } from './artifact';

/** The `ModelArtifact.format` key of this loader. */
export const XGBOOST_JSON_FORMAT = 'xgboost-json';

/**
 * How an objective maps `base_score` to the starting margin (XGBoost's `ProbToMargin`), and the
 * margin to a prediction (`PredTransform`): `identity` (both identity), `logit` (logit / sigmoid),
 * `log` (log / exp), `hinge` (identity / `margin > 0 ? 1 : 0`).
 */
type Link = 'identity' | 'logit' | 'log' | 'hinge';

/** Objectives verified against XGBoost 1.7.4 (fixtures `regression`, `binary`, `obj-*`), with their link. */
const OBJECTIVE_LINKS: Readonly<Record<string, Link>> = {
  'reg:squarederror': 'identity',
  'reg:absoluteerror': 'identity',
  'reg:pseudohubererror': 'identity',
  'reg:squaredlogerror': 'identity',
  'reg:logistic': 'logit',
  'binary:logistic': 'logit',
  // XGBoost 1.7 starts binary:logitraw from base_score itself, not its logit (fixture-verified).
  'binary:logitraw': 'identity',
  'binary:hinge': 'hinge',
  'count:poisson': 'log',
  'reg:gamma': 'log',
  'reg:tweedie': 'log',
};

/** The objectives this loader predicts (the keys of the table above). */
export const XGBOOST_SUPPORTED_OBJECTIVES: readonly string[] = Object.keys(OBJECTIVE_LINKS);

/** A parsed, validated and compiled XGBoost model. Immutable; safe to share between predictors. */
export interface XGBoostModel {
  /** `learner.objective.name`, e.g. `reg:squarederror`. */
  readonly objective: string;
  /** `learner_model_param.base_score` as float32 (the untransformed value XGBoost stores). */
  readonly baseScore: number;
  /** The margin every row starts from (float32): the objective's link of `baseScore`. */
  readonly baseMargin: number;
  /** `learner_model_param.num_feature`: columns the trees may read. */
  readonly numFeature: number;
  /** `learner.feature_names`, or null when the model was saved without names. */
  readonly featureNames: readonly string[] | null;
  /** Number of trees (all summed into the one output). */
  readonly numTrees: number;
  /** `version` of the XGBoost that wrote the file, e.g. `[1, 7, 4]`, or null when absent. */
  readonly version: readonly number[] | null;
  /** Compiled trees; see {@link CompiledTrees}. */
  readonly trees: CompiledTrees;
}

/**
 * All trees in flat arrays. Node `n` of the forest: internal when `left[n] >= 0`, then it reads
 * feature `feature[n]` and compares with `value[n]` (float32 threshold); a leaf when `left[n] < 0`,
 * then `value[n]` is its float32 leaf value. Children are absolute indices into the same arrays.
 */
export interface CompiledTrees {
  /** Index of each tree's root node; length = number of trees. */
  readonly root: Int32Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly feature: Int32Array;
  /** 1 when a missing value goes to the left child. */
  readonly defaultLeft: Uint8Array;
  readonly value: Float32Array;
}

/** Options of {@link xgboostPredict}. */
export interface XGBoostPredictOptions {
  /** Return the raw margin (XGBoost's `output_margin=True`) instead of the transformed prediction. */
  readonly outputMargin?: boolean;
}

/** A predictor over a bare model (no envelope); feature order is `features`. */
export interface XGBoostPredictor {
  readonly model: XGBoostModel;
  /** Column names of the rows handed to `predict`, in order; length = `model.numFeature`. */
  readonly features: readonly string[];
  /** As `Predictor.predict`: row-major `rows × features.length`, NaN = missing; one prediction per row. */
  predict(x: Float64Array, rows: number): Float64Array;
  /** As `predict`, but the untransformed margin (log-odds for the logistic objectives). */
  predictMargin(x: Float64Array, rows: number): Float64Array;
}

/** The port's predictor, plus the margin. */
export interface XGBoostArtifactPredictor extends Predictor {
  readonly model: XGBoostModel;
  predictMargin(x: Float64Array, rows: number): Float64Array;
}

// ---------------------------------------------------------------------------------------------
// Parsing

type Json = Record<string, unknown>;

function fail(where: string, message: string): never {
  throw new Error(`xgboost model${where ? ` ${where}` : ''}: ${message}`);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'missing';
  const s = JSON.stringify(value);
  return s === undefined ? String(value) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function object(parent: Json, key: string, path: string, where: string): Json {
  const v = parent[key];
  if (!isObject(v)) fail(where, `${path} is ${show(v)}; expected an object`);
  return v;
}

function array(parent: Json, key: string, path: string, where: string): unknown[] {
  const v = parent[key];
  if (!Array.isArray(v)) fail(where, `${path} is ${show(v)}; expected an array`);
  return v;
}

/** XGBoost writes its parameters as strings ("5E-1", "0"); newer versions may bracket a vector ("[5E-1]"). */
function numberParam(parent: Json, key: string, path: string, where: string, fallback?: number): number {
  const v = parent[key];
  if (v === undefined && fallback !== undefined) return fallback;
  let n = Number.NaN;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const s = v.trim().replace(/^\[(.*)\]$/, '$1').trim();
    if (s !== '' && !s.includes(',')) n = Number(s);
  }
  if (!Number.isFinite(n)) fail(where, `${path} is ${show(v)}; expected a number`);
  return n;
}

function intArray(values: unknown[], path: string, where: string): Int32Array {
  const out = new Int32Array(values.length);
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || (v as number) < -1 || (v as number) > 0x7fffffff) {
      fail(where, `${path}[${i}] is ${show(v)}; expected an integer ≥ -1`);
    }
    out[i] = v as number;
  });
  return out;
}

/** The float32 starting margin for `baseScore` under `link`, as XGBoost's objective computes it (`ProbToMargin`). */
function baseMarginOf(link: Link, baseScore: number, where: string): number {
  const f = Math.fround;
  switch (link) {
    case 'logit':
      if (!(baseScore > 0 && baseScore < 1)) {
        fail(where, `learner.learner_model_param.base_score is ${baseScore}; a logistic objective needs 0 < base_score < 1`);
      }
      // -logf(1.0f / base_score - 1.0f)
      return f(-Math.log(f(f(1 / baseScore) - 1)));
    case 'log':
      if (!(baseScore > 0)) fail(where, `learner.learner_model_param.base_score is ${baseScore}; a log-link objective needs base_score > 0`);
      return f(Math.log(baseScore));
    case 'identity':
    case 'hinge':
      return baseScore;
  }
}

/**
 * Parses and validates the object XGBoost writes with `Booster.save_model('m.json')`, and compiles
 * its trees.
 * @param json the parsed JSON (as `unknown`).
 * @param where optional context for error messages (e.g. the artifact id).
 * @throws Error `xgboost model <where>: <field path> is <value>; <why>` when the booster is not
 *   `gbtree`, the objective is unknown or multi-output, `num_class`/`num_target`/`size_leaf_vector`
 *   ask for several outputs, a tree has a categorical split, a `tree_info` entry is not 0, an array
 *   is missing or of the wrong length, a child index is out of range or the nodes do not form a tree,
 *   or a split reads a feature ≥ `num_feature`.
 */
export function parseXGBoostModel(json: unknown, where = ''): XGBoostModel {
  if (!isObject(json)) fail(where, `the model is ${show(json)}; expected the object Booster.save_model writes`);
  const learner = object(json, 'learner', 'learner', where);

  const booster = object(learner, 'gradient_booster', 'learner.gradient_booster', where);
  if (booster.name !== 'gbtree') {
    fail(where, `learner.gradient_booster.name is ${show(booster.name)}; only gbtree is supported`);
  }

  const objectiveObj = object(learner, 'objective', 'learner.objective', where);
  const objective = objectiveObj.name;
  if (typeof objective !== 'string') fail(where, `learner.objective.name is ${show(objective)}; expected a string`);
  const link = Object.hasOwn(OBJECTIVE_LINKS, objective) ? OBJECTIVE_LINKS[objective] : undefined;
  if (link === undefined) {
    const why = /^multi:/.test(objective)
      ? 'multi-class models are not supported'
      : `supported: ${XGBOOST_SUPPORTED_OBJECTIVES.join(', ')}`;
    fail(where, `learner.objective.name is ${show(objective)}; ${why}`);
  }

  const mp = object(learner, 'learner_model_param', 'learner.learner_model_param', where);
  const mpPath = 'learner.learner_model_param';
  const numClass = numberParam(mp, 'num_class', `${mpPath}.num_class`, where, 0);
  if (numClass > 1) fail(where, `${mpPath}.num_class is ${show(mp.num_class)}; multi-class models are not supported`);
  const numTarget = numberParam(mp, 'num_target', `${mpPath}.num_target`, where, 1);
  if (numTarget !== 1) fail(where, `${mpPath}.num_target is ${show(mp.num_target)}; only single-output models are supported`);
  const numFeature = numberParam(mp, 'num_feature', `${mpPath}.num_feature`, where);
  if (!Number.isInteger(numFeature) || numFeature < 1) fail(where, `${mpPath}.num_feature is ${show(mp.num_feature)}; expected an integer ≥ 1`);
  const baseScore = Math.fround(numberParam(mp, 'base_score', `${mpPath}.base_score`, where));
  const baseMargin = baseMarginOf(link, baseScore, where);

  let featureNames: string[] | null = null;
  if (learner.feature_names !== undefined) {
    const names = array(learner, 'feature_names', 'learner.feature_names', where);
    if (names.length > 0) {
      if (names.length !== numFeature) {
        fail(where, `learner.feature_names has ${names.length} names; ${mpPath}.num_feature is ${numFeature}`);
      }
      names.forEach((n, i) => {
        if (typeof n !== 'string' || n === '') fail(where, `learner.feature_names[${i}] is ${show(n)}; expected a name`);
      });
      featureNames = [...(names as string[])];
    }
  }
  if (learner.feature_types !== undefined) {
    const types = array(learner, 'feature_types', 'learner.feature_types', where);
    types.forEach((t, i) => {
      if (t === 'c') fail(where, `learner.feature_types[${i}] is "c"; categorical features are not supported`);
    });
  }

  const model = object(booster, 'model', 'learner.gradient_booster.model', where);
  const gbParam = isObject(model.gbtree_model_param) ? model.gbtree_model_param : {};
  const sizeLeaf = numberParam(gbParam, 'size_leaf_vector', 'learner.gradient_booster.model.gbtree_model_param.size_leaf_vector', where, 0);
  if (sizeLeaf > 1) {
    fail(where, `learner.gradient_booster.model.gbtree_model_param.size_leaf_vector is ${show(gbParam.size_leaf_vector)}; vector leaves (multi-target trees) are not supported`);
  }
  const trees = array(model, 'trees', 'learner.gradient_booster.model.trees', where);
  if (gbParam.num_trees !== undefined) {
    const declared = numberParam(gbParam, 'num_trees', 'learner.gradient_booster.model.gbtree_model_param.num_trees', where);
    if (declared !== trees.length) {
      fail(where, `learner.gradient_booster.model.gbtree_model_param.num_trees is ${show(gbParam.num_trees)}; trees has ${trees.length}`);
    }
  }
  const treeInfo = array(model, 'tree_info', 'learner.gradient_booster.model.tree_info', where);
  if (treeInfo.length !== trees.length) {
    fail(where, `learner.gradient_booster.model.tree_info has ${treeInfo.length} entries; trees has ${trees.length}`);
  }
  treeInfo.forEach((g, i) => {
    // The output group of tree i; a single-output model has only group 0.
    if (g !== 0) fail(where, `learner.gradient_booster.model.tree_info[${i}] is ${show(g)}; only output group 0 (single output) is supported`);
  });

  const version = Array.isArray(json.version) && json.version.every((v) => typeof v === 'number') ? [...(json.version as number[])] : null;
  return {
    objective,
    baseScore,
    baseMargin,
    numFeature,
    featureNames,
    numTrees: trees.length,
    version,
    trees: compileTrees(trees, numFeature, where),
  };
}

function compileTrees(trees: unknown[], numFeature: number, where: string): CompiledTrees {
  type Parsed = { left: Int32Array; right: Int32Array; feature: Int32Array; cond: unknown[]; dflt: unknown[] };
  const parsed: Parsed[] = [];
  let total = 0;
  trees.forEach((t, ti) => {
    const path = `learner.gradient_booster.model.trees[${ti}]`;
    if (!isObject(t)) fail(where, `${path} is ${show(t)}; expected an object`);
    const left = intArray(array(t, 'left_children', `${path}.left_children`, where), `${path}.left_children`, where);
    const n = left.length;
    if (n === 0) fail(where, `${path}.left_children is empty`);
    const right = intArray(array(t, 'right_children', `${path}.right_children`, where), `${path}.right_children`, where);
    const feature = intArray(array(t, 'split_indices', `${path}.split_indices`, where), `${path}.split_indices`, where);
    const cond = array(t, 'split_conditions', `${path}.split_conditions`, where);
    const dflt = array(t, 'default_left', `${path}.default_left`, where);
    for (const [name, len] of [
      ['right_children', right.length],
      ['split_indices', feature.length],
      ['split_conditions', cond.length],
      ['default_left', dflt.length],
    ] as const) {
      if (len !== n) fail(where, `${path}.${name} has ${len} entries; left_children has ${n}`);
    }
    if (t.split_type !== undefined) {
      array(t, 'split_type', `${path}.split_type`, where).forEach((s, i) => {
        if (s !== 0) fail(where, `${path}.split_type[${i}] is ${show(s)}; only numerical splits (0) are supported, not categorical`);
      });
    }
    if (Array.isArray(t.categories_nodes) && t.categories_nodes.length > 0) {
      fail(where, `${path}.categories_nodes is ${show(t.categories_nodes)}; categorical splits are not supported`);
    }
    // Every node reachable once from the root, children in range: a tree, so descent terminates.
    const seen = new Uint8Array(n);
    const stack = [0];
    seen[0] = 1;
    while (stack.length > 0) {
      const node = stack.pop()!;
      const l = left[node]!;
      const r = right[node]!;
      if (l === -1 && r === -1) {
        if (typeof cond[node] !== 'number' || !Number.isFinite(cond[node])) {
          fail(where, `${path}.split_conditions[${node}] is ${show(cond[node])}; expected the leaf value`);
        }
        continue;
      }
      if (l === -1 || r === -1) fail(where, `${path} node ${node} has left child ${l} and right child ${r}; expected both or neither`);
      const f = feature[node]!;
      if (f < 0 || f >= numFeature) fail(where, `${path}.split_indices[${node}] is ${f}; num_feature is ${numFeature}`);
      if (typeof cond[node] !== 'number' || Number.isNaN(cond[node])) {
        fail(where, `${path}.split_conditions[${node}] is ${show(cond[node])}; expected a threshold`);
      }
      const d = dflt[node];
      if (d !== 0 && d !== 1 && d !== true && d !== false) fail(where, `${path}.default_left[${node}] is ${show(d)}; expected 0/1`);
      for (const c of [l, r]) {
        if (c < 0 || c >= n) fail(where, `${path} node ${node} has child ${c}; the tree has ${n} nodes`);
        if (seen[c]) fail(where, `${path} node ${c} is reached twice; the nodes do not form a tree`);
        seen[c] = 1;
        stack.push(c);
      }
    }
    parsed.push({ left, right, feature, cond, dflt });
    total += n;
  });

  const out: CompiledTrees = {
    root: new Int32Array(trees.length),
    left: new Int32Array(total),
    right: new Int32Array(total),
    feature: new Int32Array(total),
    defaultLeft: new Uint8Array(total),
    value: new Float32Array(total),
  };
  let offset = 0;
  parsed.forEach((p, ti) => {
    out.root[ti] = offset;
    for (let i = 0; i < p.left.length; i++) {
      const k = offset + i;
      const leaf = p.left[i] === -1;
      out.left[k] = leaf ? -1 : offset + p.left[i]!;
      out.right[k] = leaf ? -1 : offset + p.right[i]!;
      out.feature[k] = leaf ? 0 : p.feature[i]!;
      const d = p.dflt[i];
      out.defaultLeft[k] = d === 1 || d === true ? 1 : 0;
      // Unreachable (deleted) nodes may carry anything; they are never read.
      const c = p.cond[i];
      out.value[k] = typeof c === 'number' ? c : 0; // Float32Array store = fround
    }
    offset += p.left.length;
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Prediction

const EXP_ARG_MAX = Math.fround(88.7);

/**
 * float32 sigmoid as XGBoost 1.7's `common::Sigmoid`: `1.0f / (expf(min(-x, 88.7f)) + 1.0f + 1e-16f)`.
 * The clamp keeps `expf` finite, so a margin below -88.7 gives ≈ 3.0e-39 (float32 subnormal), not 0;
 * the 1e-16f term vanishes in float32 addition.
 */
function sigmoid32(m: number): number {
  const f = Math.fround;
  return f(1 / f(1 + f(Math.exp(Math.min(-m, EXP_ARG_MAX)))));
}

function transform(link: Link, m: number): number {
  switch (link) {
    case 'logit':
      return sigmoid32(m);
    case 'log':
      return Math.fround(Math.exp(m));
    case 'hinge':
      return m > 0 ? 1 : 0;
    case 'identity':
      return m;
  }
}

/**
 * Predicts rows with a parsed model.
 * @param x row-major matrix `rows × model.numFeature`, columns in the model's feature order, NaN =
 *   missing. Values are rounded to float32 first, as XGBoost's DMatrix does; ±Infinity (which
 *   XGBoost 1.7 refuses as input) compares as the largest / smallest value; so do finite values
 *   beyond float32's range.
 * @returns one float32 value (widened) per row: the objective's prediction, or with
 *   `outputMargin` the raw margin.
 * @throws Error naming both sizes when `x.length !== rows × numFeature`, or when `rows` is not a
 *   non-negative integer.
 */
export function xgboostPredict(model: XGBoostModel, x: Float64Array, rows: number, options: XGBoostPredictOptions = {}): Float64Array {
  const nf = model.numFeature;
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`xgboost predict: rows is ${rows}; expected a non-negative integer`);
  if (x.length !== rows * nf) {
    throw new Error(`xgboost predict: x has ${x.length} values; expected rows × features = ${rows} × ${nf} = ${rows * nf}`);
  }
  const link = OBJECTIVE_LINKS[model.objective]!;
  const margin = options.outputMargin === true;
  const { root, left, right, feature, defaultLeft, value } = model.trees;
  const nTrees = root.length;
  const row = new Float32Array(nf); // the float32 cast of the DMatrix
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    row.set(x.subarray(r * nf, (r + 1) * nf));
    let m = model.baseMargin;
    for (let t = 0; t < nTrees; t++) {
      let n = root[t]!;
      let l = left[n]!;
      while (l >= 0) {
        const v = row[feature[n]!]!;
        if (v !== v) n = defaultLeft[n] === 1 ? l : right[n]!;
        else n = v < value[n]! ? l : right[n]!;
        l = left[n]!;
      }
      m = Math.fround(m + value[n]!);
    }
    out[r] = margin ? m : transform(link, m);
  }
  return out;
}

/**
 * A predictor over a bare model.
 * @param model from {@link parseXGBoostModel}.
 * @param featureNames the column order of the rows that will be passed; defaults to the model's
 *   `feature_names`. Must equal them, name for name and in order, when the model has names.
 * @throws Error when no names are given and the model has none, when the count differs from
 *   `num_feature`, or when a name differs from the model's (naming the position and both names).
 */
export function xgboostPredictor(model: XGBoostModel, featureNames?: readonly string[], where = ''): XGBoostPredictor {
  const features = featureNames ?? model.featureNames;
  if (features === null) fail(where, 'learner.feature_names is absent; pass the feature names');
  if (features.length !== model.numFeature) {
    fail(where, `${features.length} feature names given; learner.learner_model_param.num_feature is ${model.numFeature}`);
  }
  if (model.featureNames !== null) {
    const i = features.findIndex((n, k) => n !== model.featureNames![k]);
    if (i >= 0) fail(where, `feature ${i} is ${show(features[i])} but learner.feature_names[${i}] is ${show(model.featureNames[i])}`);
  }
  const names = Object.freeze([...features]);
  return {
    model,
    features: names,
    predict: (x, rows) => xgboostPredict(model, x, rows),
    predictMargin: (x, rows) => xgboostPredict(model, x, rows, { outputMargin: true }),
  };
}

/**
 * The {@link ModelLoader} of format `xgboost-json`: `artifact.model` is the object
 * `Booster.save_model('m.json')` writes; `artifact.features` is the column order, and must equal
 * the model's `feature_names` when it has them. Predictions are the objective's output (a
 * probability for `binary:logistic`, whose sign is always positive; use `binary:logitraw`, a
 * regression objective, or `predictMargin` where a signed score is needed).
 * @throws Error `xgboost model artifact <id>: …` naming the field and value (see
 *   {@link parseXGBoostModel} and {@link xgboostPredictor}).
 */
export const loadXGBoost = ((artifact: ModelArtifact): XGBoostArtifactPredictor => {
  const where = `artifact ${artifact.id}`;
  if (artifact.format !== XGBOOST_JSON_FORMAT) fail(where, `format is ${show(artifact.format)}; expected ${show(XGBOOST_JSON_FORMAT)}`);
  const model = parseXGBoostModel(artifact.model, where);
  if (!SIGNED_RETURN_OBJECTIVES.has(model.objective)) {
    fail(
      where,
      `objective ${show(model.objective)} does not predict a signed return, which the envelope's target ${show(artifact.target.kind)} promises ` +
        `(the predict step buys only positive predictions); use one of ${[...SIGNED_RETURN_OBJECTIVES].join(', ')}`,
    );
  }
  const p = xgboostPredictor(model, artifact.features, where);
  return { artifact, model, predict: p.predict, predictMargin: p.predictMargin };
}) satisfies ModelLoader;

/**
 * Objectives whose output can be a signed forward return (the artifact envelope's only target): the
 * regression losses on an unbounded label, and `binary:logitraw` (a raw margin). Probabilities,
 * counts and other non-negative outputs are refused by {@link loadXGBoost}: their sign carries no
 * buy/no-buy meaning, so the predict step would treat every symbol as a buy.
 */
export const SIGNED_RETURN_OBJECTIVES: ReadonlySet<string> = new Set(['reg:squarederror', 'reg:absoluteerror', 'reg:pseudohubererror', 'binary:logitraw']);

/** The envelope fields other than those {@link xgboostArtifact} fills from the model. */
export type XGBoostArtifactMeta = Omit<ModelArtifact, 'schemaVersion' | 'format' | 'model' | 'features'> & {
  /** Column order; defaults to the model's `feature_names`. */
  features?: string[];
};

/**
 * Wraps a raw XGBoost JSON model in the artifact envelope (format `xgboost-json`), after checking
 * that it parses and that the features match.
 * @param json the object `Booster.save_model('m.json')` writes.
 * @param meta the remaining envelope fields; `features` defaults to the model's `feature_names`.
 * @throws Error as {@link parseXGBoostModel} and {@link xgboostPredictor} (no names anywhere, a
 *   count or name mismatch).
 */
export function xgboostArtifact(json: unknown, meta: XGBoostArtifactMeta): ModelArtifact {
  const where = `artifact ${meta.id}`;
  const model = parseXGBoostModel(json, where);
  const { features } = xgboostPredictor(model, meta.features, where);
  return { ...meta, schemaVersion: MODEL_ARTIFACT_SCHEMA_VERSION, format: XGBOOST_JSON_FORMAT, features: [...features], model: json };
}
