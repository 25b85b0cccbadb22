/**
 * Technical-analysis feature groups: the documented, resumable wrappers of ./kernels/ta.ts.
 *
 * Every group reads the validated {@link EngineInput} (finite prices > 0, high >= low, volume >= 0;
 * see ../engine.ts), writes every row of [from, to) of each of its columns, and returns a
 * JSON-serializable state (see ./types.ts for the resumability contract). Warm-up indices below
 * assume an input without NaN, which the engine guarantees.
 *
 * Pure: no I/O, no clock.
 */
import {
  bollingerRun,
  cciRun,
  cmfRun,
  dmiRun,
  emasRun,
  kamaRun,
  macdRun,
  mfiRun,
  obvRun,
  psarRun,
  rollingExtremeRun,
  rollingMeansRun,
  rsiRun,
  stochRun,
  trixRun,
  tsiRun,
  atrRun,
  emaInit,
  emaPush,
  type AtrState,
  type BollingerState,
  type DmiState,
  type EmaState,
  type EmasState,
  type KamaState,
  type MacdState,
  type MfiState,
  type ObvState,
  type PsarState,
  type RollingMeansState,
  type RsiState,
  type StochState,
  type TrixState,
  type TsiState,
} from './kernels/ta';
import type { EngineInput, FeatureColumnDoc, FeatureGroup } from './types';

/** Reads column `c` of `out` (the engine always passes one buffer per column). */
function col(out: readonly Float64Array[], c: number): Float64Array {
  return out[c] as Float64Array;
}

const MA_PERIODS = [5, 10, 20, 50, 100, 200] as const;

const SMA_SOURCE = 'Simple moving average (e.g. TA-Lib TA_SMA)';
const EMA_SEED =
  'alpha = 2/(n+1); seeded with the simple mean of the first n closes (TA-Lib TA_EMA convention), then ema_t = (close_t − ema_{t−1})·alpha + ema_{t−1}';

// ---------------------------------------------------------------------------------------------
// SMA family + spreads + golden/death cross
// ---------------------------------------------------------------------------------------------

interface SmaGroupState {
  means: RollingMeansState;
  /** sma_50 − sma_200 at the last row, null before it is defined. */
  prevDiff: number | null;
}

const smaGroup: FeatureGroup<SmaGroupState> = {
  id: 'sma',
  columns: [
    ...MA_PERIODS.map(
      (n): FeatureColumnDoc => ({
        name: `sma_${n}`,
        unit: 'USD',
        formula: `mean(close_{t−${n - 1}} … close_t); running sum, recomputed exactly from the window every n rows (at fixed row numbers) so rounding cannot accumulate`,
        source: SMA_SOURCE,
        warmup: n - 1,
      }),
    ),
    {
      name: 'sma_5_20_spread',
      unit: 'fraction',
      formula: 'sma_5/sma_20 − 1',
      source: 'Moving-average crossover expressed as a spread (e.g. Brock, Lakonishok & LeBaron 1992)',
      warmup: 19,
    },
    {
      name: 'sma_20_50_spread',
      unit: 'fraction',
      formula: 'sma_20/sma_50 − 1',
      source: 'Moving-average crossover expressed as a spread (e.g. Brock, Lakonishok & LeBaron 1992)',
      warmup: 49,
    },
    {
      name: 'sma_50_200_spread',
      unit: 'fraction',
      formula: 'sma_50/sma_200 − 1',
      source: 'Moving-average crossover expressed as a spread (e.g. Brock, Lakonishok & LeBaron 1992)',
      warmup: 199,
    },
    {
      name: 'sma_50_200_cross',
      unit: '-1/0/+1',
      formula:
        'd_t = sma_50 − sma_200; +1 when d_{t−1} <= 0 < d_t (golden cross), −1 when d_{t−1} >= 0 > d_t (death cross), else 0',
      source: 'Golden/death cross of the 50- and 200-day SMAs (market convention)',
      warmup: 200,
    },
  ],
  run(input: EngineInput, out, from, to, state) {
    const outs = MA_PERIODS.map((_, j) => col(out, j));
    const means = rollingMeansRun(input.close, MA_PERIODS, outs, from, to, state ? state.means : null);
    const s5 = col(outs, 0);
    const s20 = col(outs, 2);
    const s50 = col(outs, 3);
    const s200 = col(outs, 5);
    const o520 = col(out, 6);
    const o2050 = col(out, 7);
    const o50200 = col(out, 8);
    const oCross = col(out, 9);
    let prev = state ? state.prevDiff : null;
    for (let t = from; t < to; t++) {
      o520[t] = (s5[t] as number) / (s20[t] as number) - 1;
      o2050[t] = (s20[t] as number) / (s50[t] as number) - 1;
      const a = s50[t] as number;
      const b = s200[t] as number;
      o50200[t] = a / b - 1;
      const d = a - b;
      if (d !== d) {
        oCross[t] = Number.NaN;
        prev = null;
        continue;
      }
      oCross[t] = prev === null ? Number.NaN : prev <= 0 && d > 0 ? 1 : prev >= 0 && d < 0 ? -1 : 0;
      prev = d;
    }
    return { means, prevDiff: prev };
  },
};

