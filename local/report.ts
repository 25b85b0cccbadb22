/**
 * The run report: a JSON document per session (and a range wrapper), built from the same stores
 * the pipeline wrote — run artifacts, the order ledger and the broker — plus a plain-text
 * rendering for the console.
 *
 * Units: money in USD and prices in USD per share as JSON numbers rounded to the cent
 * (prices keep up to 4 decimals, the sub-dollar tick); quantities in shares.
 */
import { effectiveTradingState } from '../lambdas/core/kill-switch';
import { describeDiscrepancy, type Discrepancy } from '../lambdas/core/ledger';
import type { StaleCancel } from '../lambdas/handlers/shared/reconcile';
import { dec, formatPct, formatUsd, toReportNumber } from '../lambdas/core/money';
import type { VerificationArtifact } from '../lambdas/handlers/cancel-verify';
import type { DecisionsArtifact } from '../lambdas/handlers/risk-check';
import type { UniverseArtifact } from '../lambdas/handlers/fetch';
import { readKillSwitch } from '../lambdas/handlers/shared/kill-switch';
import { ARTIFACTS } from '../lambdas/handlers/shared/pipeline-state';
import { DEFAULT_SLOT } from '../lambdas/handlers/fetch';
import type { Alert, BrokerOrder } from '../lambdas/ports';
import type { DayLock, LimitReading, RiskMetrics } from '../lambdas/core/risk/kernel';
import type { OrdersArtifact } from '../lambdas/handlers/orders';
import type { PredictSummary } from '../lambdas/handlers/predict';
import type { DriftArtifact } from '../lambdas/handlers/shared/drift';
import type { Score } from '../lambdas/core/predict';
import type { Deps } from '../lambdas/wiring/deps';
import { METRIC_DOCS, type PerformanceMetrics } from '../lambdas/core/performance/metrics';
import { formatMetric } from './backtest-report';

