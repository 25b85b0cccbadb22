import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleOf, FileModelSource } from '../../../../lambdas/adapters/model/model-source';
import { MODEL_ARTIFACT_SCHEMA_VERSION, parseModelBundle } from '../../../../lambdas/core/model/artifact';

const artifact = (asOf: string, id = `toy@${asOf}`) => ({
  schemaVersion: MODEL_ARTIFACT_SCHEMA_VERSION,
  id,
  format: 'ridge-v1',
  features: ['ret_5'],
  target: { kind: 'forward_return_demeaned', horizonSessions: 5 },
  trainingWindow: { from: '2014-01-02', to: asOf, asOf },
  validation: { method: 'toy', purgeSessions: 5, embargoFraction: 0.01, folds: [], meanIc: 0, meanHitRate: 0.5 },
  model: {},
});
const bundle = (...snapshots: unknown[]) => ({ schemaVersion: 1, kind: 'walk-forward-bundle', name: 'toy', createdBy: 'test', snapshots, walkForward: [] });

describe('model bundles', () => {
  it('a single artifact becomes a one-snapshot bundle', () => {
    const b = bundleOf(artifact('2017-06-30'), 'x.json');
    expect(b.snapshots.map((s) => s.id)).toEqual(['toy@2017-06-30']);
    expect(b.name).toBe('toy@2017-06-30');
  });

  it('refuses snapshots out of as-of order, repeated ids, an embargo under 1% and a wrong schema version, naming the field', () => {
    expect(() => parseModelBundle(bundle(artifact('2017-06-30'), artifact('2017-05-31')), 'b.json')).toThrow(
      'model bundle b.json: snapshots[1].trainingWindow.asOf 2017-05-31 is not after 2017-06-30',
    );
    expect(() => parseModelBundle(bundle(artifact('2017-05-31', 'a'), artifact('2017-06-30', 'a')))).toThrow('snapshots[1].id a appears twice');
    const lowEmbargo = { ...artifact('2017-06-30'), validation: { ...artifact('2017-06-30').validation, embargoFraction: 0.005 } };
    expect(() => bundleOf(lowEmbargo, 'e.json')).toThrow(/model artifact e.json: validation.embargoFraction/);
    expect(() => bundleOf({ ...artifact('2017-06-30'), schemaVersion: 2 }, 'v.json')).toThrow(/schemaVersion/);
  });

  it('FileModelSource names the file when it is missing or not JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'model-source-'));
    await writeFile(join(dir, 'bad.json'), '{ not json');
    await expect(new FileModelSource(join(dir, 'missing.json')).load()).rejects.toThrow(/model file .*missing\.json: ENOENT/);
    await expect(new FileModelSource(join(dir, 'bad.json')).load()).rejects.toThrow(/model file .*bad\.json: not JSON/);
    await writeFile(join(dir, 'ok.json'), JSON.stringify(bundle(artifact('2017-06-30'))));
    const loaded = await new FileModelSource(join(dir, 'ok.json')).load();
    expect(loaded.snapshots).toHaveLength(1);
  });
});
