/**
 * Cancel-and-verify: the ONE way any code in this project cancels an order.
 *
 *   1. send the cancel (a 422 "not cancelable", a 404, a 5xx or a lost response are not failures
 *      by themselves: the read-back decides what happened);
 *   2. read the order back until it reaches a final status, polling at most CANCEL_POLL_DELAYS_MS
 *      more times (pending_cancel is waited out; an order still working after a read is sent the
 *      cancel once more — that is a rejected cancel, e.g. during pending_replace);
 *   3. record what the read-back shows in the ledger (fills first, then the status, legs too);
 *   4. return a typed outcome: canceled, filled before the cancel, or partially filled then
 *      canceled with the filled qty — so no caller can place an exit that assumes a cancel that did
 *      not happen.
 * Anything else after the bounded polling is UNRESOLVED: the trading state is latched HALTED and a
 * CRITICAL alert goes out (fail-safe). Callers must treat `unresolved` as "the order may still fill".
 */
import { isFinalState, STATE_OF } from '../../core/order-lifecycle';
import { dec } from '../../core/money';
import type { LedgerFill, LedgerOrder } from '../../core/ledger';
import { BrokerError, type BrokerOrder } from '../../ports';
import type { Deps } from '../../wiring/deps';
import { syncWithBroker, type SyncContext } from './order-sync';

/**
 * Delays before each read-back after the cancel, ms (about 6 s in all). Alpaca processes a cancel
 * within milliseconds when the venue acknowledges it; pending_cancel longer than this needs a person.
 */
export const CANCEL_POLL_DELAYS_MS: readonly number[] = [0, 250, 500, 1000, 2000, 2500];

/** The result of one cancel-and-verify. Quantities are decimal strings (shares). */
export type CancelResult = CancelVerdict & {
  /** Fill increments this cancel-and-verify wrote to the ledger (the order's and its legs'). */
  fills: LedgerFill[];
};

/** The outcome part of CancelResult. */
export type CancelVerdict =
  /** Confirmed canceled (or expired) with nothing filled. */
  | { outcome: 'canceled'; order: BrokerOrder; record: LedgerOrder }
  /** The order filled completely before the cancel reached it: the position changed. */
  | { outcome: 'filled_before_cancel'; filledQty: string; order: BrokerOrder; record: LedgerOrder }
  /** Part filled, the rest canceled: `filledQty` shares are now a position. */
  | { outcome: 'partially_filled_then_canceled'; filledQty: string; order: BrokerOrder; record: LedgerOrder }
  /** The broker has no such order (never reached it): nothing to cancel, nothing can fill. */
  | { outcome: 'not_at_broker'; record: LedgerOrder }
  /** Still not final after the bounded polling (or unreadable): HALTED + CRITICAL already done. */
  | { outcome: 'unresolved'; reason: string; order?: BrokerOrder; record: LedgerOrder };

export type CancelOutcome = CancelResult['outcome'];

/**
 * Cancels one ledger order at the broker and verifies the outcome (see module doc).
 * @param record the ledger record (must be the order to cancel; legs follow their parent).
 * @returns the typed outcome; the ledger already reflects it.
 * @throws only ledger (DynamoDB) errors; broker failures become `unresolved`.
 */
export async function cancelAndVerify(deps: Deps, record: LedgerOrder, ctx: SyncContext): Promise<CancelResult> {
  const fills: LedgerFill[] = [];
  const verdict = await cancelAndVerifyInner(deps, record, ctx, fills);
  return { ...verdict, fills };
}

async function cancelAndVerifyInner(deps: Deps, record: LedgerOrder, ctx: SyncContext, fills: LedgerFill[]): Promise<CancelVerdict> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let current = record;

  const readBack = async (): Promise<BrokerOrder | undefined> => {
    if (current.brokerOrderId) {
      try {
        return await deps.broker.getOrder(current.brokerOrderId);
      } catch (error) {
        if (!(error instanceof BrokerError) || error.status !== 404) throw error;
      }
    }
    return deps.broker.getOrderByClientOrderId(current.clientOrderId);
  };

  const unresolved = async (reason: string, order?: BrokerOrder): Promise<CancelVerdict> => {
    const cause = `CANCEL_UNRESOLVED: ${current.clientOrderId} (${current.symbol}) ${reason}`;
    await deps.tradingState.setLatch({ state: 'HALTED', cause, since: ctx.now });
    await deps.alerts.publish({
      severity: 'CRITICAL',
      type: 'CANCEL_UNRESOLVED',
      message: `${cause}. It may still fill; trading state set to HALTED until a person checks the broker and re-arms the kill switch.`,
      runId: ctx.runId,
      tradingDate: ctx.tradingDate,
      at: ctx.now,
    });
    return { outcome: 'unresolved', reason, ...(order ? { order } : {}), record: current };
  };

  const sendCancel = async (order: BrokerOrder | undefined): Promise<void> => {
    const id = order?.id ?? current.brokerOrderId;
    if (!id) return;
    try {
      await deps.broker.cancelOrder(id);
    } catch {
      // 422 not cancelable (filled/closed meanwhile), 404, 5xx or a lost response: the read-back decides.
    }
  };

  let order: BrokerOrder | undefined;
  try {
    order = await readBack();
  } catch (error) {
    return unresolved(`could not be read before the cancel (${(error as Error).message})`);
  }
  if (!order) {
    if (current.status === 'pending_submit' || current.brokerOrderId === null) return { outcome: 'not_at_broker', record: current };
    return unresolved(`is ${current.status} in the ledger but unknown to the broker`);
  }
  if (!isFinalState(STATE_OF[order.status])) await sendCancel(order);

  let resent = false;
  for (const delay of CANCEL_POLL_DELAYS_MS) {
    if (delay > 0) await sleep(delay);
    try {
      order = (await readBack()) ?? order;
    } catch {
      continue; // a failed read is retried by the next poll
    }
    const synced = await syncWithBroker(deps, current, order, ctx);
    current = synced.record;
    fills.push(...synced.fills, ...synced.legFills);
    // Legs follow the parent (canceled with it, or live if it filled): bring their records along.
    for (const leg of order.legs) {
      const legRecord = await deps.ledger.get(leg.clientOrderId);
      if (legRecord) fills.push(...(await syncWithBroker(deps, legRecord, leg, ctx)).fills);
    }
    if (synced.refused) return unresolved(`read-back refused by the lifecycle: ${synced.refused}`, order);
    const state = STATE_OF[order.status];
    if (isFinalState(state)) {
      const filled = dec(order.filledQty);
      if (order.status === 'filled') return { outcome: 'filled_before_cancel', filledQty: order.filledQty, order, record: current };
      if (order.status === 'canceled' || order.status === 'expired') {
        return filled.isZero()
          ? { outcome: 'canceled', order, record: current }
          : { outcome: 'partially_filled_then_canceled', filledQty: order.filledQty, order, record: current };
      }
      if (order.status === 'rejected') return { outcome: 'canceled', order, record: current };
      return unresolved(`ended ${order.status} after the cancel`, order);
    }
    if (state !== 'CANCELING' && !resent) {
      // Still working: the cancel was rejected (e.g. pending_replace) or lost. Send it once more.
      resent = true;
      await sendCancel(order);
    }
  }
  return unresolved(`still ${order.status} after ${CANCEL_POLL_DELAYS_MS.length} read-backs`, order);
}
