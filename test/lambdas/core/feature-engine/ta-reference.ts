/**
 * Independent, deliberately naive reference implementations of every technical-analysis column,
 * for the feature-engine tests. Every window is recomputed from scratch with plain loops over
 * `number[]`, recursions are written in their textbook form (e.g. `alpha·x + (1 − alpha)·prev`),
 * and no code is shared with lambdas/core/feature-engine. NaN marks an undefined value.
 */

export interface Bars {
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  volume: number[];
}

const nan = (n: number): number[] => new Array<number>(n).fill(Number.NaN);
const at = (a: readonly number[], i: number): number => a[i] as number;
const isNum = (x: number): boolean => !Number.isNaN(x);

/** mean of a[t−n+1..t], NaN if the window starts before 0 or contains NaN. */
export function smaRef(a: readonly number[], n: number): number[] {
  const out = nan(a.length);
  for (let t = n - 1; t < a.length; t++) {
    let s = 0;
    for (let i = t - n + 1; i <= t; i++) s += at(a, i);
    out[t] = s / n;
  }
  return out;
}

/** EMA alpha = 2/(n+1) (or `alpha`), seeded with the mean of the first n values at/after `start` (and after leading NaN). */
export function emaRef(a: readonly number[], n: number, start = 0, alpha = 2 / (n + 1)): number[] {
  const out = nan(a.length);
  let first = start;
  while (first < a.length && !isNum(at(a, first))) first++;
  const seedAt = first + n - 1;
  if (seedAt >= a.length) return out;
  let s = 0;
  for (let i = first; i <= seedAt; i++) s += at(a, i);
  let e = s / n;
  out[seedAt] = e;
  for (let t = seedAt + 1; t < a.length; t++) {
    e = alpha * at(a, t) + (1 - alpha) * e;
    out[t] = e;
  }
  return out;
}

export function smaFamilyRef(b: Bars): Record<string, number[]> {
  const r: Record<string, number[]> = {};
  for (const n of [5, 10, 20, 50, 100, 200]) r[`sma_${n}`] = smaRef(b.close, n);
  const ratio = (x: number[], y: number[]): number[] => x.map((v, i) => v / at(y, i) - 1);
  r.sma_5_20_spread = ratio(r.sma_5!, r.sma_20!);
  r.sma_20_50_spread = ratio(r.sma_20!, r.sma_50!);
  r.sma_50_200_spread = ratio(r.sma_50!, r.sma_200!);
  const cross = nan(b.close.length);
  for (let t = 1; t < cross.length; t++) {
    const d = at(r.sma_50!, t) - at(r.sma_200!, t);
    const p = at(r.sma_50!, t - 1) - at(r.sma_200!, t - 1);
    if (!isNum(d) || !isNum(p)) continue;
    cross[t] = p <= 0 && d > 0 ? 1 : p >= 0 && d < 0 ? -1 : 0;
  }
  r.sma_50_200_cross = cross;
  return r;
}

export function emaFamilyRef(b: Bars): Record<string, number[]> {
  const r: Record<string, number[]> = {};
  for (const n of [5, 10, 20, 50, 100, 200]) r[`ema_${n}`] = emaRef(b.close, n);
  return r;
}

/** MACD with TA-Lib seeding: EMA26 from close[0], EMA12 seeded on close[14..25]. */
export function macdRef(c: readonly number[], fast = 12, slow = 26, signal = 9): Record<string, number[]> {
  const es = emaRef(c, slow);
  const ef = emaRef(c, fast, slow - fast);
  const macd = ef.map((f, i) => f - at(es, i));
  const sig = emaRef(macd, signal);
  return {
    ema_12_26_spread: ef.map((f, i) => f / at(es, i) - 1),
    macd_12_26_9: macd,
    macd_signal_12_26_9: sig,
    macd_hist_12_26_9: macd.map((m, i) => m - at(sig, i)),
    ppo_12_26: ef.map((f, i) => (100 * (f - at(es, i))) / at(es, i)),
  };
}

