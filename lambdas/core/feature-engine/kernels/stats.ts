/**
 * Statistics kernels of the feature engine: returns, risk, liquidity and versus-benchmark columns,
 * computed as resumable, fused, allocation-free passes over `Float64Array` inputs (see ../types.ts
 * for the contract; the column catalogue with units, formulas and sources is ../groups-stats.ts).
 *
 * Numerics (why the rolling columns match a from-scratch recomputation of every window to ~1e-13):
 * - Every rolling statistic is kept by a {@link RollingWindow}: Neumaier-compensated running sums
 *   (A. Neumaier 1974, "Rundungsfehleranalyse einiger Verfahren zur Summation endlicher Summen",
 *   ZAMM 54) of per-observation terms, updated in O(1) per row (add the new observation, subtract the
 *   one that left). The subtracted term is recomputed from the inputs with exactly the same
 *   operations as when it was added, so it is bit-identical to what was added.
 * - Moments are sums of powers of deviations from a reference `K` (shifted data, Chan, Golub &
 *   LeVeque 1983, "Algorithms for computing the sample variance"), with `K` = the window mean at the
 *   last rebuild: the power sums therefore never cancel catastrophically.
 * - Periodic exact recompute: the sums are rebuilt from scratch (two passes: mean → `K`, then the
 *   power sums) whenever the window start is a multiple of the window length (once per window
 *   turnover, so O(1) amortized per row), and whenever the window becomes complete and NaN-free
 *   after a warm-up or a NaN, and whenever the window mean has drifted so far from the shift that the
 *   centered sum of squares would lose more than a bit to cancellation (an outlier that set the shift
 *   has left the window). No error survives a rebuild, and NaN never enters a sum.
 *
 * Missing data: NaN in an input is a missing value. Any window that contains a missing observation
 * gives NaN; the first window free of it is exact again (it is rebuilt from scratch).
 *
 * Resumability (bit for bit): a row's outputs depend only on the inputs (windows re-read inputs at
 * indices < `to`) and on the carried accumulator state, and both paths perform the same floating
 * point operations in the same order (the rebuild schedule depends on absolute row indices only).
 * The state holds finite numbers only, none of them −0 (a Neumaier sum started at +0 never becomes
 * −0 under round-to-nearest), so a JSON round trip is exact.
 *
 * Errors: bad arguments throw a `RangeError` naming the argument, the index and the value (the
 * style of ../../indicators.ts), e.g. `close[3] must be a finite number > 0 or NaN, got -1`.
 *
 * Pure: no I/O, no clock. Per-run scratch series come from a grow-only module pool (no allocation in
 * the per-row loops; none at all once the pool is warm).
 */
import type { EngineInput } from '../types';

/** Trading sessions per year, used to annualize daily statistics (US equity convention). */
export const SESSIONS_PER_YEAR = 252;
/** √252, the annualization factor of a daily standard deviation (i.i.d. √T rule). */
export const SQRT_SESSIONS_PER_YEAR = Math.sqrt(SESSIONS_PER_YEAR);

/** Lags (sessions) of the `ret_n` / `logret_n` columns. */
export const RETURN_LAGS: readonly number[] = [1, 5, 21, 63, 126, 252];
/** Window lengths (daily log returns) of the `vol_w` columns. */
export const VOL_WINDOWS: readonly number[] = [21, 63, 252];
/** Window (daily log returns) of `downside_dev_63`, `skew_63`, `kurt_63`. */
export const MOMENTS_WINDOW = 63;
/** Window (closes) of `max_dd_252`. */
export const DRAWDOWN_WINDOW = 252;
/** Window (daily simple returns) of the versus-benchmark columns. */
export const BENCH_WINDOW = 63;

// ---------------------------------------------------------------------------------------------------
// Rolling compensated sums

/**
 * Which per-observation terms a {@link RollingWindow} sums (d = x − kx, e = y − ky):
 * - `sum`: [x] (no shift; for non-negative series such as volume)
 * - `moments2`: [d, d²]
 * - `moments2down`: [d, d², min(x, 0)²]
 * - `moments4down`: [d, d², d³, d⁴, min(x, 0)²]
 * - `pair`: [d, e, d², e², d·e] over the pairs (x_i, y_i)
 */
