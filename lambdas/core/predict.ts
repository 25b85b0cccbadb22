/**
 * Ranking the universe for the risk step. Two predictors:
 * - {@link rankByModel}: a trained model behind the predictor port (model/artifact.ts), by default
 *   the shipped ridge regression on 37 feature-engine columns predicting the 5-session forward
 *   return in excess of the cross-sectional mean;
 * - {@link rankMomentum}: the earlier baseline, cross-sectional volatility-scaled momentum with a
 *   trend filter (config `predictor: "momentum"`).
 *
 * Pure and deterministic: no I/O, no clock, no randomness; the output depends only on the set of
 * inputs, not on their order.
 */
import type { SymbolFeatures } from './features';
import type { Predictor } from './model/artifact';

/** One symbol's verdict. */
export interface Score {
  symbol: string;
  /** Risk-adjusted 20-day momentum (dimensionless), null when not eligible. */
  score: number | null;
  /** 1 = best among eligible symbols, consecutive 1..n; null when not eligible. */
  rank: number | null;
  eligible: boolean;
  /**
   * Stable code, a colon, then the values that decided it. The code is the prefix up to ':' — one of
   * {@link REASON_CODES} or {@link MODEL_REASON_CODES}; the text after it is for humans and may gain detail.
   */
  reason: string;
  /** The model's prediction (fraction: forward excess return over its horizon), when a model scored the symbol. */
  prediction?: number;
}

/** Reason codes, in the order the eligibility rules are checked (the first failing rule wins). */
export const REASON_CODES = ['TREND_FILTER', 'OVERBOUGHT', 'NEGATIVE_MOMENTUM', 'ZERO_VOLATILITY', 'OK'] as const;

/** One of {@link REASON_CODES}. */
export type ReasonCode = (typeof REASON_CODES)[number];

/** RSI(14) at or above this is "overextended" (Wilder 1978 used 70; 80 only drops the extremes). */
export const RSI_OVERBOUGHT = 80;

/** Days in the momentum window; the daily vol is scaled by √ of it to a 20-day vol. */
const MOMENTUM_DAYS = 20;

const SCORE_INPUTS = ['close', 'sma20', 'sma50', 'rsi14', 'ret20', 'vol20'] as const;

const usd = (v: number): string => v.toFixed(2);
const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;

/** The first failing rule's reason, or null when eligible. */
function ineligibleReason(f: SymbolFeatures): string | null {
  if (!(f.close > f.sma50)) return `TREND_FILTER: close ${usd(f.close)} <= SMA50 ${usd(f.sma50)}`;
  if (!(f.sma20 > f.sma50)) return `TREND_FILTER: SMA20 ${usd(f.sma20)} <= SMA50 ${usd(f.sma50)}`;
  if (!(f.rsi14 < RSI_OVERBOUGHT)) return `OVERBOUGHT: RSI14 ${f.rsi14.toFixed(2)} >= ${RSI_OVERBOUGHT}`;
  if (!(f.ret20 > 0)) return `NEGATIVE_MOMENTUM: ret20 ${pct(f.ret20)} <= 0`;
  if (!(f.vol20 > 0)) return `ZERO_VOLATILITY: vol20 ${pct(f.vol20)} <= 0`;
  return null;
}

/**
 * Eligible scores by score descending (equal scores by symbol), ranked 1..n, then the ineligible ones
 * by symbol. Sorts and ranks the given arrays in place.
 */
function ranked(eligible: Score[], ineligible: Score[]): Score[] {
  eligible.sort((a, b) => {
    const sa = a.score as number;
    const sb = b.score as number;
    return sa > sb ? -1 : sa < sb ? 1 : bySymbol(a, b);
  });
  eligible.forEach((s, i) => {
    s.rank = i + 1;
  });
  ineligible.sort(bySymbol);
  return [...eligible, ...ineligible];
}

/** Code-unit string order: locale-independent, so the result is the same on every machine. */
function bySymbol(a: Score, b: Score): number {
  return a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0;
}

