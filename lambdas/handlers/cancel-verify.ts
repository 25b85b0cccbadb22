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
 *
 * A failure on one order is collected, not thrown at once: reconciliation and the protection
 * check always run, and the step fails afterwards (so the state machine alerts) naming each order.
 *
 * Artifact out: VERIFICATION.
 */
import { findUnprotectedPositions, parentFilledFromLedger, type Discrepancy, type LedgerFill, type UnprotectedPosition } from '../core/ledger';
import type { Deps } from '../wiring/deps';
import { lambdaDeps, makeStepHandler } from './shared/middleware';
import { ARTIFACTS, PipelineStateSchema, type PipelineState } from './shared/pipeline-state';
import { cancelStaleEntries, reconcileWithBroker, syncOpenOrders, type StaleCancel } from './shared/reconcile';

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
}

export interface VerifySummary {
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

  const artifact: VerificationArtifact = {
    synced: synced.synced,
    fillsRecorded: synced.fills.length + cancelFills.length,
    cancels,
    mismatches: reconciliation.discrepancies,
    unprotected,
    errors,
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
  };
}

/** The step as a middy Lambda handler running with the given deps (the local runner passes its own). */
export const createHandler = (getDeps: () => Deps) => makeStepHandler('cancel-verify', PipelineStateSchema, cancelVerifyStep, getDeps);
/** Lambda entry point: deps from the function's environment. */
export const handler = createHandler(lambdaDeps());