export type WindowMode = 'sum' | 'moments2' | 'moments2down' | 'moments4down' | 'pair';

const TERM_COUNT: Readonly<Record<WindowMode, number>> = {
  sum: 1,
  moments2: 2,
  moments2down: 3,
  moments4down: 5,
  pair: 5,
};

/** JSON state of a {@link RollingWindow} (finite numbers only). */
export interface RollingWindowState {
  /** Neumaier running sums, one per term of the mode. */
  sums: number[];
  /** Their compensations (the low-order bits the sums lost). */
  comps: number[];
  /** Shift of x (and of y in `pair` mode) since the last rebuild. */
  kx: number;
  ky: number;
  /** Last row whose observation was missing (NaN), −1 if none. */
  lastInvalid: number;
  /** 1 when the sums describe the complete, NaN-free window that ended at the previous row. */
  synced: number;
}

const EMPTY = new Float64Array(0);

/**
 * A fixed-length rolling window of Neumaier-compensated sums (see the module comment).
 *
 * Usage per run: {@link bind} the observation series, then call {@link step} once for EVERY row
 * t = from, from + 1, …, to − 1, in order. The series are scratch arrays holding observation i at
 * `xs[i − base]` for every i in [max(0, from − length), to) (i.e. the window at `from` and the
 * observation that leaves it).
 */
export class RollingWindow {
  /** Neumaier running sums of the mode's terms (valid after a `step` that returned true). */
  readonly sums: Float64Array;
  /** Compensations of {@link sums}. */
  readonly comps: Float64Array;
  /** Shift of x: the window mean at the last rebuild (0 in `sum` mode). */
  kx = 0;
  /** Shift of y (`pair` mode). */
  ky = 0;
  private lastInvalid = -1;
  private synced = false;
  private xs: Float64Array = EMPTY;
  private ys: Float64Array = EMPTY;
  private base = 0;

  /**
   * @param length window length in observations, integer ≥ 1.
   * @param mode the terms to sum.
   * @throws RangeError when `length` is not an integer ≥ 1.
   */
  constructor(
    readonly length: number,
    readonly mode: WindowMode,
  ) {
    if (!Number.isInteger(length) || length < 1) {
      throw new RangeError(`length must be an integer >= 1, got ${String(length)}`);
    }
    this.sums = new Float64Array(TERM_COUNT[mode]);
    this.comps = new Float64Array(TERM_COUNT[mode]);
  }

  /** Binds the observation series of this run: observation i is `xs[i − base]` (and `ys[i − base]`). */
  bind(xs: Float64Array, ys: Float64Array | null, base: number): void {
    this.xs = xs;
    this.ys = ys ?? EMPTY;
    this.base = base;
  }

  /**
   * Advances to row `t` (the window is observations [t − length + 1, t]).
   * @returns true when that window is complete (t − length + 1 ≥ 0) and has no missing observation;
   *   the sums then describe it exactly (up to compensated rounding). False otherwise.
   */
  step(t: number): boolean {
    const x = this.xs[t - this.base] as number;
    if (Number.isNaN(x) || (this.mode === 'pair' && Number.isNaN(this.ys[t - this.base] as number))) {
      this.lastInvalid = t;
    }
    const start = t - this.length + 1;
    if (start < 0 || this.lastInvalid >= start) {
      this.synced = false;
      return false;
    }
    if (!this.synced || start % this.length === 0) {
      this.rebuild(start, t);
    } else {
      // Synced: the window [start − 1, t − 1] was complete and NaN-free, so start − 1 is valid.
      this.accumulate(start - 1, -1);
      this.accumulate(t, 1);
      if (this.illConditioned()) this.rebuild(start, t);
    }
    this.synced = true;
    return true;
  }

  /** Compensated value of sum `k`. */
  total(k: number): number {
    return (this.sums[k] as number) + (this.comps[k] as number);
  }

  /** Mean of x over the window (centered modes): kx + Σd / n. */
  mean(): number {
    return this.kx + this.total(0) / this.length;
  }

