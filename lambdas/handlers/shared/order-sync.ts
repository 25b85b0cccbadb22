/**
 * Bringing ledger records in line with the broker: record fills first (idempotent, keyed by
 * cumulative qty and carrying the broker's execution id), then the status change (conditional on
 * version, judged by the lifecycle transition table), then any new legs.
 * Used by the orders step (adopting an existing order), reconciliation and cancel-verify.
 */
import { applyBrokerOrder, legRecords, type LedgerFill, type LedgerOrder } from '../../core/ledger';
import type { BrokerExecution, BrokerOrder } from '../../ports';
import { VersionConflictError } from '../../adapters/dynamodb/order-ledger';
import type { Deps } from '../../wiring/deps';

/** Tries of the read-apply-write cycle before a version conflict is given up on. */
const SYNC_ATTEMPTS = 5;

export interface SyncContext {
  runId: string;
  tradingDate: string;
  /** ISO-8601 UTC. */
  now: string;
  /** Broker executions known to this run (any orders), for exact fill prices and execution ids. */
  executions?: readonly BrokerExecution[];
}

export interface SyncResult {
  record: LedgerOrder;
  /** Fill increments written by this sync (replays write nothing and are not listed). */
  fills: LedgerFill[];
  /** Leg records created by this sync (e.g. the stop-loss leg of a new OTO entry), broker fills applied. */
  newLegs: LedgerOrder[];
  /** Fill increments of newly created legs written by this sync. */
  legFills: LedgerFill[];
  /** Set when the broker reported an illegal transition: nothing of it was applied (alerted CRITICAL). */
  refused?: string;
}

/**
 * Applies the broker's view of one order to its ledger record.
 * Order of writes matters for crash safety: fill items are written before the record's filledQty
 * moves, so a crash in between re-derives the same fill keys next time (no-ops).
 * A version conflict (another execution synced the same order first) is resolved by re-reading
 * the record and re-applying the broker's view, up to SYNC_ATTEMPTS times: every step is
 * idempotent, so concurrent executions converge instead of failing.
 * Alerts: CRITICAL `ORDER_TRANSITION_REFUSED` for an illegal transition (not applied), CRITICAL
 * `LATE_FILL` for a fill reported after a cancel or expiry (applied).
 * @throws VersionConflictError if the record keeps changing underneath after SYNC_ATTEMPTS tries.
 */
export async function syncWithBroker(
  deps: Pick<Deps, 'ledger' | 'alerts'>,
  record: LedgerOrder,
  broker: BrokerOrder,
  ctx: SyncContext,
): Promise<SyncResult> {
  let current = record;
  const fills: LedgerFill[] = [];
  let update: ReturnType<typeof applyBrokerOrder>;
  for (let attempt = 1; ; attempt++) {
    update = applyBrokerOrder(current, broker, ctx.runId, ctx.now, ctx.executions ?? []);
    for (const fill of update.fills) if (await deps.ledger.recordFill(fill)) fills.push(fill);
    if (!update.changes) break;
    try {
      current = await deps.ledger.update(current, update.changes);
      break;
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= SYNC_ATTEMPTS) throw error;
      const fresh = await deps.ledger.get(current.clientOrderId);
      if (!fresh) throw error;
      current = fresh;
    }
  }
  const alert = (type: string, message: string) =>
    deps.alerts.publish({ severity: 'CRITICAL', type, message, runId: ctx.runId, tradingDate: ctx.tradingDate, at: ctx.now });
  if (update.refused) await alert('ORDER_TRANSITION_REFUSED', update.refused);
  if (update.lateFill) await alert('LATE_FILL', update.lateFill);
  if (fills.length > 0 && broker.status === 'partially_filled') {
    await deps.alerts.publish({
      severity: 'LOW',
      type: 'PARTIAL_FILL',
      message: `${current.clientOrderId} (${current.symbol} ${current.side}) partially filled: ${broker.filledQty} of ${broker.qty} sh`,
      runId: ctx.runId,
      tradingDate: ctx.tradingDate,
      at: ctx.now,
    });
  }

  const newLegs: LedgerOrder[] = [];
  const legFills: LedgerFill[] = [];
  if (!update.refused) {
    for (const leg of legRecords(current, broker, ctx.runId, ctx.now)) {
      const put = await deps.ledger.putIntent(leg);
      if (!put.created) continue;
      // A leg first seen already (partly) filled — e.g. the stop of an order adopted after it fired —
      // is created with the broker's status and filledQty 0: apply the broker's leg now, or its fill
      // would never be recorded.
      const brokerLeg = broker.legs.find((l) => l.clientOrderId === leg.clientOrderId)!;
      const synced = await syncWithBroker(deps, { ...leg, status: 'pending_submit' }, brokerLeg, ctx);
      legFills.push(...synced.fills, ...synced.legFills);
      newLegs.push(synced.record, ...synced.newLegs);
    }
  }
  return { record: current, fills, newLegs, legFills, ...(update.refused ? { refused: update.refused } : {}) };
}
