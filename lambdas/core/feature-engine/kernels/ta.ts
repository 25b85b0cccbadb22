/**
 * Technical-analysis kernels of the feature engine: resumable runners over `Float64Array` plus the
 * plain batch kernels (`smaInto`, `emaInto`, …) the benchmark calls directly.
 *
 * Shapes and conventions (see ../types.ts):
 * - Series are `Float64Array`, one value per session, oldest first. Outputs are preallocated by the
 *   caller; a runner writes EVERY row of [from, to) of each output it is given (NaN in warm-up),
 *   and never touches other rows.
 * - A runner `xxxRun(…, from, to, state)` computes rows [from, to). `state` is null when `from` is 0,
 *   otherwise the value returned by the call that computed rows up to `from`. The returned state is
 *   plain JSON (finite numbers, arrays, null). The incoming state is never mutated (it is copied).
 *   Running [0, k) then [k, n) writes exactly (bit for bit) what one run over [0, n) writes: every
 *   branch and every periodic exact recompute depends on the absolute row index or on the (bit-
 *   identical) state, never on `from`.
 * - The batch kernels are thin wrappers: a fresh state and one run over the whole input. They
 *   allocate O(1) per call; CCI, the stochastic and Bollinger reuse module-level scratch arrays
 *   (grown on demand, O(to − from + period), never shared across calls).
 * - Speed (V8): hot loops keep their state in locals and avoid data-dependent branches on doubles
 *   (`Math.max`/`if` on market data compile to jumps that mispredict): selections use `+(a > b)`
 *   (0 or 1) arithmetic, exact for finite values, and max(d, 0) uses (d + |d|)·0.5. Divisions are
 *   kept where they define published numbers (RSI, ATR, EMA: bit-identical to
 *   lambdas/core/indicators.ts; CCI); the SMA, Bollinger, ADX and stochastic smoothing multiply by
 *   precomputed reciprocals (a division costs several multiplications' time).
 *
 * Errors: a bad period, mismatched lengths or a too-short output throw a `RangeError` naming the
 * argument and the value, e.g. `period must be an integer >= 1, got 0`.
 *
 * Inputs of the runners are expected to be finite (the engine validates them at its boundary, see
 * ../engine.ts); only {@link smaInto} gives a defined meaning to NaN inside its input.
 *
 * Sources: J. Welles Wilder Jr., "New Concepts in Technical Trading Systems" (1978) for RSI, ATR,
 * ADX/DI and Parabolic SAR; TA-Lib 0.4 (ta_EMA.c, ta_MACD.c, ta_PPO.c, ta_RSI.c, ta_ATR.c,
 * ta_SAR.c, ta_KAMA.c, ta_TRIX.c, ta_CCI.c, ta_MFI.c, ta_STOCH.c) for seeding conventions; each
 * runner's docstring names its own source.
 *
 * Pure: no I/O, no clock.
 */

// ---------------------------------------------------------------------------------------------
// Argument checks
// ---------------------------------------------------------------------------------------------

/** Throws unless `value` is an integer >= `min`. */
export function assertPeriod(name: string, value: number, min = 1): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/** Throws unless `series` has exactly `n` values. */
function assertInputLength(name: string, series: Float64Array, n: number, refName: string): void {
  if (series.length !== n) {
    throw new RangeError(`${name}.length must equal ${refName}.length ${n}, got ${series.length}`);
  }
}

/** Throws unless the output `out` can hold `n` values. */
function assertOutLength(name: string, out: Float64Array, n: number): void {
  if (out.length < n) throw new RangeError(`${name}.length must be >= ${n} (the input length), got ${out.length}`);
}

// ---------------------------------------------------------------------------------------------
// Rolling means (SMA family), fused over several periods
// ---------------------------------------------------------------------------------------------

/**
 * Σ src[i] for i in [start, end), in a fixed order: four interleaved partial sums (i ≡ 0, 1, 2, 3
 * mod 4 from `start`, the remainder into the first), then (s0 + s1) + (s2 + s3). Four independent
 * chains instead of one: a quarter of the latency of a sequential sum, same accuracy class.
 */
function windowSum(src: Float64Array, start: number, end: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = start;
  for (const e4 = end - 3; i < e4; i += 4) {
    s0 += src[i] as number;
    s1 += src[i + 1] as number;
    s2 += src[i + 2] as number;
    s3 += src[i + 3] as number;
  }
  for (; i < end; i++) s0 += src[i] as number;
  return s0 + s1 + (s2 + s3);
}

/** State of {@link rollingMeansRun}: per period, the running window sum and the NaN count. */
export interface RollingMeansState {
  /** Running sum of the non-NaN values of the window ending at the last row, per period. */
  sum: number[];
  /** Number of NaN values in that window, per period. */
  nans: number[];
}

/**
 * Simple moving averages of `src` for several periods in one pass:
 * `outs[j][t] = (src[t−p+1] + … + src[t]) / p` with `p = periods[j]`.
 *
 * - Warm-up: rows t < p − 1 are NaN; the first value is at index p − 1.
 * - Missing data: a window containing a NaN gives NaN; later NaN-free windows are defined again.
 * - Precision: a plain running sum (`sum += src[t] − src[t−p]`), recomputed from the window (see
 *   windowSum) every time the window has fully turned over (at the rows where the window start is
 *   a multiple of p), so rounding never accumulates over more than p updates: the error stays below
 *   ~2p·ε·max|window sum| (~1e-14 relative for price series). The mean is sum·(1/p).
 * - Cost: O(n · periods.length) plus O(n) per period for the periodic recomputes.
 * @throws RangeError when a period is not an integer >= 1 or `periods`/`outs` lengths differ.
 */
export function rollingMeansRun(
  src: Float64Array,
  periods: readonly number[],
  outs: readonly Float64Array[],
  from: number,
  to: number,
  state: RollingMeansState | null,
): RollingMeansState {
  if (periods.length !== outs.length) {
    throw new RangeError(`periods.length ${periods.length} must equal outs.length ${outs.length}`);
  }
  for (const p of periods) assertPeriod('period', p);
  const k = periods.length;
  const s: RollingMeansState = state
    ? { sum: state.sum.slice(), nans: state.nans.slice() }
    : { sum: new Array<number>(k).fill(0), nans: new Array<number>(k).fill(0) };
  for (let j = 0; j < k; j++) {
    const p = periods[j] as number;
    const out = outs[j] as Float64Array;
    let sum = s.sum[j] as number;
    let nans = s.nans[j] as number;
    const invp = 1 / p;
    let t = from;
    const warm = p - 1 < to ? p - 1 : to;
    for (; t < warm; t++) out[t] = Number.NaN;
    // Rows t with t ≡ p − 1 (mod p) recompute their window exactly; the others update the sum.
    let rebuild = t + (p - 1 - (t % p));
    while (t < to) {
      if (t === rebuild) {
        sum = windowSum(src, t - p + 1, t + 1);
        nans = 0;
        if (sum !== sum) {
          // NaN in the window: count them and sum the others.
          sum = 0;
          for (let i = t - p + 1; i <= t; i++) {
            const v = src[i] as number;
            if (v !== v) nans++;
            else sum += v;
          }
        }
        out[t] = nans === 0 ? sum * invp : Number.NaN;
        rebuild += p;
        t++;
      }
      const end = rebuild < to ? rebuild : to;
      if (nans === 0) {
        // Fast path: no NaN in the window. A NaN entering or leaving turns the sum into NaN, and
        // the segment is then redone by the careful loop below (same arithmetic otherwise).
        const t0 = t;
        const sum0 = sum;
        for (; t < end; t++) {
          sum += (src[t] as number) - (src[t - p] as number);
          out[t] = sum * invp;
        }
        if (sum === sum) continue;
        t = t0;
        sum = sum0;
      }
      for (; t < end; t++) {
        const v = src[t] as number;
        const o = src[t - p] as number;
        const d = v - o;
        if (d === d) sum += d;
        else {
          // A NaN enters and/or leaves the window.
          if (v !== v) nans++;
          else sum += v;
          if (o !== o) nans--;
          else sum -= o;
        }
        out[t] = nans === 0 ? sum * invp : Number.NaN;
      }
    }
    s.sum[j] = sum;
    s.nans[j] = nans;
  }
  return s;
}

/**
 * Simple moving average (batch): `out[t] = mean(src[t−period+1 .. t])`, NaN for t < period − 1 and
 * for windows containing a NaN. Same math as {@link rollingMeansRun}.
 * @param src input series (any units); @param out preallocated, length >= src.length (same units).
 * @throws RangeError when `period` is not an integer >= 1 or `out` is too short.
 */
export function smaInto(src: Float64Array, period: number, out: Float64Array): void {
  assertPeriod('period', period);
  assertOutLength('out', out, src.length);
  rollingMeansRun(src, [period], [out], 0, src.length, null);
}

// ---------------------------------------------------------------------------------------------
// Exponential moving averages
// ---------------------------------------------------------------------------------------------