  /** Σ (x − x̄)² over the window (centered modes): Σd² − (Σd)²/n. May be a tiny negative by rounding. */
  centralSumSq(): number {
    const s1 = this.total(0);
    return this.total(1) - (s1 * s1) / this.length;
  }

  /** A JSON-safe snapshot of the accumulator (finite numbers only). */
  save(): RollingWindowState {
    const state: RollingWindowState = {
      sums: Array.from(this.sums),
      comps: Array.from(this.comps),
      kx: this.kx,
      ky: this.ky,
      lastInvalid: this.lastInvalid,
      synced: this.synced ? 1 : 0,
    };
    for (const v of [...state.sums, ...state.comps, state.kx, state.ky]) {
      if (!Number.isFinite(v)) {
        throw new RangeError(`rolling window (${this.mode}, ${this.length}) overflowed: accumulator ${String(v)}`);
      }
    }
    return state;
  }

  /**
   * Restores a snapshot made by {@link save} (typically after a JSON round trip).
   * @throws RangeError `<name>.<field> must be …` when the snapshot does not have this window's shape.
   */
  restore(state: unknown, name: string): void {
    const s = asRecord(state, name);
    const terms = this.sums.length;
    const sums = finiteArray(s.sums, `${name}.sums`, terms);
    const comps = finiteArray(s.comps, `${name}.comps`, terms);
    for (let k = 0; k < terms; k++) {
      this.sums[k] = sums[k] as number;
      this.comps[k] = comps[k] as number;
    }
    this.kx = finiteNumber(s.kx, `${name}.kx`);
    this.ky = finiteNumber(s.ky, `${name}.ky`);
    const lastInvalid = s.lastInvalid;
    if (typeof lastInvalid !== 'number' || !Number.isInteger(lastInvalid) || lastInvalid < -1) {
      throw new RangeError(`${name}.lastInvalid must be an integer >= -1, got ${String(lastInvalid)}`);
    }
    this.lastInvalid = lastInvalid;
    if (s.synced !== 0 && s.synced !== 1) {
      throw new RangeError(`${name}.synced must be 0 or 1, got ${String(s.synced)}`);
    }
    this.synced = s.synced === 1;
  }

  /** Resets to a fresh start (row 0). */
  reset(): void {
    this.sums.fill(0);
    this.comps.fill(0);
    this.kx = 0;
    this.ky = 0;
    this.lastInvalid = -1;
    this.synced = false;
  }

  /**
   * True when the window mean has drifted so far from the shift that Σ(x − x̄)² = Σd² − (Σd)²/n would
   * lose more than one bit: (Σd)²/n > Σd²/2 (for x, and for y in `pair` mode). This happens when an
   * outlier that set the shift leaves the window; a rebuild re-centers. Never in `sum` mode (its terms
   * are not centered). For a window of identical values that differ from the shift by rounding, this
   * rebuilds every row (O(length) per row, still exact).
   */
  private illConditioned(): boolean {
    if (this.mode === 'sum') return false;
    const n = this.length;
    const sx = this.total(0);
    const xBad = sx * sx > 0.5 * n * this.total(this.mode === 'pair' ? 2 : 1);
    if (this.mode !== 'pair') return xBad;
    const sy = this.total(1);
    return xBad || sy * sy > 0.5 * n * this.total(3);
  }

  /** Recomputes the sums of window [start, t] from scratch: shifts = window means, then the terms. */
  private rebuild(start: number, t: number): void {
    this.sums.fill(0);
    this.comps.fill(0);
    if (this.mode !== 'sum') {
      this.kx = neumaierMean(this.xs, start - this.base, t - this.base);
      this.ky = this.mode === 'pair' ? neumaierMean(this.ys, start - this.base, t - this.base) : 0;
    }
    for (let i = start; i <= t; i++) this.accumulate(i, 1);
  }

