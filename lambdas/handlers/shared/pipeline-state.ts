/**
 * The Step Functions payload, validated with zod at every handler boundary. It stays small: ids,
 * dates and counts. Bulk data lives in the RunArtifacts table under `runId`.
 */
import { z } from 'zod';
import { SymbolSchema } from '../../core/config';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');

/** What the execution was started with (scheduler: `{"source":"schedule"}`; local runner: date and symbols). */
export const ExecutionRequestSchema = z.looseObject({
  /** Session to trade, YYYY-MM-DD; default: the New York date of the execution start. */
  tradingDate: isoDate.optional(),
  /** Universe override for this execution. */
  symbols: z.array(SymbolSchema).min(1).optional(),
  /**
   * Schedule slot (default `open`): one execution per session and slot may trade. A person who
   * must re-run a session by hand after a failure starts it with a new slot name.
   */
  slot: z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be 1-32 chars of a-z, 0-9 or -').optional(),
  /**
   * What the execution does (default `trade`). `flatten`: cancel every open order through
   * cancel-and-verify, then close every position, and lock the day (started by hand, e.g. from the
   * console with `{"action":"flatten"}`). `end_of_day`: the same, from the 15:45 schedule when the
   * strategy's endOfDayFlatten is on (otherwise a no-op). Default slots: `flatten`, `eod`.
   */
  action: z.enum(['trade', 'flatten', 'end_of_day']).optional(),
});

/** What an execution does; see ExecutionRequestSchema.action. */
export type PipelineAction = 'trade' | 'flatten' | 'end_of_day';

/** Input of the first state (Fetch): the execution input plus context-object fields. */
export const FetchInputSchema = z.object({
  request: ExecutionRequestSchema,
  /** Step Functions execution name; identifies the run's artifacts. */
  runId: z.string().min(1).max(80),
  /** Execution start, ISO-8601 UTC. */
  startedAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 timestamp'),
});
export type FetchInput = z.infer<typeof FetchInputSchema>;

/** The session being traded. Instants are ISO-8601 UTC. */
export const SessionInfoSchema = z.object({
  isSession: z.boolean(),
  date: isoDate,
  openUtc: z.string().optional(),
  closeUtc: z.string().optional(),
  /** When cancel-verify runs: a few minutes after the close (the Wait state's timestamp). */
  verifyAfterUtc: z.string().optional(),
  /** The session before `date`; decisions use bars up to and including it. */
  previousSession: isoDate.optional(),
  /**
   * When the end-of-day flatten runs (close − endOfDayMinutesBeforeClose: 15:45 New York, 12:45 on
   * an early close). Present only when the strategy's endOfDayFlatten is on, for a trade execution.
   */
  endOfDayUtc: z.string().optional(),
});
export type SessionInfo = z.infer<typeof SessionInfoSchema>;

/** The run lock of a session's schedule slot (taken by Fetch). */
export const RunLockSchema = z.object({
  slot: z.string(),
  acquired: z.boolean(),
  /** runId of the execution holding the slot. */
  heldBy: z.string(),
});
export type RunLock = z.infer<typeof RunLockSchema>;

/** State passed between steps after Fetch; each step adds its summary under its own key. */
export const PipelineStateSchema = z.looseObject({
  runId: z.string().min(1),
  strategyId: z.string().min(1),
  tradingDate: isoDate,
  session: SessionInfoSchema,
  /** Present on sessions; a losing execution (`acquired: false`) ends without trading. */
  runLock: RunLockSchema.optional(),
  /** What this execution does (absent = trade). */
  action: z.enum(['trade', 'flatten', 'end_of_day']).optional(),
});
export type PipelineState = z.infer<typeof PipelineStateSchema>;

/** Names of the run artifacts each step writes. */
export const ARTIFACTS = {
  universe: 'UNIVERSE',
  bars: (symbol: string) => `BARS#${symbol}`,
  /** The benchmark's defect-free closes before the session, for the regime filter (see fetch). */
  benchmarkCloses: 'BENCHMARK_CLOSES',
  features: 'FEATURES',
  scores: 'SCORES',
  /** Which predictor scored the session (PredictSummary of handlers/predict). */
  prediction: 'PREDICTION',
  decisions: 'DECISIONS',
  orders: 'ORDERS',
  /** The end-of-day flatten's decisions and orders, next to the morning's (same execution). */
  endOfDayDecisions: 'DECISIONS#END_OF_DAY',
  endOfDayOrders: 'ORDERS#END_OF_DAY',
  verification: 'VERIFICATION',
  /** Live-vs-backtest drift of the session (DriftArtifact of handlers/shared/drift), written by cancel-verify. */
  drift: 'DRIFT',
} as const;