/**
 * State of one EMA seeded TA-Lib style. Before the seed, `n` counts the values consumed and `sum`
 * is their sum; from the seed on, `n` = period and `v` is the current EMA (0 before the seed, so
 * the state never holds NaN).
 */
export interface EmaState {
  n: number;
  sum: number;
  v: number;
}

/** A fresh {@link EmaState}. */
export function emaInit(): EmaState {
  return { n: 0, sum: 0, v: 0 };
}

/**
 * Pushes one value into an EMA (mutates `s`) and returns the EMA after it, NaN while not seeded.
 *
 * Leading NaN (before the first defined value) are skipped, so EMAs chain: an EMA of a series
 * with its own warm-up starts seeding at that series' first value. Seed (TA-Lib `TA_INT_EMA`):
 * the simple mean of the first `period` values; then `ema = (x − ema)·alpha + ema` (the TA-Lib
 * evaluation order). A NaN after the first value makes every later value NaN.
 */
export function emaPush(s: EmaState, x: number, period: number, alpha: number): number {
  if (s.n >= period) {
    s.v = (x - s.v) * alpha + s.v;
    return s.v;
  }
  if (x !== x && s.n === 0) return Number.NaN;
  s.sum += x;
  s.n++;
  if (s.n === period) {
    s.v = s.sum / period;
    return s.v;
  }
  return Number.NaN;
}

/** State of {@link emasRun}: one {@link EmaState} per period. */
export interface EmasState {
  ema: EmaState[];
}

/**
 * Exponential moving averages of `src` for several periods in one pass, alpha = 2/(p+1), seeded
 * with the simple mean of the first p values (TA-Lib convention; first value at index p − 1 for
 * a NaN-free input, leading NaN skipped). Formula: ema_t = (x_t − ema_{t−1})·alpha + ema_{t−1}.
 * @throws RangeError when a period is not an integer >= 1 or `periods`/`outs` lengths differ.
 */
export function emasRun(
  src: Float64Array,
  periods: readonly number[],
  outs: readonly Float64Array[],
  from: number,
  to: number,
  state: EmasState | null,
): EmasState {
  if (periods.length !== outs.length) {
    throw new RangeError(`periods.length ${periods.length} must equal outs.length ${outs.length}`);
  }
  for (const p of periods) assertPeriod('period', p);
  const s: EmasState = state ? { ema: state.ema.map((e) => ({ n: e.n, sum: e.sum, v: e.v })) } : { ema: periods.map(() => emaInit()) };
  for (let j = 0; j < periods.length; j++) {
    const p = periods[j] as number;
    const alpha = 2 / (p + 1);
    const out = outs[j] as Float64Array;
    const e = s.ema[j] as EmaState;
    let t = from;
    // Seeding (as emaPush): leading NaN skipped, then the mean of the first p values.
    for (; t < to && e.n < p; t++) out[t] = emaPush(e, src[t] as number, p, alpha);
    let v = e.v;
    for (; t < to; t++) {
      v = ((src[t] as number) - v) * alpha + v;
      out[t] = v;
    }
    e.v = v;
  }
  return s;
}

/**
 * Exponential moving average (batch), alpha = 2/(period+1), TA-Lib seeding (simple mean of the
 * first `period` values, first value at index period − 1). Same math as {@link emasRun}.
 * @param out preallocated, length >= src.length (units of src).
 * @throws RangeError when `period` is not an integer >= 1 or `out` is too short.
 */
export function emaInto(src: Float64Array, period: number, out: Float64Array): void {
  assertPeriod('period', period);
  assertOutLength('out', out, src.length);
  emasRun(src, [period], [out], 0, src.length, null);
}

// ---------------------------------------------------------------------------------------------
// MACD / PPO / EMA spread (shared fast and slow EMA)
// ---------------------------------------------------------------------------------------------

/** State of {@link macdRun}. */
export interface MacdState {
  fast: EmaState;
  slow: EmaState;
  signal: EmaState;
}

/** Optional outputs of {@link macdRun} (null = not wanted). */
export interface MacdOutputs {
  macd: Float64Array | null;
  signal: Float64Array | null;
  hist: Float64Array | null;
  /** fast/slow − 1, fraction. */
  spread: Float64Array | null;
  /** 100·(fast − slow)/slow, percent. */
  ppo: Float64Array | null;
}

/**
 * MACD (Appel 1979) with TA-Lib `TA_MACD` seeding, and the PPO/spread that share its two EMAs.
 *
 * - EMAs: alpha = 2/(n+1) for both the fast and the slow EMA (Tulip Indicators hard-codes 0.15 and
 *   0.075 for 12/26 instead; TA-Lib's TA_MACD uses 2/(n+1) as here).
 * - Seeding (TA-Lib): slow EMA = SMA of close[0 .. slow−1], first at index slow − 1; the fast EMA
 *   is aligned on the same bar: seeded with the SMA of close[slow−fast .. slow−1]. The signal EMA
 *   (alpha = 2/(signal+1)) is seeded with the SMA of the first `signal` MACD values.
 * - macd = fastEMA − slowEMA (USD), from index slow − 1; signal from slow + signal − 2; hist =
 *   macd − signal. ppo = ((fast − slow)/slow)·100 (TA_PPO with EMA); spread = fast/slow − 1.
 * @throws RangeError unless 1 <= fast < slow and signal >= 1 are integers.
 */
export function macdRun(
  close: Float64Array,
  fast: number,
  slow: number,
  signal: number,
  outs: MacdOutputs,
  from: number,
  to: number,
  state: MacdState | null,
): MacdState {
  assertPeriod('fast', fast);
  assertPeriod('slow', slow, fast + 1);
  assertPeriod('signal', signal);
  const s: MacdState = state
    ? {
        fast: { n: state.fast.n, sum: state.fast.sum, v: state.fast.v },
        slow: { n: state.slow.n, sum: state.slow.sum, v: state.slow.v },
        signal: { n: state.signal.n, sum: state.signal.sum, v: state.signal.v },
      }
    : { fast: emaInit(), slow: emaInit(), signal: emaInit() };
  const aF = 2 / (fast + 1);
  const aS = 2 / (slow + 1);
  const aG = 2 / (signal + 1);
  const fastStart = slow - fast;
  const { macd: oM, signal: oS, hist: oH, spread: oX, ppo: oP } = outs;
  const sF = s.fast;
  const sS = s.slow;
  const sG = s.signal;
  let t = from;
  // Seeding rows (until all three EMAs are seeded): the general emaPush path.
  for (; t < to && (sS.n < slow || sF.n < fast || sG.n < signal); t++) {
    const c = close[t] as number;
    const es = emaPush(sS, c, slow, aS);
    const ef = t >= fastStart ? emaPush(sF, c, fast, aF) : Number.NaN;
    const m = ef - es;
    const g = emaPush(sG, m, signal, aG);
    if (oM !== null) oM[t] = m;
    if (oS !== null) oS[t] = g;
    if (oH !== null) oH[t] = m - g;
    if (oX !== null) oX[t] = ef / es - 1;
    if (oP !== null) oP[t] = ((ef - es) / es) * 100;
  }
  // Seeded: the same updates as emaPush, on locals.
  let vF = sF.v;
  let vS = sS.v;
  let vG = sG.v;
  if (oX === null && oP === null && oM !== null && oS !== null && oH !== null) {
    for (; t < to; t++) {
      const c = close[t] as number;
      vS = (c - vS) * aS + vS;
      vF = (c - vF) * aF + vF;
      const m = vF - vS;
      vG = (m - vG) * aG + vG;
      oM[t] = m;
      oS[t] = vG;
      oH[t] = m - vG;
    }
  } else {
    for (; t < to; t++) {
      const c = close[t] as number;
      vS = (c - vS) * aS + vS;
      vF = (c - vF) * aF + vF;
      const m = vF - vS;
      vG = (m - vG) * aG + vG;
      if (oM !== null) oM[t] = m;
      if (oS !== null) oS[t] = vG;
      if (oH !== null) oH[t] = m - vG;
      if (oX !== null) oX[t] = vF / vS - 1;
      if (oP !== null) oP[t] = ((vF - vS) / vS) * 100;
    }
  }
  sF.v = vF;
  sS.v = vS;
  sG.v = vG;
  return s;
}

/**
 * MACD (batch): line, signal and histogram, TA-Lib seeding (see {@link macdRun}). Outputs are
 * preallocated (length >= close.length), USD per share; NaN in warm-up (macd before slow − 1,
 * signal/hist before slow + signal − 2).
 * @throws RangeError unless 1 <= fast < slow and signal >= 1 are integers, or an output is too short.
 */
