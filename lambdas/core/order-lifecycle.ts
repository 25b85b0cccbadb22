/**
 * The order lifecycle: every Alpaca order status mapped to an internal state, and the one
 * transition table that decides whether a status change the broker reports may be applied to the
 * ledger.
 *
 * Sources: Alpaca Trading API v2 `OrderStatus` (../shared/contracts/alpaca, the spec's status
 * descriptions) plus `held`, which Alpaca reports for the legs of bracket/OTO orders that are not
 * yet working (the stop-loss of an unfilled OTO entry; the OCO sibling of a working take-profit).
 *
 * Pure: statuses and quantities in, a verdict out.
 */
import { dec } from './money';
import { ALPACA_ORDER_STATUSES, type AlpacaOrderStatus } from './order-status';

/**
 * Internal order states.
 * - `PENDING_SUBMIT`: intent written to the ledger, broker submission not yet confirmed.
 * - `PENDING`: the broker has it but it is not yet working at the venue (accepted, pending_new, accepted_for_bidding).
 * - `HELD`: a bracket/OTO leg waiting on its parent or its OCO sibling (held).
 * - `WORKING`: live and able to fill (new, partially_filled, done_for_day, pending_replace, stopped, calculated, suspended).
 * - `CANCELING`: a cancel is in flight (pending_cancel); it may still fill.
 * - `FILLED`, `CANCELED`, `EXPIRED`, `REJECTED`, `REPLACED`: final.
 */
export type OrderState = 'PENDING_SUBMIT' | 'PENDING' | 'HELD' | 'WORKING' | 'CANCELING' | 'FILLED' | 'CANCELED' | 'EXPIRED' | 'REJECTED' | 'REPLACED';

/** A ledger status: Alpaca's statuses plus `pending_submit` (see OrderState). */
export type LifecycleStatus = AlpacaOrderStatus | 'pending_submit';

/** Every status the lifecycle knows, ledger-only `pending_submit` first. */
export const LIFECYCLE_STATUSES: readonly LifecycleStatus[] = ['pending_submit', ...ALPACA_ORDER_STATUSES];

/**
 * Alpaca status → internal state. Total over every Alpaca status (a test pins that).
 * `suspended` ("not eligible for trading") and `calculated` ("completed for the day ... settlement
 * pending") are kept WORKING: the order is not final and must still be watched and reconciled.
 */
export const STATE_OF: Readonly<Record<LifecycleStatus, OrderState>> = {
  pending_submit: 'PENDING_SUBMIT',
  accepted: 'PENDING',
  pending_new: 'PENDING',
  accepted_for_bidding: 'PENDING',
  held: 'HELD',
  new: 'WORKING',
  partially_filled: 'WORKING',
  done_for_day: 'WORKING',
  pending_replace: 'WORKING',
  stopped: 'WORKING',
  calculated: 'WORKING',
  suspended: 'WORKING',
  pending_cancel: 'CANCELING',
  filled: 'FILLED',
  canceled: 'CANCELED',
  expired: 'EXPIRED',
  rejected: 'REJECTED',
  replaced: 'REPLACED',
};

const FINAL: ReadonlySet<OrderState> = new Set(['FILLED', 'CANCELED', 'EXPIRED', 'REJECTED', 'REPLACED']);

/** True when no further change is expected for an order in this state. */
export function isFinalState(state: OrderState): boolean {
  return FINAL.has(state);
}

/**
 * Which internal states may follow which. Rows are "from", entries the allowed "to" states.
 * The reasoning, row by row:
 * - PENDING_SUBMIT: the first sighting at the broker may show any status (the order may already
 *   have filled, been canceled or rejected before the ledger heard about it).
 * - PENDING / WORKING / CANCELING: anything but HELD — an order never goes back to held. CANCELING
 *   → WORKING is a rejected cancel; CANCELING → FILLED is a fill that beat the cancel.
 * - HELD: a leg becomes PENDING/WORKING when its parent fills, FILLED if it triggered between two
 *   reads, CANCELED/EXPIRED with its parent or its OCO sibling.
 * - CANCELED / EXPIRED → FILLED, WORKING or CANCELED/EXPIRED again: only as a LATE FILL (the broker's
 *   filled qty grew after it reported the order closed). That fill is real money and is applied.
 * - FILLED, REJECTED, REPLACED: nothing follows.
 */
