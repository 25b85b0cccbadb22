/**
 * Step 6, cancel-verify (runs after the session close, behind the Wait state):
 *
 *   1. Sync: every open ledger order (and recently closed ones, for late fills) is read back from
 *      the broker and applied through the lifecycle (shared/reconcile.ts, syncOpenOrders).
 *   2. Cancel: entries that outlived their time in force are cancelled through cancel-and-verify
 *      (shared/cancel-and-verify.ts), which confirms each cancel by reading the order back. A
 *      cancel that raced a fill records the fill (the position is real and its stop-loss leg
 *      protects it); no exit order is ever sent from here. An unresolved cancel latches HALTED.
 *   3. Reconcile: positions from the ledger's fills against the broker's, and the broker's open
 *      orders against the ledger; any discrepancy latches HALTED (or REDUCING) + CRITICAL.
 *   4. Protection: every long position must be covered by a live stop, else CRITICAL.
 *   5. Execution quality: HIGH alert when fewer than `fillRateAlertBelow` of today's entries filled,
 *      or an entry filled more than `slippageAlertBps` worse than its decision price (the last close,
 *      recovered from the limit as limit / (1 + entryLimitBps / 10 000)).
 *   6. Judges the day's whole loss on the daily-loss ladder (the morning's check only saw it up to
 *      09:45): CRITICAL DAILY_LOSS_LIMIT at the hard stop, HIGH DAILY_LOSS beyond half of it; then
 *      records the session's closing equity and cash (tomorrow's daily-loss start, and the equity
 *      curve the metric gates read).
 *   7. Drift: what the backtest engine would have done with the run's decisions on the session's
 *      bar, against the live orders and fills (shared/drift.ts), stored as artifact DRIFT; only its
 *      counts and mean gap go into the output. A failure there never fails the step nor touches
 *      trading: it is recorded as `{ error }` in DRIFT with a MEDIUM alert DRIFT_UNAVAILABLE.
 *
 * A failure on one order is collected, not thrown at once: reconciliation and the protection
 * check always run, and the step fails afterwards (so the state machine alerts) naming each order.
 *
 * Artifacts out: VERIFICATION, DRIFT.
 */
import { findUnprotectedPositions, parentFilledFromLedger, type Discrepancy, type LedgerFill, type UnprotectedPosition } from '../core/ledger';
import { dec } from '../core/money';
import { assessDailyLoss, type DailyLossAssessment } from '../core/risk/kernel';
import type { Deps } from '../wiring/deps';
import { lambdaDeps, makeStepHandler } from './shared/middleware';
import { ARTIFACTS, PipelineStateSchema, type PipelineState } from './shared/pipeline-state';
import { cancelStaleEntries, reconcileWithBroker, syncOpenOrders, type StaleCancel } from './shared/reconcile';
import { driftOutputFields, recordSessionDrift, type DriftOutputFields, type DriftSummary } from './shared/drift';

export { LATE_FILL_LOOKBACK_MS } from './shared/reconcile';

/** Artifact VERIFICATION. */
export interface VerificationArtifact {
  synced: number;
  fillsRecorded: number;
  cancels: StaleCancel[];
  mismatches: Discrepancy[];
  unprotected: UnprotectedPosition[];
  /** Orders that could not be synced or cancelled this run (the step fails after the checks). */
  errors: string[];
  /** Fill rate and slippage of today's entries (absent in artifacts written before it existed). */
  quality?: ExecutionQuality;
  /** The day's P&L at the close on the daily-loss ladder (HIGH / CRITICAL alerts raised from it). */
  dailyLoss?: DailyLossAssessment;
  /** Live-vs-backtest drift of the session, summarized (artifact DRIFT has the rows). */
  drift?: DriftSummary;
}

/** Execution quality of one session's entries. Slippage in bps of the decision price, + = paid more. */
export interface ExecutionQuality {
  entriesSent: number;
  entriesFilled: number;
  slippageBps: Array<{ symbol: string; bps: number }>;
}

export interface VerifySummary extends DriftOutputFields {
  synced: number;
  fillsRecorded: number;
  canceled: number;
  cancelRacedFill: number;
  mismatches: number;
  unprotected: number;
}

/**
 * Runs the after-close verification (see module doc).
 * @returns counts of synced orders, fills recorded, cancels, mismatches and unprotected positions.
 * @throws Error naming every order that could not be synced or cancelled, after all checks ran.
 */