export function macdInto(
  close: Float64Array,
  fast: number,
  slow: number,
  signal: number,
  outMacd: Float64Array,
  outSignal: Float64Array,
  outHist: Float64Array,
): void {
  const n = close.length;
  assertOutLength('outMacd', outMacd, n);
  assertOutLength('outSignal', outSignal, n);
  assertOutLength('outHist', outHist, n);
  macdRun(close, fast, slow, signal, { macd: outMacd, signal: outSignal, hist: outHist, spread: null, ppo: null }, 0, n, null);
}

// ---------------------------------------------------------------------------------------------
// RSI (Wilder)
// ---------------------------------------------------------------------------------------------

/** State of {@link rsiRun}: seed sums (rows 1..period) and Wilder averages. */
export interface RsiState {
  gainSum: number;
  lossSum: number;
  avgGain: number;
  avgLoss: number;
}

/**
 * Wilder's RSI (Wilder 1978, ch. VI; TA-Lib `TA_RSI` seeding), identical to `rsiWilder` in
 * lambdas/core/indicators.ts: changes d_t = close_t − close_{t−1}; seed avgGain/avgLoss = simple
 * means over t = 1..period; then avg = (avg·(period−1) + x)/period; RSI = 100·avgGain/(avgGain +
 * avgLoss), 50 when both are 0 (flat). Range 0..100; first value at index `period`.
 */
export function rsiRun(close: Float64Array, period: number, out: Float64Array, from: number, to: number, state: RsiState | null): RsiState {
  assertPeriod('period', period);
  let gainSum = state ? state.gainSum : 0;
  let lossSum = state ? state.lossSum : 0;
  let avgGain = state ? state.avgGain : 0;
  let avgLoss = state ? state.avgLoss : 0;
  let t = from;
  if (t === 0 && t < to) {
    out[0] = Number.NaN;
    t = 1;
  }
  if (t >= to) return { gainSum, lossSum, avgGain, avgLoss };
  // gain = max(d, 0), loss = max(−d, 0), written branch-free: (d + |d|)/2 and (|d| − d)/2 are exact.
  let prev = close[t - 1] as number;
  for (; t < to && t <= period; t++) {
    const c = close[t] as number;
    const d = c - prev;
    prev = c;
    const a = Math.abs(d);
    gainSum += (d + a) * 0.5;
    lossSum += (a - d) * 0.5;
    if (t < period) {
      out[t] = Number.NaN;
      continue;
    }
    avgGain = gainSum / period;
    avgLoss = lossSum / period;
    const total = avgGain + avgLoss;
    out[t] = total === 0 ? 50 : 100 * (avgGain / total);
  }
  const pm1 = period - 1;
  for (; t < to; t++) {
    const c = close[t] as number;
    const d = c - prev;
    prev = c;
    const a = Math.abs(d);
    avgGain = (avgGain * pm1 + (d + a) * 0.5) / period;
    avgLoss = (avgLoss * pm1 + (a - d) * 0.5) / period;
    const total = avgGain + avgLoss;
    out[t] = total === 0 ? 50 : 100 * (avgGain / total);
  }
  return { gainSum, lossSum, avgGain, avgLoss };
}

/**
 * Wilder RSI (batch), see {@link rsiRun}. `out` preallocated (length >= close.length), 0..100,
 * NaN for t < period.
 * @throws RangeError when `period` is not an integer >= 1 or `out` is too short.
 */
export function rsiInto(close: Float64Array, period: number, out: Float64Array): void {
  assertPeriod('period', period);
  assertOutLength('out', out, close.length);
  rsiRun(close, period, out, 0, close.length, null);
}

// ---------------------------------------------------------------------------------------------
// Rolling max / min (exact; no state needed: the window is re-read from the input)
// ---------------------------------------------------------------------------------------------

/**
 * Trailing-window maximum (`sign` = 1) or minimum (`sign` = −1) of `src` over the last `period` rows
 * including row t, for rows [from, to): NaN for t < period − 1. Tracks the index of the extreme
 * and rescans the window only when that index leaves it (amortized O(1) on typical data, O(period)
 * worst case per row). Stateless across calls: the first row of a run rescans its window, and max
 * is exact, so resumed runs are bit-identical.
 */
export function rollingExtremeRun(src: Float64Array, period: number, sign: 1 | -1, out: Float64Array, from: number, to: number): void {
  let idx = -1;
  for (let t = from; t < to; t++) {
    const lo = t - period + 1;
    if (lo < 0) {
      out[t] = Number.NaN;
      continue;
    }
    if (idx < lo) {
      idx = lo;
      for (let i = lo + 1; i <= t; i++) if (sign * (src[i] as number) >= sign * (src[idx] as number)) idx = i;
    } else if (sign * (src[t] as number) >= sign * (src[idx] as number)) idx = t;
    out[t] = src[idx] as number;
  }
}

// ---------------------------------------------------------------------------------------------
// Stochastic oscillator (slow)
// ---------------------------------------------------------------------------------------------

/** State of {@link stochRun}: rings of the last fast %K and slow %K values, indexed by row mod size. */
export interface StochState {
  fastK: number[];
  slowK: number[];
}

/** Scratch of {@link stochRun}, grown on demand and reused: window extremes, then fast and slow %K of the rows of one call. */
let stochHigh = new Float64Array(0);
let stochLow = new Float64Array(0);
let stochFast = new Float64Array(0);
let stochSlow = new Float64Array(0);

/**
 * Trailing-window maxima of `src` over `period` rows, for the window ends t in
 * [base + period − 1, base + len): on return, the maximum of the window ending at t is
 * max(buf[t − period + 1 − base], buf[t − span + 1 − base]), `span` being the returned power of two
 * (<= period). Sparse-table doubling (in place): level w holds the maximum of rows
 * [base + i, base + i + w − 1] at buf[i]. Every step selects one of two values without a branch
 * (`+(a > b)` is 0 or 1, and 1·a + 0·b = a exactly for finite values): V8 compiles `Math.max` and
 * `if` on doubles to jumps, which mispredict on market data. Exact (a maximum is one of the inputs).
 */
function windowMax(src: Float64Array, base: number, len: number, period: number, buf: Float64Array): number {
  if (period === 1) {
    for (let i = 0; i < len; i++) buf[i] = src[base + i] as number;
    return 1;
  }
  for (let i = 0, e = len - 1; i < e; i++) {
    const a = src[base + i] as number;
    const b = src[base + i + 1] as number;
    const k = +(a > b);
    buf[i] = k * a + (1 - k) * b;
  }
  let w = 2;
  for (; 2 * w <= period; w *= 2) {
    for (let i = 0, e = len - 2 * w + 1; i < e; i++) {
      const a = buf[i] as number;
      const b = buf[i + w] as number;
      const k = +(a > b);
      buf[i] = k * a + (1 - k) * b;
    }
  }
  return w;
}

/** Trailing-window minima, as {@link windowMax}. */
function windowMin(src: Float64Array, base: number, len: number, period: number, buf: Float64Array): number {
  if (period === 1) {
    for (let i = 0; i < len; i++) buf[i] = src[base + i] as number;
    return 1;
  }
  for (let i = 0, e = len - 1; i < e; i++) {
    const a = src[base + i] as number;
    const b = src[base + i + 1] as number;
    const k = +(a < b);
    buf[i] = k * a + (1 - k) * b;
  }
  let w = 2;
  for (; 2 * w <= period; w *= 2) {
    for (let i = 0, e = len - 2 * w + 1; i < e; i++) {
      const a = buf[i] as number;
      const b = buf[i + w] as number;
      const k = +(a < b);
      buf[i] = k * a + (1 - k) * b;
    }
  }
  return w;
}

/**
 * Slow stochastic oscillator (Lane; TA-Lib `TA_STOCH` with SMA smoothing).
 *
 * - fast %K_t = 100·(close_t − LL)/(HH − LL), HH/LL = highest high / lowest low over the last
 *   `kPeriod` bars including t; 50 (neutral) when HH = LL (TA-Lib writes 0 there).
 * - slow %K = SMA(kSlow) of fast %K; %D = SMA(dPeriod) of slow %K. Each mean is summed oldest to
 *   newest in a fixed order, then multiplied by 1/kSlow (1/dPeriod).
 * - Range 0..100 (when close lies inside [low, high]). Warm-up: slow %K from index
 *   kPeriod + kSlow − 2, %D from kPeriod + kSlow + dPeriod − 3.
 * - HH/LL: exact branch-free sparse-table extremes (see windowMax), re-read from the inputs
 *   (nothing carried across calls). The last kSlow fast %K and dPeriod slow %K values are kept in
 *   the state as rings indexed by row mod size; inside a call every value lives in reusable module
 *   scratch arrays (O(to − from + periods) numbers).
 */
