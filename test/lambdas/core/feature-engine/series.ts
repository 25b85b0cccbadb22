/**
 * Test inputs for the feature-engine tests: real daily bars read from the bundled S&P 500 CSVs
 * (rows with defects skipped) and a seeded synthetic random walk.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { EngineInput } from '../../../../lambdas/core/feature-engine/types';
import type { Bars } from './ta-reference';
import { prng } from '../../../support/prng';

export { prng };

const DATA_DIR = join(import.meta.dirname, '../../../../data/sp500-daily-2013-2018');

/**
 * Reads `<symbol>_data.csv` and keeps only the rows whose open/high/low/close are finite and > 0,
 * volume finite and >= 0, high >= low and open/close inside [low, high].
 */
export function loadBars(symbol: string): Bars & { skipped: number } {
  const rows = parse(readFileSync(join(DATA_DIR, `${symbol}_data.csv`), 'utf8'), { columns: true, skip_empty_lines: true }) as Array<
    Record<string, string>
  >;
  const b: Bars & { skipped: number } = { open: [], high: [], low: [], close: [], volume: [], skipped: 0 };
  for (const r of rows) {
    const num = (k: string): number => (r[k] === undefined || r[k] === '' ? Number.NaN : Number(r[k]));
    const [o, h, l, c, v] = [num('open'), num('high'), num('low'), num('close'), num('volume')];
    const ok =
      [o, h, l, c].every((x) => Number.isFinite(x) && x > 0) && Number.isFinite(v) && v >= 0 && h >= l && o >= l && o <= h && c >= l && c <= h;
    if (!ok) {
      b.skipped++;
      continue;
    }
    b.open.push(o);
    b.high.push(h);
    b.low.push(l);
    b.close.push(c);
    b.volume.push(v);
  }
  return b;
}


/**
 * A geometric random walk of `n` daily bars starting at 100 (about 1.5 % daily volatility), with
 * consistent OHLC, integer volumes, and about 3 % of sessions whose close repeats the previous one
 * (and some zero-range bars) so the equality branches are exercised.
 */
export function randomWalk(n: number, seed: number): Bars {
  const rnd = prng(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const b: Bars = { open: [], high: [], low: [], close: [], volume: [] };
  let prev = 100;
  for (let i = 0; i < n; i++) {
    const open = prev * Math.exp(0.004 * gauss());
    const close = rnd() < 0.03 ? prev : prev * Math.exp(0.015 * gauss());
    const flat = rnd() < 0.01;
    const high = flat ? Math.max(open, close) : Math.max(open, close) * (1 + 0.008 * Math.abs(gauss()));
    const low = flat ? Math.min(open, close) : Math.min(open, close) * (1 - 0.008 * Math.abs(gauss()));
    b.open.push(open);
    b.high.push(high);
    b.low.push(low);
    b.close.push(close);
    b.volume.push(Math.round(1e6 * (0.3 + rnd())));
    prev = close;
  }
  return b;
}

/** The engine input of `b` (no benchmark unless given). */
export function toInput(b: Bars, benchClose: number[] | null = null): EngineInput {
  return {
    open: Float64Array.from(b.open),
    high: Float64Array.from(b.high),
    low: Float64Array.from(b.low),
    close: Float64Array.from(b.close),
    volume: Float64Array.from(b.volume),
    benchClose: benchClose ? Float64Array.from(benchClose) : null,
  };
}
