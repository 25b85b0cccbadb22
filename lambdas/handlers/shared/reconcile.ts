/**
 * Ledger ↔ broker reconciliation, shared by the start of every run (risk-check) and the
 * after-close verification (cancel-verify):
 *
 * - `syncOpenOrders`: every open ledger order (and every order closed as canceled/expired within
 *   LATE_FILL_LOOKBACK_MS, since a late fill is still a fill) is read back from the broker and
 *   applied through the lifecycle; executions supply exact fill prices and execution ids.
 * - `cancelStaleEntries`: entries past their time in force are cancelled through cancel-and-verify.
 * - `reconcileWithBroker`: positions derived from the ledger's fills against the broker's
 *   positions, and the broker's open orders against the ledger. Any discrepancy (local_only,
 *   broker_only, quantity_mismatch, unknown_open_order) latches the configured trading state
 *   (HALTED by default, REDUCING if configured) and raises a CRITICAL alert: fail-closed.
 *
 * One order's failure never skips the rest: errors are collected and returned.
 */
import {
  describeDiscrepancy,
  findUnknownOpenOrders,
  isExpiredEntry,
  isLedgerOpen,
  positionsFromFills,
  reconcilePositions,
  type Discrepancy,
  type LedgerFill,
  type LedgerOrder,
  type LedgerStatus,
} from '../../core/ledger';
import { BrokerError, type BrokerExecution, type BrokerOrder, type BrokerPosition } from '../../ports';
import type { Deps } from '../../wiring/deps';
import { cancelAndVerify, type CancelOutcome } from './cancel-and-verify';
import { syncWithBroker, type SyncContext } from './order-sync';

/**
 * Orders the ledger closed as canceled or expired are read back from the broker for this long
 * after their last ledger change: a fill the broker reports after a cancel (a late fill) is still a
 * fill, and must reach the ledger rather than surface only as a reconciliation mismatch.
 */
export const LATE_FILL_LOOKBACK_MS = 7 * 86_400_000;
const LATE_FILL_STATUSES: ReadonlySet<LedgerStatus> = new Set(['canceled', 'expired']);

export interface SyncSummary {
  synced: number;
  /** Fill increments written (replays excluded). */
  fills: LedgerFill[];
  /** Ledger records after the sync, by client_order_id (only the orders looked at). */
  records: Map<string, LedgerOrder>;
  /** `what: error` per order that could not be synced. */
  errors: string[];
}

/** Runs `fn`, turning an exception into an entry of `errors`. */
export async function collectErrors(errors: string[], what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    errors.push(`${what}: ${(error as Error).name}: ${(error as Error).message}`);
  }
}

/**
 * The broker's executions since `LATE_FILL_LOOKBACK_MS` before the oldest order to be synced.
 * @returns [] when the broker cannot list them (not an error: fills then come from the orders'
 *   filled qty, exact in quantity, priced from the average fill price, with no execution id).
 */
async function recentExecutions(deps: Deps, orders: readonly LedgerOrder[], now: string): Promise<BrokerExecution[]> {
  if (orders.length === 0) return [];
  const oldest = Math.min(...orders.map((o) => Date.parse(o.createdAt)), Date.parse(now));
  const after = new Date(oldest - LATE_FILL_LOOKBACK_MS).toISOString();
  try {
    return await deps.broker.listExecutions({ after });
  } catch {
    return [];
  }
}

/** Reads one ledger order from the broker: by broker id, else by client_order_id. 404 → undefined. */
async function lookup(deps: Deps, record: LedgerOrder): Promise<BrokerOrder | undefined> {
  if (!record.brokerOrderId) return deps.broker.getOrderByClientOrderId(record.clientOrderId);
  try {
    return await deps.broker.getOrder(record.brokerOrderId);
  } catch (error) {
    if (error instanceof BrokerError && error.status === 404) return deps.broker.getOrderByClientOrderId(record.clientOrderId);
    throw error;
  }
}

/**
 * Syncs every open ledger order, and recently closed ones for late fills (see module doc).
 * Parents go first so the legs they reveal are synced in the same pass. An intent that never
 * reached the broker and is past its time in force is closed as expired; a non-pending order the
 * broker does not know raises CRITICAL ORDER_MISSING_AT_BROKER.
 * @throws only when the ledger cannot be listed.
 */
export async function syncOpenOrders(deps: Deps, base: Omit<SyncContext, 'now' | 'executions'>): Promise<SyncSummary> {
  const now = () => deps.clock.now().toISOString();
  const summary: SyncSummary = { synced: 0, fills: [], records: new Map(), errors: [] };
  const checkFrom = Date.parse(now()) - LATE_FILL_LOOKBACK_MS;
  const due = (await deps.ledger.listOrders()).filter(
    (o) => isLedgerOpen(o.status) || (LATE_FILL_STATUSES.has(o.status) && o.brokerOrderId !== null && Date.parse(o.updatedAt) >= checkFrom),
  );
  due.sort((a, b) => Number(a.parentClientOrderId !== null) - Number(b.parentClientOrderId !== null));
  const executions = await recentExecutions(deps, due, now());
  const ctx = (): SyncContext => ({ ...base, now: now(), executions });

  const sync = async (record: LedgerOrder): Promise<void> => {
    const broker = await lookup(deps, record);
    if (!broker) {
      if (record.status === 'pending_submit' && isExpiredEntry(record, now())) {
        summary.records.set(
          record.clientOrderId,
          await deps.ledger.update(record, { status: 'expired', statusReason: 'intent never reached the broker; time in force over', updatedAt: now() }),
        );
        return;
      }
      if (record.status !== 'pending_submit') {
        await deps.alerts.publish({
          severity: 'CRITICAL',
          type: 'ORDER_MISSING_AT_BROKER',
          message: `${record.clientOrderId} (${record.symbol}) is ${record.status} in the ledger but unknown to the broker`,
          runId: base.runId,
          tradingDate: base.tradingDate,
          at: now(),
        });
      }
      summary.records.set(record.clientOrderId, record);
      return;
    }
    const result = await syncWithBroker(deps, record, broker, ctx());
    summary.synced += 1;
    summary.fills.push(...result.fills, ...result.legFills);
    summary.records.set(record.clientOrderId, result.record);
    for (const leg of result.newLegs) summary.records.set(leg.clientOrderId, leg);
  };

  for (const record of due) await collectErrors(summary.errors, `sync ${record.clientOrderId}`, () => sync(record));
  return summary;
}