export function stochRun(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  kPeriod: number,
  kSlow: number,
  dPeriod: number,
  outK: Float64Array,
  outD: Float64Array,
  from: number,
  to: number,
  state: StochState | null,
): StochState {
  assertPeriod('kPeriod', kPeriod);
  assertPeriod('kSlow', kSlow);
  assertPeriod('dPeriod', dPeriod);
  const s: StochState = state
    ? { fastK: state.fastK.slice(), slowK: state.slowK.slice() }
    : { fastK: new Array<number>(kSlow).fill(0), slowK: new Array<number>(dPeriod).fill(0) };
  const kStart = kPeriod - 1;
  const skStart = kStart + kSlow - 1;
  const dStart = skStart + dPeriod - 1;
  let t = from;
  for (; t < to && t < kStart; t++) {
    outK[t] = Number.NaN;
    outD[t] = Number.NaN;
  }
  if (t >= to) return s;
  const tFirst = t;
  // Window extremes of the rows [tFirst, to): inputs from row xBase = tFirst − kPeriod + 1 (>= 0).
  const xBase = tFirst - kStart;
  const xLen = to - xBase;
  // Fast %K of row r at fk[r − fBase], slow %K at sk[r − sBase]: the rows of the rings, then this call's.
  const fBase = tFirst - kSlow + 1;
  const sBase = tFirst - dPeriod + 1;
  if (stochHigh.length < xLen) {
    stochHigh = new Float64Array(xLen * 2);
    stochLow = new Float64Array(xLen * 2);
  }
  if (stochFast.length < to - fBase) stochFast = new Float64Array((to - fBase) * 2);
  if (stochSlow.length < to - sBase) stochSlow = new Float64Array((to - sBase) * 2);
  const hb = stochHigh;
  const lb = stochLow;
  const fk = stochFast;
  const sk = stochSlow;
  const span = windowMax(high, xBase, xLen, kPeriod, hb);
  windowMin(low, xBase, xLen, kPeriod, lb);
  for (let r = fBase > kStart ? fBase : kStart; r < tFirst; r++) fk[r - fBase] = s.fastK[r % kSlow] as number;
  for (let r = sBase > skStart ? sBase : skStart; r < tFirst; r++) sk[r - sBase] = s.slowK[r % dPeriod] as number;
  const invK = 1 / kSlow;
  const invD = 1 / dPeriod;
  // Small smoothing windows (<= 4, e.g. 14/3/3) sum from shift registers (f0 newest … f3 oldest
  // fast %K, g0 … g3 slow %K) instead of looping over the scratch: same terms, same order.
  const small = kSlow <= 4 && dPeriod <= 4;
  let f0 = 0;
  let f1 = 0;
  let f2 = 0;
  let f3 = 0;
  let g0 = 0;
  let g1 = 0;
  let g2 = 0;
  let g3 = 0;
  if (small) {
    // Rows before tFirst that the sums can reach (>= kStart, resp. >= skStart) come from the rings.
    for (let r = tFirst - 4; r < tFirst; r++) {
      f3 = f2;
      f2 = f1;
      f1 = f0;
      f0 = r >= kStart && r >= fBase ? (fk[r - fBase] as number) : 0;
      g3 = g2;
      g2 = g1;
      g1 = g0;
      g0 = r >= skStart && r >= sBase ? (sk[r - sBase] as number) : 0;
    }
  }
  for (; t < to; t++) {
    const i = t - xBase;
    const h1 = hb[i - kStart] as number;
    const h2 = hb[i - span + 1] as number;
    const kh = +(h1 > h2);
    const hh = kh * h1 + (1 - kh) * h2;
    const l1 = lb[i - kStart] as number;
    const l2 = lb[i - span + 1] as number;
    const kl = +(l1 < l2);
    const ll = kl * l1 + (1 - kl) * l2;
    const f = hh > ll ? 100 * (((close[t] as number) - ll) / (hh - ll)) : 50;
    fk[t - fBase] = f;
    f3 = f2;
    f2 = f1;
    f1 = f0;
    f0 = f;
    if (t < skStart) {
      outK[t] = Number.NaN;
      outD[t] = Number.NaN;
      continue;
    }
    let sum = 0;
    if (small) sum = kSlow === 3 ? f2 + f1 + f0 : kSlow === 1 ? f0 : kSlow === 2 ? f1 + f0 : f3 + f2 + f1 + f0;
    else for (let j = t - kSlow + 1 - fBase, e = t - fBase; j <= e; j++) sum += fk[j] as number;
    const k = sum * invK;
    sk[t - sBase] = k;
    outK[t] = k;
    g3 = g2;
    g2 = g1;
    g1 = g0;
    g0 = k;
    if (t < dStart) {
      outD[t] = Number.NaN;
      continue;
    }
    let sumD = 0;
    if (small) sumD = dPeriod === 3 ? g2 + g1 + g0 : dPeriod === 1 ? g0 : dPeriod === 2 ? g1 + g0 : g3 + g2 + g1 + g0;
    else for (let j = t - dPeriod + 1 - sBase, e = t - sBase; j <= e; j++) sumD += sk[j] as number;
    outD[t] = sumD * invD;
  }
  // Back into the rings: the rows of this call that they still hold.
  for (let r = to - kSlow > tFirst ? to - kSlow : tFirst; r < to; r++) s.fastK[r % kSlow] = fk[r - fBase] as number;
  for (let r = to - dPeriod > tFirst ? to - dPeriod : tFirst; r < to; r++) if (r >= skStart) s.slowK[r % dPeriod] = sk[r - sBase] as number;
  return s;
}

/**
 * Slow stochastic (batch), see {@link stochRun}. Outputs preallocated (length >= close.length),
 * 0..100, NaN in warm-up. O(kSlow + dPeriod) scratch per call.
 * @throws RangeError when a period is not an integer >= 1, input lengths differ, or an output is too short.
 */
export function stochInto(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  kPeriod: number,
  kSlow: number,
  dPeriod: number,
  outK: Float64Array,
  outD: Float64Array,
): void {
  const n = close.length;
  assertInputLength('high', high, n, 'close');
  assertInputLength('low', low, n, 'close');
  assertOutLength('outK', outK, n);
  assertOutLength('outD', outD, n);
  stochRun(high, low, close, kPeriod, kSlow, dPeriod, outK, outD, 0, n, null);
}

// ---------------------------------------------------------------------------------------------
// True range, ATR, ADX / DI (Wilder)
// ---------------------------------------------------------------------------------------------

/**
 * Wilder's true range max(H−L, |H−C_prev|, |L−C_prev|), bit-identical to `Math.max` of the three
 * for finite inputs but branch-free: V8 compiles `Math.max` of doubles to compare-and-jump, which
 * mispredicts on market data. `+(a > b)` is 0 or 1, and 1·x + 0·y = x exactly for finite x, y.
 */
function trueRange(h: number, l: number, pc: number): number {
  const a = h - l;
  const b = Math.abs(h - pc);
  const c = Math.abs(l - pc);
  const kb = +(b > a);
  const m = kb * b + (1 - kb) * a;
  const kc = +(c > m);
  return kc * c + (1 - kc) * m;
}

/** State of {@link atrRun}: the seed sum of TR_1..TR_period, then the current ATR. */
export interface AtrState {
  sum: number;
  atr: number;
}

/**
 * Wilder's ATR (Wilder 1978, ch. III) with TA-Lib `TA_ATR` seeding, identical to `atrWilder` in
 * lambdas/core/indicators.ts: ATR_period = mean(TR_1..TR_period) (TR_0 has no previous close and
 * is not used); then ATR_t = (ATR_{t−1}·(period−1) + TR_t)/period. USD per share; first value at
 * index `period`.
 */
export function atrRun(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  period: number,
  out: Float64Array,
  from: number,
  to: number,
  state: AtrState | null,
): AtrState {
  assertPeriod('period', period);
  let sum = state ? state.sum : 0;
  let atr = state ? state.atr : 0;
  let t = from;
  if (t === 0 && t < to) {
    out[0] = Number.NaN;
    t = 1;
  }
  if (t >= to) return { sum, atr };
  let pc = close[t - 1] as number;
  for (; t < to && t <= period; t++) {
    const h = high[t] as number;
    const l = low[t] as number;
    const tr = trueRange(h, l, pc);
    pc = close[t] as number;
    sum += tr;
    if (t < period) out[t] = Number.NaN;
    else {
      atr = sum / period;
      out[t] = atr;
    }
  }
  const pm1 = period - 1;
  for (; t < to; t++) {
    const h = high[t] as number;
    const l = low[t] as number;
    const tr = trueRange(h, l, pc);
    pc = close[t] as number;
    atr = (atr * pm1 + tr) / period;
    out[t] = atr;
  }
  return { sum, atr };
}

/**
 * Wilder ATR (batch), see {@link atrRun}. `out` preallocated (length >= close.length), USD per
 * share, NaN for t < period.
 * @throws RangeError when `period` is not an integer >= 1, input lengths differ or `out` is too short.
 */
export function atrInto(high: Float64Array, low: Float64Array, close: Float64Array, period: number, out: Float64Array): void {
  const n = close.length;
  assertPeriod('period', period);
  assertInputLength('high', high, n, 'close');
  assertInputLength('low', low, n, 'close');
  assertOutLength('out', out, n);
  atrRun(high, low, close, period, out, 0, n, null);
}