/**
 * Scores and ranks symbols by risk-adjusted momentum.
 *
 * Score = ret20 / (vol20 · √20): the 20-day simple return divided by the 20-day volatility implied
 * by the daily log-return stdev (√-time scaling), i.e. a 20-day return per unit of 20-day risk
 * (a Sharpe-like t-statistic of the recent trend). Scaling momentum by its own volatility follows
 * Moskowitz, Ooi & Pedersen (2012), "Time series momentum", J. Financial Economics 104(2) and
 * Barroso & Santa-Clara (2015), "Momentum has its moments": it stops the most volatile names from
 * dominating the ranking just because they move more. Cross-sectional ranking as in Jegadeesh &
 * Titman (1993).
 *
 * Eligibility, checked in this order (the first failure gives the reason):
 * 1. `TREND_FILTER`: close > sma50 AND sma20 > sma50 (long-term uptrend; cf. Faber 2007,
 *    "A Quantitative Approach to Tactical Asset Allocation"). Equality fails.
 * 2. `OVERBOUGHT`: rsi14 < {@link RSI_OVERBOUGHT} (80), so not overextended. 80 itself fails.
 * 3. `NEGATIVE_MOMENTUM`: ret20 > 0; a zero return fails too.
 * 4. `ZERO_VOLATILITY`: vol20 > 0 (the score would divide by zero).
 * Eligible symbols get reason `OK: ret20 4.10% / vol20 1.20%, score 0.7638`. Prices in reasons are
 * USD with 2 decimals, returns/vols percent with 2 decimals, RSI with 2 decimals.
 *
 * Output: a new array with one Score per input — eligible symbols by score descending (equal scores
 * by symbol ascending, code-unit order), ranks 1..n; then ineligible ones by symbol ascending with
 * score and rank null. The input is not mutated.
 *
 * @throws Error naming the symbol and field when a feature used here (close, sma20, sma50, rsi14,
 *   ret20, vol20) is not finite, or when a symbol appears twice (ranking would be ambiguous).
 */
export function rankMomentum(features: readonly SymbolFeatures[]): Score[] {
  const seen = new Set<string>();
  const eligible: Score[] = [];
  const ineligible: Score[] = [];

  features.forEach((f, i) => {
    if (seen.has(f.symbol)) throw new Error(`rankMomentum: symbol ${f.symbol} appears more than once (features[${i}])`);
    seen.add(f.symbol);
    for (const field of SCORE_INPUTS) {
      const value = f[field];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new Error(`rankMomentum: features[${i}] (${f.symbol}).${field} must be a finite number, got ${String(value)}`);
      }
    }

    const reason = ineligibleReason(f);
    if (reason !== null) {
      ineligible.push({ symbol: f.symbol, score: null, rank: null, eligible: false, reason });
      return;
    }
    const score = f.ret20 / (f.vol20 * Math.sqrt(MOMENTUM_DAYS));
    eligible.push({
      symbol: f.symbol,
      score,
      rank: null,
      eligible: true,
      reason: `OK: ret20 ${pct(f.ret20)} / vol20 ${pct(f.vol20)}, score ${score.toFixed(4)}`,
    });
  });

  return ranked(eligible, ineligible);
}

/** Reason codes of {@link rankByModel}, in the order they are checked (the first failing one wins). */
export const MODEL_REASON_CODES = ['MODEL_NOT_AVAILABLE', 'MODEL_INPUT_MISSING', 'MODEL_OUTPUT_INVALID', 'NON_POSITIVE_PREDICTION', 'OK'] as const;

/** The last feature-engine row of each symbol (the FEATURES artifact's `engine` part). */
export interface ModelInputs {
  /** Engine column names, docs/FEATURES.md. */
  columns: readonly string[];
  /** Per symbol, one value per column (null: undefined at that bar). */
  rows: Readonly<Record<string, ReadonlyArray<number | null>>>;
}

/**
 * Every symbol ineligible because no model may decide the session (e.g. a replay that starts before
 * the first walk-forward snapshot): reason `MODEL_NOT_AVAILABLE: <why>`, symbols ascending.
 */
export function noModelScores(symbols: readonly string[], why: string): Score[] {
  return [...new Set(symbols)].sort().map((symbol) => ({ symbol, score: null, rank: null, eligible: false, reason: `MODEL_NOT_AVAILABLE: ${why}` }));
}