export interface SessionReport {
  runId: string;
  tradingDate: string;
  /**
   * Set when this execution lost the session slot's run lock (a duplicate): it traded nothing, and
   * the rest of the report shows the owning execution's run.
   */
  duplicateOf: string | null;
  /** Why the execution failed (after its CRITICAL PIPELINE_FAILED alert), or null when it succeeded. */
  executionError: string | null;
  strategyId: string;
  killSwitch: string;
  tradingState: string;
  tradingStateCause: string;
  universe: string[];
  benchmark: string;
  quarantined: Array<{ symbol: string; reason: string }>;
  /** The model snapshot id (or `momentum`) that scored the session; null when none could. */
  model: string | null;
  /** Every tradable symbol's score: eligible ones by rank, then the others with their reason. */
  scores: Array<{ symbol: string; rank: number | null; eligible: boolean; prediction: number | null; reason: string }>;
  /** The day's P&L at the close on the daily-loss ladder (signed fraction, rung), or null. */
  dailyLossAtClose: { fraction: number; rung: string } | null;
  /** The effective limits in force for this session's decisions (the strategy config). */
  limits: Record<string, unknown>;
  /** The risk kernel's account-level view: size multiplier, every limit reading, measurements. */
  risk: {
    sizeMultiplier: number;
    /** Every account-level limit as evaluated (status ok | reduce | block | halt | n/a). */
    readings: LimitReading[];
    /** The readings that fired (reduce, block or halt), with their reasons. */
    firings: LimitReading[];
    metrics: RiskMetrics | null;
    /** Today's day lock (entries locked for the rest of the session), if any. */
    dayLock: DayLock | null;
    /** The flatten this session ran, if any: its cause and its cancels and closing orders. */
    flatten: { cause: string; cancels: number; exits: Array<{ symbol: string; outcome: string }> } | null;
    /** Decisions written to the risk-audit table for this session (all runs). */
    audited: number;
  } | null;
  decisions: Array<{
    symbol: string;
    kind: string;
    action: string;
    allowed: boolean;
    /** Stable rule code, e.g. MAX_POSITION_PCT. */
    rule: string;
    reason: string;
    adjustedQty: string | null;
    qty: number | null;
    limitPrice: number | null;
    stopLossPrice: number | null;
  }>;
  orders: Array<{
    clientOrderId: string;
    brokerOrderId: string | null;
    symbol: string;
    side: string;
    qty: number;
    type: string;
    timeInForce: string;
    orderClass: string;
    limitPrice: number | null;
    stopLossPrice: number | null;
    status: string;
    submittedThisRun: boolean;
    /** entry, flatten, … (exits sent by a flatten appear here too). */
    purpose: string;
  }>;
  fills: Array<{ clientOrderId: string; symbol: string; side: string; qty: number; price: number; purpose: string }>;
  positions: Array<{ symbol: string; qty: number; avgEntryPrice: number; lastPrice: number; stopLossPrice: number | null }>;
  /** USD. */
  cash: number;
  /** NAV, USD, positions marked at the session close. */
  equity: number;
  /** Equity the risk check sized against (the session's frozen snapshot), USD. */
  decisionEquity: number | null;
  alerts: Array<{ severity: string; type: string; message: string }>;
  /** Faults the seeded injector put into this session's broker calls, counted by kind (empty without --fault-profile). */
  faults: Record<string, number>;
  /** What risk-check's start-of-run reconciliation found and did before deciding (null if it did not run). */
  startReconciliation: {
    matched: boolean;
    discrepancies: Discrepancy[];
    cancels: StaleCancel[];
    fillsRecorded: number;
  } | null;
  /**
   * Live vs backtest (cancel-verify's DRIFT artifact): what the backtest engine would have done with
   * the same decisions on the session's bar, and where the run differed. Null when not recorded.
   */
  drift:
    | {
        compared: number;
        differing: number;
        byCode: Record<string, number>;
        filledBoth: number;
        unknown: number;
        /** bps, positive = the run filled worse than the backtest. */
        meanGapBps: number | null;
        weightedMeanGapBps: number | null;
        maxAbsGapBps: number | null;
        /** Rows with a difference: client_order_id, symbol, codes, gap. */
        rows: Array<{ clientOrderId: string; symbol: string; differences: string[]; gapBps: number | null }>;
      }
    | { error: string }
    | null;
  /** What cancel-verify found after the close: ledger vs broker positions, protection, cancels. */
  reconciliation: {
    matched: boolean;
    /** Discrepancies found after the close: local_only, broker_only, quantity_mismatch, unknown_open_order. */
    mismatches: Discrepancy[];
    unprotected: Array<{ symbol: string; qty: string; protectedQty: string }>;
    cancels: StaleCancel[];
  };
}

export interface RangeSummary {
  sessions: number;
  from: string | null;
  to: string | null;
  /** USD. */
  startingEquity: number;
  endingEquity: number;
  /** Fraction, endingEquity / startingEquity − 1. */
  totalReturn: number;
  ordersSubmitted: number;
  fills: number;
  haltedSessions: number;
  alerts: Record<string, number>;
  /** How often each account-level risk rule fired (reduce, block or halt) over the range. */
  riskFirings: Record<string, number>;
  /** How often each decision rule decided (refusals and OK) over the range. */
  decisionRules: Record<string, number>;
  /** Backtest metrics over the range (formulas in lambdas/core/performance/metrics.ts); range runs only. */
  metrics?: PerformanceMetrics;
  /** The paper broker's costs the range ran with (USD per share, bps); range runs only. */
  costs?: { commissionPerShare: number; slippageBps: number };
  /** Absolute path of the self-contained HTML report in the state directory; range runs only. */
  htmlReport?: string | null;
  /** Live vs backtest over the range: orders compared and differing, by code, and the mean fill-price gap (bps) over every order filled on both sides. */
  drift: { sessions: number; compared: number; differing: number; byCode: Record<string, number>; filledBoth: number; meanGapBps: number | null; errors: number };
}

export interface RangeReport {
  days: SessionReport[];
  summary: RangeSummary;
}

const price = (value: string | null | undefined): number | null => (value ? toReportNumber(value, 4) : null);