/** State of {@link dmiRun}. */
export interface DmiState {
  /** Wilder running sums of TR, +DM, −DM (seeded with the plain sum of rows 1..period). */
  trS: number;
  pS: number;
  mS: number;
  /**
   * Current ATR (mean form, = trS/period at the seed row); null when the run did not compute it
   * (no `atr` output was asked for): such a state cannot resume a run that asks for ATR.
   */
  atr: number | null;
  /** Sum of DX over rows period..2·period−1 (the ADX seed), then the current ADX. */
  dxSum: number;
  adx: number;
}

/** Optional outputs of {@link dmiRun} (null = not wanted). */
export interface DmiOutputs {
  adx: Float64Array | null;
  plusDi: Float64Array | null;
  minusDi: Float64Array | null;
  atr: Float64Array | null;
}

/**
 * Wilder's directional movement system (Wilder 1978, ch. IV) fused with ATR over one true range.
 *
 * - For t >= 1: up = H_t − H_{t−1}, down = L_{t−1} − L_t; +DM = up if up > down and up > 0, else 0;
 *   −DM = down if down > up and down > 0, else 0; TR as Wilder.
 * - Smoothing (Wilder's book, also npm `technicalindicators`): S_period = TR_1 + … + TR_period (same
 *   for ±DM); then S_t = S_{t−1}·(1 − 1/period) + x_t (Wilder's S − S/period + x, evaluated with
 *   the constant (period−1)/period as Tulip Indicators does). TA-Lib instead seeds with the sum of
 *   period − 1 values and applies one update at row `period`: the difference decays as (1−1/period)^t.
 * - +DI = 100·(S+DM/S_TR), −DI = 100·(S−DM/S_TR), 0 when S_TR = 0; DX = 100·|+DI − −DI|/(+DI + −DI),
 *   0 when +DI + −DI = 0, evaluated as 100·|S+DM − S−DM|/(S+DM + S−DM) (the same ratio, one division,
 *   and independent of whether the DI outputs are asked for). ADX: seed = mean of DX over rows period..2·period−1, then
 *   ADX_t = ADX_{t−1}·(period−1)/period + DX_t/period (constants precomputed).
 * - ATR (only when `outs.atr` is given): mean(TR_1..TR_period) at row period (the same plain sum as
 *   S_TR, divided), then Wilder's (ATR·(period−1) + TR)/period — bit-identical to {@link atrRun}.
 * - Warm-up: ±DI and ATR from index `period`, ADX from 2·period − 1. Units: DI/ADX 0..100, ATR USD.
 * @throws RangeError when `outs.atr` is given but `state` was produced without it (state.atr null).
 */
export function dmiRun(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  period: number,
  outs: DmiOutputs,
  from: number,
  to: number,
  state: DmiState | null,
): DmiState {
  assertPeriod('period', period);
  const { adx: oA, plusDi: oP, minusDi: oM, atr: oT } = outs;
  const wantAtr = oT !== null;
  const wantDi = oP !== null || oM !== null;
  if (wantAtr && state !== null && state.atr === null) {
    throw new RangeError('state.atr is null (the state comes from a run without the atr output); cannot resume with outs.atr');
  }
  let trS = state ? state.trS : 0;
  let pS = state ? state.pS : 0;
  let mS = state ? state.mS : 0;
  let atr = state && state.atr !== null ? state.atr : 0;
  let dxSum = state ? state.dxSum : 0;
  let adx = state ? state.adx : 0;
  const adxStart = 2 * period - 1;
  const pm1 = period - 1;
  const per = pm1 / period;
  const invp = 1 / period;
  let t = from;
  if (t === 0 && t < to) {
    if (oA !== null) oA[0] = Number.NaN;
    if (oP !== null) oP[0] = Number.NaN;
    if (oM !== null) oM[0] = Number.NaN;
    if (oT !== null) oT[0] = Number.NaN;
    t = 1;
  }
  if (t < to) {
    let ph = high[t - 1] as number;
    let pl = low[t - 1] as number;
    let pc = close[t - 1] as number;
    for (; t < to; t++) {
      const h = high[t] as number;
      const l = low[t] as number;
      const tr = trueRange(h, l, pc);
      const up = h - ph;
      const down = pl - l;
      ph = h;
      pl = l;
      pc = close[t] as number;
      // Branch-free (see trueRange): up·1 = up, up·0 = ±0, and adding ±0 changes no sum.
      const pdm = up * (+(up > down) * +(up > 0));
      const mdm = down * (+(down > up) * +(down > 0));
      if (t <= period) {
        trS += tr;
        pS += pdm;
        mS += mdm;
        if (t < period) {
          if (oA !== null) oA[t] = Number.NaN;
          if (oP !== null) oP[t] = Number.NaN;
          if (oM !== null) oM[t] = Number.NaN;
          if (oT !== null) oT[t] = Number.NaN;
          continue;
        }
        atr = trS / period;
      } else {
        trS = trS * per + tr;
        pS = pS * per + pdm;
        mS = mS * per + mdm;
        if (wantAtr) atr = (atr * pm1 + tr) / period;
      }
      // DX = 100·|+DI − −DI|/(+DI + −DI) = 100·|S+DM − S−DM|/(S+DM + S−DM): one division.
      const q = pS + mS;
      const dx = q > 0 ? 100 * (Math.abs(pS - mS) / q) : 0;
      let a = Number.NaN;
      if (t < adxStart) dxSum += dx;
      else if (t === adxStart) {
        dxSum += dx;
        adx = dxSum / period;
        a = adx;
      } else {
        adx = adx * per + dx * invp;
        a = adx;
      }
      if (oA !== null) oA[t] = a;
      if (wantDi) {
        let pdi = 0;
        let mdi = 0;
        if (trS > 0) {
          const r = 100 / trS;
          pdi = pS * r;
          mdi = mS * r;
        }
        if (oP !== null) oP[t] = pdi;
        if (oM !== null) oM[t] = mdi;
      }
      if (oT !== null) oT[t] = atr;
    }
  }
  return { trS, pS, mS, atr: wantAtr ? atr : null, dxSum, adx };
}

/**
 * Wilder ADX (batch), see {@link dmiRun}. `outAdx` preallocated (length >= close.length), 0..100,
 * NaN for t < 2·period − 1.
 * @throws RangeError when `period` is not an integer >= 1, input lengths differ or `outAdx` is too short.
 */
export function adxInto(high: Float64Array, low: Float64Array, close: Float64Array, period: number, outAdx: Float64Array): void {
  const n = close.length;
  assertPeriod('period', period);
  assertInputLength('high', high, n, 'close');
  assertInputLength('low', low, n, 'close');
  assertOutLength('outAdx', outAdx, n);
  dmiRun(high, low, close, period, { adx: outAdx, plusDi: null, minusDi: null, atr: null }, 0, n, null);
}

// ---------------------------------------------------------------------------------------------
// TSI, TRIX, KAMA
// ---------------------------------------------------------------------------------------------

/** State of {@link tsiRun}: the two double-smoothed EMAs (of momentum and of |momentum|). */
export interface TsiState {
  m1: EmaState;
  m2: EmaState;
  a1: EmaState;
  a2: EmaState;
}

/**
 * True Strength Index (Blau 1991, "Momentum, Direction and Divergence"):
 * TSI = 100·EMA_s(EMA_l(m))/EMA_s(EMA_l(|m|)), m_t = close_t − close_{t−1}, EMAs alpha = 2/(n+1)
 * seeded TA-Lib style (SMA of the first n defined values, chained). 0 when the denominator is 0.
 * Range −100..100; first value at index long + short − 1 (37 for 25/13).
 */
export function tsiRun(close: Float64Array, long: number, short: number, out: Float64Array, from: number, to: number, state: TsiState | null): TsiState {
  assertPeriod('long', long);
  assertPeriod('short', short);
  const s: TsiState = state
    ? { m1: { ...state.m1 }, m2: { ...state.m2 }, a1: { ...state.a1 }, a2: { ...state.a2 } }
    : { m1: emaInit(), m2: emaInit(), a1: emaInit(), a2: emaInit() };
  const aL = 2 / (long + 1);
  const aS = 2 / (short + 1);
  for (let t = from; t < to; t++) {
    if (t === 0) {
      out[t] = Number.NaN;
      continue;
    }
    const m = (close[t] as number) - (close[t - 1] as number);
    const num = emaPush(s.m2, emaPush(s.m1, m, long, aL), short, aS);
    const den = emaPush(s.a2, emaPush(s.a1, Math.abs(m), long, aL), short, aS);
    out[t] = den !== den ? Number.NaN : den === 0 ? 0 : 100 * (num / den);
  }
  return s;
}

/** State of {@link trixRun}: the three chained EMAs and the previous triple EMA (null before it exists). */
export interface TrixState {
  e1: EmaState;
  e2: EmaState;
  e3: EmaState;
  prev: number | null;
}

