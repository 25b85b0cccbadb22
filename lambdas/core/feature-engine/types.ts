/**
 * Shared shapes of the feature engine: the columnar input of one symbol, the documented output
 * columns, and the resumable "feature group" every kernel family implements.
 *
 * Conventions (every kernel and group follows them):
 * - Series are `Float64Array`, indexed by session, oldest first. Index i is the bar of session i.
 * - A value that is not defined yet (warm-up) or cannot be defined (e.g. a zero denominator) is NaN.
 * - A group computes rows [from, to) only. It may READ inputs at any index < to (windowed kernels
 *   look back into the inputs), and it carries everything else it needs across calls in its state.
 * - Resumable: `run(input, out, 0, k, null)` followed by `run(input, out, k, n, state)` must write
 *   exactly (bit for bit) what `run(input, out, 0, n, null)` writes for rows [k, n). This is what
 *   makes the engine incremental for the next session.
 * - State is plain JSON data (numbers, arrays of numbers, null), so it can be cached between runs.
 *   NaN/±Infinity must not appear in a state: JSON cannot carry them (use null).
 * - Pure: no I/O, no clock, no allocation inside the per-row loop.
 */

/** One symbol's daily bars as columns (USD per share; volume in shares). All of length ≥ `to`. */
export interface EngineInput {
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  /**
   * The benchmark's (SPY) close on the same sessions, USD, NaN where the benchmark has no valid bar;
   * null when no benchmark is available (the versus-benchmark columns are then all NaN).
   */
  benchClose: Float64Array | null;
}

/** Documentation of one output column. Names are stable: they are the research export's header. */
export interface FeatureColumnDoc {
  /** Stable snake_case column name, e.g. `rsi_14`, `bb_upper_20_2`, `macd_12_26_9`. */
  name: string;
  /** Unit of the value, e.g. `USD`, `fraction`, `0..100`, `shares`, `ratio`. */
  unit: string;
  /** The formula, in plain text, with the smoothing constants and seeding used. */
  formula: string;
  /** Where the definition comes from (book, paper, or reference library and function). */
  source: string;
  /**
   * Index of the first defined value when the input has no NaN, i.e. the number of warm-up rows
   * (rows [0, warmup) are NaN). For a recursive indicator, also say in `formula` how it is seeded.
   */
  warmup: number;
}

/**
 * A fused family of columns computed in one pass (e.g. MACD line/signal/histogram, or
 * Bollinger upper/middle/lower). `S` is the group's JSON state between calls.
 */
export interface FeatureGroup<S = unknown> {
  /** Unique id, e.g. `macd`, `bollinger_20_2`. */
  id: string;
  /** Output columns, in the order `run` receives their buffers. */
  columns: readonly FeatureColumnDoc[];
  /**
   * Computes rows [from, to) of every column into `out[c][row]`.
   * @param state null when `from` is 0 (fresh start); otherwise the state returned by the call that
   *   computed rows up to `from`.
   * @returns the state after row `to − 1`.
   */
  run(input: EngineInput, out: readonly Float64Array[], from: number, to: number, state: S | null): S;
}