// ---------------------------------------------------------------------------------------------
// EMA family
// ---------------------------------------------------------------------------------------------

const emaGroup: FeatureGroup<EmasState> = {
  id: 'ema',
  columns: MA_PERIODS.map(
    (n): FeatureColumnDoc => ({
      name: `ema_${n}`,
      unit: 'USD',
      formula: `EMA of close, n = ${n}, ${EMA_SEED}`,
      source: 'Exponential moving average; seeding as TA-Lib TA_EMA',
      warmup: n - 1,
    }),
  ),
  run(input, out, from, to, state) {
    return emasRun(
      input.close,
      MA_PERIODS,
      MA_PERIODS.map((_, j) => col(out, j)),
      from,
      to,
      state,
    );
  },
};

// ---------------------------------------------------------------------------------------------
// MACD / PPO / EMA 12-26 spread
// ---------------------------------------------------------------------------------------------

const MACD_SEED =
  'EMA12 and EMA26 with alpha = 2/(n+1) (Tulip Indicators hard-codes 0.15/0.075 instead); TA-Lib TA_MACD seeding: EMA26 = SMA of close_0..close_25 at t = 25, EMA12 aligned on the same bar = SMA of close_14..close_25';

const macdGroup: FeatureGroup<MacdState> = {
  id: 'macd_12_26_9',
  columns: [
    {
      name: 'ema_12_26_spread',
      unit: 'fraction',
      formula: `EMA12/EMA26 − 1; ${MACD_SEED}`,
      source: 'EMA crossover as a spread; EMAs as TA-Lib TA_MACD',
      warmup: 25,
    },
    {
      name: 'macd_12_26_9',
      unit: 'USD',
      formula: `EMA12 − EMA26; ${MACD_SEED}`,
      source: 'Appel (1979) MACD; TA-Lib TA_MACD',
      warmup: 25,
    },
    {
      name: 'macd_signal_12_26_9',
      unit: 'USD',
      formula: 'EMA9 of macd_12_26_9 (alpha = 0.2), seeded with the SMA of the first 9 MACD values (t = 25..33)',
      source: 'Appel (1979) MACD; TA-Lib TA_MACD',
      warmup: 33,
    },
    {
      name: 'macd_hist_12_26_9',
      unit: 'USD',
      formula: 'macd_12_26_9 − macd_signal_12_26_9',
      source: 'Appel (1979) MACD; TA-Lib TA_MACD',
      warmup: 33,
    },
    {
      name: 'ppo_12_26',
      unit: 'percent',
      formula: `((EMA12 − EMA26)/EMA26)·100; the same EMAs as macd_12_26_9 (${MACD_SEED})`,
      source: 'Percentage Price Oscillator; TA-Lib TA_PPO with MA type EMA',
      warmup: 25,
    },
  ],
  run(input, out, from, to, state) {
    return macdRun(
      input.close,
      12,
      26,
      9,
      { spread: col(out, 0), macd: col(out, 1), signal: col(out, 2), hist: col(out, 3), ppo: col(out, 4) },
      from,
      to,
      state,
    );
  },
};

