/** Timing helpers: one warm-up pass, then the median of N timed passes. */
import { performance } from 'node:perf_hooks';

export interface Timing {
  /** Seconds of the warm-up (first, cold) pass. */
  warmupS: number;
  /** Seconds of each timed pass, in run order. */
  passesS: number[];
  /** Median of `passesS`. */
  medianS: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Sink for pass results, so no pass can be optimised away; also handy as a checksum. */
export let sink = 0;

/** Seconds taken by `fn` (wall clock, `performance.now`). */
export function seconds(fn: () => number): number {
  const start = performance.now();
  sink += fn();
  return (performance.now() - start) / 1000;
}

/** Runs `pass` once to warm up, then `passes` timed times; returns the figures. */
export function timePasses(pass: () => number, passes: number): Timing {
  const warmupS = seconds(pass);
  const passesS: number[] = [];
  for (let p = 0; p < passes; p++) passesS.push(seconds(pass));
  return { warmupS, passesS, medianS: median(passesS) };
}