/** Builds the report of one session from the stores, after its execution finished. */
export async function buildSessionReport(
  deps: Deps,
  run: { runId: string; tradingDate: string; alerts: Alert[]; slot?: string; faults?: Array<{ kind: string }>; executionError?: string | null },
): Promise<SessionReport> {
  const { tradingDate } = run;
  const lock = await deps.tradingState.getRunLock(tradingDate, run.slot ?? DEFAULT_SLOT);
  const duplicateOf = lock && lock.heldBy !== run.runId ? lock.heldBy : null;
  // A duplicate execution wrote no artifacts: report the run that owns the slot.
  const runId = duplicateOf ?? run.runId;
  // A failed execution stops where it failed: later steps' artifacts may be missing.
  const optional = <T>(name: string) => deps.artifacts.get<T>(runId, name).catch(() => undefined);
  const universe = (await optional<UniverseArtifact>(ARTIFACTS.universe)) ?? { universe: [], benchmark: deps.config.benchmark, usable: [], quarantined: [] };
  const decided = await optional<DecisionsArtifact>(ARTIFACTS.decisions);
  const scores = (await optional<Score[]>(ARTIFACTS.scores)) ?? [];
  const prediction = await optional<PredictSummary>(ARTIFACTS.prediction);
  const driftArtifact = await optional<DriftArtifact>(ARTIFACTS.drift);
  const verified = (await optional<VerificationArtifact>(ARTIFACTS.verification)) ?? {
    synced: 0,
    fillsRecorded: 0,
    cancels: [],
    mismatches: [],
    unprotected: [],
    errors: [],
  };
  const ledgerOrders = await deps.ledger.listOrders();
  const fills = (await deps.ledger.listFills()).filter((f) => f.sessionDate === tradingDate);
  const account = await deps.broker.getAccount();
  const positions = await deps.broker.listPositions();
  const openOrders = await deps.broker.listOrders({ status: 'open' });
  const killSwitch = await readKillSwitch(deps.killSwitch);
  const dayLock = (await deps.tradingState.getDayLock(tradingDate)) ?? null;
  const endOfDay = await optional<DecisionsArtifact>(ARTIFACTS.endOfDayDecisions);
  const flattenDecided = decided?.flatten ? decided : endOfDay?.flatten ? endOfDay : undefined;
  const placed = await optional<OrdersArtifact>(flattenDecided === endOfDay ? ARTIFACTS.endOfDayOrders : ARTIFACTS.orders);
  const audit = await deps.riskAudit.listSession(tradingDate);
  // The most restrictive of: the state after the run (kill switch + latch), today's day lock, and
  // the state the risk kernel decided in (e.g. DAILY_LOSS_LIMIT, MAX_DRAWDOWN).
  const rank = { ACTIVE: 0, REDUCING: 1, HALTED: 2 } as const;
  let state = effectiveTradingState(killSwitch, await deps.tradingState.getLatch());
  if (dayLock && rank[state.state] < rank.HALTED) state = { state: 'HALTED', cause: dayLock.cause };
  if (decided && rank[decided.tradingState.state] > rank[state.state]) state = decided.tradingState;

  const stops = workingStops(openOrders);

  return {
    runId: run.runId,
    tradingDate,
    duplicateOf,
    executionError: run.executionError ?? null,
    strategyId: deps.config.strategyId,
    killSwitch: killSwitch.state,
    tradingState: state.state,
    tradingStateCause: state.cause,
    universe: universe.universe,
    benchmark: universe.benchmark,
    quarantined: universe.quarantined,
    model: prediction?.model ?? null,
    drift: !driftArtifact
      ? null
      : 'error' in driftArtifact
        ? { error: driftArtifact.error }
        : {
            compared: driftArtifact.totals.ordersCompared,
            differing: driftArtifact.totals.ordersDiffering,
            byCode: { ...driftArtifact.totals.byCode } as Record<string, number>,
            filledBoth: driftArtifact.totals.filledBoth,
            unknown: driftArtifact.totals.backtestUnknown,
            meanGapBps: driftArtifact.totals.meanGapBps,
            weightedMeanGapBps: driftArtifact.totals.weightedMeanGapBps,
            maxAbsGapBps: driftArtifact.totals.maxAbsGapBps,
            rows: driftArtifact.rows
              .filter((r) => r.differences.length > 0 || (r.gapBps !== null && r.gapBps !== 0))
              .map((r) => ({ clientOrderId: r.clientOrderId, symbol: r.symbol, differences: [...r.differences], gapBps: r.gapBps })),
          },
    scores: scores.map((s) => ({ symbol: s.symbol, rank: s.rank, eligible: s.eligible, prediction: s.prediction ?? null, reason: s.reason })),
    dailyLossAtClose: verified.dailyLoss ? { fraction: verified.dailyLoss.fraction, rung: verified.dailyLoss.rung } : null,
    limits: decided?.limits ?? { ...deps.config },
    risk: decided
      ? {
          sizeMultiplier: decided.sizeMultiplier ?? 1,
          readings: decided.readings ?? [],
          firings: (decided.readings ?? []).filter((r) => r.status === 'reduce' || r.status === 'block' || r.status === 'halt'),
          metrics: decided.metrics ?? null,
          dayLock,
          flatten: flattenDecided?.flatten
            ? {
                cause: flattenDecided.flatten.cause,
                cancels: placed?.flatten?.cancels.length ?? 0,
                exits: (placed?.flatten?.exits ?? []).map((p) => ({ symbol: p.symbol, outcome: p.outcome })),
              }
            : null,
          audited: audit.decisions.length,
        }
      : null,
    decisions: [...(decided?.decisions ?? []), ...(endOfDay?.decisions ?? [])].map((d) => ({
      symbol: d.symbol,
      kind: d.kind ?? 'entry',
      action: d.action,
      allowed: d.allowed,
      rule: d.rule,
      reason: d.reason,
      adjustedQty: d.adjustedQty ?? null,
      qty: d.allowed ? (d.plan ? d.plan.qty : d.qty !== null ? toReportNumber(d.qty, 6) : null) : null,
      limitPrice: d.allowed && d.plan ? price(d.plan.limitPrice) : null,
      stopLossPrice: d.allowed && d.plan ? price(d.plan.stopLossPrice) : null,
    })),
    orders: ledgerOrders
      .filter((o) => o.tradingDate === tradingDate && o.parentClientOrderId === null)
      .map((o) => ({
        clientOrderId: o.clientOrderId,
        brokerOrderId: o.brokerOrderId,
        symbol: o.symbol,
        side: o.side,
        qty: toReportNumber(o.qty, 6),
        type: o.type,
        timeInForce: o.timeInForce,
        orderClass: o.orderClass,
        limitPrice: price(o.limitPrice),
        stopLossPrice: price(o.stopLossPrice),
        status: o.status,
        submittedThisRun: o.submittedByRunId === run.runId,
        purpose: o.purpose,
      })),
    fills: fills.map((f) => ({
      clientOrderId: f.clientOrderId,
      symbol: f.symbol,
      side: f.side,
      qty: toReportNumber(f.qty, 6),
      price: toReportNumber(f.price, 4),
      purpose: f.purpose,
    })),
    positions: positions.map((p) => ({
      symbol: p.symbol,
      qty: toReportNumber(p.qty, 6),
      avgEntryPrice: toReportNumber(p.avgEntryPrice, 4),
      lastPrice: toReportNumber(p.currentPrice, 4),
      stopLossPrice: price(stops.get(p.symbol)),
    })),
    cash: toReportNumber(account.cash),
    equity: toReportNumber(account.equity),
    decisionEquity: decided ? toReportNumber(decided.snapshot.equity) : null,
    alerts: run.alerts.map((a) => ({ severity: a.severity, type: a.type, message: a.message })),
    faults: (run.faults ?? []).reduce<Record<string, number>>((counts, f) => ({ ...counts, [f.kind]: (counts[f.kind] ?? 0) + 1 }), {}),
    startReconciliation: decided?.reconciliation
      ? {
          matched: decided.reconciliation.discrepancies.length === 0,
          discrepancies: decided.reconciliation.discrepancies,
          cancels: decided.reconciliation.cancels,
          fillsRecorded: decided.reconciliation.fillsRecorded,
        }
      : null,
    reconciliation: {
      matched: verified.mismatches.length === 0,
      mismatches: verified.mismatches,
      unprotected: verified.unprotected,
      cancels: verified.cancels,
    },
  };
}

