/**
 * The order ledger's domain rules: what a ledger record holds, how a broker's view of an order
 * updates it, how fills become positions, and how positions are reconciled with the broker.
 *
 * Pure. Persistence lives in adapters/dynamodb/order-ledger.ts.
 */
import type { BrokerExecution, BrokerOrder, BrokerPosition, OrderClass, OrderSide, OrderType, TimeInForce } from '../ports';
import { newYorkDate } from './calendar';
import type { OrderPurpose } from './client-order-id';
import { Dec, dec } from './money';
import type { Order } from './order';
import { judgeTransition, type LifecycleStatus } from './order-lifecycle';
import { isOpenStatus, type AlpacaOrderStatus } from './order-status';

/**
 * Ledger status: Alpaca's statuses plus `pending_submit`, the state of an intent written to the
 * ledger whose broker submission is not yet confirmed (see order-lifecycle.ts for the states).
 */
export type LedgerStatus = LifecycleStatus;

/** One order in the ledger. Decimal strings: qty in shares, prices in USD per share. */
export interface LedgerOrder {
  clientOrderId: string;
  strategyId: string;
  /** Session the order was placed for, YYYY-MM-DD (New York). */
  tradingDate: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  orderClass: OrderClass;
  /** Why the order exists, stored explicitly (never inferred from state). */
  purpose: OrderPurpose;
  qty: string;
  limitPrice: string | null;
  stopPrice: string | null;
  /** Stop-loss leg trigger requested with an OTO/bracket parent. */
  stopLossPrice: string | null;
  /** Take-profit leg limit requested with a bracket parent (absent on records written before brackets). */
  takeProfitPrice?: string | null;
  /** client_order_id of the parent, for legs. */
  parentClientOrderId: string | null;
  brokerOrderId: string | null;
  status: LedgerStatus;
  /** Broker message for rejections, or why the status last changed. */
  statusReason: string | null;
  filledQty: string;
  filledAvgPrice: string | null;
  /** ISO-8601 UTC after which an unfilled entry is cancelled (entries only). */
  expiresAt: string | null;
  /** runId of the execution that created the record. */
  createdByRunId: string;
  /** runId of the execution whose broker submission succeeded (null for legs and unsubmitted intents). */
  submittedByRunId: string | null;
  createdAt: string;
  updatedAt: string;
  /** Optimistic-concurrency version; every update is conditional on it. */
  version: number;
}

/**
 * One fill increment, recorded once. Keyed by (clientOrderId, cumulativeQty): an order's filled qty
 * only grows, so each increment has exactly one key whether it was learned from a broker execution
 * or from the order's filled qty, and a replayed execution (same id, same cumulative qty) writes
 * nothing.
 */
export interface LedgerFill {
  clientOrderId: string;
  brokerOrderId: string;
  /** The broker's execution id, or null when the fill was derived from the order's filled qty before its execution was visible. */
  executionId: string | null;
  symbol: string;
  side: OrderSide;
  purpose: OrderPurpose;
  /** Shares in this increment. */
  qty: string;
  /** USD per share of this increment. */
  price: string;
  /** Order's filled qty after this increment; with clientOrderId it identifies the fill. */
  cumulativeQty: string;
  /** ISO-8601 UTC from the broker. */
  filledAt: string;
  /** New York session date of filledAt. */
  sessionDate: string;
  recordedAt: string;
  runId: string;
}