  /** Adds (`sign` 1) or removes (`sign` −1) the terms of observation `i`. */
  private accumulate(i: number, sign: number): void {
    const x = this.xs[i - this.base] as number;
    if (this.mode === 'sum') {
      this.add(0, sign * x);
      return;
    }
    const d = x - this.kx;
    const d2 = d * d;
    if (this.mode === 'pair') {
      const e = (this.ys[i - this.base] as number) - this.ky;
      this.add(0, sign * d);
      this.add(1, sign * e);
      this.add(2, sign * d2);
      this.add(3, sign * (e * e));
      this.add(4, sign * (d * e));
      return;
    }
    this.add(0, sign * d);
    this.add(1, sign * d2);
    const down = x < 0 ? x * x : 0;
    if (this.mode === 'moments2down') {
      this.add(2, sign * down);
    } else if (this.mode === 'moments4down') {
      this.add(2, sign * (d2 * d));
      this.add(3, sign * (d2 * d2));
      this.add(4, sign * down);
    }
  }

  /** Neumaier step: sums[k] += v, the lost low-order bits into comps[k]. */
  private add(k: number, v: number): void {
    const s = this.sums[k] as number;
    const u = s + v;
    this.comps[k] = (this.comps[k] as number) + (Math.abs(s) >= Math.abs(v) ? s - u + v : v - u + s);
    this.sums[k] = u;
  }
}

/** Neumaier-compensated mean of `a[lo..hi]` (inclusive; no NaN in range). */
function neumaierMean(a: Float64Array, lo: number, hi: number): number {
  let sum = 0;
  let comp = 0;
  for (let i = lo; i <= hi; i++) {
    const v = a[i] as number;
    const u = sum + v;
    comp += Math.abs(sum) >= Math.abs(v) ? sum - u + v : v - u + sum;
    sum = u;
  }
  return (sum + comp) / (hi - lo + 1);
}

// ---------------------------------------------------------------------------------------------------
// Windowed maximum drawdown

/**
 * Maximum drawdown of the `length` closes ending at row `t`, a fraction ≤ 0:
 *
 *   max_dd_t = min over j in [s, t] of ( close_j / max(close_s..close_j) − 1 ),   s = t − length + 1
 *
 * (the drawdown definition of M. Magdon-Ismail & A. Atiya 2004, "Maximum drawdown", Risk 17(10),
 * restricted to the window). The running peak starts at the window's first close, so a decline that
 * began before the window is measured from close_s, not from its earlier peak. 0 when the window
 * never falls below its running peak. O(length) per row (exact, no state).
 * @returns NaN when t − length + 1 < 0 or a close in the window is NaN.
 */
export function windowMaxDrawdown(close: Float64Array, t: number, length: number): number {
  const s = t - length + 1;
  if (s < 0) return Number.NaN;
  let peak = close[s] as number;
  if (Number.isNaN(peak)) return Number.NaN;
  let minRatio = 1;
  for (let j = s + 1; j <= t; j++) {
    const c = close[j] as number;
    if (c > peak) {
      peak = c;
    } else if (c <= peak) {
      const r = c / peak;
      if (r < minRatio) minRatio = r;
    } else {
      return Number.NaN; // c is NaN
    }
  }
  return minRatio - 1;
}

// ---------------------------------------------------------------------------------------------------
// Argument and state checking

