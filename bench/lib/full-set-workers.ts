/**
 * The full feature set spread across worker_threads (issue: "optionally spread across cores with
 * worker_threads"). Same data and same `FeatureEngine.compute` as `measureFullSet`, on N workers.
 *
 * Untimed setup: bench/full-set-worker.ts is bundled with the engine by esbuild into a temp .mjs;
 * every symbol's input columns are copied once into one SharedArrayBuffer; the workers are started
 * (each builds views of the shared columns and its own FeatureEngine) and answer `ready`.
 *
 * Timed pass: from posting one message per worker (its share of symbol indices, balanced by bar
 * count) until every worker has answered `done`, so the messaging round trip is inside the figure.
 * Each worker writes each symbol's last value of every column and the pass number into shared
 * result buffers; after each pass the main thread checks that every symbol was computed in that pass
 * and that the last values equal the single-thread ones exactly (Object.is). One extra, untimed
 * verification pass hashes every value of every column (bit-exact) in the workers and compares it
 * with the same hash of the single-thread results.
 *
 * Never throws: a failure returns `{ ok: false, reason }`, and the workers are always terminated.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { EngineInput } from '../../lambdas/core/feature-engine/types';
import type { FullSetData } from './full-set';
import { hashColumns, slotSize, writeSlot, type SymbolSlot, type WorkerInit, type WorkerPass, type WorkerReply } from './shared-columns';
import { median } from './timing';

export type FullSetWorkersMeasure =
  | {
      ok: true;
      workers: number;
      /** Bars assigned to each worker (balanced by bar count, longest symbols first). */
      barsPerWorker: number[];
      /** Bundling, shared-buffer copy, worker start-up and `ready` (untimed in the figures). */
      setupS: number;
      /** First pass on the fresh workers (includes their JIT warm-up). */
      coldS: number;
      /** Median of the later passes. */
      warmS: number;
      passesS: number[];
      /** Median over the warm passes of (pass wall time − the slowest worker's own compute time). */
      overheadS: number;
      /** Median over the warm passes of (slowest − fastest worker compute time). */
      imbalanceS: number;
      /** Each worker's own compute time (its `performance.now()` around its symbols), median over the warm passes. */
      workerComputeS: number[];
      /** Symbols whose worker results differ from the single-thread ones (expected 0). */
      mismatches: number;
      /** The first few differences, for the report. */
      mismatchExamples: string[];
    }
  | { ok: false; workers: number; reason: string };

interface FeatureEngineLike {
  compute(input: EngineInput, length: number): { names: readonly string[]; values: readonly Float64Array[] };
}

interface Pending {
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

/** One started worker and its single outstanding request. */
class WorkerHandle {
  readonly worker: Worker;
  private pending: Pending | null = null;
  private failure: Error | null = null;
  private terminating = false;

  constructor(file: string, readonly id: number) {
    // execArgv: [] — a plain Node worker, without the tsx loader the main thread runs under.
    this.worker = new Worker(file, { execArgv: [] });
    this.worker.on('message', (reply: WorkerReply) => {
      const p = this.pending;
      this.pending = null;
      if (p === null) return;
      if (reply.type === 'error') p.reject(new Error(`worker ${this.id}: ${reply.message}`));
      else p.resolve(reply);
    });
    this.worker.on('error', (error: Error) => this.fail(new Error(`worker ${this.id} crashed: ${error.stack ?? error.message}`)));
    this.worker.on('exit', (code: number) => {
      if (!this.terminating) this.fail(new Error(`worker ${this.id} exited with code ${code}`));
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const p = this.pending;
    this.pending = null;
    p?.reject(error);
  }

  /** Posts `message` and resolves with the worker's answer. */
  request(message: WorkerInit | WorkerPass): Promise<WorkerReply> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.pending !== null) return Promise.reject(new Error(`worker ${this.id}: request while another is outstanding`));
    const answer = new Promise<WorkerReply>((resolve, reject) => {
      this.pending = { resolve, reject };
    });
    this.worker.postMessage(message);
    return answer;
  }

