import { describe, expect, it } from 'vitest';
import { MODEL_ARTIFACT_SCHEMA_VERSION, selectSnapshot, type ModelArtifact, type ModelBundle, type Predictor } from '../../../lambdas/core/model/artifact';
import { MODEL_REASON_CODES, noModelScores, rankByModel } from '../../../lambdas/core/predict';

const artifact = (over: Partial<ModelArtifact> = {}): ModelArtifact => ({
  schemaVersion: MODEL_ARTIFACT_SCHEMA_VERSION,
  id: 'toy@2017-06-30',
  format: 'toy',
  features: ['ret_5', 'rsi_14'],
  target: { kind: 'forward_return_demeaned', horizonSessions: 5 },
  trainingWindow: { from: '2014-01-02', to: '2017-06-22', asOf: '2017-06-30' },
  validation: { method: 'toy', purgeSessions: 5, embargoFraction: 0.01, folds: [], meanIc: 0, meanHitRate: 0 },
  model: null,
  ...over,
});

/** prediction = ret_5 − (rsi_14 − 50) / 1000; counts its calls. */
function toyPredictor(a = artifact()): Predictor & { calls: number[] } {
  const calls: number[] = [];
  return {
    artifact: a,
    calls,
    predict(x, rows) {
      calls.push(rows);
      const out = new Float64Array(rows);
      for (let r = 0; r < rows; r++) out[r] = (x[r * 2] as number) - ((x[r * 2 + 1] as number) - 50) / 1000;
      return out;
    },
  };
}

// The engine columns in another order than the model reads them, plus one it does not read.
const columns = ['rsi_14', 'sma_20', 'ret_5'];
const rows = {
  AAA: [50, 10, 0.02], // 0.02
  BBB: [60, 11, 0.03], // 0.03 − 0.01 = 0.02 (tie with AAA: by symbol)
  CCC: [50, 12, 0.05], // 0.05
  DDD: [50, 13, -0.01], // −0.01 → NON_POSITIVE_PREDICTION
  EEE: [null, 14, 0.04], // rsi_14 missing
  FFF: [50, null, 0], // sma_20 missing but not read by the model: 0 → NON_POSITIVE_PREDICTION
};

describe('rankByModel', () => {
  it('reads each row in the model feature order, ranks by prediction, and says why the others are out', () => {
    const p = toyPredictor();
    const scores = rankByModel(['FFF', 'EEE', 'DDD', 'CCC', 'BBB', 'AAA', 'GGG'], { columns, rows }, p);
    expect(scores.map((s) => [s.symbol, s.rank, s.eligible])).toEqual([
      ['CCC', 1, true],
      ['AAA', 2, true],
      ['BBB', 3, true],
      ['DDD', null, false],
      ['EEE', null, false],
      ['FFF', null, false],
      ['GGG', null, false],
    ]);
    expect(scores[0]!.score).toBeCloseTo(0.05, 15);
    expect(scores[0]!.reason).toBe('OK: predicted 5-session excess return 5.00% (model toy@2017-06-30)');
    expect(scores.find((s) => s.symbol === 'DDD')!.reason).toBe('NON_POSITIVE_PREDICTION: predicted 5-session excess return -1.00% <= 0.00%');
    expect(scores.find((s) => s.symbol === 'EEE')!.reason).toBe('MODEL_INPUT_MISSING: rsi_14 undefined');
    expect(scores.find((s) => s.symbol === 'GGG')!.reason).toBe('MODEL_INPUT_MISSING: no feature row');
    // One batch call with only the complete rows.
    expect(p.calls).toEqual([5]);
    for (const s of scores) expect(MODEL_REASON_CODES).toContain(s.reason.split(':')[0]);
  });

  it('minPrediction raises the bar', () => {
    const scores = rankByModel(['AAA', 'CCC'], { columns, rows }, toyPredictor(), 0.03);
    expect(scores.filter((s) => s.eligible).map((s) => s.symbol)).toEqual(['CCC']);
  });

  it('a non-finite prediction is refused, not ranked', () => {
    const p: Predictor = { artifact: artifact(), predict: (_x, n) => new Float64Array(n).fill(Number.NaN) };
    expect(rankByModel(['AAA'], { columns, rows }, p)[0]!.reason).toMatch(/^MODEL_OUTPUT_INVALID: prediction NaN/);
  });

  it('throws when the model reads a column the feature step does not compute, or a symbol repeats', () => {
    const p = toyPredictor(artifact({ features: ['ret_5', 'alpha_42'] }));
    expect(() => rankByModel(['AAA'], { columns, rows }, p)).toThrow('model toy@2017-06-30 reads feature alpha_42, which the feature step does not compute');
    expect(() => rankByModel(['AAA', 'AAA'], { columns, rows }, toyPredictor())).toThrow('symbol AAA appears more than once');
  });

  it('noModelScores makes every symbol ineligible with the reason', () => {
    expect(noModelScores(['B', 'A'], 'no snapshot')).toEqual([
      { symbol: 'A', score: null, rank: null, eligible: false, reason: 'MODEL_NOT_AVAILABLE: no snapshot' },
      { symbol: 'B', score: null, rank: null, eligible: false, reason: 'MODEL_NOT_AVAILABLE: no snapshot' },
    ]);
  });
});

describe('selectSnapshot: a session only uses a model trained strictly before it', () => {
  const snap = (asOf: string) => artifact({ id: `toy@${asOf}`, trainingWindow: { from: '2014-01-02', to: asOf, asOf } });
  const bundle: ModelBundle = {
    schemaVersion: MODEL_ARTIFACT_SCHEMA_VERSION,
    kind: 'walk-forward-bundle',
    name: 'toy',
    createdBy: 'test',
    snapshots: [snap('2017-01-31'), snap('2017-02-28'), snap('2017-03-31')],
    walkForward: [],
  };
  it.each([
    ['2017-01-31', null],
    ['2017-02-01', 'toy@2017-01-31'],
    ['2017-02-28', 'toy@2017-01-31'],
    ['2017-03-01', 'toy@2017-02-28'],
    ['2018-01-02', 'toy@2017-03-31'],
  ])('session %s uses %s', (session, id) => {
    expect(selectSnapshot(bundle, session)?.id ?? null).toBe(id);
  });
});
