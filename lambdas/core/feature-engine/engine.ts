/**
 * The feature engine: every feature group (technical analysis, then statistics) over one symbol's
 * daily bars, into preallocated column buffers reused across symbols, with a resumable mode that
 * computes only the newest rows from cached JSON states.
 *
 * Pure: no I/O, no clock. The docs/FEATURES.md table is generated from the column docs by
 * {@link renderFeaturesMarkdown} (a test fails when the file is out of date).
 */
import { TA_GROUPS } from './groups-ta';
import { STATS_GROUPS } from './groups-stats';
import type { EngineInput, FeatureColumnDoc, FeatureGroup } from './types';

/** Every feature group, in output order: technical analysis first, then statistics. */
export const ALL_GROUPS: readonly FeatureGroup[] = [...TA_GROUPS, ...STATS_GROUPS];

/** Documentation of every output column, in output order (the research export's header order). */
export const FEATURE_COLUMNS_ALL: readonly FeatureColumnDoc[] = ALL_GROUPS.flatMap((g) => g.columns);

/**
 * Cached state of every group after row `rows − 1`: plain JSON (finite numbers, arrays, null), so
 * it can be stored between sessions and given back to {@link FeatureEngine.resume}.
 */
export interface EngineStates {
  /** Format version of this object; {@link FeatureEngine.resume} refuses any other. */
  version: 2;
  /** Number of rows the states cover: the `length` of the call that produced them. */
  rows: number;
  /** State of each group, by group id. */
  groups: Record<string, unknown>;
}

/** What {@link FeatureEngine.compute} and {@link FeatureEngine.resume} return. */
export interface EngineResult {
  /** Column names, in output order (same order as `values`). */
  names: readonly string[];
  /**
   * One series per column, each of length `length`, indexed like the input. These are VIEWS into
   * the engine's reused buffers: they stay valid only until the next `compute`/`resume` call on
   * the same engine (copy them, e.g. `Float64Array.from(v)`, to keep them). After `resume`, rows
   * [0, from) are NaN (not recomputed).
   */
  values: readonly Float64Array[];
  /** Group states after the last row, to resume from `length` in a later call. */
  states: EngineStates;
}

const STATES_VERSION = 2;

/** Throws unless `value` is an integer in [min, max]. */
function assertIndex(name: string, value: number, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

/**
 * Validates one symbol's input over rows [0, length) at the engine boundary.
 * @throws RangeError naming the field, the index and the value: a series shorter than `length`,
 *   a non-finite or <= 0 open/high/low/close, high < low, a non-finite or negative volume, or a
 *   benchmark close that is neither NaN nor a finite number > 0. A close outside [low, high] is
 *   accepted (oscillators such as %K may then leave their nominal range).
 */
export function validateEngineInput(input: EngineInput, length: number): void {
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) {
    throw new RangeError(`length must be an integer >= 0, got ${String(length)}`);
  }
  const fields = ['open', 'high', 'low', 'close', 'volume'] as const;
  for (const field of fields) {
    const series = input[field];
    if (!(series instanceof Float64Array)) throw new RangeError(`${field} must be a Float64Array, got ${typeof series}`);
    if (series.length < length) throw new RangeError(`${field}.length must be >= length ${length}, got ${series.length}`);
  }
  const { open, high, low, close, volume, benchClose } = input;
  for (const [field, series] of [
    ['open', open],
    ['high', high],
    ['low', low],
    ['close', close],
  ] as const) {
    for (let i = 0; i < length; i++) {
      const v = series[i] as number;
      if (!(v > 0 && v < Infinity)) throw new RangeError(`${field}[${i}] must be a finite number > 0, got ${String(v)}`);
    }
  }
  for (let i = 0; i < length; i++) {
    const h = high[i] as number;
    const l = low[i] as number;
    if (h < l) throw new RangeError(`high[${i}] must be >= low[${i}], got high ${h} < low ${l}`);
    const v = volume[i] as number;
    if (!(v >= 0 && v < Infinity)) throw new RangeError(`volume[${i}] must be a finite number >= 0, got ${String(v)}`);
  }
  if (benchClose !== null) {
    if (!(benchClose instanceof Float64Array)) throw new RangeError(`benchClose must be a Float64Array or null, got ${typeof benchClose}`);
    if (benchClose.length < length) throw new RangeError(`benchClose.length must be >= length ${length}, got ${benchClose.length}`);
    for (let i = 0; i < length; i++) {
      const v = benchClose[i] as number;
      if (v === v && !(v > 0 && v < Infinity)) {
        throw new RangeError(`benchClose[${i}] must be NaN (no benchmark bar) or a finite number > 0, got ${String(v)}`);
      }
    }
  }
}

