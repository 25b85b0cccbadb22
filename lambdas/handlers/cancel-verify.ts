/**
 * Step 6, cancel-verify (runs after the session close, behind the Wait state):
 *
 *   1. Sync: every open ledger order is read back from the broker; fills are recorded once each,
 *      statuses adopted, new legs (stop-loss) added. An intent that never reached the broker and
 *      is past its time in force is closed as expired. Orders closed as canceled/expired within
 *      LATE_FILL_LOOKBACK_MS are read back too: a late fill is recorded (and alerted CRITICAL).
 *   2. Cancel: entries that outlived their time in force are cancelled, and every cancel is
 *      CONFIRMED by reading the order back before anything is recorded. A cancel that raced a
 *      fill records the fill (the position is real and its stop-loss leg protects it); no exit
 *      order is ever sent from here.
 *   3. Reconcile: positions derived from the ledger's fills must equal the broker's. On any
 *      mismatch the trading state is latched HALTED and a CRITICAL alert goes out.
 *   4. Protection: every long position must be covered by working stop orders, else CRITICAL.
 *
 * A failure on one order is collected, not thrown at once: reconciliation and the protection
 * check always run, and the step fails afterwards (so the state machine alerts) naming each order.
 *
 * Artifact out: VERIFICATION.
 */
import {
  findUnprotectedPositions,
  isExpiredEntry,
  isLedgerOpen,
  positionsFromFills,
  reconcilePositions,
  type LedgerOrder,
  type LedgerStatus,
  type PositionMismatch,
  type UnprotectedPosition,
} from '../core/ledger';
import { dec } from '../core/money';
import { isOpenStatus } from '../core/order-status';
import { BrokerError, type BrokerOrder } from '../ports';
import type { Deps } from '../wiring/deps';
import { lambdaDeps, makeStepHandler } from './shared/middleware';
import { syncWithBroker } from './shared/order-sync';
import { ARTIFACTS, PipelineStateSchema, type PipelineState } from './shared/pipeline-state';

/**
 * Orders the ledger closed as canceled or expired are read back from the broker for this long
 * after their last ledger change: a fill the broker reports after a cancel (a late fill) is still a
 * fill, and must reach the ledger rather than surface only as a reconciliation mismatch.
 */
export const LATE_FILL_LOOKBACK_MS = 7 * 86_400_000;
const LATE_FILL_STATUSES: ReadonlySet<LedgerStatus> = new Set(['canceled', 'expired']);

/** How a confirmed cancel ended. */
export type CancelOutcome =
  | 'canceled' // confirmed canceled, nothing filled
  | 'filled_before_cancel' // the cancel raced a fill: the fill is recorded, no exit is sent
  | 'partially_filled_then_canceled'
  | 'pending_cancel' // the broker is still working on it: confirmed by a later run
  | 'still_open' // the read-back shows it working: retried by a later run
  | 'already_closed'; // expired or rejected before the cancel arrived

/** Artifact VERIFICATION. */
export interface VerificationArtifact {
  synced: number;
  fillsRecorded: number;
  cancels: Array<{ clientOrderId: string; symbol: string; outcome: CancelOutcome; status: string }>;
  mismatches: PositionMismatch[];
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
  const nowIso = () => deps.clock.now().toISOString();
  const ctx = () => ({ runId: state.runId, tradingDate: state.tradingDate, now: nowIso() });
  const alert = (severity: 'WARNING' | 'CRITICAL', type: string, message: string, details?: Record<string, unknown>) =>
    deps.alerts.publish({ severity, type, message, runId: state.runId, tradingDate: state.tradingDate, at: nowIso(), ...(details ? { details } : {}) });

  const artifact: VerificationArtifact = { synced: 0, fillsRecorded: 0, cancels: [], mismatches: [], unprotected: [], errors: [] };

  /** Reads one ledger order from the broker and applies it; follows new legs too. */
  const sync = async (record: LedgerOrder): Promise<LedgerOrder> => {
    const broker = await lookup(record);
    if (!broker) {
      if (record.status === 'pending_submit' && isExpiredEntry(record, nowIso())) {
        return deps.ledger.update(record, { status: 'expired', statusReason: 'intent never reached the broker; time in force over', updatedAt: nowIso() });
      }
      if (record.status !== 'pending_submit') {
        await alert('CRITICAL', 'ORDER_MISSING_AT_BROKER', `${record.clientOrderId} (${record.symbol}) is ${record.status} in the ledger but unknown to the broker`);
      }
      return record;
    }
    const result = await syncWithBroker(deps, record, broker, ctx());
    artifact.synced += 1;
    if (result.fill) artifact.fillsRecorded += 1;
    artifact.fillsRecorded += result.legFills.length;
    for (const leg of result.newLegs) await sync(leg);
    return result.record;
  };

  const lookup = async (record: LedgerOrder): Promise<BrokerOrder | undefined> => {
    if (!record.brokerOrderId) return deps.broker.getOrderByClientOrderId(record.clientOrderId);
    try {
      return await deps.broker.getOrder(record.brokerOrderId);
    } catch (error) {
      if (error instanceof BrokerError && error.status === 404) return undefined;
      throw error;
    }
  };