// ---------------------------------------------------------------------------------------------
// Oscillators
// ---------------------------------------------------------------------------------------------

const rsiGroup: FeatureGroup<RsiState> = {
  id: 'rsi_14',
  columns: [
    {
      name: 'rsi_14',
      unit: '0..100',
      formula:
        '100·avgGain/(avgGain + avgLoss) over close changes; Wilder smoothing avg_t = (avg_{t−1}·13 + x_t)/14 seeded with the simple mean of changes 1..14; 50 when both averages are 0',
      source: 'Wilder (1978) ch. VI; TA-Lib TA_RSI seeding',
      warmup: 14,
    },
  ],
  run(input, out, from, to, state) {
    return rsiRun(input.close, 14, col(out, 0), from, to, state);
  },
};

const stochGroup: FeatureGroup<StochState> = {
  id: 'stoch_14_3_3',
  columns: [
    {
      name: 'stoch_k_14_3_3',
      unit: '0..100',
      formula:
        'slow %K = SMA3 of fast %K, fast %K = 100·(close − LL14)/(HH14 − LL14) with HH14/LL14 the highest high/lowest low of the last 14 bars including t; fast %K = 50 when HH14 = LL14',
      source: 'Lane stochastic oscillator (slow); TA-Lib TA_STOCH(14, 3 SMA, 3 SMA)',
      warmup: 15,
    },
    {
      name: 'stoch_d_14_3_3',
      unit: '0..100',
      formula: 'SMA3 of stoch_k_14_3_3',
      source: 'Lane stochastic oscillator (slow); TA-Lib TA_STOCH(14, 3 SMA, 3 SMA)',
      warmup: 17,
    },
  ],
  run(input, out, from, to, state) {
    return stochRun(input.high, input.low, input.close, 14, 3, 3, col(out, 0), col(out, 1), from, to, state);
  },
};

const dmiGroup: FeatureGroup<DmiState> = {
  id: 'dmi_atr_14',
  columns: [
    {
      name: 'adx_14',
      unit: '0..100',
      formula:
        'DX = 100·|+DI − −DI|/(+DI + −DI) (0 when both are 0); ADX seeded with the mean of DX over t = 14..27, then ADX_t = (ADX_{t−1}·13 + DX_t)/14',
      source: 'Wilder (1978) ch. IV (directional movement); as npm technicalindicators ADX',
      warmup: 27,
    },
    {
      name: 'plus_di_14',
      unit: '0..100',
      formula:
        '100·S(+DM)/S(TR); +DM = up if up > down and up > 0 else 0 (up = H_t − H_{t−1}, down = L_{t−1} − L_t); Wilder sums S_14 = x_1 + … + x_14, then S_t = S_{t−1} − S_{t−1}/14 + x_t (TA-Lib seeds with 13 values plus one update instead); 0 when S(TR) = 0',
      source: 'Wilder (1978) ch. IV',
      warmup: 14,
    },
    {
      name: 'minus_di_14',
      unit: '0..100',
      formula:
        '100·S(−DM)/S(TR); −DM = down if down > up and down > 0 else 0; Wilder sums as plus_di_14; 0 when S(TR) = 0',
      source: 'Wilder (1978) ch. IV',
      warmup: 14,
    },
    {
      name: 'atr_14',
      unit: 'USD',
      formula:
        'TR_t = max(H−L, |H − C_{t−1}|, |L − C_{t−1}|); ATR_14 = mean(TR_1..TR_14) (TR_0 unused), then ATR_t = (ATR_{t−1}·13 + TR_t)/14',
      source: 'Wilder (1978) ch. III; TA-Lib TA_ATR seeding (as lambdas/core/indicators.ts atrWilder)',
      warmup: 14,
    },
  ],
  run(input, out, from, to, state) {
    return dmiRun(
      input.high,
      input.low,
      input.close,
      14,
      { adx: col(out, 0), plusDi: col(out, 1), minusDi: col(out, 2), atr: col(out, 3) },
      from,
      to,
      state,
    );
  },
};