/**
 * TRIX (Hutson 1983): 1-bar rate of change of a triple EMA, percent.
 * e1 = EMA_n(close), e2 = EMA_n(e1), e3 = EMA_n(e2), each alpha = 2/(n+1) seeded with the SMA of
 * its first n defined values (TA-Lib `TA_TRIX`); TRIX_t = 100·(e3_t/e3_{t−1} − 1) (TA_ROC form).
 * First value at index 3·(n−1) + 1 (43 for n = 15).
 */
export function trixRun(close: Float64Array, period: number, out: Float64Array, from: number, to: number, state: TrixState | null): TrixState {
  assertPeriod('period', period);
  const s: TrixState = state
    ? { e1: { ...state.e1 }, e2: { ...state.e2 }, e3: { ...state.e3 }, prev: state.prev }
    : { e1: emaInit(), e2: emaInit(), e3: emaInit(), prev: null };
  const a = 2 / (period + 1);
  let prev = s.prev;
  for (let t = from; t < to; t++) {
    const e3 = emaPush(s.e3, emaPush(s.e2, emaPush(s.e1, close[t] as number, period, a), period, a), period, a);
    out[t] = prev === null ? Number.NaN : 100 * (e3 / prev - 1);
    prev = e3 === e3 ? e3 : null;
  }
  s.prev = prev;
  return s;
}

/** State of {@link kamaRun}: the KAMA of the last computed row (0 before the first value). */
export interface KamaState {
  kama: number;
}

/**
 * Kaufman's Adaptive Moving Average (Kaufman 1995, "Smarter Trading"; TA-Lib `TA_KAMA`).
 *
 * - ER_t = |close_t − close_{t−n}| / Σ_{i=t−n+1..t} |close_i − close_{i−1}| (1 when the sum is 0,
 *   as TA-Lib); sc = (ER·(2/(fast+1) − 2/(slow+1)) + 2/(slow+1))².
 * - Seed (TA-Lib): the previous KAMA at row n is close_{n−1}; KAMA_t = (close_t − KAMA_{t−1})·sc +
 *   KAMA_{t−1}. USD; first value at index n.
 */
