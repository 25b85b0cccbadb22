/**
 * Bringing ledger records in line with the broker: record fills first (idempotent, keyed by
 * cumulative qty), then the status change (conditional on version), then any new legs.
 * Used by the orders step (adopting an existing order) and by cancel-verify.
 */
import { applyBrokerOrder, legRecords, type LedgerFill, type LedgerOrder } from '../../core/ledger';
import type { BrokerOrder } from '../../ports';
import { VersionConflictError } from '../../adapters/dynamodb/order-ledger';
import type { Deps } from '../../wiring/deps';

/** Tries of the read-apply-write cycle before a version conflict is given up on. */
const SYNC_ATTEMPTS = 5;

export interface SyncContext {
  runId: string;
  tradingDate: string;
  /** ISO-8601 UTC. */
  now: string;
}

export interface SyncResult {
  record: LedgerOrder;
  /** Fill increment written by this sync, if any. */
  fill?: LedgerFill;
  /** Leg records created by this sync (e.g. the stop-loss leg of a new OTO entry), broker fills applied. */
  newLegs: LedgerOrder[];
  /** Fill increments of newly created legs written by this sync. */
  legFills: LedgerFill[];
}

/**
 * Applies the broker's view of one order to its ledger record.
 * Order of writes matters for crash safety: the fill item is written before the record's
 * filledQty moves, so a crash in between re-derives the same fill key next time (a no-op).
 * A version conflict (another execution synced the same order first) is resolved by re-reading
 * the record and re-applying the broker's view, up to SYNC_ATTEMPTS times: every step is
 * idempotent, so concurrent executions converge instead of failing.
 * @throws VersionConflictError if the record keeps changing underneath after SYNC_ATTEMPTS tries.
 */
export async function syncWithBroker(
  deps: Pick<Deps, 'ledger' | 'alerts'>,
  record: LedgerOrder,
  broker: BrokerOrder,
  ctx: SyncContext,
): Promise<SyncResult> {
  let current = record;
  let fill: LedgerFill | undefined;
  let update: ReturnType<typeof applyBrokerOrder>;
  for (let attempt = 1; ; attempt++) {
    update = applyBrokerOrder(current, broker, ctx.runId, ctx.now);
    if (update.fill && (await deps.ledger.recordFill(update.fill))) fill = update.fill;
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
  if (update.anomaly) {
    await deps.alerts.publish({
      severity: 'CRITICAL',
      type: 'ORDER_ANOMALY',
      message: update.anomaly,
      runId: ctx.runId,
      tradingDate: ctx.tradingDate,
      at: ctx.now,
    });
  }
  const newLegs: LedgerOrder[] = [];
  const legFills: LedgerFill[] = [];
  for (const leg of legRecords(current, broker, ctx.runId, ctx.now)) {
    const put = await deps.ledger.putIntent(leg);
    if (!put.created) continue;
    // A leg first seen already (partly) filled — e.g. the stop of an order adopted after it fired —
    // is created with the broker's terminal status and filledQty 0: apply the broker's leg now, or
    // its fill would never be recorded (nothing re-reads a terminal ledger record).
    const brokerLeg = broker.legs.find((l) => l.clientOrderId === leg.clientOrderId)!;
    const synced = await syncWithBroker(deps, leg, brokerLeg, ctx);
    if (synced.fill) legFills.push(synced.fill);
    legFills.push(...synced.legFills);
    newLegs.push(synced.record, ...synced.newLegs);
  }
  return { record: current, ...(fill ? { fill } : {}), newLegs, legFills };
}