const tsiGroup: FeatureGroup<TsiState> = {
  id: 'tsi_25_13',
  columns: [
    {
      name: 'tsi_25_13',
      unit: '-100..100',
      formula:
        '100·EMA13(EMA25(m))/EMA13(EMA25(|m|)), m_t = close_t − close_{t−1}; EMAs alpha = 2/(n+1), each seeded with the SMA of its first n defined inputs; 0 when the denominator is 0',
      source: 'Blau (1991), "Momentum, Direction and Divergence"',
      warmup: 37,
    },
  ],
  run(input, out, from, to, state) {
    return tsiRun(input.close, 25, 13, col(out, 0), from, to, state);
  },
};

const cciGroup: FeatureGroup<null> = {
  id: 'cci_20',
  columns: [
    {
      name: 'cci_20',
      unit: 'index',
      formula:
        '(TP_t − SMA20(TP))/(0.015·MD), TP = (H+L+C)/3, MD = mean |TP_i − SMA20(TP)| over the same 20 bars (mean absolute deviation); 0 when MD = 0',
      source: 'Lambert (1980), Commodities magazine; TA-Lib TA_CCI',
      warmup: 19,
    },
  ],
  run(input, out, from, to) {
    cciRun(input.high, input.low, input.close, 20, col(out, 0), from, to);
    return null;
  },
};

const trixGroup: FeatureGroup<TrixState> = {
  id: 'trix_15',
  columns: [
    {
      name: 'trix_15',
      unit: 'percent',
      formula:
        '100·(E3_t/E3_{t−1} − 1), E3 = EMA15(EMA15(EMA15(close))), each alpha = 2/16 seeded with the SMA of its first 15 defined inputs (first E3 at t = 42)',
      source: 'Hutson (1983), Technical Analysis of Stocks & Commodities; TA-Lib TA_TRIX',
      warmup: 43,
    },
  ],
  run(input, out, from, to, state) {
    return trixRun(input.close, 15, col(out, 0), from, to, state);
  },
};

const kamaGroup: FeatureGroup<KamaState> = {
  id: 'kama_10_2_30',
  columns: [
    {
      name: 'kama_10_2_30',
      unit: 'USD',
      formula:
        'KAMA_t = (close_t − KAMA_{t−1})·sc + KAMA_{t−1}, sc = (ER·(2/3 − 2/31) + 2/31)², ER = |close_t − close_{t−10}|/Σ_{10} |Δclose| (1 when the sum is 0); seeded with KAMA_9 = close_9',
      source: 'Kaufman (1995), "Smarter Trading"; TA-Lib TA_KAMA',
      warmup: 10,
    },
  ],
  run(input, out, from, to, state) {
    return kamaRun(input.close, 10, 2, 30, col(out, 0), from, to, state);
  },
};

const psarGroup: FeatureGroup<PsarState> = {
  id: 'psar_002_02',
  columns: [
    {
      name: 'psar_002_02',
      unit: 'USD',
      formula:
        'Wilder Parabolic SAR, AF step 0.02, max 0.2: SAR += AF·(EP − SAR), never inside the last two bars; reversal when the bar penetrates the SAR (SAR becomes the prior EP). Start as TA-Lib: short if bar 1 has −DM > 0, else long; initial SAR = low_0 (long) or high_0 (short), EP = high_1 or low_1',
      source: 'Wilder (1978) ch. II; TA-Lib TA_SAR',
      warmup: 1,
    },
  ],
  run(input, out, from, to, state) {
    return psarRun(input.high, input.low, 0.02, 0.2, col(out, 0), from, to, state);
  },
};