export function rsiRef(c: readonly number[], n = 14): number[] {
  const out = nan(c.length);
  if (c.length <= n) return out;
  const gains: number[] = [0];
  const losses: number[] = [0];
  for (let t = 1; t < c.length; t++) {
    const d = at(c, t) - at(c, t - 1);
    gains.push(Math.max(d, 0));
    losses.push(Math.max(-d, 0));
  }
  let g = 0;
  let l = 0;
  for (let t = 1; t <= n; t++) {
    g += at(gains, t);
    l += at(losses, t);
  }
  g /= n;
  l /= n;
  const rsi = (): number => (g + l === 0 ? 50 : 100 - 100 / (1 + g / l));
  out[n] = rsi();
  for (let t = n + 1; t < c.length; t++) {
    g = (g * (n - 1) + at(gains, t)) / n;
    l = (l * (n - 1) + at(losses, t)) / n;
    out[t] = rsi();
  }
  return out;
}

const windowMax = (a: readonly number[], t: number, n: number): number => Math.max(...a.slice(t - n + 1, t + 1));
const windowMin = (a: readonly number[], t: number, n: number): number => Math.min(...a.slice(t - n + 1, t + 1));

export function stochRef(b: Bars, k = 14, ks = 3, d = 3): Record<string, number[]> {
  const fast = nan(b.close.length);
  for (let t = k - 1; t < fast.length; t++) {
    const hh = windowMax(b.high, t, k);
    const ll = windowMin(b.low, t, k);
    fast[t] = hh === ll ? 50 : ((at(b.close, t) - ll) / (hh - ll)) * 100;
  }
  const slowK = smaRef(fast, ks);
  return { stoch_k_14_3_3: slowK, stoch_d_14_3_3: smaRef(slowK, d) };
}

function trueRanges(b: Bars): number[] {
  const tr = nan(b.close.length);
  for (let t = 1; t < tr.length; t++) {
    tr[t] = Math.max(at(b.high, t) - at(b.low, t), Math.abs(at(b.high, t) - at(b.close, t - 1)), Math.abs(at(b.low, t) - at(b.close, t - 1)));
  }
  return tr;
}

/** Wilder ATR: mean of TR_1..TR_n, then (prev·(n−1) + TR)/n. */
export function atrRef(b: Bars, n: number): number[] {
  const tr = trueRanges(b);
  const out = nan(tr.length);
  if (tr.length <= n) return out;
  let a = 0;
  for (let t = 1; t <= n; t++) a += at(tr, t);
  a /= n;
  out[n] = a;
  for (let t = n + 1; t < tr.length; t++) {
    a = (a * (n - 1) + at(tr, t)) / n;
    out[t] = a;
  }
  return out;
}

export function dmiRef(b: Bars, n = 14): Record<string, number[]> {
  const len = b.close.length;
  const tr = trueRanges(b);
  const pdm = nan(len);
  const mdm = nan(len);
  for (let t = 1; t < len; t++) {
    const up = at(b.high, t) - at(b.high, t - 1);
    const down = at(b.low, t - 1) - at(b.low, t);
    pdm[t] = up > down && up > 0 ? up : 0;
    mdm[t] = down > up && down > 0 ? down : 0;
  }
  // Wilder sums: first = plain sum of rows 1..n, then S − S/n + x.
  const wilderSum = (x: number[]): number[] => {
    const out = nan(len);
    if (len <= n) return out;
    let s = 0;
    for (let t = 1; t <= n; t++) s += at(x, t);
    out[n] = s;
    for (let t = n + 1; t < len; t++) {
      s = s - s / n + at(x, t);
      out[t] = s;
    }
    return out;
  };
  const sTr = wilderSum(tr);
  const sP = wilderSum(pdm);
  const sM = wilderSum(mdm);
  const pdi = sP.map((v, i) => (at(sTr, i) === 0 ? 0 : (v / at(sTr, i)) * 100));
  const mdi = sM.map((v, i) => (at(sTr, i) === 0 ? 0 : (v / at(sTr, i)) * 100));
  const dx = pdi.map((p, i) => (p + at(mdi, i) === 0 ? 0 : (Math.abs(p - at(mdi, i)) / (p + at(mdi, i))) * 100));
  const adx = nan(len);
  const start = 2 * n - 1;
  if (len > start) {
    let a = 0;
    for (let t = n; t <= start; t++) a += at(dx, t);
    a /= n;
    adx[start] = a;
    for (let t = start + 1; t < len; t++) {
      a = (a * (n - 1) + at(dx, t)) / n;
      adx[t] = a;
    }
  }
  return { adx_14: adx, plus_di_14: pdi, minus_di_14: mdi, atr_14: atrRef(b, n) };
}