/** One cancel made by cancelStaleEntries. */
export interface StaleCancel {
  clientOrderId: string;
  symbol: string;
  outcome: CancelOutcome;
  /** Shares filled before the cancel took effect, when any. */
  filledQty?: string;
}

/**
 * Cancels, through cancel-and-verify, every open entry whose time in force is over (an entry of an
 * earlier session still working). Stop-loss and take-profit legs are never touched: they protect
 * positions. A cancel that raced a fill raises a MEDIUM alert (the position is real and its stop leg
 * protects it; no exit is sent from here). An unresolved cancel (already HALTED + CRITICAL) is
 * also recorded in `errors`, so the step fails and the workflow pages.
 * @param fills receives the fill increments the cancels wrote.
 */
export async function cancelStaleEntries(
  deps: Deps,
  records: Iterable<LedgerOrder>,
  base: Omit<SyncContext, 'now'>,
  errors: string[],
  fills: LedgerFill[] = [],
): Promise<StaleCancel[]> {
  const now = () => deps.clock.now().toISOString();
  const out: StaleCancel[] = [];
  for (const record of records) {
    if (!isExpiredEntry(record, now()) || !record.brokerOrderId) continue;
    await collectErrors(errors, `cancel ${record.clientOrderId}`, async () => {
      const result = await cancelAndVerify(deps, record, { ...base, now: now() });
      fills.push(...result.fills);
      const filledQty = 'filledQty' in result ? result.filledQty : undefined;
      out.push({ clientOrderId: record.clientOrderId, symbol: record.symbol, outcome: result.outcome, ...(filledQty ? { filledQty } : {}) });
      if (result.outcome === 'unresolved') {
        // Already latched HALTED + CRITICAL by cancelAndVerify; also fail the step so the workflow pages.
        throw new Error(`CANCEL_UNRESOLVED: ${result.reason}`);
      }
      if (result.outcome === 'filled_before_cancel' || result.outcome === 'partially_filled_then_canceled') {
        await deps.alerts.publish({
          severity: 'MEDIUM',
          type: 'CANCEL_RACED_FILL',
          message: `${record.clientOrderId} (${record.symbol}) filled ${filledQty} before the cancel: fill recorded, position kept under its stop-loss leg, no exit sent`,
          runId: base.runId,
          tradingDate: base.tradingDate,
          at: now(),
        });
      }
    });
  }
  return out;
}

/** What reconcileWithBroker found. */
export interface ReconciliationResult {
  discrepancies: Discrepancy[];
  brokerPositions: BrokerPosition[];
  brokerOpenOrders: BrokerOrder[];
  /** The trading state latched because of the discrepancies, if any. */
  latched?: 'HALTED' | 'REDUCING';
}

/**
 * Compares the ledger with the broker (positions from fills; open orders) and fails closed on any
 * discrepancy: latches `config.reconciliationMismatchState` and raises CRITICAL
 * RECONCILIATION_MISMATCH naming each one.
 * @throws when the broker or the ledger cannot be read (callers treat that as a failed run).
 */
export async function reconcileWithBroker(deps: Deps, base: Omit<SyncContext, 'now' | 'executions'>): Promise<ReconciliationResult> {
  const now = deps.clock.now().toISOString();
  // Sequential on purpose: a broker may update its state on each call (the paper broker catches up).
  const brokerPositions = await deps.broker.listPositions();
  const brokerOpenOrders = await deps.broker.listOrders({ status: 'open' });
  const fills = await deps.ledger.listFills();
  const orders = await deps.ledger.listOrders();
  const discrepancies: Discrepancy[] = [
    ...reconcilePositions(positionsFromFills(fills), brokerPositions),
    ...findUnknownOpenOrders(new Set(orders.map((o) => o.clientOrderId)), brokerOpenOrders),
  ];
  if (discrepancies.length === 0) return { discrepancies, brokerPositions, brokerOpenOrders };
  const latched = deps.config.reconciliationMismatchState;
  const cause = `RECONCILIATION_MISMATCH: ${discrepancies.map(describeDiscrepancy).join('; ')}`;
  await deps.tradingState.setLatch({ state: latched, cause, since: now });
  await deps.alerts.publish({
    severity: 'CRITICAL',
    type: 'RECONCILIATION_MISMATCH',
    message: `${cause}. Trading state set to ${latched}; re-arm the kill switch after fixing.`,
    runId: base.runId,
    tradingDate: base.tradingDate,
    at: now,
    details: { discrepancies },
  });
  return { discrepancies, brokerPositions, brokerOpenOrders, latched };
}
