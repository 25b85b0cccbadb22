/**
 * Child process of `npm run bench`, run under the Node whose ABI matches the tulind addon (Node 20
 * here: the addon was compiled against Node 20 headers). Bundled to a temp .mjs by esbuild; the
 * engine kernels arrive as a separate esbuild bundle whose path is given in the job.
 *
 * argv[2] is a JSON job: { repoRoot, dataFile, series, bars, passes, enginePasses, kernelsBundle: string | null }.
 * Prints one JSON line: { node, engine: EngineMeasure | null, tulind: TulindMeasure }.
 */
import { pathToFileURL } from 'node:url';
import { measureEngine, measureTulind, type EngineMeasure } from './lib/measure';
import { loadTulind } from './lib/impl-tulind';
import { readSyntheticSet } from './lib/synthetic';

interface Job {
  repoRoot: string;
  dataFile: string;
  series: number;
  bars: number;
  /** Timed passes for tulind. */
  passes: number;
  /** Timed passes for the (much faster) engine. */
  enginePasses: number;
  kernelsBundle: string | null;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  const set = readSyntheticSet(job.dataFile, job.series, job.bars);
  let kernels: unknown | null = null;
  let engine: EngineMeasure | null = null;
  if (job.kernelsBundle !== null) {
    try {
      kernels = await import(pathToFileURL(job.kernelsBundle).href);
    } catch (error) {
      engine = { ok: false, reason: `cannot import the kernels bundle: ${(error as Error).message}` };
    }
  }
  const load = loadTulind(job.repoRoot);
  // Only worth timing the engine here when tulind loads in this runtime (the point is the same-runtime
  // ratio). The engine goes first, before tulind's passes fill the heap with result arrays.
  if (kernels !== null && load.ok) engine = measureEngine(kernels, set, job.enginePasses, null);
  const tulind = measureTulind(load, set, job.passes, kernels);
  process.stdout.write(`${JSON.stringify({ node: process.version, engine, tulind })}\n`);
}

main().catch((error: unknown) => {
  process.stdout.write(`${JSON.stringify({ node: process.version, fatal: (error as Error).stack ?? String(error) })}\n`);
  process.exitCode = 1;
});