// ---------------------------------------------------------------------------------------------
// Volume
// ---------------------------------------------------------------------------------------------

const obvGroup: FeatureGroup<ObvState> = {
  id: 'obv',
  columns: [
    {
      name: 'obv',
      unit: 'shares',
      formula: 'OBV_0 = 0; OBV_t = OBV_{t−1} ± volume_t when close rises/falls, unchanged when equal (TA-Lib starts at volume_0)',
      source: 'Granville (1963), "Granville\'s New Key to Stock Market Profits"',
      warmup: 0,
    },
  ],
  run(input, out, from, to, state) {
    return obvRun(input.close, input.volume, col(out, 0), from, to, state);
  },
};

const cmfGroup: FeatureGroup<null> = {
  id: 'cmf_20',
  columns: [
    {
      name: 'cmf_20',
      unit: 'ratio -1..1',
      formula:
        'Σ20 MFV/Σ20 volume, MFV = ((C − L) − (H − C))/(H − L)·volume (0 when H = L); NaN when the 20-bar volume is 0',
      source: 'Chaikin Money Flow (Marc Chaikin)',
      warmup: 19,
    },
  ],
  run(input, out, from, to) {
    cmfRun(input.high, input.low, input.close, input.volume, 20, col(out, 0), from, to);
    return null;
  },
};

const mfiGroup: FeatureGroup<MfiState> = {
  id: 'mfi_14',
  columns: [
    {
      name: 'mfi_14',
      unit: '0..100',
      formula:
        '100·pos/(pos + neg) over the last 14 bars, flow = TP·volume with TP = (H+L+C)/3, positive when TP_i > TP_{i−1}, negative when lower; 50 when both sums are 0',
      source: 'Quong & Soudack (1989); TA-Lib TA_MFI',
      warmup: 14,
    },
  ],
  run(input, out, from, to, state) {
    return mfiRun(input.high, input.low, input.close, input.volume, 14, col(out, 0), from, to, state);
  },
};

// ---------------------------------------------------------------------------------------------
// Bands and channels
// ---------------------------------------------------------------------------------------------

const BB_SOURCE = 'Bollinger (2001), "Bollinger on Bollinger Bands"; TA-Lib TA_BBANDS (SMA, population stdev)';

const bollingerGroup: FeatureGroup<BollingerState> = {
  id: 'bollinger_20_2',
  columns: [
    {
      name: 'bb_upper_20_2',
      unit: 'USD',
      formula: 'SMA20(close) + 2·σ20, σ20 = population stdev (divide by 20) of the last 20 closes (shifted-data running sums, exact recompute each 20 rows)',
      source: BB_SOURCE,
      warmup: 19,
    },
    { name: 'bb_middle_20_2', unit: 'USD', formula: 'SMA20(close)', source: BB_SOURCE, warmup: 19 },
    { name: 'bb_lower_20_2', unit: 'USD', formula: 'SMA20(close) − 2·σ20 (population stdev)', source: BB_SOURCE, warmup: 19 },
    {
      name: 'bb_pctb_20_2',
      unit: 'fraction',
      formula: '(close − bb_lower)/(bb_upper − bb_lower); 0.5 when σ20 = 0',
      source: BB_SOURCE,
      warmup: 19,
    },
    { name: 'bb_width_20_2', unit: 'fraction', formula: '(bb_upper − bb_lower)/bb_middle', source: BB_SOURCE, warmup: 19 },
  ],
  run(input, out, from, to, state) {
    return bollingerRun(
      input.close,
      20,
      2,
      { upper: col(out, 0), middle: col(out, 1), lower: col(out, 2), pctb: col(out, 3), width: col(out, 4) },
      from,
      to,
      state,
    );
  },
};

