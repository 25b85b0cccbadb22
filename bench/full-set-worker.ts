/**
 * Worker thread of the full-set measurement on several cores (bench/lib/full-set-workers.ts).
 * Bundled with the feature engine by esbuild into a temp .mjs and started with `new Worker(...)`
 * under the Node running the bench.
 *
 * Protocol: an `init` message gives the SharedArrayBuffers (inputs of every symbol, result slots);
 * the worker builds its views and its own FeatureEngine once and answers `ready`. Each `pass`
 * message lists the symbol indices to compute; the worker computes them, writes each symbol's last
 * value of every column and the pass number into the shared result buffers (and, when `verify`, a
 * hash of every value), then answers `done`.
 */
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { FeatureEngine } from '../lambdas/core/feature-engine/engine';
import { hashColumns, slotInput, type WorkerInit, type WorkerPass, type WorkerReply } from './lib/shared-columns';
import type { EngineInput } from '../lambdas/core/feature-engine/types';

const port = parentPort;
if (port === null) throw new Error('full-set-worker must run in a worker thread');
const reply = (message: WorkerReply): void => port.postMessage(message);

let state: {
  inputs: EngineInput[];
  lengths: number[];
  lastValues: Float64Array;
  stamps: Int32Array;
  hashes: Uint32Array;
  columns: number;
  engine: FeatureEngine;
} | null = null;

function init(message: WorkerInit): void {
  const shared = new Float64Array(message.inputs);
  state = {
    inputs: message.slots.map((slot) => slotInput(shared, slot)),
    lengths: message.slots.map((slot) => slot.length),
    lastValues: new Float64Array(message.lastValues),
    stamps: new Int32Array(message.stamps),
    hashes: new Uint32Array(message.hashes),
    columns: message.columns,
    engine: new FeatureEngine(),
  };
}

function pass(message: WorkerPass): { computeS: number; columns: number } {
  if (state === null) throw new Error('pass before init');
  const { inputs, lengths, lastValues, stamps, hashes, columns, engine } = state;
  const start = performance.now();
  let produced = 0;
  for (const s of message.indices) {
    const input = inputs[s];
    const length = lengths[s];
    if (input === undefined || length === undefined) throw new Error(`no symbol ${s}`);
    const { values } = engine.compute(input, length);
    produced = values.length;
    if (produced !== columns) throw new Error(`symbol ${s}: ${produced} columns, the single-thread run had ${columns}`);
    const row = s * columns;
    for (let c = 0; c < columns; c++) lastValues[row + c] = length > 0 ? ((values[c] as Float64Array)[length - 1] as number) : Number.NaN;
    if (message.verify) hashes[s] = hashColumns(values, length);
    Atomics.store(stamps, s, message.pass);
  }
  return { computeS: (performance.now() - start) / 1000, columns: produced };
}

port.on('message', (message: WorkerInit | WorkerPass) => {
  const passNo = message.type === 'pass' ? message.pass : null;
  try {
    if (message.type === 'init') {
      init(message);
      reply({ type: 'ready' });
    } else {
      const { computeS, columns } = pass(message);
      reply({ type: 'done', pass: message.pass, computeS, columns });
    }
  } catch (error) {
    reply({ type: 'error', pass: passNo, message: (error as Error).stack ?? String(error) });
  }
});