/** Highest working sell-stop trigger per symbol (the stop-loss protecting a long), USD. */
function workingStops(orders: readonly BrokerOrder[]): Map<string, string> {
  const stops = new Map<string, string>();
  const visit = (o: BrokerOrder) => {
    if (o.side === 'sell' && o.type === 'stop' && o.stopPrice && ['new', 'accepted', 'pending_new', 'partially_filled'].includes(o.status)) {
      const current = stops.get(o.symbol);
      if (!current || dec(o.stopPrice).gt(dec(current))) stops.set(o.symbol, o.stopPrice);
    }
    o.legs.forEach(visit);
  };
  orders.forEach(visit);
  return stops;
}

/** Totals over a range of sessions. */
export function buildRangeSummary(days: readonly SessionReport[], initialCash: string): RangeSummary {
  const startingEquity = days[0]?.decisionEquity ?? toReportNumber(initialCash);
  const endingEquity = days[days.length - 1]?.equity ?? startingEquity;
  const alerts: Record<string, number> = {};
  for (const a of days.flatMap((d) => d.alerts)) alerts[a.severity] = (alerts[a.severity] ?? 0) + 1;
  return {
    sessions: days.length,
    from: days[0]?.tradingDate ?? null,
    to: days[days.length - 1]?.tradingDate ?? null,
    startingEquity,
    endingEquity,
    totalReturn: startingEquity > 0 ? toReportNumber(dec(endingEquity).div(startingEquity).minus(1), 6) : 0,
    ordersSubmitted: days.reduce((n, d) => n + d.orders.filter((o) => o.submittedThisRun).length, 0),
    fills: days.reduce((n, d) => n + d.fills.length, 0),
    haltedSessions: days.filter((d) => d.tradingState === 'HALTED').length,
    alerts,
    riskFirings: count(days.flatMap((d) => d.risk?.firings.map((f) => f.rule) ?? [])),
    decisionRules: count(days.flatMap((d) => d.decisions.map((x) => x.rule))),
    drift: rangeDrift(days),
  };
}

