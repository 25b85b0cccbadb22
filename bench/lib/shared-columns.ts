/**
 * Shared between the main thread and the full-set worker threads (bench/full-set-worker.ts): the
 * layout of every symbol's input columns in ONE SharedArrayBuffer, the result buffers, the message
 * shapes, and an exact (bit-level) hash of an engine result.
 */
import type { EngineInput } from '../../lambdas/core/feature-engine/types';

/** Where one symbol's columns sit in the shared Float64Array (offsets in doubles). */
export interface SymbolSlot {
  /** Offset of `open`; then high, low, close, volume, and benchClose when `hasBench`, each `length` long. */
  offset: number;
  length: number;
  hasBench: boolean;
}

export interface WorkerInit {
  type: 'init';
  /** Every symbol's input columns (Float64), laid out as `slots` says. */
  inputs: SharedArrayBuffer;
  slots: SymbolSlot[];
  /** Float64 [symbol × columns]: the last value of every column, written by the worker each pass. */
  lastValues: SharedArrayBuffer;
  /** Int32 [symbol]: the number of the pass that last computed the symbol (coverage check). */
  stamps: SharedArrayBuffer;
  /** Uint32 [symbol]: hash of every value of every column (verification pass only). */
  hashes: SharedArrayBuffer;
  /** Column count of the single-thread run (the row width of `lastValues`). */
  columns: number;
}

export interface WorkerPass {
  type: 'pass';
  pass: number;
  /** Symbol indices this worker computes in this pass. */
  indices: Int32Array;
  /** Also hash every value of every column into `hashes` (untimed verification pass). */
  verify: boolean;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; pass: number; computeS: number; columns: number }
  | { type: 'error'; pass: number | null; message: string };

const FIELDS = ['open', 'high', 'low', 'close', 'volume'] as const;

/** Doubles needed for one symbol's columns. */
export function slotSize(length: number, hasBench: boolean): number {
  return length * (FIELDS.length + (hasBench ? 1 : 0));
}

/** Copies `input` (rows [0, length)) into `target` at `slot.offset`. */
export function writeSlot(target: Float64Array, slot: SymbolSlot, input: EngineInput): void {
  const { offset, length } = slot;
  FIELDS.forEach((field, k) => target.set(input[field].subarray(0, length), offset + k * length));
  if (slot.hasBench && input.benchClose !== null) target.set(input.benchClose.subarray(0, length), offset + FIELDS.length * length);
}

/** Views (no copy) of one symbol's columns in the shared buffer. */
export function slotInput(shared: Float64Array, slot: SymbolSlot): EngineInput {
  const { offset, length } = slot;
  const view = (k: number): Float64Array => shared.subarray(offset + k * length, offset + (k + 1) * length);
  return { open: view(0), high: view(1), low: view(2), close: view(3), volume: view(4), benchClose: slot.hasBench ? view(5) : null };
}

/**
 * FNV-1a-style hash of the exact bits of every value of every column over rows [0, length)
 * (every NaN hashes alike, since NaN payloads carry no meaning; -0 and +0 differ, as in Object.is).
 */
export function hashColumns(values: readonly Float64Array[], length: number): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    const words = new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
    for (let i = 0; i < length; i++) {
      const x = v[i] as number;
      let lo: number;
      let hi: number;
      if (x !== x) {
        lo = 0;
        hi = 0x7ff80000;
      } else {
        lo = words[2 * i] as number;
        hi = words[2 * i + 1] as number;
      }
      h = Math.imul(h ^ lo, 0x01000193);
      h = Math.imul(h ^ hi, 0x01000193);
    }
    h = Math.imul(h ^ length, 0x01000193);
  }
  return h >>> 0;
}