  async terminate(): Promise<void> {
    this.terminating = true;
    await this.worker.terminate();
  }
}

/** Rejects after `ms` unless `promise` settles first. */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Longest symbols first, each to the worker with the fewest bars so far. */
function partition(lengths: readonly number[], workers: number): { indices: Int32Array[]; bars: number[] } {
  const order = lengths.map((_, i) => i).sort((a, b) => (lengths[b] as number) - (lengths[a] as number) || a - b);
  const lists: number[][] = Array.from({ length: workers }, () => []);
  const bars = new Array<number>(workers).fill(0);
  for (const s of order) {
    let w = 0;
    for (let k = 1; k < workers; k++) if ((bars[k] as number) < (bars[w] as number)) w = k;
    (lists[w] as number[]).push(s);
    bars[w] = (bars[w] as number) + (lengths[s] as number);
  }
  return { indices: lists.map((l) => Int32Array.from(l.sort((a, b) => a - b))), bars };
}

export interface FullSetWorkersOptions {
  enginePath: string;
  /** bench/full-set-worker.ts */
  workerEntry: string;
  /** Temp dir for the worker bundle. */
  tmp: string;
  data: FullSetData;
  /** Column count of the single-thread run. */
  columns: number;
  passes: number;
  workers: number;
  log: (line: string) => void;
  /** Per-request time limit (ms). */
  timeoutMs?: number;
}

export async function measureFullSetWorkers(opts: FullSetWorkersOptions): Promise<FullSetWorkersMeasure> {
  const { data, columns, workers: count, log } = opts;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const handles: WorkerHandle[] = [];
  const setupStart = performance.now();
  try {
    if (!Number.isInteger(count) || count < 1) return { ok: false, workers: count, reason: `invalid worker count ${count}` };
    const n = data.symbols.length;

    // Reference: the single-thread results (untimed): last value of every column, hash of all values.
    const mod = (await import(pathToFileURL(opts.enginePath).href)) as { FeatureEngine?: new () => FeatureEngineLike };
    if (typeof mod.FeatureEngine !== 'function') return { ok: false, workers: count, reason: `${opts.enginePath} does not export a FeatureEngine class` };
    const reference = new mod.FeatureEngine();
    const refLast = new Float64Array(n * columns);
    const refHash = new Uint32Array(n);
    data.symbols.forEach(({ input, length }, s) => {
      const { values } = reference.compute(input, length);
      if (values.length !== columns) throw new Error(`symbol ${s}: ${values.length} columns, expected ${columns}`);
      for (let c = 0; c < columns; c++) refLast[s * columns + c] = length > 0 ? ((values[c] as Float64Array)[length - 1] as number) : Number.NaN;
      refHash[s] = hashColumns(values, length);
    });

    // Worker bundle (plain .mjs, engine included), as the tulind child is bundled.
    const bundleFile = join(opts.tmp, 'full-set-worker.mjs');
    await build({ entryPoints: [opts.workerEntry], outfile: bundleFile, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'error' });

    // Every symbol's columns in one SharedArrayBuffer (copied once).
    const slots: SymbolSlot[] = [];
    let total = 0;
    for (const { input, length } of data.symbols) {
      const hasBench = input.benchClose !== null;
      slots.push({ offset: total, length, hasBench });
      total += slotSize(length, hasBench);
    }
    const inputs = new SharedArrayBuffer(total * Float64Array.BYTES_PER_ELEMENT);
    const inputView = new Float64Array(inputs);
    data.symbols.forEach(({ input }, s) => writeSlot(inputView, slots[s] as SymbolSlot, input));
    const lastValuesBuf = new SharedArrayBuffer(n * columns * Float64Array.BYTES_PER_ELEMENT);
    const stampsBuf = new SharedArrayBuffer(n * Int32Array.BYTES_PER_ELEMENT);
    const hashesBuf = new SharedArrayBuffer(n * Uint32Array.BYTES_PER_ELEMENT);
    const lastValues = new Float64Array(lastValuesBuf);
    const stamps = new Int32Array(stampsBuf);
    const hashes = new Uint32Array(hashesBuf);

    const { indices, bars } = partition(data.symbols.map((s) => s.length), count);

    // Start the workers and wait for `ready`.
    for (let w = 0; w < count; w++) handles.push(new WorkerHandle(bundleFile, w));
    const init: WorkerInit = { type: 'init', inputs, slots, lastValues: lastValuesBuf, stamps: stampsBuf, hashes: hashesBuf, columns };
    await withTimeout(Promise.all(handles.map((h) => h.request(init))), timeoutMs, 'worker start-up');
    const setupS = (performance.now() - setupStart) / 1000;
    log(`full set on workers: ${count} workers ready in ${setupS.toFixed(3)} s (bundle, ${(total * 8 / 1e6).toFixed(1)} MB shared inputs, start-up; untimed), bars per worker ${bars.join(' / ')}`);

    const mismatched = new Set<number>();
    const examples: string[] = [];
    const note = (s: number, what: string): void => {
      mismatched.add(s);
      if (examples.length < 5) examples.push(`${data.symbols[s]?.symbol ?? s}: ${what}`);
    };

    let passNo = 0;
    /** One pass: wall seconds (post → every `done`), and the workers' own compute seconds. */
    const runPass = async (verify: boolean): Promise<{ wallS: number; computeS: number[] }> => {
      passNo++;
      const current = passNo;
      const start = performance.now();
      const replies = await withTimeout(
        Promise.all(handles.map((h, w) => h.request({ type: 'pass', pass: current, indices: indices[w] as Int32Array, verify }))),
        timeoutMs,
        `pass ${current}`,
      );
      const wallS = (performance.now() - start) / 1000;
      const computeS = replies.map((r) => (r.type === 'done' ? r.computeS : Number.NaN));
      // Checks (untimed): every symbol computed in this pass, last values identical.
      for (let s = 0; s < n; s++) {
        if (Atomics.load(stamps, s) !== current) {
          note(s, `not computed in pass ${current}`);
          continue;
        }
        for (let c = 0; c < columns; c++) {
          const got = lastValues[s * columns + c] as number;
          const want = refLast[s * columns + c] as number;
          if (!Object.is(got, want)) {
            note(s, `pass ${current}, column ${c}, last value ${got} vs ${want} on one thread`);
            break;
          }
        }
        if (verify && hashes[s] !== refHash[s]) note(s, `hash of all values ${hashes[s]} vs ${refHash[s]} on one thread`);
      }
      return { wallS, computeS };
    };

    const cold = await runPass(false);
    const warm: { wallS: number; computeS: number[] }[] = [];
    for (let p = 0; p < opts.passes; p++) warm.push(await runPass(false));
    await runPass(true); // verification: every value of every column, hashed in the workers (untimed)

    const passesS = warm.map((p) => p.wallS);
    return {
      ok: true,
      workers: count,
      barsPerWorker: bars,
      setupS,
      coldS: cold.wallS,
      warmS: median(passesS),
      passesS,
      overheadS: median(warm.map((p) => p.wallS - Math.max(...p.computeS))),
      imbalanceS: median(warm.map((p) => Math.max(...p.computeS) - Math.min(...p.computeS))),
      workerComputeS: handles.map((_, w) => median(warm.map((p) => p.computeS[w] as number))),
      mismatches: mismatched.size,
      mismatchExamples: examples,
    };
  } catch (error) {
    return { ok: false, workers: count, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await Promise.allSettled(handles.map((h) => h.terminate()));
  }
}