export function tsiRef(c: readonly number[], long = 25, short = 13): number[] {
  const m = c.map((v, i) => (i === 0 ? Number.NaN : v - at(c, i - 1)));
  const num = emaRef(emaRef(m, long), short);
  const den = emaRef(
    emaRef(
      m.map((v) => Math.abs(v)),
      long,
    ),
    short,
  );
  return num.map((v, i) => (at(den, i) === 0 ? 0 : (100 * v) / at(den, i)));
}

export function cciRef(b: Bars, n = 20): number[] {
  const tp = b.close.map((c, i) => (at(b.high, i) + at(b.low, i) + c) / 3);
  const out = nan(tp.length);
  for (let t = n - 1; t < tp.length; t++) {
    const w = tp.slice(t - n + 1, t + 1);
    const mean = w.reduce((s, x) => s + x, 0) / n;
    const md = w.reduce((s, x) => s + Math.abs(x - mean), 0) / n;
    out[t] = md === 0 ? 0 : (at(tp, t) - mean) / (0.015 * md);
  }
  return out;
}

export function trixRef(c: readonly number[], n = 15): number[] {
  const e3 = emaRef(emaRef(emaRef(c, n), n), n);
  return e3.map((v, i) => (i === 0 ? Number.NaN : ((v - at(e3, i - 1)) / at(e3, i - 1)) * 100));
}

export function kamaRef(c: readonly number[], n = 10, fast = 2, slow = 30): number[] {
  const out = nan(c.length);
  const f = 2 / (fast + 1);
  const s = 2 / (slow + 1);
  let k = at(c, n - 1);
  for (let t = n; t < c.length; t++) {
    let vol = 0;
    for (let i = t - n + 1; i <= t; i++) vol += Math.abs(at(c, i) - at(c, i - 1));
    const er = vol === 0 ? 1 : Math.abs(at(c, t) - at(c, t - n)) / vol;
    const sc = Math.pow(er * (f - s) + s, 2);
    k = k + sc * (at(c, t) - k);
    out[t] = k;
  }
  return out;
}

/**
 * Wilder Parabolic SAR in a day-by-day form: `sarToday` is the SAR in force for day t; a day that
 * touches it reverses the trend. Start and clamping rules as TA-Lib TA_SAR (see the engine docs).
 */
export function psarRef(b: Bars, step = 0.02, max = 0.2): number[] {
  const len = b.close.length;
  const out = nan(len);
  if (len < 2) return out;
  const dm = at(b.low, 0) - at(b.low, 1);
  let up = !(dm > 0 && at(b.high, 1) - at(b.high, 0) < dm);
  let sarToday = up ? at(b.low, 0) : at(b.high, 0);
  let ep = up ? at(b.high, 1) : at(b.low, 1);
  let af = step;
  for (let t = 1; t < len; t++) {
    const hi = at(b.high, t);
    const lo = at(b.low, t);
    const yHi = at(b.high, t === 1 ? 1 : t - 1);
    const yLo = at(b.low, t === 1 ? 1 : t - 1);
    let next: number;
    if (up && lo <= sarToday) {
      out[t] = Math.max(ep, yHi, hi);
      up = false;
      af = step;
      ep = lo;
      next = Math.max(out[t]! + af * (ep - out[t]!), yHi, hi);
    } else if (!up && hi >= sarToday) {
      out[t] = Math.min(ep, yLo, lo);
      up = true;
      af = step;
      ep = hi;
      next = Math.min(out[t]! + af * (ep - out[t]!), yLo, lo);
    } else {
      out[t] = sarToday;
      if (up && hi > ep) {
        ep = hi;
        af = Math.min(af + step, max);
      } else if (!up && lo < ep) {
        ep = lo;
        af = Math.min(af + step, max);
      }
      next = sarToday + af * (ep - sarToday);
      next = up ? Math.min(next, yLo, lo) : Math.max(next, yHi, hi);
    }
    sarToday = next;
  }
  return out;
}

