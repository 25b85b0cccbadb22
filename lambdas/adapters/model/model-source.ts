/**
 * Model sources for the predict step (ModelSourcePort): the walk-forward bundle shipped with the
 * project (`models/baseline-ridge-fwd5.json`, built by `npm run train`), or any JSON file holding a
 * bundle or a single artifact (e.g. an XGBoost model wrapped in the artifact envelope).
 *
 * Both cache the parsed bundle for the life of the process (a replay loads it once, not per session).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { MODEL_ARTIFACT_SCHEMA_VERSION, parseModelArtifact, parseModelBundle, type ModelBundle } from '../../core/model/artifact';
import type { ModelSourcePort } from '../../ports';

/** The shipped bundle, relative to the repository root. */
export const BUNDLED_MODEL_FILE = 'models/baseline-ridge-fwd5.json';

/**
 * A bundle from a parsed JSON value: a `walk-forward-bundle`, or a single artifact wrapped as a
 * one-snapshot bundle (no walk-forward readings).
 * @throws Error naming `where` and the invalid field.
 */
export function bundleOf(value: unknown, where: string): ModelBundle {
  if (value && typeof value === 'object' && (value as { kind?: unknown }).kind === 'walk-forward-bundle') return parseModelBundle(value, where);
  const artifact = parseModelArtifact(value, where);
  return parseModelBundle(
    { schemaVersion: MODEL_ARTIFACT_SCHEMA_VERSION, kind: 'walk-forward-bundle', name: artifact.id, createdBy: `single artifact ${where}`, snapshots: [artifact], walkForward: [] },
    where,
  );
}

const fileCache = new Map<string, Promise<ModelBundle>>();

/** A bundle or artifact in a JSON file (local `--model FILE`, or MODEL_FILE in a Lambda's package). */
export class FileModelSource implements ModelSourcePort {
  readonly source: string;
  constructor(file: string) {
    this.source = resolve(file);
  }

  load(): Promise<ModelBundle> {
    let cached = fileCache.get(this.source);
    if (!cached) {
      cached = (async () => {
        let text: string;
        try {
          text = await readFile(this.source, 'utf8');
        } catch (error) {
          throw new Error(`model file ${this.source}: ${(error as Error).message}`);
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (error) {
          throw new Error(`model file ${this.source}: not JSON (${(error as Error).message})`);
        }
        return bundleOf(value, this.source);
      })();
      cached.catch(() => fileCache.delete(this.source));
      fileCache.set(this.source, cached);
    }
    return cached;
  }
}

let bundled: Promise<ModelBundle> | undefined;

/** The shipped bundle, compiled into the code (esbuild inlines the JSON; no file at run time). */
export class BundledModelSource implements ModelSourcePort {
  readonly source = `bundled:${BUNDLED_MODEL_FILE}`;
  load(): Promise<ModelBundle> {
    bundled ??= import('../../../models/baseline-ridge-fwd5.json', { with: { type: 'json' } }).then((m) => bundleOf(m.default, BUNDLED_MODEL_FILE));
    return bundled;
  }
}
