/**
 * Strategy configuration: every limit and knob the pipeline uses, with its default and unit.
 * Validated with zod; an invalid value throws an error naming the field and the value.
 */
import { z } from 'zod';
import { regimeCloseCount } from './risk/metrics';

const fraction = (max: number) => z.number().gt(0).lte(max);

/** Closes the regime filter needs with its defaults (273: max(SMA 200, 21 + 252)); see core/risk/metrics. */
export const REGIME_MIN_BARS = regimeCloseCount();

/** Ticker as the data sources spell it: upper-case letters, digits and '.', e.g. BRK.B. */
export const SymbolSchema = z.string().regex(/^[A-Z][A-Z0-9.]{0,9}$/, 'ticker must be 1-10 chars of A-Z, 0-9 or "."');

export const StrategyConfigSchema = z
  .object({
    /** Lower-case id, ≤ 12 chars; the first part of every client_order_id. */
    strategyId: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,11}$/, 'strategyId must be 1-12 chars of a-z/0-9, starting with a letter')
      .default('momo1'),
    /** Benchmark symbol: loaded and validated, never traded. */
    benchmark: SymbolSchema.default('SPY'),
    /** Tradable symbols; undefined means every symbol the market-data source offers, minus the benchmark. */
    universe: z.array(SymbolSchema).min(1).optional(),
    /** Bars before the session that fetch loads per symbol (the decision window; the regime filter needs 274 of the benchmark). */
    lookbackBars: z.number().int().min(60).max(2000).default(300),
    /** Fewer valid bars than this in the window quarantines the symbol (features need SMA(50) + warm-up). */
    minBars: z.number().int().min(51).max(2000).default(60),
    /**
     * What ranks the universe: `model` (default) the trained model behind the predictor port (the
     * shipped walk-forward ridge bundle, or MODEL_FILE / `--model`), `momentum` the earlier
     * volatility-scaled momentum baseline (core/predict.ts).
     */
    predictor: z.enum(['model', 'momentum']).default('model'),
    /** With `predictor: model`, only predictions above this (fraction of forward excess return) are eligible (NON_POSITIVE_PREDICTION). */
    minPredictedReturn: z.number().min(-1).max(1).default(0),
    /**
     * Close a long once it has been held this many sessions, its entry session and today counted
     * (HOLDING_PERIOD exit, core/holding.ts): default 5, the shipped model's label horizon. 0 = hold
     * until the stop-loss fills.
     */
    maxHoldingSessions: z.number().int().min(0).max(250).default(5),
    /** How many of the best-ranked symbols reach the risk check. */
    maxCandidates: z.number().int().min(1).max(500).default(20),
    /** Fraction of equity (NAV) put at risk per trade, entry to stop. Default 0.5% (issue #4 spec). */
    riskPerTrade: fraction(0.05).default(0.005),
    /** Stop distance in multiples of ATR(14, Wilder). Default 2 (issue #4 spec). */
    atrStopMultiple: z.number().gt(0).lte(20).default(2),
    /** Entry limit price above the last close, in bps: a marketable limit that still caps the price paid. */
    entryLimitBps: z.number().min(0).max(1000).default(50),
    /** Sessions an unfilled entry order may live before cancel-verify cancels it. */
    entryTtlSessions: z.number().int().min(1).max(20).default(1),
    /** Max simultaneous positions, counting pending entries. Default 10 (issue #4 spec). */
    maxOpenPositions: z.number().int().min(1).max(500).default(10),
    /** Max value of one position as a fraction of equity at entry. Default 10% (issue #4 spec). */
    maxPositionFraction: fraction(1).default(0.1),
    /** Cash kept free as a fraction of equity; entries may not dip into it. Default 3% (issue #4 spec). */
    cashBufferFraction: z.number().min(0).lt(1).default(0.03),
    /** Sizing: `atr` puts the stop atrStopMultiple × ATR(14) below the entry; `percent` puts it stopPercent below. */
    stopMode: z.enum(['atr', 'percent']).default('atr'),
    /** Stop distance as a fraction of the entry price when stopMode is `percent`, e.g. 0.05 = 5%. */
    stopPercent: fraction(0.5).default(0.05),
    /** Entries whose notional (qty × limit) is below this, USD, are skipped (MIN_NOTIONAL). */
    minOrderNotional: z.number().min(0).default(100),
    /** Hard cap on one order's notional, USD (MAX_ORDER_NOTIONAL); the quantity is cut to fit. */
    maxOrderNotional: z.number().gt(0).default(50_000),
    /** Gross exposure cap: Σ|position value| + open buys + this entry ≤ this fraction of NAV (MAX_GROSS_EXPOSURE). */
    maxGrossExposureFraction: z.number().gt(0).lte(4).default(1),
    /** Sector/category cap: the category's value + this entry ≤ this fraction of NAV (CATEGORY_CONCENTRATION). */
    maxCategoryFraction: fraction(1).default(0.3),
    /** Category per symbol, overriding the shipped GICS map (core/risk/sectors.ts); unknown symbols share UNCLASSIFIED. */
    categoryMap: z.record(z.string(), z.string().min(1)).default({}),

    /** Kill switch: minutes after the parameter last changed during which no automatic entry is made (COOLING_OFF). */
    coolingOffMinutes: z.number().int().min(0).max(1440).default(60),
    /** Also set Alpaca's `suspend_trade` account configuration while the kill switch reads HALTED (broker-side layer). */
    brokerSuspendOnHalt: z.boolean().default(false),

    /** Daily loss ladder, from the session's starting equity: at this loss (fraction of NAV) size × reducedSizeFactor. */
    dailyLossSoftFraction: fraction(0.5).default(0.015),
    /** At this daily loss the day is locked: HALTED for the rest of the session (DAILY_LOSS_LIMIT), then automatic resume. */
    dailyLossHardFraction: fraction(0.5).default(0.02),
    /** Consecutive losing trades (closed since the previous session opened) that halve the size. */
    lossStreakReduceAt: z.number().int().min(1).max(50).default(2),
    /** Consecutive losing trades (closed since the previous session opened) that stop entries for the day (LOSS_STREAK). */
    lossStreakStopAt: z.number().int().min(1).max(50).default(3),
    /** Entry orders per session, all runs of the day together (MAX_TRADES_PER_DAY). */
    maxTradesPerDay: z.number().int().min(1).max(500).default(5),
    /** The factor every "size × 0.5" rung applies; rungs that fire together multiply. */
    reducedSizeFactor: z.number().gt(0).lt(1).default(0.5),

    /** Drawdown ladder, from the equity high-water mark: at this drawdown a HIGH alert and size × reducedSizeFactor. */
    drawdownReduceFraction: fraction(1).default(0.1),
    /** At this drawdown: flatten, and HALTED until a person re-arms the kill switch (MAX_DRAWDOWN). */
    drawdownHaltFraction: fraction(1).default(0.2),

    /** Sessions of end-of-day equity the metric gates look back over. */
    metricLookbackSessions: z.number().int().min(5).max(1260).default(63),
    /** Rolling Sharpe (annualized, √252) below this halves the size (SHARPE_GATE). */
    sharpeReduceBelow: z.number().default(0.5),
    /** Rolling Sharpe at or below this stops new entries (SHARPE_GATE). */
    sharpeStopAtOrBelow: z.number().default(0),
    /** Ulcer index (percent, Martin 1987) above this stops new entries (ULCER_GATE). */
    maxUlcerIndex: z.number().gt(0).default(10),
    /** Regime filter on the benchmark: below its 200-day SMA and 21-day volatility above its 1-year median → no entries. */
    regimeFilter: z.boolean().default(true),

    /** Invariant: at most one position (or pending entry) per symbol. */
    onePositionPerSymbol: z.boolean().default(true),
    /** Invariant: long only — no entry that opens a short, and no exit larger than the position (no naked short). */
    longOnly: z.boolean().default(true),
    /** Invariant: never add to a position trading below its average entry price. */
    forbidAddToLoser: z.boolean().default(true),
    /** Invariant: never enter the opposite side of a held position; it must be flat first. */
    forbidReverseWithoutFlat: z.boolean().default(true),

    /** Pre-trade sanity: reject when the order or quote price is more than this fraction from the last close. */
    maxPriceDeviationFraction: fraction(1).default(0.1),
    /** Pre-trade sanity: order quantity ≤ this fraction of the 20-day average daily volume (LIQUIDITY). */
    maxAdvFraction: fraction(1).default(0.05),
    /** Pre-trade sanity: notional > this multiple of the median of recent entry notionals is a fat finger. */
    fatFingerMultiple: z.number().gt(1).default(5),
    /** Recent entries needed before the fat-finger median applies. */
    fatFingerMinHistory: z.number().int().min(1).max(1000).default(5),
    /** Pre-trade sanity: the last bar must be at most this many sessions old (1 = the previous session) (STALE_DATA). */
    maxDataAgeSessions: z.number().int().min(1).max(20).default(1),
    /** Trade window: entries from this many minutes after the open (09:35 New York on a normal day). */
    tradeWindowOpenDelayMinutes: z.number().int().min(0).max(390).default(5),
    /** Trade window: entries until this many minutes before the close (15:55; 12:55 on an early close). */
    tradeWindowCloseLeadMinutes: z.number().int().min(0).max(390).default(5),

    /** End of day: cancel every open order and flatten before the close (off by default for daily strategies). */
    endOfDayFlatten: z.boolean().default(false),
    /** Minutes before the close at which the end-of-day flatten runs (15 → 15:45 New York). */
    endOfDayMinutesBeforeClose: z.number().int().min(1).max(120).default(15),

    /** Equity milestones: alert once each time equity first reaches 2^n × this baseline, USD (default: first equity seen). */
    milestoneBaseline: z.number().gt(0).optional(),

    /** Alerts with the same (severity, type) within this many seconds are suppressed (a run's first CRITICAL never is). */
    alertCooldownSeconds: z.number().int().min(0).max(86_400).default(300),
    /** After the close: HIGH alert when entries filled / entries sent is below this fraction. */
    fillRateAlertBelow: z.number().min(0).max(1).default(0.5),
    /** After the close: HIGH alert when an entry filled more than this many bps worse than its decision price. */
    slippageAlertBps: z.number().min(0).default(50),

    /**
     * Backtest/paper cost model: commission per share, USD, charged by the paper broker at every
     * fill (default 0, like Alpaca's commission-free equities). Live brokers charge what they charge.
     */
    commissionPerShare: z.number().min(0).max(1).default(0),
    /**
     * Backtest/paper cost model: slippage in bps the paper broker moves every fill price against the
     * trader (default 5; capped at the limit for limit orders; see paper/engine.ts).
     */
    slippageBps: z.number().min(0).max(500).default(5),

    /** Allow fractional share quantities (Alpaca: simple `day` orders only). Off by default. */
    fractionalShares: z.boolean().default(false),
    /**
     * Trading state latched when reconciliation finds the ledger and the broker disagree:
     * HALTED (default, no new entries) or REDUCING (exits only). Either way a CRITICAL alert goes out.
     */
    reconciliationMismatchState: z.enum(['HALTED', 'REDUCING']).default('HALTED'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const order = (lo: keyof typeof c, hi: keyof typeof c) => {
      if ((c[lo] as number) >= (c[hi] as number)) {
        ctx.addIssue({ code: 'custom', path: [hi], message: `${String(hi)} (${String(c[hi])}) must be greater than ${String(lo)} (${String(c[lo])})` });
      }
    };
    order('dailyLossSoftFraction', 'dailyLossHardFraction');
    order('drawdownReduceFraction', 'drawdownHaltFraction');
    order('sharpeStopAtOrBelow', 'sharpeReduceBelow');
    if (c.regimeFilter && c.lookbackBars < REGIME_MIN_BARS) {
      ctx.addIssue({ code: 'custom', path: ['lookbackBars'], message: `lookbackBars (${c.lookbackBars}) must be >= ${REGIME_MIN_BARS} while regimeFilter is on (SMA200 and the 1-year median of 21-day volatility)` });
    }
    if (c.lossStreakReduceAt > c.lossStreakStopAt) {
      ctx.addIssue({ code: 'custom', path: ['lossStreakStopAt'], message: `lossStreakStopAt (${c.lossStreakStopAt}) must be >= lossStreakReduceAt (${c.lossStreakReduceAt})` });
    }
  });

export type StrategyConfig = z.infer<typeof StrategyConfigSchema>;

/**
 * Parses a strategy config, filling defaults.
 * @param input plain object (e.g. JSON from the STRATEGY_CONFIG environment variable), or undefined for all defaults.
 * @throws Error whose message names each invalid field and the value given.
 */
export function parseStrategyConfig(input: unknown = {}): StrategyConfig {
  const result = StrategyConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.join('.') || '(root)';
      const value = issue.path.reduce<unknown>(
        (node, key) => (node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined),
        input,
      );
      // A cross-field check may name a field left at its default: say so rather than "undefined".
      return `${path}=${value === undefined ? '(default)' : JSON.stringify(value)}: ${issue.message}`;
    });
    throw new Error(`invalid strategy config: ${problems.join('; ')}`);
  }
  return result.data;
}