export async function cancelVerifyStep(state: PipelineState, deps: Deps): Promise<VerifySummary> {
  const base = { runId: state.runId, tradingDate: state.tradingDate };
  const nowIso = () => deps.clock.now().toISOString();

  const synced = await syncOpenOrders(deps, base);
  const errors = [...synced.errors];
  const cancelFills: LedgerFill[] = [];
  const cancels = await cancelStaleEntries(deps, synced.records.values(), base, errors, cancelFills);
  const reconciliation = await reconcileWithBroker(deps, base);

  const unprotected = findUnprotectedPositions(
    reconciliation.brokerPositions,
    reconciliation.brokerOpenOrders,
    parentFilledFromLedger(await deps.ledger.listOrders()),
  );
  if (unprotected.length > 0) {
    await deps.alerts.publish({
      severity: 'CRITICAL',
      type: 'UNPROTECTED_POSITION',
      message: `positions without a working stop-loss: ${unprotected.map((u) => `${u.symbol} ${u.qty} sh (stops cover ${u.protectedQty})`).join('; ')}`,
      runId: state.runId,
      tradingDate: state.tradingDate,
      at: nowIso(),
      details: { unprotected },
    });
  }

  // Execution quality of today's entries.
  const entries = (await deps.ledger.listOrders()).filter(
    (o) => o.purpose === 'entry' && o.parentClientOrderId === null && o.tradingDate === state.tradingDate && o.brokerOrderId !== null,
  );
  const filled = entries.filter((o) => dec(o.filledQty).gt(0));
  const quality: ExecutionQuality = { entriesSent: entries.length, entriesFilled: filled.length, slippageBps: [] };
  for (const o of filled) {
    if (!o.limitPrice || !o.filledAvgPrice) continue;
    const reference = dec(o.limitPrice).div(dec(1).plus(dec(deps.config.entryLimitBps).div(10_000)));
    const bps = dec(o.filledAvgPrice).div(reference).minus(1).times(10_000).toNumber();
    quality.slippageBps.push({ symbol: o.symbol, bps });
    if (bps > deps.config.slippageAlertBps) {
      await deps.alerts.publish({
        severity: 'HIGH',
        type: 'SLIPPAGE',
        message: `${o.clientOrderId} filled at ${o.filledAvgPrice}, ${bps.toFixed(1)} bps above its decision price ${reference.toFixed(4)} (threshold ${deps.config.slippageAlertBps} bps)`,
        runId: state.runId,
        tradingDate: state.tradingDate,
        at: nowIso(),
      });
    }
  }
  if (entries.length > 0 && filled.length / entries.length < deps.config.fillRateAlertBelow) {
    await deps.alerts.publish({
      severity: 'HIGH',
      type: 'FILL_RATE',
      message: `${filled.length} of ${entries.length} entries filled today (${((100 * filled.length) / entries.length).toFixed(0)}% < ${(100 * deps.config.fillRateAlertBelow).toFixed(0)}%)`,
      runId: state.runId,
      tradingDate: state.tradingDate,
      at: nowIso(),
    });
  }

  // The session's closing equity: tomorrow's daily-loss start and a point of the metric gates' curve.
  let dailyLoss: DailyLossAssessment | undefined;
  if (state.session.closeUtc && Date.parse(nowIso()) >= Date.parse(state.session.closeUtc)) {
    const account = await deps.broker.getAccount();
    // The day's loss as the session closed: the morning's check saw only the loss up to 09:45.
    const previous = (await deps.tradingState.listEquity(state.tradingDate, 1))[0];
    const start = previous?.equity ?? (await deps.tradingState.getSnapshot(state.tradingDate))?.equity;
    if (start !== undefined) {
      dailyLoss = assessDailyLoss(dec(start), dec(account.equity), deps.config);
      const alert = (severity: 'HIGH' | 'CRITICAL', type: string, message: string) =>
        deps.alerts.publish({ severity, type, message, runId: state.runId, tradingDate: state.tradingDate, at: nowIso() });
      if (dailyLoss.rung === 'hard') {
        await alert('CRITICAL', 'DAILY_LOSS_LIMIT', `DAILY_LOSS_LIMIT: the session closed with ${dailyLoss.text} <= -${(100 * deps.config.dailyLossHardFraction).toFixed(2)}%`);
      } else if (dailyLoss.beyondHalfLimit) {
        await alert('HIGH', 'DAILY_LOSS', `DAILY_LOSS: the session closed with ${dailyLoss.text}, beyond half the -${(100 * deps.config.dailyLossHardFraction).toFixed(2)}% limit`);
      }
    }
    await deps.tradingState.putEquity({ date: state.tradingDate, equity: account.equity, cash: account.cash, at: nowIso() });
  }

  // Live-vs-backtest drift: a report only; recordSessionDrift never throws.
  const drift = await recordSessionDrift(deps, state);

  const artifact: VerificationArtifact = {
    synced: synced.synced,
    fillsRecorded: synced.fills.length + cancelFills.length,
    cancels,
    mismatches: reconciliation.discrepancies,
    unprotected,
    errors,
    quality,
    ...(dailyLoss ? { dailyLoss } : {}),
    drift,
  };
  await deps.artifacts.put(state.runId, ARTIFACTS.verification, artifact, deps.clock.now());
  if (errors.length > 0) {
    // Fail the step (the state machine then pages the owner) after every check above has run.
    throw new Error(`cancel-verify could not sync or cancel ${errors.length} order(s): ${errors.join(' | ')}`);
  }
  return {
    synced: artifact.synced,
    fillsRecorded: artifact.fillsRecorded,
    canceled: cancels.filter((c) => c.outcome === 'canceled').length,
    cancelRacedFill: cancels.filter((c) => c.outcome === 'filled_before_cancel' || c.outcome === 'partially_filled_then_canceled').length,
    mismatches: artifact.mismatches.length,
    unprotected: unprotected.length,
    ...driftOutputFields(drift),
  };
}

/** The step as a middy Lambda handler running with the given deps (the local runner passes its own). */
export const createHandler = (getDeps: () => Deps) => makeStepHandler('cancel-verify', PipelineStateSchema, cancelVerifyStep, getDeps);
/** Lambda entry point: deps from the function's environment. */
export const handler = createHandler(lambdaDeps());