/**
 * Scores and ranks symbols by a model's prediction.
 *
 * For each symbol its engine row is read in the model's feature order (`predictor.artifact.features`).
 * Eligibility, checked in this order (the first failure gives the reason):
 * 1. `MODEL_INPUT_MISSING`: the symbol has no engine row, or a feature the model reads is undefined
 *    (null/NaN: warm-up, or no benchmark); the reason names up to 5 such features. A model is not
 *    asked to guess a value it was never shown.
 * 2. `MODEL_OUTPUT_INVALID`: the prediction is not finite.
 * 3. `NON_POSITIVE_PREDICTION`: prediction <= `minPrediction` (default 0: only symbols the model
 *    expects to beat the cross-section's mean are bought; the pipeline is long only).
 * Eligible: `OK: predicted 5-session excess return 0.42% (model ridge-fwd5@2017-11-30)`; score =
 * prediction (fraction). Order and ranks as {@link rankMomentum}: eligible by score descending
 * (ties by symbol), ranks 1..n, then ineligible by symbol.
 *
 * @param symbols tradable symbols to score (the benchmark excluded by the caller).
 * @throws Error naming the feature when the model reads a column the inputs do not have (a model
 *   built for other features is a configuration error, not a per-symbol problem), or when a symbol
 *   appears twice.
 */
export function rankByModel(symbols: readonly string[], inputs: ModelInputs, predictor: Predictor, minPrediction = 0): Score[] {
  const { artifact } = predictor;
  const index = new Map(inputs.columns.map((c, i) => [c, i]));
  const columnOf = artifact.features.map((f) => {
    const i = index.get(f);
    if (i === undefined) throw new Error(`rankByModel: model ${artifact.id} reads feature ${f}, which the feature step does not compute`);
    return i;
  });
  const width = columnOf.length;
  const seen = new Set<string>();
  const complete: string[] = [];
  const ineligible: Score[] = [];
  for (const symbol of symbols) {
    if (seen.has(symbol)) throw new Error(`rankByModel: symbol ${symbol} appears more than once`);
    seen.add(symbol);
    const row = inputs.rows[symbol];
    if (!row) {
      ineligible.push({ symbol, score: null, rank: null, eligible: false, reason: 'MODEL_INPUT_MISSING: no feature row' });
      continue;
    }
    const missing = artifact.features.filter((_, k) => {
      const v = row[columnOf[k] as number];
      return v === null || v === undefined || !Number.isFinite(v);
    });
    if (missing.length > 0) {
      const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '');
      ineligible.push({ symbol, score: null, rank: null, eligible: false, reason: `MODEL_INPUT_MISSING: ${shown} undefined` });
      continue;
    }
    complete.push(symbol);
  }

  const x = new Float64Array(complete.length * width);
  complete.forEach((symbol, r) => {
    const row = inputs.rows[symbol] as ReadonlyArray<number>;
    for (let k = 0; k < width; k++) x[r * width + k] = row[columnOf[k] as number] as number;
  });
  const predictions = complete.length > 0 ? predictor.predict(x, complete.length) : new Float64Array(0);
  const horizon = artifact.target.horizonSessions;
  const eligible: Score[] = [];
  complete.forEach((symbol, r) => {
    const p = predictions[r] as number;
    if (!Number.isFinite(p)) {
      ineligible.push({ symbol, score: null, rank: null, eligible: false, reason: `MODEL_OUTPUT_INVALID: prediction ${p} from model ${artifact.id}` });
    } else if (!(p > minPrediction)) {
      ineligible.push({ symbol, score: null, rank: null, eligible: false, prediction: p, reason: `NON_POSITIVE_PREDICTION: predicted ${horizon}-session excess return ${pct(p)} <= ${pct(minPrediction)}` });
    } else {
      eligible.push({ symbol, score: p, rank: null, eligible: true, prediction: p, reason: `OK: predicted ${horizon}-session excess return ${pct(p)} (model ${artifact.id})` });
    }
  });
  return ranked(eligible, ineligible);
}