/**
 * Computes every feature column of one symbol at a time into buffers it owns and reuses.
 *
 * Usage: `const e = new FeatureEngine(); const r = e.compute(input, n);` then, one session later,
 * `e.resume(input2, n, n + 1, r.states)` computes only row n (input2 holds rows 0..n). Results are
 * bit-identical to a full `compute(input2, n + 1)` for those rows.
 *
 * Buffers: one `Float64Array` per column, grown (never shrunk) when a longer series arrives, so a
 * loop over symbols allocates nothing per symbol after the longest one. Not thread-safe; use one
 * engine per worker.
 */
export class FeatureEngine {
  /** The groups this engine runs, in output order. */
  readonly groups: readonly FeatureGroup[];
  /** Documentation of every output column, in output order. */
  readonly columns: readonly FeatureColumnDoc[];
  /** Column names, in output order. */
  readonly names: readonly string[];
  private capacity = 0;
  private buffers: Float64Array[] = [];
  /** Per group, its column buffers (views of `buffers` are taken per call). */
  private groupOffsets: number[];

  /**
   * @param groups the groups to run (default {@link ALL_GROUPS}); ids and column names must be unique.
   * @throws RangeError on a duplicate group id or column name.
   */
  constructor(groups: readonly FeatureGroup[] = ALL_GROUPS) {
    this.groups = groups;
    this.columns = groups.flatMap((g) => g.columns);
    this.names = this.columns.map((c) => c.name);
    const ids = new Set<string>();
    for (const g of groups) {
      if (ids.has(g.id)) throw new RangeError(`duplicate feature group id ${g.id}`);
      ids.add(g.id);
    }
    const names = new Set<string>();
    for (const n of this.names) {
      if (names.has(n)) throw new RangeError(`duplicate feature column name ${n}`);
      names.add(n);
    }
    this.groupOffsets = [];
    let offset = 0;
    for (const g of groups) {
      this.groupOffsets.push(offset);
      offset += g.columns.length;
    }
  }

  /**
   * Computes every column over rows [0, length) of `input`.
   * @param input the symbol's bars (see {@link EngineInput}); every series must have length >= `length`.
   * @param length number of rows to compute (rows beyond it in the input are ignored).
   * @returns names, column views (valid until the next call on this engine) and the states after row length − 1.
   * @throws RangeError when the input is invalid (see {@link validateEngineInput}).
   */
  compute(input: EngineInput, length: number): EngineResult {
    validateEngineInput(input, length);
    return this.runGroups(input, 0, length, null);
  }