export function obvRef(b: Bars): number[] {
  const out: number[] = [0];
  for (let t = 1; t < b.close.length; t++) {
    const sign = Math.sign(at(b.close, t) - at(b.close, t - 1));
    out.push(at(out, t - 1) + sign * at(b.volume, t));
  }
  return out.slice(0, b.close.length);
}

export function cmfRef(b: Bars, n = 20): number[] {
  const out = nan(b.close.length);
  for (let t = n - 1; t < out.length; t++) {
    let mfv = 0;
    let vol = 0;
    for (let i = t - n + 1; i <= t; i++) {
      const h = at(b.high, i);
      const l = at(b.low, i);
      const c = at(b.close, i);
      mfv += h === l ? 0 : (((c - l) - (h - c)) / (h - l)) * at(b.volume, i);
      vol += at(b.volume, i);
    }
    out[t] = vol === 0 ? Number.NaN : mfv / vol;
  }
  return out;
}

export function mfiRef(b: Bars, n = 14): number[] {
  const tp = b.close.map((c, i) => (at(b.high, i) + at(b.low, i) + c) / 3);
  const out = nan(tp.length);
  for (let t = n; t < tp.length; t++) {
    let pos = 0;
    let neg = 0;
    for (let i = t - n + 1; i <= t; i++) {
      const flow = at(tp, i) * at(b.volume, i);
      if (at(tp, i) > at(tp, i - 1)) pos += flow;
      if (at(tp, i) < at(tp, i - 1)) neg += flow;
    }
    out[t] = pos + neg === 0 ? 50 : 100 - 100 / (1 + pos / neg);
  }
  return out;
}

export function bollingerRef(c: readonly number[], n = 20, k = 2): Record<string, number[]> {
  const up = nan(c.length);
  const mid = nan(c.length);
  const lo = nan(c.length);
  const pctb = nan(c.length);
  const width = nan(c.length);
  for (let t = n - 1; t < c.length; t++) {
    const w = c.slice(t - n + 1, t + 1);
    const mean = w.reduce((s, x) => s + x, 0) / n;
    const sd = Math.sqrt(w.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
    mid[t] = mean;
    up[t] = mean + k * sd;
    lo[t] = mean - k * sd;
    pctb[t] = sd === 0 ? 0.5 : (at(c, t) - lo[t]!) / (up[t]! - lo[t]!);
    width[t] = (up[t]! - lo[t]!) / mean;
  }
  return { bb_upper_20_2: up, bb_middle_20_2: mid, bb_lower_20_2: lo, bb_pctb_20_2: pctb, bb_width_20_2: width };
}

export function donchianRef(b: Bars): Record<string, number[]> {
  const ch = (a: number[], n: number, f: (a: readonly number[], t: number, n: number) => number): number[] =>
    a.map((_, t) => (t < n - 1 ? Number.NaN : f(a, t, n)));
  return {
    donchian_upper_20: ch(b.high, 20, windowMax),
    donchian_lower_20: ch(b.low, 20, windowMin),
    donchian_upper_55: ch(b.high, 55, windowMax),
    donchian_lower_55: ch(b.low, 55, windowMin),
  };
}

export function keltnerRef(b: Bars): Record<string, number[]> {
  const mid = emaRef(b.close, 20);
  const atr = atrRef(b, 10);
  return {
    keltner_upper_20_2: mid.map((m, i) => m + 2 * at(atr, i)),
    keltner_middle_20_2: mid,
    keltner_lower_20_2: mid.map((m, i) => m - 2 * at(atr, i)),
  };
}

/** Every TA column by name, from the naive references. */
export function allTaRef(b: Bars): Record<string, number[]> {
  return {
    ...smaFamilyRef(b),
    ...emaFamilyRef(b),
    ...macdRef(b.close),
    rsi_14: rsiRef(b.close),
    ...stochRef(b),
    ...dmiRef(b),
    tsi_25_13: tsiRef(b.close),
    cci_20: cciRef(b),
    trix_15: trixRef(b.close),
    kama_10_2_30: kamaRef(b.close),
    psar_002_02: psarRef(b),
    obv: obvRef(b),
    cmf_20: cmfRef(b),
    mfi_14: mfiRef(b),
    ...bollingerRef(b.close),
    ...donchianRef(b),
    ...keltnerRef(b),
  };
}
