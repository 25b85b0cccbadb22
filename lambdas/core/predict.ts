/**
 * Baseline model: cross-sectional, volatility-scaled momentum with a trend filter.
 *
 * Pure and deterministic: no I/O, no clock, no randomness; the output depends only on the set of
 * inputs, not on their order.
 */
import type { SymbolFeatures } from './features';

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
   * {@link REASON_CODES}; the text after it is for humans and may gain detail.
   */
  reason: string;
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