  // 1. Sync every open order (parents first so their legs appear, then the legs), and re-check
  //    orders that closed without filling recently: a broker may report a fill after a cancel.
  const checkFrom = Date.parse(nowIso()) - LATE_FILL_LOOKBACK_MS;
  const open = (await deps.ledger.listOrders()).filter(
    (o) => isLedgerOpen(o.status) || (LATE_FILL_STATUSES.has(o.status) && o.brokerOrderId !== null && Date.parse(o.updatedAt) >= checkFrom),
  );
  open.sort((a, b) => Number(a.parentClientOrderId !== null) - Number(b.parentClientOrderId !== null));
  // One order's failure (e.g. a network error) must not skip the checks below: errors are
  // collected, reconciliation and protection still run, and the step fails at the end.
  const errors: string[] = [];
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      errors.push(`${what}: ${(error as Error).name}: ${(error as Error).message}`);
    }
  };

  const synced = new Map<string, LedgerOrder>();
  for (const record of open) {
    await attempt(`sync ${record.clientOrderId}`, async () => {
      synced.set(record.clientOrderId, await sync(record));
    });
  }

  // 2. Cancel entries past their time in force; confirm each with the broker before recording.
  for (const record of synced.values()) {
    if (!isExpiredEntry(record, nowIso()) || !record.brokerOrderId) continue;
    await attempt(`cancel ${record.clientOrderId}`, () => cancelAndConfirm(record, record.brokerOrderId!));
  }

  async function cancelAndConfirm(record: LedgerOrder, brokerOrderId: string): Promise<void> {
    try {
      await deps.broker.cancelOrder(brokerOrderId);
    } catch (error) {
      // 422: no longer cancelable (filled or closed meanwhile) — the read-back below tells which.
      if (!(error instanceof BrokerError) || error.status !== 422) throw error;
    }
    const confirmed = await deps.broker.getOrder(brokerOrderId);
    const cancelSync = await syncWithBroker(deps, record, confirmed, ctx());
    const after = cancelSync.record;
    if (cancelSync.fill) artifact.fillsRecorded += 1;
    artifact.fillsRecorded += cancelSync.legFills.length;
    // Legs follow the parent (canceled with it, or live if it filled); their records exist now.
    for (const leg of confirmed.legs) {
      const legRecord = await deps.ledger.get(leg.clientOrderId);
      if (legRecord && isLedgerOpen(legRecord.status)) await sync(legRecord);
    }
    const outcome: CancelOutcome =
      confirmed.status === 'canceled'
        ? dec(confirmed.filledQty).isZero()
          ? 'canceled'
          : 'partially_filled_then_canceled'
        : confirmed.status === 'filled'
          ? 'filled_before_cancel'
          : confirmed.status === 'pending_cancel'
            ? 'pending_cancel'
            : isOpenStatus(confirmed.status)
              ? 'still_open'
              : 'already_closed';
    artifact.cancels.push({ clientOrderId: after.clientOrderId, symbol: after.symbol, outcome, status: confirmed.status });
    if (outcome === 'filled_before_cancel' || outcome === 'partially_filled_then_canceled') {
      await alert(
        'WARNING',
        'CANCEL_RACED_FILL',
        `${after.clientOrderId} (${after.symbol}) filled ${confirmed.filledQty} before the cancel: fill recorded, position kept under its stop-loss leg, no exit sent`,
      );
    }
  }

  // 3. Reconcile positions: ledger fills vs broker.
  const ledgerPositions = positionsFromFills(await deps.ledger.listFills());
  const brokerPositions = await deps.broker.listPositions();
  artifact.mismatches = reconcilePositions(ledgerPositions, brokerPositions);
  if (artifact.mismatches.length > 0) {
    const cause = `RECONCILIATION_MISMATCH: ${artifact.mismatches.map((m) => `${m.symbol} ledger ${m.ledgerQty} vs broker ${m.brokerQty}`).join('; ')}`;
    await deps.tradingState.setLatch({ state: 'HALTED', cause, since: nowIso() });
    await alert('CRITICAL', 'RECONCILIATION_MISMATCH', `${cause}. Trading state set to HALTED; re-arm the kill switch after fixing.`, {
      mismatches: artifact.mismatches,
    });
  }

  // 4. Every long position must be protected by a working stop.
  artifact.unprotected = findUnprotectedPositions(brokerPositions, await deps.broker.listOrders({ status: 'open' }));
  if (artifact.unprotected.length > 0) {
    await alert(
      'CRITICAL',
      'UNPROTECTED_POSITION',
      `positions without a working stop-loss: ${artifact.unprotected.map((u) => `${u.symbol} ${u.qty} sh (stops cover ${u.protectedQty})`).join('; ')}`,
      { unprotected: artifact.unprotected },
    );
  }

  artifact.errors = errors;
  await deps.artifacts.put(state.runId, ARTIFACTS.verification, artifact, deps.clock.now());
  if (errors.length > 0) {
    // Fail the step (the state machine then pages the owner) after every check above has run.
    throw new Error(`cancel-verify could not sync or cancel ${errors.length} order(s): ${errors.join(' | ')}`);
  }
  return {
    synced: artifact.synced,
    fillsRecorded: artifact.fillsRecorded,
    canceled: artifact.cancels.filter((c) => c.outcome === 'canceled').length,
    cancelRacedFill: artifact.cancels.filter((c) => c.outcome === 'filled_before_cancel' || c.outcome === 'partially_filled_then_canceled').length,
    mismatches: artifact.mismatches.length,
    unprotected: artifact.unprotected.length,
  };
}

/** The step as a middy Lambda handler running with the given deps (the local runner passes its own). */
export const createHandler = (getDeps: () => Deps) => makeStepHandler('cancel-verify', PipelineStateSchema, cancelVerifyStep, getDeps);
/** Lambda entry point: deps from the function's environment. */
export const handler = createHandler(lambdaDeps());