const ALLOWED: Readonly<Record<OrderState, ReadonlySet<OrderState>>> = {
  PENDING_SUBMIT: new Set<OrderState>(['PENDING', 'HELD', 'WORKING', 'CANCELING', 'FILLED', 'CANCELED', 'EXPIRED', 'REJECTED', 'REPLACED']),
  PENDING: new Set<OrderState>(['PENDING', 'WORKING', 'CANCELING', 'FILLED', 'CANCELED', 'EXPIRED', 'REJECTED', 'REPLACED']),
  HELD: new Set<OrderState>(['HELD', 'PENDING', 'WORKING', 'CANCELING', 'FILLED', 'CANCELED', 'EXPIRED']),
  WORKING: new Set<OrderState>(['PENDING', 'WORKING', 'CANCELING', 'FILLED', 'CANCELED', 'EXPIRED', 'REJECTED', 'REPLACED']),
  CANCELING: new Set<OrderState>(['WORKING', 'CANCELING', 'FILLED', 'CANCELED', 'EXPIRED']),
  FILLED: new Set<OrderState>(['FILLED']),
  CANCELED: new Set<OrderState>(['CANCELED']),
  EXPIRED: new Set<OrderState>(['EXPIRED']),
  REJECTED: new Set<OrderState>(['REJECTED']),
  REPLACED: new Set<OrderState>(['REPLACED']),
};

/** What may follow a CANCELED/EXPIRED order when (and only when) its filled qty grew: a late fill. */
const LATE_FILL_TARGETS: ReadonlySet<OrderState> = new Set(['FILLED', 'WORKING', 'CANCELED', 'EXPIRED']);

/** The verdict on one reported change. Quantities are decimal strings (shares). */
export type TransitionVerdict =
  | { kind: 'none' } // same status, same filled qty
  | { kind: 'apply'; lateFill: boolean } // legal; lateFill when a closed order's fills grew
  | { kind: 'refuse'; reason: string }; // illegal: never applied, always alerted

/**
 * Judges one status change reported by the broker.
 * @param from ledger status; @param to broker status.
 * @param filledBefore ledger filled qty; @param filledAfter broker filled qty (shares, decimal strings).
 * @returns `refuse` with a reason for an illegal transition or a shrinking filled qty.
 * @throws Error when a status is not one Alpaca defines (a parsing bug upstream).
 */
export function judgeTransition(from: LifecycleStatus, to: LifecycleStatus, filledBefore: string, filledAfter: string): TransitionVerdict {
  const fromState = STATE_OF[from];
  const toState = STATE_OF[to];
  if (!fromState) throw new Error(`unknown order status ${JSON.stringify(from)}`);
  if (!toState) throw new Error(`unknown order status ${JSON.stringify(to)}`);
  const before = dec(filledBefore, 'filledBefore');
  const after = dec(filledAfter, 'filledAfter');
  if (after.lt(before)) return { kind: 'refuse', reason: `filled qty went from ${before} to ${after}; fills never shrink` };
  const grew = after.gt(before);
  if (from === to && !grew) return { kind: 'none' };
  if ((fromState === 'CANCELED' || fromState === 'EXPIRED') && grew) {
    if (LATE_FILL_TARGETS.has(toState)) return { kind: 'apply', lateFill: true };
    return { kind: 'refuse', reason: `${from} → ${to} with filled qty ${before} → ${after} is not a late fill` };
  }
  if (fromState === 'PENDING_SUBMIT' || ALLOWED[fromState].has(toState)) {
    if (isFinalState(fromState) && fromState !== 'PENDING_SUBMIT' && grew) {
      return { kind: 'refuse', reason: `${from} is final, yet filled qty grew from ${before} to ${after}` };
    }
    return { kind: 'apply', lateFill: false };
  }
  return { kind: 'refuse', reason: `illegal transition ${from} → ${to} (${fromState} → ${toState})` };
}