export function kamaRun(
  close: Float64Array,
  period: number,
  fast: number,
  slow: number,
  out: Float64Array,
  from: number,
  to: number,
  state: KamaState | null,
): KamaState {
  assertPeriod('period', period);
  assertPeriod('fast', fast);
  assertPeriod('slow', slow);
  const s: KamaState = state ? { ...state } : { kama: 0 };
  const scFast = 2 / (fast + 1);
  const scSlow = 2 / (slow + 1);
  const diff = scFast - scSlow;
  let kama = s.kama;
  for (let t = from; t < to; t++) {
    if (t < period) {
      out[t] = Number.NaN;
      continue;
    }
    if (t === period) kama = close[t - 1] as number;
    let vol = 0;
    for (let i = t - period + 1; i <= t; i++) vol += Math.abs((close[i] as number) - (close[i - 1] as number));
    const c = close[t] as number;
    const er = vol > 0 ? Math.abs(c - (close[t - period] as number)) / vol : 1;
    const f = er * diff + scSlow;
    const sc = f * f;
    kama = (c - kama) * sc + kama;
    out[t] = kama;
  }
  s.kama = kama;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Parabolic SAR (Wilder), TA-Lib conventions
// ---------------------------------------------------------------------------------------------

/** State of {@link psarRun}: trend (1 long, 0 short), the SAR for the next row, extreme point, AF. */
export interface PsarState {
  long: number;
  sar: number;
  ep: number;
  af: number;
}

/**
 * Wilder's Parabolic SAR (Wilder 1978, ch. II), following TA-Lib `TA_SAR` exactly.
 *
 * - Initial trend: short if bar 1's −DM is > 0 (low_0 − low_1 > 0 and > high_1 − high_0), else long.
 *   Initial SAR: long → low_0, extreme point high_1; short → high_0, extreme point low_1. AF starts
 *   at `step`.
 * - Row t >= 1 outputs the SAR in force for bar t (computed from bars < t), unless bar t penetrates
 *   it (long: low_t <= SAR; short: high_t >= SAR): then the trend reverses, and the output is the
 *   previous extreme point clamped beyond bars t−1 and t (long→short: max(ep, high_{t−1}, high_t)).
 * - Update: SAR += AF·(EP − SAR); AF += step (cap `max`) each time a new extreme is made; the next
 *   SAR never goes inside bars t−1 and t (for t = 1, "bar t−1" is bar 1 itself, as TA-Lib).
 * - USD; first value at index 1 (index 0 is NaN).
 */
export function psarRun(
  high: Float64Array,
  low: Float64Array,
  step: number,
  max: number,
  out: Float64Array,
  from: number,
  to: number,
  state: PsarState | null,
): PsarState {
  if (!(step > 0) || !(max >= step) || !Number.isFinite(max)) {
    throw new RangeError(`step and max must satisfy 0 < step <= max < Infinity, got step ${String(step)} max ${String(max)}`);
  }
  const s: PsarState = state ? { ...state } : { long: 1, sar: 0, ep: 0, af: step };
  let { long, sar, ep, af } = s;
  for (let t = from; t < to; t++) {
    if (t === 0) {
      out[t] = Number.NaN;
      continue;
    }
    const newHigh = high[t] as number;
    const newLow = low[t] as number;
    const pt = t === 1 ? 1 : t - 1;
    const prevHigh = high[pt] as number;
    const prevLow = low[pt] as number;
    if (t === 1) {
      const diffM = (low[0] as number) - newLow;
      const diffP = newHigh - (high[0] as number);
      const minusDm = diffM > 0 && diffP < diffM ? diffM : 0;
      long = minusDm > 0 ? 0 : 1;
      af = step;
      if (long === 1) {
        ep = newHigh;
        sar = low[0] as number;
      } else {
        ep = newLow;
        sar = high[0] as number;
      }
    }
    if (long === 1) {
      if (newLow <= sar) {
        long = 0;
        sar = ep;
        if (sar < prevHigh) sar = prevHigh;
        if (sar < newHigh) sar = newHigh;
        out[t] = sar;
        af = step;
        ep = newLow;
        sar = sar + af * (ep - sar);
        if (sar < prevHigh) sar = prevHigh;
        if (sar < newHigh) sar = newHigh;
      } else {
        out[t] = sar;
        if (newHigh > ep) {
          ep = newHigh;
          af += step;
          if (af > max) af = max;
        }
        sar = sar + af * (ep - sar);
        if (sar > prevLow) sar = prevLow;
        if (sar > newLow) sar = newLow;
      }
    } else if (newHigh >= sar) {
      long = 1;
      sar = ep;
      if (sar > prevLow) sar = prevLow;
      if (sar > newLow) sar = newLow;
      out[t] = sar;
      af = step;
      ep = newHigh;
      sar = sar + af * (ep - sar);
      if (sar > prevLow) sar = prevLow;
      if (sar > newLow) sar = newLow;
    } else {
      out[t] = sar;
      if (newLow < ep) {
        ep = newLow;
        af += step;
        if (af > max) af = max;
      }
      sar = sar + af * (ep - sar);
      if (sar < prevHigh) sar = prevHigh;
      if (sar < newHigh) sar = newHigh;
    }
  }
  s.long = long;
  s.sar = sar;
  s.ep = ep;
  s.af = af;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Volume: OBV, CMF, MFI
// ---------------------------------------------------------------------------------------------

/** State of {@link obvRun}: the running total. */
export interface ObvState {
  obv: number;
}

/**
 * On-Balance Volume (Granville 1963): OBV_0 = 0; OBV_t = OBV_{t−1} + V_t if close_t > close_{t−1},
 * − V_t if lower, unchanged if equal. Shares; defined from index 0. (TA-Lib starts at OBV_0 = V_0;
 * npm `technicalindicators` starts at 0 as here.) Exact for integer volumes below 2^53 in total.
 */
export function obvRun(close: Float64Array, volume: Float64Array, out: Float64Array, from: number, to: number, state: ObvState | null): ObvState {
  let obv = state ? state.obv : 0;
  let t = from;
  if (t === 0 && t < to) {
    out[0] = obv;
    t = 1;
  }
  if (t >= to) return { obv };
  let p = close[t - 1] as number;
  for (; t < to; t++) {
    const c = close[t] as number;
    // Branch-free: ±V_t or 0 (V·1, V·(−1) and V·0 are exact; adding 0 leaves the total unchanged).
    obv += (volume[t] as number) * (+(c > p) - +(c < p));
    p = c;
    out[t] = obv;
  }
  return { obv };
}

/**
 * On-Balance Volume (batch), see {@link obvRun}. `out` preallocated (length >= close.length), shares.
 * @throws RangeError when the lengths differ or `out` is too short.
 */
export function obvInto(close: Float64Array, volume: Float64Array, out: Float64Array): void {
  const n = close.length;
  assertInputLength('volume', volume, n, 'close');
  assertOutLength('out', out, n);
  obvRun(close, volume, out, 0, n, null);
}

/**
 * Chaikin Money Flow (Chaikin): CMF = Σ MFV / Σ V over the last `period` bars including t, with
 * MFV_i = ((C−L) − (H−C))/(H−L)·V (0 when H = L). Each window is summed from scratch, oldest to
 * newest (no drift; stateless). NaN when Σ V = 0. Ratio in −1..1; first value at index period − 1.
 */
export function cmfRun(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  volume: Float64Array,
  period: number,
  out: Float64Array,
  from: number,
  to: number,
): void {
  assertPeriod('period', period);
  for (let t = from; t < to; t++) {
    if (t < period - 1) {
      out[t] = Number.NaN;
      continue;
    }
    let mfv = 0;
    let vol = 0;
    for (let i = t - period + 1; i <= t; i++) {
      const h = high[i] as number;
      const l = low[i] as number;
      const c = close[i] as number;
      const v = volume[i] as number;
      if (h > l) mfv += (((c - l) - (h - c)) / (h - l)) * v;
      vol += v;
    }
    out[t] = vol > 0 ? mfv / vol : Number.NaN;
  }
}

/** State of {@link mfiRun}: compensated window sums of the positive and negative money flows. */
export interface MfiState {
  pos: number;
  posComp: number;
  posCount: number;
  neg: number;
  negComp: number;
  negCount: number;
}

/** Typical price (H+L+C)/3 of row i. */
function typicalPrice(high: Float64Array, low: Float64Array, close: Float64Array, i: number): number {
  return ((high[i] as number) + (low[i] as number) + (close[i] as number)) / 3;
}

/**
 * Money Flow Index (Quong & Soudack 1989; TA-Lib `TA_MFI`): TP = (H+L+C)/3, raw flow = TP·V;
 * over the last `period` bars i (including t), the flow counts as positive when TP_i > TP_{i−1},
 * negative when TP_i < TP_{i−1}, neither when equal. MFI = 100·pos/(pos + neg), 50 when both are 0.
 * 0..100; first value at index `period`.
 *
 * Numerics: running Neumaier-compensated sums of the positive and negative flows, recomputed
 * exactly every `period` rows; a count of the flows in each sum makes an empty sum exactly 0.
 */
export function mfiRun(
  high: Float64Array,
  low: Float64Array,
  close: Float64Array,
  volume: Float64Array,
  period: number,
  out: Float64Array,
  from: number,
  to: number,
  state: MfiState | null,
): MfiState {
  assertPeriod('period', period);
  const s: MfiState = state ? { ...state } : { pos: 0, posComp: 0, posCount: 0, neg: 0, negComp: 0, negCount: 0 };
  let { pos, posComp, posCount, neg, negComp, negCount } = s;
  for (let t = from; t < to; t++) {
    if (t < period) {
      out[t] = Number.NaN;
      continue;
    }
    const start = t - period + 1;
    if ((start - 1) % period === 0) {
      pos = 0;
      posComp = 0;
      posCount = 0;
      neg = 0;
      negComp = 0;
      negCount = 0;
      let prev = typicalPrice(high, low, close, start - 1);
      for (let i = start; i <= t; i++) {
        const tp = typicalPrice(high, low, close, i);
        const f = tp * (volume[i] as number);
        if (tp > prev) {
          const u = pos + f;
          posComp += pos >= f ? pos - u + f : f - u + pos;
          pos = u;
          posCount++;
        } else if (tp < prev) {
          const u = neg + f;
          negComp += neg >= f ? neg - u + f : f - u + neg;
          neg = u;
          negCount++;
        }
        prev = tp;
      }
    } else {
      // Add row t's flow, remove row start−1's.
      const tpIn = typicalPrice(high, low, close, t);
      const tpInPrev = typicalPrice(high, low, close, t - 1);
      const fIn = tpIn * (volume[t] as number);
      if (tpIn > tpInPrev) {
        const u = pos + fIn;
        posComp += Math.abs(pos) >= fIn ? pos - u + fIn : fIn - u + pos;
        pos = u;
        posCount++;
      } else if (tpIn < tpInPrev) {
        const u = neg + fIn;
        negComp += Math.abs(neg) >= fIn ? neg - u + fIn : fIn - u + neg;
        neg = u;
        negCount++;
      }
      const tpOut = typicalPrice(high, low, close, start - 1);
      const tpOutPrev = typicalPrice(high, low, close, start - 2);
      const fOut = tpOut * (volume[start - 1] as number);
      if (tpOut > tpOutPrev) {
        const u = pos - fOut;
        posComp += Math.abs(pos) >= fOut ? pos - u - fOut : -fOut - u + pos;
        pos = u;
        posCount--;
      } else if (tpOut < tpOutPrev) {
        const u = neg - fOut;
        negComp += Math.abs(neg) >= fOut ? neg - u - fOut : -fOut - u + neg;
        neg = u;
        negCount--;
      }
    }
    const p = posCount > 0 ? pos + posComp : 0;
    const q = negCount > 0 ? neg + negComp : 0;
    const tot = p + q;
    out[t] = tot > 0 ? 100 * (p / tot) : 50;
  }
  s.pos = pos;
  s.posComp = posComp;
  s.posCount = posCount;
  s.neg = neg;
  s.negComp = negComp;
  s.negCount = negCount;
  return s;
}

// ---------------------------------------------------------------------------------------------
// CCI
// ---------------------------------------------------------------------------------------------

/** Scratch of {@link cciRun}: the typical prices of the rows of one call (and of the window before it), grown on demand and reused. */
let cciScratch = new Float64Array(0);

/**
 * Commodity Channel Index (Lambert 1980; TA-Lib `TA_CCI`): TP = (H+L+C)/3; over the last `period`
 * bars including t, mean = Σ TP/period and MD = Σ |TP_i − mean|/period (mean absolute deviation);
 * CCI = (TP_t − mean)/(0.015·MD), 0 when MD = 0. Each window is recomputed from scratch (exact,
 * stateless): both sums run oldest to newest, sequentially, from the typical prices of the window.
 *
 * Speed: rows are processed four at a time (their windows share period − 3 typical prices): each
 * shared price is loaded once and added to the four rows' own accumulators, so every row still
 * sums its terms in the same sequential order (results do not depend on the grouping, so resumed
 * runs are bit-identical), with four independent dependency chains and a quarter of the loads.
 * Dimensionless; first value at index period − 1. O(n·period) time, O(to − from + period) reused
 * scratch.
 */
export function cciRun(high: Float64Array, low: Float64Array, close: Float64Array, period: number, out: Float64Array, from: number, to: number): void {
  assertPeriod('period', period);
  if (from >= to) return;
  const base = from - period + 1 > 0 ? from - period + 1 : 0;
  if (cciScratch.length < to - base) cciScratch = new Float64Array((to - base) * 2);
  const tp = cciScratch;
  for (let i = base; i < to; i++) tp[i - base] = ((high[i] as number) + (low[i] as number) + (close[i] as number)) / 3;
  let t = from;
  for (; t < to && t < period - 1; t++) out[t] = Number.NaN;
  if (period >= 4) {
    for (; t + 3 < to; t += 4) {
      // Rows t .. t+3; L = scratch index of the oldest price of row t's window.
      const L = t - period + 1 - base;
      const e = t - base; // newest price of row t
      const l0 = tp[L] as number;
      const l1 = tp[L + 1] as number;
      const l2 = tp[L + 2] as number;
      let a = 0;
      a += l0;
      a += l1;
      a += l2;
      let b = 0;
      b += l1;
      b += l2;
      let c = 0;
      c += l2;
      let d = 0;
      for (let i = L + 3; i <= e; i++) {
        const v = tp[i] as number;
        a += v;
        b += v;
        c += v;
        d += v;
      }
      const x1 = tp[e + 1] as number;
      const x2 = tp[e + 2] as number;
      const x3 = tp[e + 3] as number;
      b += x1;
      c += x1;
      c += x2;
      d += x1;
      d += x2;
      d += x3;
      const ma = a / period;
      const mb = b / period;
      const mc = c / period;
      const md = d / period;
      // Mean absolute deviations, same grouping.
      a = 0;
      a += Math.abs(l0 - ma);
      a += Math.abs(l1 - ma);
      a += Math.abs(l2 - ma);
      b = 0;
      b += Math.abs(l1 - mb);
      b += Math.abs(l2 - mb);
      c = 0;
      c += Math.abs(l2 - mc);
      d = 0;
      for (let i = L + 3; i <= e; i++) {
        const v = tp[i] as number;
        a += Math.abs(v - ma);
        b += Math.abs(v - mb);
        c += Math.abs(v - mc);
        d += Math.abs(v - md);
      }
      b += Math.abs(x1 - mb);
      c += Math.abs(x1 - mc);
      c += Math.abs(x2 - mc);
      d += Math.abs(x1 - md);
      d += Math.abs(x2 - md);
      d += Math.abs(x3 - md);
      const x0 = tp[e] as number;
      const da = a / period;
      const db = b / period;
      const dc = c / period;
      const dd = d / period;
      out[t] = da > 0 ? (x0 - ma) / (0.015 * da) : 0;
      out[t + 1] = db > 0 ? (x1 - mb) / (0.015 * db) : 0;
      out[t + 2] = dc > 0 ? (x2 - mc) / (0.015 * dc) : 0;
      out[t + 3] = dd > 0 ? (x3 - md) / (0.015 * dd) : 0;
    }
  }
  for (; t < to; t++) {
    const i0 = t - period + 1 - base;
    const e = t - base;
    let sum = 0;
    for (let i = i0; i <= e; i++) sum += tp[i] as number;
    const mean = sum / period;
    let dev = 0;
    for (let i = i0; i <= e; i++) dev += Math.abs((tp[i] as number) - mean);
    const md = dev / period;
    out[t] = md > 0 ? ((tp[e] as number) - mean) / (0.015 * md) : 0;
  }
}

/**
 * CCI (batch), see {@link cciRun}. `out` preallocated (length >= close.length), NaN for t < period − 1.
 * @throws RangeError when `period` is not an integer >= 1, input lengths differ or `out` is too short.
 */
export function cciInto(high: Float64Array, low: Float64Array, close: Float64Array, period: number, out: Float64Array): void {
  const n = close.length;
  assertPeriod('period', period);
  assertInputLength('high', high, n, 'close');
  assertInputLength('low', low, n, 'close');
  assertOutLength('out', out, n);
  cciRun(high, low, close, period, out, 0, n);
}

// ---------------------------------------------------------------------------------------------
// Bollinger Bands
// ---------------------------------------------------------------------------------------------

/** State of {@link bollingerRun}: shift K, the running sums of (x − K) and (x − K)² over the window, and their magnitude. */
export interface BollingerState {
  shift: number;
  s1: number;
  s2: number;
  /** Σ of |every term added to or removed from s2| since the last exact recompute (the rounding-error scale of s1, s2). */
  mag: number;
}

/** Optional outputs of {@link bollingerRun} (null = not wanted). */
export interface BollingerOutputs {
  upper: Float64Array | null;
  middle: Float64Array | null;
  lower: Float64Array | null;
  /** (close − lower)/(upper − lower), 0.5 when the bands coincide. */
  pctb: Float64Array | null;
  /** (upper − lower)/middle. */
  width: Float64Array | null;
}

/** Sinks of {@link bollingerRun} for the bands nobody asked for (grown on demand, one per band). */
let bbSinkU = new Float64Array(0);
let bbSinkM = new Float64Array(0);
let bbSinkL = new Float64Array(0);

/** 2^−14: recompute exactly when n·variance < mag·2^−14, i.e. when rounding could reach ~1e-10 of the variance. */
const BB_GUARD = 1 / 16384;

/**
 * Bollinger Bands (Bollinger 2001, "Bollinger on Bollinger Bands"; TA-Lib `TA_BBANDS` with SMA):
 * middle = SMA_n(close), σ = POPULATION standard deviation (divide by n) of the same window,
 * upper/lower = middle ± k·σ; %b = (close − lower)/(upper − lower) (0.5 when σ = 0);
 * width = (upper − lower)/middle.
 *
 * Numerics: plain running sums of the SHIFTED data d = x − K (the "shifted data" algorithm, Chan,
 * Golub & LeVeque 1983): S1 = Σ d, S2 = Σ d², updated by d_in − d_out and d_in² − d_out²;
 * mean = K + S1/n, var = (S2 − S1²/n)/n.
 * - Every time the window has fully turned over (window start a multiple of n), S1 and S2 are
 *   recomputed exactly from the window around K = the current mean (the first window: its exact
 *   mean), so rounding never accumulates over more than n updates.
 * - Guard: `mag` sums the magnitudes of all terms since that recompute; their rounding error is
 *   below ~2n·ε·mag. Whenever n·var < mag·2^−14 (K far from the mean after a price jump, or a
 *   spike that has left the window), the window is recomputed exactly on the spot (K = its exact
 *   mean, two passes), so the variance keeps ~10 significant digits or more whatever the data.
 * - Every decision depends only on the absolute row and the (bit-identical) state: resumable.
 * First value at index n − 1.
 */
export function bollingerRun(
  close: Float64Array,
  period: number,
  k: number,
  outs: BollingerOutputs,
  from: number,
  to: number,
  state: BollingerState | null,
): BollingerState {
  assertPeriod('period', period);
  if (!Number.isFinite(k) || k < 0) throw new RangeError(`k must be a finite number >= 0, got ${String(k)}`);
  let shift = state ? state.shift : 0;
  let s1 = state ? state.s1 : 0;
  let s2 = state ? state.s2 : 0;
  let mag = state ? state.mag : 0;
  const { pctb: oB, width: oW } = outs;
  // The hot loop always writes the three bands (a band not asked for goes to its sink).
  if (outs.upper === null && bbSinkU.length < to) bbSinkU = new Float64Array(to * 2);
  if (outs.middle === null && bbSinkM.length < to) bbSinkM = new Float64Array(to * 2);
  if (outs.lower === null && bbSinkL.length < to) bbSinkL = new Float64Array(to * 2);
  const oU = outs.upper ?? bbSinkU;
  const oM = outs.middle ?? bbSinkM;
  const oL = outs.lower ?? bbSinkL;
  const invp = 1 / period;
  const first = from;
  let t = from;
  for (; t < to && t < period - 1; t++) {
    oU[t] = Number.NaN;
    oM[t] = Number.NaN;
    oL[t] = Number.NaN;
  }
  // Rows t ≡ period − 1 (mod period) recompute the sums from their window.
  let rebuild = t + (period - 1 - (t % period));
  for (; t < to; t++) {
    const x = close[t] as number;
    if (t === rebuild) {
      rebuild += period;
      const start = t - period + 1;
      shift = t === period - 1 ? windowSum(close, start, t + 1) / period : shift + s1 * invp;
      // Two interleaved partial sums each (fixed order, shorter dependency chains).
      let a1 = 0;
      let a2 = 0;
      let b1 = 0;
      let b2 = 0;
      let i = start;
      for (; i < t; i += 2) {
        const d = (close[i] as number) - shift;
        const e = (close[i + 1] as number) - shift;
        a1 += d;
        a2 += d * d;
        b1 += e;
        b2 += e * e;
      }
      if (i === t) {
        const d = x - shift;
        a1 += d;
        a2 += d * d;
      }
      s1 = a1 + b1;
      s2 = a2 + b2;
      mag = s2;
    } else {
      const d = x - shift;
      const o = (close[t - period] as number) - shift;
      const dd = d * d;
      const oo = o * o;
      s1 += d - o;
      s2 += dd - oo;
      mag += dd + oo;
    }
    let nv = s2 - s1 * (s1 * invp);
    if (nv < mag * BB_GUARD) {
      // Rounding could matter (or the window is flat around a stale K): exact two-pass recompute.
      const start = t - period + 1;
      shift = windowSum(close, start, t + 1) / period;
      s1 = 0;
      s2 = 0;
      for (let i = start; i <= t; i++) {
        const d = (close[i] as number) - shift;
        s1 += d;
        s2 += d * d;
      }
      mag = s2;
      nv = s2 - s1 * (s1 * invp);
    }
    const mean = shift + s1 * invp;
    const v = nv * invp;
    const dev = v > 0 ? k * Math.sqrt(v) : 0;
    oU[t] = mean + dev;
    oM[t] = mean;
    oL[t] = mean - dev;
  }
  if (oB !== null || oW !== null) {
    for (let r = first; r < to; r++) {
      const up = oU[r] as number;
      const lo = oL[r] as number;
      if (oB !== null) oB[r] = up !== up ? Number.NaN : up > lo ? ((close[r] as number) - lo) / (up - lo) : 0.5;
      if (oW !== null) oW[r] = (up - lo) / (oM[r] as number);
    }
  }
  return { shift, s1, s2, mag };
}

/**
 * Bollinger Bands (batch), see {@link bollingerRun}. Outputs preallocated (length >= close.length),
 * USD per share, NaN for t < period − 1.
 * @throws RangeError when `period` is not an integer >= 1, `k` is not finite >= 0, or an output is too short.
 */
export function bollingerInto(
  close: Float64Array,
  period: number,
  k: number,
  outUpper: Float64Array,
  outMiddle: Float64Array,
  outLower: Float64Array,
): void {
  const n = close.length;
  assertOutLength('outUpper', outUpper, n);
  assertOutLength('outMiddle', outMiddle, n);
  assertOutLength('outLower', outLower, n);
  bollingerRun(close, period, k, { upper: outUpper, middle: outMiddle, lower: outLower, pctb: null, width: null }, 0, n, null);
}