const DONCHIAN_SOURCE = 'Donchian channel (Richard Donchian); TA-Lib TA_MAX/TA_MIN over high/low';

const donchianGroup: FeatureGroup<null> = {
  id: 'donchian_20_55',
  columns: [
    { name: 'donchian_upper_20', unit: 'USD', formula: 'max(high) over the last 20 bars INCLUDING t', source: DONCHIAN_SOURCE, warmup: 19 },
    { name: 'donchian_lower_20', unit: 'USD', formula: 'min(low) over the last 20 bars INCLUDING t', source: DONCHIAN_SOURCE, warmup: 19 },
    { name: 'donchian_upper_55', unit: 'USD', formula: 'max(high) over the last 55 bars INCLUDING t', source: DONCHIAN_SOURCE, warmup: 54 },
    { name: 'donchian_lower_55', unit: 'USD', formula: 'min(low) over the last 55 bars INCLUDING t', source: DONCHIAN_SOURCE, warmup: 54 },
  ],
  run(input, out, from, to) {
    rollingExtremeRun(input.high, 20, 1, col(out, 0), from, to);
    rollingExtremeRun(input.low, 20, -1, col(out, 1), from, to);
    rollingExtremeRun(input.high, 55, 1, col(out, 2), from, to);
    rollingExtremeRun(input.low, 55, -1, col(out, 3), from, to);
    return null;
  },
};

interface KeltnerState {
  ema: EmaState;
  atr: AtrState;
}

const KELTNER_SOURCE = 'Keltner channel, modern form of Linda Raschke (EMA20 ± 2·ATR10)';

const keltnerGroup: FeatureGroup<KeltnerState> = {
  id: 'keltner_20_2',
  columns: [
    {
      name: 'keltner_upper_20_2',
      unit: 'USD',
      formula: 'EMA20(close) + 2·ATR10; EMA seeded with the SMA of the first 20 closes; ATR10 Wilder, seeded with mean(TR_1..TR_10)',
      source: KELTNER_SOURCE,
      warmup: 19,
    },
    {
      name: 'keltner_middle_20_2',
      unit: 'USD',
      formula: 'EMA20(close), alpha = 2/21, seeded with the SMA of the first 20 closes (= ema_20)',
      source: KELTNER_SOURCE,
      warmup: 19,
    },
    { name: 'keltner_lower_20_2', unit: 'USD', formula: 'EMA20(close) − 2·ATR10 (as keltner_upper_20_2)', source: KELTNER_SOURCE, warmup: 19 },
  ],
  run(input, out, from, to, state) {
    const ema = state ? { ...state.ema } : emaInit();
    const oU = col(out, 0);
    const oM = col(out, 1);
    const oL = col(out, 2);
    // ATR10 into the lower buffer first (rows [from, to)), then combine in place.
    const atr = atrRun(input.high, input.low, input.close, 10, oL, from, to, state ? state.atr : null);
    const alpha = 2 / 21;
    for (let t = from; t < to; t++) {
      const m = emaPush(ema, input.close[t] as number, 20, alpha);
      const a = oL[t] as number;
      oM[t] = m;
      oU[t] = m + 2 * a;
      oL[t] = m - 2 * a;
    }
    return { ema, atr };
  },
};

/** Technical-analysis feature groups, in output order (48 columns). */
export const TA_GROUPS: readonly FeatureGroup[] = [
  smaGroup,
  emaGroup,
  macdGroup,
  rsiGroup,
  stochGroup,
  dmiGroup,
  tsiGroup,
  cciGroup,
  trixGroup,
  kamaGroup,
  psarGroup,
  obvGroup,
  cmfGroup,
  mfiGroup,
  bollingerGroup,
  donchianGroup,
  keltnerGroup,
];
