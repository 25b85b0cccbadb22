/**
 * The feature list of the built-in baseline model: feature-engine column names (docs/FEATURES.md),
 * in the order the model reads them.
 */

/**
 * Scale-free feature-engine columns the baseline ridge model reads (34 columns), all computed
 * from the symbol's own bars.
 *
 * Included: spreads and oscillators (fractions, percent, 0..100 indices), returns over 1…252
 * sessions, volatilities, higher moments, drawdown, relative volume and risk-adjusted returns.
 * These compare across symbols and across time.
 *
 * Left out on purpose:
 * - raw USD levels (SMAs, EMAs, MACD, ATR, Bollinger/Donchian/Keltner bands, KAMA, PSAR), whose
 *   value depends on the price scale of the symbol; share and dollar volume levels (OBV, ADV,
 *   turnover), which depend on the share count, and OBV also on where the series starts;
 * - log returns (near-duplicates of the simple returns); the 0/1 `sma_50_200_cross` (carried by
 *   `sma_50_200_spread`);
 * - the versus-benchmark columns `beta_63`, `corr_63`, `idio_vol_63`: they are NaN for 63
 *   sessions after a single missing benchmark (SPY) bar, and the predict step
 *   (core/predict `rankByModel`) refuses a row with a NaN input, so one gap in the SPY feed would
 *   take every symbol out for three months. With the bundled data (SPY ends 2017-12-29, the
 *   symbols 2018-02-07) they would leave no 2018 session scorable.
 *
 * Warm-up: the longest windows are 252 sessions (`ret_252`, `vol_252`, `max_dd_252`), so a
 * symbol's first 252 rows have a NaN column and yield no training sample.
 */
export const DEFAULT_MODEL_FEATURES: readonly string[] = Object.freeze([
  'sma_5_20_spread',
  'sma_20_50_spread',
  'sma_50_200_spread',
  'ema_12_26_spread',
  'ppo_12_26',
  'rsi_14',
  'stoch_k_14_3_3',
  'stoch_d_14_3_3',
  'adx_14',
  'plus_di_14',
  'minus_di_14',
  'tsi_25_13',
  'cci_20',
  'trix_15',
  'cmf_20',
  'mfi_14',
  'bb_pctb_20_2',
  'bb_width_20_2',
  'ret_1',
  'ret_5',
  'ret_21',
  'ret_63',
  'ret_126',
  'ret_252',
  'vol_21',
  'vol_63',
  'vol_252',
  'downside_dev_63',
  'skew_63',
  'kurt_63',
  'max_dd_252',
  'volume_surge_20',
  'sharpe_63',
  'sortino_63',
]);

/**
 * Bars a feature row of {@link DEFAULT_MODEL_FEATURES} reads, the row's own bar included: the
 * longest window (252 sessions for `ret_252`/`vol_252`, i.e. bars t−252…t). The trainer's
 * data-quality rule drops a sample when a defect lies among these bars (see `model/training.ts`).
 * Recursive indicators (EMA, Wilder smoothing) reach further back with geometrically fading
 * weight; that tail is not counted.
 */
export const DEFAULT_FEATURE_LOOKBACK = 253;