/** Sums the sessions' drift; the mean gap weights each session's mean by its filled-on-both count. */
function rangeDrift(days: readonly SessionReport[]): RangeSummary['drift'] {
  const out: RangeSummary['drift'] = { sessions: 0, compared: 0, differing: 0, byCode: {}, filledBoth: 0, meanGapBps: null, errors: 0 };
  let gapSum = 0;
  for (const d of days) {
    if (!d.drift) continue;
    if ('error' in d.drift) {
      out.errors += 1;
      continue;
    }
    out.sessions += 1;
    out.compared += d.drift.compared;
    out.differing += d.drift.differing;
    for (const [k, v] of Object.entries(d.drift.byCode)) out.byCode[k] = (out.byCode[k] ?? 0) + v;
    if (d.drift.meanGapBps !== null) {
      gapSum += d.drift.meanGapBps * d.drift.filledBoth;
      out.filledBoth += d.drift.filledBoth;
    }
  }
  if (out.filledBoth > 0) out.meanGapBps = gapSum / out.filledBoth;
  return out;
}

const bps = (v: number | null): string => (v === null ? 'n/a' : `${v.toFixed(1)} bps`);

function count(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

/** Human-readable summary of one session for the console. */
export function formatSessionReport(r: SessionReport): string {
  const lines: string[] = [];
  lines.push(`== ${r.tradingDate}  run ${r.runId}  strategy ${r.strategyId}`);
  if (r.executionError) lines.push(`   EXECUTION FAILED: ${r.executionError}`);
  if (r.duplicateOf) lines.push(`   DUPLICATE: execution ${r.duplicateOf} owns this session's slot; this run traded nothing (its report follows)`);
  lines.push(`   kill switch ${r.killSwitch}; trading state ${r.tradingState} (${r.tradingStateCause})`);
  lines.push(`Universe: ${r.universe.length} symbols, benchmark ${r.benchmark}`);
  lines.push(`   ${r.universe.join(' ')}`);
  lines.push(`Quarantined: ${r.quarantined.length}`);
  for (const q of r.quarantined) lines.push(`   ${q.symbol.padEnd(6)} ${q.reason}`);
  if (r.startReconciliation) {
    const sr = r.startReconciliation;
    lines.push(
      `Reconciliation before deciding: ${sr.matched ? 'ledger and broker agree' : `MISMATCH ${sr.discrepancies.map(describeDiscrepancy).join('; ')}`}` +
        `; ${sr.fillsRecorded} fills picked up; ${sr.cancels.length} stale entries cancelled`,
    );
  }
  if (r.risk) {
    lines.push(`Risk: size x ${r.risk.sizeMultiplier}; ${r.risk.firings.length} limit(s) fired; ${r.risk.audited} decisions audited${r.risk.dayLock ? `; day locked (${r.risk.dayLock.cause})` : ''}`);
    for (const f of r.risk.firings) lines.push(`   ${f.status.toUpperCase().padEnd(6)} ${f.detail}`);
    if (r.risk.flatten) lines.push(`   FLATTEN ${r.risk.flatten.cause}: ${r.risk.flatten.cancels} cancels; ${r.risk.flatten.exits.map((e) => `${e.symbol} ${e.outcome}`).join(', ') || 'no positions'}`);
  }
  const eligible = r.scores.filter((x) => x.eligible);
  lines.push(`Predict: model ${r.model ?? 'none'}; ${eligible.length} of ${r.scores.length} eligible${eligible.length > 0 ? `; best ${eligible.slice(0, 5).map((x) => x.symbol).join(' ')}` : ''}`);
  const notEligible = count(r.scores.filter((x) => !x.eligible).map((x) => x.reason.split(':')[0] ?? x.reason));
  if (Object.keys(notEligible).length > 0) lines.push(`   not eligible: ${Object.entries(notEligible).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const allowed = r.decisions.filter((d) => d.allowed).length;
  lines.push(`Decisions: ${r.decisions.length} intents, ${allowed} allowed`);
  for (const d of r.decisions) lines.push(`   ${d.allowed ? 'ALLOW ' : 'REFUSE'} ${d.symbol.padEnd(6)} ${d.reason}`);
  const submitted = r.orders.filter((o) => o.submittedThisRun).length;
  lines.push(`Orders for ${r.tradingDate}: ${r.orders.length} (${submitted} submitted by this run)`);
  for (const o of r.orders) {
    lines.push(
      `   ${o.clientOrderId.padEnd(28)} ${o.side} ${o.qty} ${o.symbol} ${o.type} ${o.limitPrice ?? ''} stop-loss ${o.stopLossPrice ?? '-'} ${o.timeInForce}/${o.orderClass}  ${o.status}${o.submittedThisRun ? '' : '  (not sent by this run)'}`,
    );
  }
  if (r.drift && 'error' in r.drift) lines.push(`Drift vs backtest: not computed (${r.drift.error})`);
  else if (r.drift) {
    const d = r.drift;
    lines.push(
      `Drift vs backtest: ${d.compared} orders compared, ${d.differing} differ${Object.keys(d.byCode).length ? ` (${Object.entries(d.byCode).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}; ` +
        `${d.filledBoth} filled on both sides, fill-price gap mean ${bps(d.meanGapBps)}, weighted ${bps(d.weightedMeanGapBps)}, max |gap| ${bps(d.maxAbsGapBps)}${d.unknown ? `; ${d.unknown} backtest fills unknown (no bar yet)` : ''}`,
    );
    for (const row of d.rows) lines.push(`   ${row.clientOrderId.padEnd(28)} ${row.symbol.padEnd(6)} ${row.differences.join(', ') || '-'}  gap ${bps(row.gapBps)}`);
  }
  lines.push(`Fills in session ${r.tradingDate}: ${r.fills.length}`);
  for (const f of r.fills) lines.push(`   ${f.side} ${f.qty} ${f.symbol} @ ${f.price}  (${f.purpose})`);
  lines.push(`Positions: ${r.positions.length}`);
  for (const p of r.positions) {
    lines.push(`   ${p.symbol.padEnd(6)} ${String(p.qty).padStart(6)} sh  avg ${p.avgEntryPrice}  last ${p.lastPrice}  stop ${p.stopLossPrice ?? 'NONE'}`);
  }
  lines.push(`Cash ${formatUsd(r.cash)} USD   Equity ${formatUsd(r.equity)} USD`);
  lines.push(
    `Reconciliation after the close: ${r.reconciliation.matched ? 'ledger and broker agree' : `MISMATCH ${r.reconciliation.mismatches.map(describeDiscrepancy).join('; ')}`}` +
      `; ${r.reconciliation.cancels.length} stale entries cancelled; ${r.reconciliation.unprotected.length} unprotected positions`,
  );
  const injected = Object.entries(r.faults);
  if (injected.length > 0) lines.push(`Injected faults: ${injected.map(([kind, n]) => `${kind} ${n}`).join(', ')}`);
  lines.push(`Alerts: ${r.alerts.length}`);
  for (const a of r.alerts) lines.push(`   ${a.severity} ${a.type}: ${a.message}`);
  return lines.join('\n');
}

/** One line per session for range runs. */
export function formatSessionLine(r: SessionReport): string {
  const submitted = r.orders.filter((o) => o.submittedThisRun).length;
  return `${r.tradingDate}  ${r.tradingState.padEnd(8)} orders ${String(submitted).padStart(2)}  fills ${String(r.fills.length).padStart(2)}  positions ${String(r.positions.length).padStart(2)}  quarantined ${String(r.quarantined.length).padStart(2)}  equity ${formatUsd(r.equity)} USD${faultNote(r)}${r.alerts.some((a) => a.severity === 'CRITICAL') ? '  CRITICAL alert' : ''}${r.executionError ? '  EXECUTION FAILED' : ''}`;
}

function faultNote(r: SessionReport): string {
  const n = Object.values(r.faults).reduce((a, b) => a + b, 0);
  return n > 0 ? `  injected faults ${n}` : '';
}

/** Summary block for range runs. */
export function formatRangeSummary(s: RangeSummary): string {
  return [
    `== ${s.sessions} sessions ${s.from} .. ${s.to}`,
    `   equity ${formatUsd(s.startingEquity)} -> ${formatUsd(s.endingEquity)} USD (${formatPct(s.totalReturn)})`,
    `   orders submitted ${s.ordersSubmitted}, fills ${s.fills}, halted sessions ${s.haltedSessions}`,
    `   alerts ${Object.entries(s.alerts).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `   risk limits fired ${Object.entries(s.riskFirings).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    `   drift vs backtest: ${s.drift.compared} orders compared over ${s.drift.sessions} sessions, ${s.drift.differing} differ${Object.keys(s.drift.byCode).length ? ` (${Object.entries(s.drift.byCode).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}, mean fill-price gap ${bps(s.drift.meanGapBps)}${s.drift.errors ? `; not computed in ${s.drift.errors} sessions` : ''}`,
    ...(s.costs ? [`   costs: commission ${s.costs.commissionPerShare} USD per share, slippage ${s.costs.slippageBps} bps`] : []),
    ...(s.metrics ? formatMetrics(s.metrics) : []),
    ...(s.htmlReport ? [`   HTML report: ${s.htmlReport}`] : []),
  ].join('\n');
}

/** The metrics as aligned `label  value` lines, grouped as in METRIC_DOCS. */
function formatMetrics(m: PerformanceMetrics): string[] {
  const lines: string[] = [];
  let group = '';
  for (const doc of METRIC_DOCS) {
    if (doc.group !== group) {
      group = doc.group;
      lines.push(`   -- ${group}`);
    }
    lines.push(`      ${doc.label.padEnd(30)} ${formatMetric(m[doc.key], doc.unit)}`);
  }
  return lines;
}
