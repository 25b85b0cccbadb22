/**
 * Strategy configuration: every limit and knob the pipeline uses, with its default and unit.
 * Validated with zod; an invalid value throws an error naming the field and the value.
 */
import { z } from 'zod';

const fraction = (max: number) => z.number().gt(0).lte(max);

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
    /** Bars before the session that fetch loads per symbol (the decision window). */
    lookbackBars: z.number().int().min(60).max(2000).default(260),
    /** Fewer valid bars than this in the window quarantines the symbol (features need SMA(50) + warm-up). */
    minBars: z.number().int().min(51).max(2000).default(60),
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
    /** Allow fractional share quantities (Alpaca: simple `day` orders only). Off by default. */
    fractionalShares: z.boolean().default(false),
    /**
     * Trading state latched when reconciliation finds the ledger and the broker disagree:
     * HALTED (default, no new entries) or REDUCING (exits only). Either way a CRITICAL alert goes out.
     */
    reconciliationMismatchState: z.enum(['HALTED', 'REDUCING']).default('HALTED'),
  })
  .strict();

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
      return `${path}=${JSON.stringify(value)}: ${issue.message}`;
    });
    throw new Error(`invalid strategy config: ${problems.join('; ')}`);
  }
  return result.data;
}