/** Builds the ledger record for a new order intent (status pending_submit, version 1). */
export function intentRecord(order: Order, runId: string, now: string): LedgerOrder {
  return {
    clientOrderId: order.clientOrderId,
    strategyId: order.strategyId,
    tradingDate: order.tradingDate,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    timeInForce: order.timeInForce,
    orderClass: order.orderClass,
    purpose: order.purpose,
    qty: order.qty,
    limitPrice: order.limitPrice ?? null,
    stopPrice: order.stopPrice ?? null,
    stopLossPrice: order.stopLossPrice ?? null,
    takeProfitPrice: order.takeProfitPrice ?? null,
    parentClientOrderId: null,
    brokerOrderId: null,
    status: 'pending_submit',
    statusReason: null,
    filledQty: '0',
    filledAvgPrice: null,
    expiresAt: order.expiresAt ?? null,
    createdByRunId: runId,
    submittedByRunId: null,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

/**
 * Ledger records for the legs of a broker parent order (e.g. the stop-loss of an OTO entry).
 * Legs carry purpose `stop_loss` when they are sell stops under a buy parent.
 */
export function legRecords(parent: LedgerOrder, broker: BrokerOrder, runId: string, now: string): LedgerOrder[] {
  return broker.legs.map((leg) => ({
    clientOrderId: leg.clientOrderId,
    strategyId: parent.strategyId,
    tradingDate: parent.tradingDate,
    symbol: leg.symbol,
    side: leg.side,
    type: leg.type,
    timeInForce: leg.timeInForce,
    orderClass: leg.orderClass,
    // The exit kind is stored when the leg is first seen and never re-derived: a stop leg is the
    // stop-loss, a limit leg the take-profit.
    purpose: leg.type === 'stop' || leg.type === 'stop_limit' ? 'stop_loss' : 'take_profit',
    qty: leg.qty,
    limitPrice: leg.limitPrice,
    stopPrice: leg.stopPrice,
    stopLossPrice: null,
    parentClientOrderId: parent.clientOrderId,
    brokerOrderId: leg.id,
    status: leg.status,
    statusReason: null,
    filledQty: '0',
    filledAvgPrice: null,
    expiresAt: null,
    createdByRunId: runId,
    submittedByRunId: null,
    createdAt: now,
    updatedAt: now,
    version: 1,
  }));
}

/** True when the ledger still expects the order to change. `pending_submit` counts as open. */
export function isLedgerOpen(status: LedgerStatus): boolean {
  return status === 'pending_submit' || isOpenStatus(status);
}

export interface BrokerUpdate {
  /** Fields to write (undefined when the record already matches the broker or the change is refused). */
  changes?: Partial<LedgerOrder>;
  /** Fill increments to record, oldest first (empty when nothing new filled). */
  fills: LedgerFill[];
  /** An illegal transition the broker reported: nothing of it was applied; CRITICAL alert. */
  refused?: string;
  /** A fill reported after the order was closed as canceled/expired: applied, and worth a MEDIUM alert. */
  lateFill?: string;
}

/**
 * Reconciles one ledger record with the broker's view of the same order, through the lifecycle's
 * transition table (order-lifecycle.ts):
 * - a legal change is adopted: status, broker id, and every fill increment;
 * - a late fill (fills growing after canceled/expired) is APPLIED as a fill, never dropped;
 * - `canceled` with filled qty > 0 is a fill plus a cancel (a partial fill, then canceled); with
 *   filled qty 0 it is only a cancel;
 * - an illegal change (a final status changing, fills shrinking, a leg going back to held) is
 *   refused as a whole and reported; the reconciliation then catches any position it implies.
 *
 * Fill increments: executions of this order (matched on broker order id) with a cumulative qty
 * above the ledger's are recorded one by one at their own prices; a remainder the executions do
 * not explain yet (the order's filled qty ran ahead of the execution feed) is recorded at the price
 * implied by the average fill prices, with executionId null. Increments above the broker's filled
 * qty are never taken from executions, so the record never runs ahead of the order it mirrors.
 * @param executions broker executions (any orders; filtered here), or [] when unknown.
 * @throws Error when the broker reports fills without an average price (cannot be valued).
 */
export function applyBrokerOrder(
  record: LedgerOrder,
  broker: BrokerOrder,
  runId: string,
  now: string,
  executions: readonly BrokerExecution[] = [],
): BrokerUpdate {
  const verdict = judgeTransition(record.status, broker.status, record.filledQty, broker.filledQty);
  if (verdict.kind === 'refuse') {
    return { fills: [], refused: `${record.clientOrderId} (${record.symbol}): ${verdict.reason}; the broker's report was not applied` };
  }
  const changes: Partial<LedgerOrder> = {};
  if (record.brokerOrderId !== broker.id) {
    if (record.brokerOrderId) {
      return { fills: [], refused: `${record.clientOrderId}: broker order id changed from ${record.brokerOrderId} to ${broker.id}; not applied` };
    }
    changes.brokerOrderId = broker.id;
  }

  const fills: LedgerFill[] = [];
  const target = dec(broker.filledQty);
  let cum = dec(record.filledQty);
  let notional = cum.times(record.filledAvgPrice ? dec(record.filledAvgPrice) : new Dec(0));
  const makeFill = (qty: Dec, price: Dec, cumulative: Dec, executionId: string | null, at: string): LedgerFill => ({
    clientOrderId: record.clientOrderId,
    brokerOrderId: broker.id,
    executionId,
    symbol: record.symbol,
    side: record.side,
    purpose: record.purpose,
    qty: qty.toString(),
    price: price.toString(),
    cumulativeQty: cumulative.toString(),
    filledAt: at,
    sessionDate: newYorkDate(new Date(at)),
    recordedAt: now,
    runId,
  });
  if (target.gt(cum)) {
    const own = executions
      .filter((e) => e.orderId === broker.id)
      .map((e) => ({ e, cum: dec(e.cumQty, `execution ${e.id}.cumQty`) }))
      .sort((x, y) => x.cum.comparedTo(y.cum));
    const seen = new Set<string>();
    for (const { e, cum: c } of own) {
      if (seen.has(e.id) || c.lte(cum) || c.gt(target)) continue; // replayed, already recorded, or ahead of the order
      seen.add(e.id);
      const qty = c.minus(cum);
      const price = dec(e.price, `execution ${e.id}.price`);
      // An execution's qty normally equals the increment; if one was missed, the increment spans it at this price.
      fills.push(makeFill(qty, price, c, e.id, e.transactionTime));
      notional = notional.plus(qty.times(price));
      cum = c;
    }
    if (target.gt(cum)) {
      const avg = broker.filledAvgPrice === null ? undefined : dec(broker.filledAvgPrice, `${broker.clientOrderId}.filledAvgPrice`);
      if (!avg || avg.lte(0)) {
        return { fills: [], refused: `${record.clientOrderId}: broker reports filled qty ${target} without an average fill price; not applied` };
      }
      const qty = target.minus(cum);
      const price = target.times(avg).minus(notional).div(qty).toDecimalPlaces(6);
      // No fill time reported (e.g. `canceled` carrying fills): the cancel time, else now, bounds it.
      fills.push(makeFill(qty, price, target, null, broker.filledAt ?? broker.canceledAt ?? now));
      notional = target.times(avg);
      cum = target;
    }
    changes.filledQty = target.toString();
    changes.filledAvgPrice = broker.filledAvgPrice ?? notional.div(target).toDecimalPlaces(6).toString();
  }

  if (record.status !== broker.status) {
    changes.status = broker.status;
    changes.statusReason = verdict.kind === 'apply' && verdict.lateFill ? `late fill reported after ${record.status}` : null;
  }
  const hasChanges = Object.keys(changes).length > 0;
  const late = verdict.kind === 'apply' && verdict.lateFill;
  return {
    ...(hasChanges ? { changes: { ...changes, updatedAt: now } } : {}),
    fills,
    ...(late
      ? { lateFill: `${record.clientOrderId} (${record.symbol}) filled ${dec(broker.filledQty).minus(dec(record.filledQty))} more after the ledger saw ${record.status}; applied as a fill` }
      : {}),
  };
}

/**
 * True when an entry's time in force (as the strategy intends it) is over and it is still open.
 * @param now ISO-8601 UTC.
 */
export function isExpiredEntry(record: LedgerOrder, now: string): boolean {
  return (
    record.purpose === 'entry' &&
    record.expiresAt !== null &&
    isLedgerOpen(record.status) &&
    Date.parse(now) >= Date.parse(record.expiresAt)
  );
}

/** Net shares per symbol implied by the ledger's fills (buys minus sells). Zero positions omitted. */
export function positionsFromFills(fills: readonly LedgerFill[]): Map<string, Dec> {
  const net = new Map<string, Dec>();
  for (const f of fills) {
    const signed = f.side === 'buy' ? dec(f.qty) : dec(f.qty).neg();
    net.set(f.symbol, (net.get(f.symbol) ?? new Dec(0)).plus(signed));
  }
  for (const [symbol, qty] of net) if (qty.isZero()) net.delete(symbol);
  return net;
}

/**
 * One way the ledger and the broker disagree. Quantities in shares (decimal strings).
 * - `local_only`: the ledger's fills imply a position the broker does not have.
 * - `broker_only`: the broker holds a position the ledger has no fills for.
 * - `quantity_mismatch`: both hold the symbol, with different share counts.
 * - `unknown_open_order`: the broker is working an order the ledger never wrote (an order placed
 *   by hand, or by a lost run): nothing this system did can explain it.
 */
export type Discrepancy =
  | { kind: 'local_only' | 'broker_only' | 'quantity_mismatch'; symbol: string; ledgerQty: string; brokerQty: string }
  | { kind: 'unknown_open_order'; symbol: string; clientOrderId: string; brokerOrderId: string; status: string };

/** Kept for callers that only need the positions part. */
export type PositionMismatch = Extract<Discrepancy, { ledgerQty: string }>;

/**
 * Compares ledger positions with the broker's, symbol by symbol (union of both sides).
 * @returns every symbol whose share counts differ, classified; empty when they agree.
 */
export function reconcilePositions(ledger: ReadonlyMap<string, Dec>, broker: readonly BrokerPosition[]): PositionMismatch[] {
  const brokerQty = new Map<string, Dec>();
  for (const p of broker) brokerQty.set(p.symbol, (brokerQty.get(p.symbol) ?? new Dec(0)).plus(dec(p.qty)));
  const symbols = [...new Set([...ledger.keys(), ...brokerQty.keys()])].sort();
  const mismatches: PositionMismatch[] = [];
  for (const symbol of symbols) {
    const l = ledger.get(symbol) ?? new Dec(0);
    const b = brokerQty.get(symbol) ?? new Dec(0);
    if (l.eq(b)) continue;
    const kind = b.isZero() ? 'local_only' : l.isZero() ? 'broker_only' : 'quantity_mismatch';
    mismatches.push({ kind, symbol, ledgerQty: l.toString(), brokerQty: b.toString() });
  }
  return mismatches;
}

/**
 * Broker orders that are open but unknown to the ledger (legs included, matched on client_order_id).
 * @param brokerOpen the broker's open orders (legs nested or listed on their own).
 */
export function findUnknownOpenOrders(ledgerClientOrderIds: ReadonlySet<string>, brokerOpen: readonly BrokerOrder[]): Discrepancy[] {
  const out: Discrepancy[] = [];
  const visit = (o: BrokerOrder): void => {
    if (isOpenStatus(o.status) && !ledgerClientOrderIds.has(o.clientOrderId)) {
      out.push({ kind: 'unknown_open_order', symbol: o.symbol, clientOrderId: o.clientOrderId, brokerOrderId: o.id, status: o.status });
    }
    o.legs.forEach(visit);
  };
  brokerOpen.forEach(visit);
  return out;
}

/** One line per discrepancy, for alerts and reports, e.g. `quantity_mismatch AAPL ledger 10 vs broker 20`. */
export function describeDiscrepancy(d: Discrepancy): string {
  return d.kind === 'unknown_open_order'
    ? `unknown_open_order ${d.symbol} ${d.clientOrderId} (${d.status}) at the broker`
    : `${d.kind} ${d.symbol} ledger ${d.ledgerQty} vs broker ${d.brokerQty}`;
}

/** Statuses in which a stop order is live at the venue and protects a position. */
const WORKING_STATUSES: ReadonlySet<AlpacaOrderStatus> = new Set([
  'new',
  'accepted',
  'pending_new',
  'partially_filled',
  'accepted_for_bidding',
  'done_for_day',
  'pending_replace',
]);

export interface UnprotectedPosition {
  symbol: string;
  /** Long shares held. */
  qty: string;
  /** Shares covered by working sell stops. */
  protectedQty: string;
}

/**
 * Long positions not fully covered by live sell stop orders (including stop legs).
 * A `held` stop leg counts as live only once its parent filled (Alpaca holds a bracket's stop
 * while its OCO take-profit works; an OTO's stop is held until the entry fills). Brokers that list
 * legs on their own (Alpaca with nested=false) do not say who the parent is, so the caller passes
 * `parentFilled`, answered from the ledger's leg → parent records.
 * @param orders broker orders, legs nested under their parent or listed on their own.
 * @param parentFilled for a leg listed on its own: whether its parent order is filled.
 */
export function findUnprotectedPositions(
  positions: readonly BrokerPosition[],
  orders: readonly BrokerOrder[],
  parentFilled: (leg: BrokerOrder) => boolean = () => false,
): UnprotectedPosition[] {
  const covered = new Map<string, Dec>();
  const visit = (o: BrokerOrder, parent: BrokerOrder | undefined): void => {
    const isStop = o.side === 'sell' && (o.type === 'stop' || o.type === 'stop_limit');
    const heldLive = o.status === 'held' && (parent !== undefined ? isFullyFilled(parent.qty, parent.filledQty) : parentFilled(o));
    if (isStop && (WORKING_STATUSES.has(o.status) || heldLive)) {
      const remaining = dec(o.qty).minus(dec(o.filledQty));
      covered.set(o.symbol, (covered.get(o.symbol) ?? new Dec(0)).plus(remaining));
    }
    o.legs.forEach((leg) => visit(leg, o));
  };
  orders.forEach((o) => visit(o, undefined));
  const out: UnprotectedPosition[] = [];
  for (const p of positions) {
    const qty = dec(p.qty);
    if (qty.lte(0)) continue;
    const cover = covered.get(p.symbol) ?? new Dec(0);
    if (cover.lt(qty)) out.push({ symbol: p.symbol, qty: qty.toString(), protectedQty: cover.toString() });
  }
  return out;
}

/**
 * `parentFilled` for findUnprotectedPositions from ledger records: a leg (by client_order_id) whose
 * parent is fully filled in the ledger. Filled quantity, not status, decides: a broker may report a
 * filled parent as `canceled` (a cancel that raced the fill) and its legs still work. A partially
 * filled parent does not count (its legs' state is not known to be live).
 */
export function parentFilledFromLedger(orders: readonly LedgerOrder[]): (leg: BrokerOrder) => boolean {
  const byId = new Map(orders.map((o) => [o.clientOrderId, o]));
  return (leg) => {
    const parentId = byId.get(leg.clientOrderId)?.parentClientOrderId;
    const parent = parentId ? byId.get(parentId) : undefined;
    return parent !== undefined && isFullyFilled(parent.qty, parent.filledQty);
  };
}

function isFullyFilled(qty: string, filledQty: string): boolean {
  return dec(filledQty).gt(0) && dec(filledQty).eq(dec(qty));
}