function asRecord(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RangeError(`${name} must be an object, got ${value === null ? 'null' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

function finiteNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`${name} must be a finite number, got ${String(value)}`);
  }
  return value;
}

function finiteArray(value: unknown, name: string, length: number): number[] {
  if (!Array.isArray(value) || value.length !== length) {
    throw new RangeError(`${name} must be an array of ${length} finite numbers, got ${JSON.stringify(value)}`);
  }
  value.forEach((v, i) => finiteNumber(v, `${name}[${i}]`));
  return value as number[];
}

/** Base of every statistics group state: the next row to compute. */
export interface GroupStateBase {
  /** The `to` of the call that produced this state (the next call's `from`). */
  next: number;
}

/**
 * Resets `windows` for a fresh run (`from` 0), or restores them from `state.windows` (one window
 * state each, in order) to resume at `from`.
 * @throws RangeError when `state.windows` is not an array of that many valid window states.
 */
function startWindows(windows: readonly RollingWindow[], from: number, state: unknown): void {
  if (from === 0) {
    for (const w of windows) w.reset();
    return;
  }
  const ws = (state as Record<string, unknown>).windows;
  if (!Array.isArray(ws) || ws.length !== windows.length) {
    throw new RangeError(`state.windows must be an array of ${windows.length} window states`);
  }
  windows.forEach((w, k) => w.restore(ws[k], `state.windows[${k}]`));
}

/**
 * Checks a run's arguments and input values in [from, to).
 * @throws RangeError for a bad range, a wrong number or length of output buffers, an input shorter
 *   than `to`, a close/benchmark close that is neither NaN nor finite > 0, a volume that is neither
 *   NaN nor finite ≥ 0, or a state that is missing (from > 0) or was not produced at row `from`.
 */
export function checkRun(
  group: string,
  input: EngineInput,
  out: readonly Float64Array[],
  columns: number,
  from: number,
  to: number,
  state: unknown,
): void {
  if (!Number.isInteger(from) || from < 0) throw new RangeError(`from must be an integer >= 0, got ${String(from)}`);
  if (!Number.isInteger(to) || to < from) throw new RangeError(`to must be an integer >= from (${from}), got ${String(to)}`);
  if (out.length !== columns) {
    throw new RangeError(`out must have ${columns} buffers for group ${group}, got ${out.length}`);
  }
  out.forEach((buf, c) => {
    if (buf.length < to) throw new RangeError(`out[${c}].length must be >= to (${to}), got ${buf.length}`);
  });
  checkSeries('close', input.close, from, to, true);
  checkSeries('volume', input.volume, from, to, false);
  if (input.benchClose !== null) checkSeries('benchClose', input.benchClose, from, to, true);
  if (from > 0) {
    const s = asRecord(state, 'state');
    if (s.next !== from) {
      throw new RangeError(
        `state must be the state of group ${group} after row ${from - 1} (state.next ${from}), got state.next ${String(s.next)}`,
      );
    }
  }
}

function checkSeries(name: string, values: Float64Array, from: number, to: number, positive: boolean): void {
  if (values.length < to) throw new RangeError(`${name}.length must be >= to (${to}), got ${values.length}`);
  for (let i = from; i < to; i++) {
    const v = values[i] as number;
    if (Number.isNaN(v)) continue;
    if (!Number.isFinite(v) || (positive ? !(v > 0) : !(v >= 0))) {
      throw new RangeError(`${name}[${i}] must be a finite number ${positive ? '> 0' : '>= 0'} or NaN, got ${String(v)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Scratch pool

const pool: Float64Array[] = [];

/** A reusable scratch buffer of at least `length` doubles for `slot` (contents unspecified). */
function scratch(slot: number, length: number): Float64Array {
  const buf = pool[slot];
  if (buf !== undefined && buf.length >= length) return buf;
  const grown = new Float64Array(Math.max(length, 2 * (buf?.length ?? 0), 64));
  pool[slot] = grown;
  return grown;
}

const SLOT_LOGRET = 0;
const SLOT_TURNOVER = 1;
const SLOT_SYM_RET = 2;
const SLOT_BENCH_RET = 3;

// ---------------------------------------------------------------------------------------------------
// Group: returns

/** State of {@link runReturns}: nothing but the position (the columns re-read the closes). */
export type ReturnsState = GroupStateBase;

/**
 * Rows [from, to) of `ret_n` then `logret_n` for n in {@link RETURN_LAGS} (12 buffers):
 * ret_n_t = close_t / close_{t−n} − 1, logret_n_t = ln(close_t / close_{t−n}); NaN for t < n or when
 * either close is NaN. One fused pass (each ratio is computed once for both columns).
 * @throws RangeError see {@link checkRun}.
 */
export function runReturns(
  input: EngineInput,
  out: readonly Float64Array[],
  from: number,
  to: number,
  state: ReturnsState | null,
): ReturnsState {
  const lags = RETURN_LAGS.length;
  checkRun('returns', input, out, 2 * lags, from, to, state);
  const close = input.close;
  for (let k = 0; k < lags; k++) {
    const n = RETURN_LAGS[k] as number;
    const ret = out[k] as Float64Array;
    const logret = out[lags + k] as Float64Array;
    for (let t = from; t < to; t++) {
      if (t < n) {
        ret[t] = Number.NaN;
        logret[t] = Number.NaN;
        continue;
      }
      const ratio = (close[t] as number) / (close[t - n] as number);
      ret[t] = ratio - 1;
      logret[t] = Math.log(ratio);
    }
  }
  return { next: to };
}

// ---------------------------------------------------------------------------------------------------
// Group: risk

/** State of {@link runRisk}: the rolling windows of vol_21, vol_63 (+ moments), vol_252. */
export interface RiskState extends GroupStateBase {
  windows: RollingWindowState[];
}

const riskWindows = [
  new RollingWindow(VOL_WINDOWS[0] as number, 'moments2'),
  new RollingWindow(MOMENTS_WINDOW, 'moments4down'),
  new RollingWindow(VOL_WINDOWS[2] as number, 'moments2'),
] as const;

/**
 * Rows [from, to) of vol_21, vol_63, vol_252, downside_dev_63, skew_63, kurt_63, max_dd_252
 * (7 buffers). One pass: the daily log returns r_t = ln(close_t / close_{t−1}) (t ≥ 1) are computed
 * once into a scratch series shared by the three windows (the 63-session window carries the power
 * sums of vol_63, skew_63 and kurt_63 and the downside sum together).
 * - vol_w = sqrt(Σ(r − r̄)² / (w − 1)) × √252 (0 for a constant window).
 * - downside_dev_63 = sqrt(Σ min(r, 0)² / 63) × √252.
 * - skew_63 = √(n(n−1))/(n−2) × m3 / m2^1.5 (G1), kurt_63 = (n−1)/((n−2)(n−3)) × ((n+1)(m4/m2² − 3) + 6)
 *   (G2), with m_k = Σ(r − r̄)^k / n, n = 63; NaN when m2 = 0.
 * - max_dd_252 = {@link windowMaxDrawdown}(close, t, 252).
 * @throws RangeError see {@link checkRun} and {@link RollingWindow.restore}.
 */
export function runRisk(
  input: EngineInput,
  out: readonly Float64Array[],
  from: number,
  to: number,
  state: RiskState | null,
): RiskState {
  checkRun('risk', input, out, 7, from, to, state);
  const [w21, w63, w252] = riskWindows;
  const windows = [w21, w63, w252];
  startWindows(windows, from, state);
  const close = input.close;
  const base = Math.max(0, from - w252.length);
  const r = scratch(SLOT_LOGRET, to - base);
  for (let i = base; i < to; i++) {
    r[i - base] = i === 0 ? Number.NaN : Math.log((close[i] as number) / (close[i - 1] as number));
  }
  for (const w of windows) w.bind(r, null, base);

  const [vol21, vol63, vol252, down63, skew63, kurt63, dd252] = out as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const n = MOMENTS_WINDOW;
  const skewFactor = Math.sqrt(n * (n - 1)) / (n - 2);
  const kurtFactor = (n - 1) / ((n - 2) * (n - 3));
  for (let t = from; t < to; t++) {
    vol21[t] = w21.step(t) ? sampleStdev(w21) * SQRT_SESSIONS_PER_YEAR : Number.NaN;
    vol252[t] = w252.step(t) ? sampleStdev(w252) * SQRT_SESSIONS_PER_YEAR : Number.NaN;
    if (w63.step(t)) {
      vol63[t] = sampleStdev(w63) * SQRT_SESSIONS_PER_YEAR;
      down63[t] = Math.sqrt(w63.total(4) / n) * SQRT_SESSIONS_PER_YEAR;
      // Central moments from the shifted power sums (δ = mean of d): m_k = Σ(d − δ)^k / n.
      const a = w63.total(0) / n;
      const p2 = w63.total(1) / n;
      const p3 = w63.total(2) / n;
      const p4 = w63.total(3) / n;
      const aa = a * a;
      const m2 = p2 - aa;
      if (m2 > 0) {
        const m3 = p3 - 3 * a * p2 + 2 * aa * a;
        const m4 = p4 - 4 * a * p3 + 6 * aa * p2 - 3 * aa * aa;
        skew63[t] = (skewFactor * m3) / (m2 * Math.sqrt(m2));
        kurt63[t] = kurtFactor * ((n + 1) * (m4 / (m2 * m2) - 3) + 6);
      } else {
        skew63[t] = Number.NaN;
        kurt63[t] = Number.NaN;
      }
    } else {
      vol63[t] = Number.NaN;
      down63[t] = Number.NaN;
      skew63[t] = Number.NaN;
      kurt63[t] = Number.NaN;
    }
    dd252[t] = windowMaxDrawdown(close, t, DRAWDOWN_WINDOW);
  }
  return { next: to, windows: windows.map((w) => w.save()) };
}

/** Sample (n − 1) standard deviation of a centered window; 0 when rounding leaves Σ(x − x̄)² ≤ 0. */
function sampleStdev(w: RollingWindow): number {
  const ss = w.centralSumSq();
  return ss > 0 ? Math.sqrt(ss / (w.length - 1)) : 0;
}

// ---------------------------------------------------------------------------------------------------
// Group: liquidity

/** State of {@link runLiquidity}. */
export interface LiquidityState extends GroupStateBase {
  windows: RollingWindowState[];
  /** adv_20 at row next − 1 (the denominator of the next volume_surge_20), null when NaN. */
  prevAdv20: number | null;
}

const liquidityWindows = [
  new RollingWindow(20, 'sum'), // volume, adv_20
  new RollingWindow(60, 'sum'), // volume, adv_60
  new RollingWindow(20, 'sum'), // close × volume, turnover_20
] as const;

/**
 * Rows [from, to) of adv_20, adv_60, turnover_20, volume_surge_20 (4 buffers):
 * adv_w = Σ volume / w over the last w sessions (shares); turnover_20 = Σ close × volume / 20 (USD);
 * volume_surge_20_t = volume_t / adv_20_{t−1} (NaN when adv_20_{t−1} is NaN or 0).
 * @throws RangeError see {@link checkRun} and {@link RollingWindow.restore}.
 */
export function runLiquidity(
  input: EngineInput,
  out: readonly Float64Array[],
  from: number,
  to: number,
  state: LiquidityState | null,
): LiquidityState {
  checkRun('liquidity', input, out, 4, from, to, state);
  const [wAdv20, wAdv60, wTurn20] = liquidityWindows;
  const windows = [wAdv20, wAdv60, wTurn20];
  let prevAdv20 = Number.NaN;
  startWindows(windows, from, state);
  if (from > 0) {
    const s = state as unknown as Record<string, unknown>;
    prevAdv20 = s.prevAdv20 === null ? Number.NaN : finiteNumber(s.prevAdv20, 'state.prevAdv20');
  }
  const close = input.close;
  const volume = input.volume;
  const base = Math.max(0, from - wTurn20.length);
  const dollar = scratch(SLOT_TURNOVER, to - base);
  for (let i = base; i < to; i++) dollar[i - base] = (close[i] as number) * (volume[i] as number);
  wAdv20.bind(volume, null, 0);
  wAdv60.bind(volume, null, 0);
  wTurn20.bind(dollar, null, base);

  const [adv20, adv60, turn20, surge20] = out as [Float64Array, Float64Array, Float64Array, Float64Array];
  for (let t = from; t < to; t++) {
    const v = volume[t] as number;
    surge20[t] = prevAdv20 > 0 ? v / prevAdv20 : Number.NaN;
    const a20 = wAdv20.step(t) ? wAdv20.total(0) / wAdv20.length : Number.NaN;
    adv20[t] = a20;
    adv60[t] = wAdv60.step(t) ? wAdv60.total(0) / wAdv60.length : Number.NaN;
    turn20[t] = wTurn20.step(t) ? wTurn20.total(0) / wTurn20.length : Number.NaN;
    prevAdv20 = a20;
  }
  return {
    next: to,
    windows: windows.map((w) => w.save()),
    prevAdv20: Number.isNaN(prevAdv20) ? null : prevAdv20,
  };
}

// ---------------------------------------------------------------------------------------------------
// Group: versus benchmark (and risk-adjusted return)

/** State of {@link runBenchmark}. */
export interface BenchmarkState extends GroupStateBase {
  windows: RollingWindowState[];
}

const benchWindows = [
  new RollingWindow(BENCH_WINDOW, 'moments2down'), // symbol simple returns: sharpe, sortino
  new RollingWindow(BENCH_WINDOW, 'pair'), // (symbol, benchmark) simple returns: beta, corr, idio
] as const;

/**
 * Rows [from, to) of sharpe_63, sortino_63, beta_63, corr_63, idio_vol_63 (5 buffers), over daily
 * simple returns r_t = close_t / close_{t−1} − 1 (symbol, x) and b_t (benchmark, y), n = 63:
 * - sharpe_63 = mean(r) / sampleStdev(r) × √252 (rf = 0); NaN when the stdev is 0.
 * - sortino_63 = mean(r) × 252 / (sqrt(Σ min(r, 0)² / n) × √252); NaN when no return is negative.
 * - beta_63 = Sxy / Syy, corr_63 = Sxy / sqrt(Sxx Syy) (clamped to [−1, 1]),
 *   idio_vol_63 = sqrt((Sxx − Sxy² / Syy) / (n − 2)) × √252, with S the centered co-moment sums
 *   over the window's pairs; NaN when Syy (or, for corr, Sxx) is 0, when the benchmark is null,
 *   or when the window holds a pair with a NaN.
 * sharpe_63 and sortino_63 use the symbol's returns only and do not depend on the benchmark.
 * @throws RangeError see {@link checkRun} and {@link RollingWindow.restore}.
 */
export function runBenchmark(
  input: EngineInput,
  out: readonly Float64Array[],
  from: number,
  to: number,
  state: BenchmarkState | null,
): BenchmarkState {
  checkRun('benchmark', input, out, 5, from, to, state);
  const [wSym, wPair] = benchWindows;
  const windows = [wSym, wPair];
  startWindows(windows, from, state);
  const close = input.close;
  const bench = input.benchClose;
  const base = Math.max(0, from - BENCH_WINDOW);
  const rs = scratch(SLOT_SYM_RET, to - base);
  const rb = scratch(SLOT_BENCH_RET, to - base);
  for (let i = base; i < to; i++) {
    rs[i - base] = i === 0 ? Number.NaN : (close[i] as number) / (close[i - 1] as number) - 1;
    rb[i - base] = i === 0 || bench === null ? Number.NaN : (bench[i] as number) / (bench[i - 1] as number) - 1;
  }
  wSym.bind(rs, null, base);
  wPair.bind(rs, rb, base);

  const [sharpe, sortino, beta, corr, idio] = out as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const n = BENCH_WINDOW;
  for (let t = from; t < to; t++) {
    if (wSym.step(t)) {
      const mean = wSym.mean();
      const ss = wSym.centralSumSq();
      const downSq = wSym.total(2);
      sharpe[t] = ss > 0 ? (mean / Math.sqrt(ss / (n - 1))) * SQRT_SESSIONS_PER_YEAR : Number.NaN;
      sortino[t] =
        downSq > 0 ? (mean * SESSIONS_PER_YEAR) / (Math.sqrt(downSq / n) * SQRT_SESSIONS_PER_YEAR) : Number.NaN;
    } else {
      sharpe[t] = Number.NaN;
      sortino[t] = Number.NaN;
    }
    if (wPair.step(t)) {
      const sx = wPair.total(0);
      const sy = wPair.total(1);
      const sxx = wPair.total(2) - (sx * sx) / n;
      const syy = wPair.total(3) - (sy * sy) / n;
      const sxy = wPair.total(4) - (sx * sy) / n;
      if (syy > 0) {
        const b = sxy / syy;
        beta[t] = b;
        corr[t] = sxx > 0 ? Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy))) : Number.NaN;
        const ssr = sxx - sxy * b;
        idio[t] = ssr > 0 ? Math.sqrt(ssr / (n - 2)) * SQRT_SESSIONS_PER_YEAR : 0;
      } else {
        beta[t] = Number.NaN;
        corr[t] = Number.NaN;
        idio[t] = Number.NaN;
      }
    } else {
      beta[t] = Number.NaN;
      corr[t] = Number.NaN;
      idio[t] = Number.NaN;
    }
  }
  return { next: to, windows: windows.map((w) => w.save()) };
}