  /**
   * Computes only rows [from, length) from the states a previous call returned for rows [0, from).
   * The input must hold the same bars as that call for rows [0, from) (windowed kernels re-read up
   * to 200 rows back) plus the new rows; the values written are bit-identical to `compute(input, length)`.
   * @returns as {@link compute}; in `values`, rows [0, from) are NaN.
   * @throws RangeError when the input is invalid, `from` is not in [0, length], or `states` is not
   *   the state of a call that covered exactly `from` rows with the same groups.
   */
  resume(input: EngineInput, from: number, length: number, states: EngineStates): EngineResult {
    validateEngineInput(input, length);
    assertIndex('from', from, 0, length);
    if (states === null || typeof states !== 'object' || states.version !== STATES_VERSION) {
      throw new RangeError(`states must be an EngineStates object of version ${STATES_VERSION}, got version ${String((states as { version?: unknown } | null)?.version)}`);
    }
    if (states.rows !== from) throw new RangeError(`states cover ${String(states.rows)} rows but from is ${from}: resume must continue where the states end`);
    if (from > 0) {
      for (const g of this.groups) {
        if (!(g.id in states.groups)) throw new RangeError(`states has no state for feature group ${g.id}`);
      }
    }
    return this.runGroups(input, from, length, from === 0 ? null : states.groups);
  }

  private ensureCapacity(length: number): void {
    if (length <= this.capacity && this.buffers.length === this.names.length) return;
    const capacity = Math.max(length, this.capacity);
    this.buffers = this.names.map(() => new Float64Array(capacity));
    this.capacity = capacity;
  }

  private runGroups(input: EngineInput, from: number, length: number, prior: Record<string, unknown> | null): EngineResult {
    this.ensureCapacity(length);
    const groups: Record<string, unknown> = {};
    const values: Float64Array[] = new Array<Float64Array>(this.buffers.length);
    for (let c = 0; c < this.buffers.length; c++) {
      const view = (this.buffers[c] as Float64Array).subarray(0, length);
      if (from > 0) view.fill(Number.NaN, 0, from);
      values[c] = view;
    }
    for (let gi = 0; gi < this.groups.length; gi++) {
      const g = this.groups[gi] as FeatureGroup;
      const offset = this.groupOffsets[gi] as number;
      const out = values.slice(offset, offset + g.columns.length);
      const state = prior === null ? null : (prior[g.id] ?? null);
      groups[g.id] = g.run(input, out, from, length, state);
    }
    return { names: this.names, values, states: { version: STATES_VERSION, rows: length, groups } };
  }
}

/** Escapes text for a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/**
 * Renders docs/FEATURES.md: a preamble on the conventions, then one table row per column
 * (name, unit, formula, source, warm-up) in output order. Deterministic, so a test can compare
 * the committed file with it and a CLI can rewrite the file.
 * @param columns the column docs (default {@link FEATURE_COLUMNS_ALL}).
 */
export function renderFeaturesMarkdown(columns: readonly FeatureColumnDoc[] = FEATURE_COLUMNS_ALL): string {
  const lines = [
    '# Feature columns',
    '',
    '<!-- Generated from the column docs of lambdas/core/feature-engine (renderFeaturesMarkdown in engine.ts). Do not edit by hand: -->',
    '<!-- run `UPDATE_FEATURES_MD=1 npx vitest run test/lambdas/core/feature-engine/engine.test.ts` to rewrite it. -->',
    '',
    `${columns.length} columns, computed per symbol over its daily bars (oldest first) by \`FeatureEngine\``,
    '(lambdas/core/feature-engine/engine.ts). Conventions:',
    '',
    '- A value that is not defined yet (warm-up) or cannot be defined is NaN (an empty cell in the research export).',
    '- **Warm-up** is the index of the first defined value for an input without gaps: rows 0 … warm-up − 1 are NaN.',
    '- Windows of n bars include the current bar t (bars t − n + 1 … t); nothing reads a bar after t.',
    '- Recursive indicators (EMA, Wilder smoothing) are seeded as stated in the formula; their early values depend',
    '  on where the series starts, and converge as the seed decays.',
    '- Prices are USD per share, volume is shares.',
    '',
    '| # | name | unit | formula | source | warm-up |',
    '|---|---|---|---|---|---|',
  ];
  columns.forEach((c, i) => {
    lines.push(`| ${i + 1} | \`${cell(c.name)}\` | ${cell(c.unit)} | ${cell(c.formula)} | ${cell(c.source)} | ${c.warmup} |`);
  });
  lines.push('');
  return lines.join('\n');
}
