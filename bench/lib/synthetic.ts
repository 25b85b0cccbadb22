/**
 * The synthetic benchmark set: `series` OHLCV random walks of `bars` daily bars each, from a fixed
 * seed (pure-rand xoroshiro128plus), held in ONE Float64Array so that every implementation — this
 * process, the Node 20 child and the C program — reads exactly the same numbers.
 *
 * Layout (also the layout of the binary file, native little-endian doubles, no header):
 *   value(series s, field f, bar i) = data[(s * FIELDS + f) * bars + i], f in open, high, low, close, volume.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

export const FIELDS = ['open', 'high', 'low', 'close', 'volume'] as const;
export type Field = (typeof FIELDS)[number];

/** One series as zero-copy views into the set's buffer (oldest bar first). */
export type Series = Record<Field, Float64Array>;

export interface SyntheticSet {
  series: number;
  bars: number;
  /** `series * FIELDS.length * bars` doubles; see the module comment for the layout. */
  data: Float64Array;
}

/** Views of series `s` (no copy). */
export function seriesView(set: SyntheticSet, s: number): Series {
  const at = (f: number): Float64Array => set.data.subarray((s * FIELDS.length + f) * set.bars, (s * FIELDS.length + f + 1) * set.bars);
  return { open: at(0), high: at(1), low: at(2), close: at(3), volume: at(4) };
}

/** Standard normal draw (Box–Muller; one of the pair is discarded, which is fine here). */
function normal(rng: RandomGenerator): number {
  const u1 = 1 - uniformFloat64(rng); // (0, 1]: log is finite
  const u2 = uniformFloat64(rng);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Geometric random walks with a realistic daily shape: close-to-close log returns N(0.0003, σ) with σ
 * drawn per series in [0.8 %, 3 %], an overnight gap for the open, high/low beyond max/min(open, close),
 * and a log-normal volume around a per-series level. Prices stay positive and low ≤ open, close ≤ high.
 */
export function generateSyntheticSet(seed: number, series: number, bars: number): SyntheticSet {
  const rng = xoroshiro128plus(seed);
  const data = new Float64Array(series * FIELDS.length * bars);
  const set: SyntheticSet = { series, bars, data };
  for (let s = 0; s < series; s++) {
    const { open, high, low, close, volume } = seriesView(set, s);
    const sigma = 0.008 + 0.022 * uniformFloat64(rng);
    const volumeLevel = 2e5 + 2e7 * uniformFloat64(rng);
    let prev = 10 + 290 * uniformFloat64(rng);
    for (let i = 0; i < bars; i++) {
      const o = prev * Math.exp(0.25 * sigma * normal(rng));
      const c = prev * Math.exp(0.0003 + sigma * normal(rng));
      const h = Math.max(o, c) * (1 + 0.5 * sigma * Math.abs(normal(rng)));
      const l = Math.min(o, c) * (1 - Math.min(0.5, 0.5 * sigma * Math.abs(normal(rng))));
      open[i] = o;
      high[i] = h;
      low[i] = l;
      close[i] = c;
      volume[i] = Math.round(volumeLevel * Math.exp(0.4 * normal(rng)));
      prev = c;
    }
  }
  return set;
}

/** Writes the set's buffer as raw doubles (the C program and the child read it back). */
export function writeSyntheticSet(path: string, set: SyntheticSet): void {
  writeFileSync(path, new Uint8Array(set.data.buffer, set.data.byteOffset, set.data.byteLength));
}

/** Reads a file written by `writeSyntheticSet`; throws when its size does not match series × bars. */
export function readSyntheticSet(path: string, series: number, bars: number): SyntheticSet {
  const bytes = readFileSync(path);
  const expected = series * FIELDS.length * bars * Float64Array.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== expected) {
    throw new Error(`${path} has ${bytes.byteLength} bytes, expected ${expected} (${series} series × ${bars} bars × 5 fields × 8)`);
  }
  const data = new Float64Array(series * FIELDS.length * bars);
  new Uint8Array(data.buffer).set(bytes);
  return { series, bars, data };
}
