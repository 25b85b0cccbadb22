/**
 * The order ledger's domain rules: what a ledger record holds, how a broker's view of an order
 * updates it, how fills become positions, and how positions are reconciled with the broker.
 *
 * Pure. Persistence lives in adapters/dynamodb/order-ledger.ts.
 */
import type { BrokerOrder, BrokerPosition, OrderClass, OrderSide, OrderType, TimeInForce } from '../ports';
import { newYorkDate } from './calendar';
import type { OrderPurpose } from './client-order-id';
import { Dec, dec } from './money';
import type { Order } from './order';
import { isOpenStatus, TERMINAL_STATUSES, type AlpacaOrderStatus } from './order-status';

/**
 * Ledger status: Alpaca's statuses plus `pending_submit`, the state of an intent written to the
 * ledger whose broker submission is not yet confirmed.
 */
export type LedgerStatus = AlpacaOrderStatus | 'pending_submit';

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

/** One fill increment, recorded once (keyed by order and cumulative filled qty). */
export interface LedgerFill {
  clientOrderId: string;
  brokerOrderId: string;
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
  /** Fields to write (undefined when the record already matches the broker). */
  changes?: Partial<LedgerOrder>;
  /** A new fill increment to record, if the broker's filled qty grew. */
  fill?: LedgerFill;
  /** Something a person should look at (CRITICAL alert), e.g. fills going backwards. */
  anomaly?: string;
}

/**
 * Reconciles one ledger record with the broker's view of the same order.
 * The broker is the source of truth for order state: its status is adopted, and a fill is
 * ALWAYS recorded, even when it arrives after the ledger saw a cancel (a late fill is a fill).
 * Anomalies (filled qty shrinking, a terminal status changing) are reported, never hidden.
 */
export function applyBrokerOrder(record: LedgerOrder, broker: BrokerOrder, runId: string, now: string): BrokerUpdate {
  const changes: Partial<LedgerOrder> = {};
  const anomalies: string[] = [];
  let fill: LedgerFill | undefined;

  if (record.brokerOrderId !== broker.id) {
    if (record.brokerOrderId) anomalies.push(`broker order id changed from ${record.brokerOrderId} to ${broker.id}`);
    changes.brokerOrderId = broker.id;
  }

  const before = dec(record.filledQty);
  const after = dec(broker.filledQty);
  if (after.lt(before)) {
    anomalies.push(`broker filled qty ${after} is below the ledger's ${before}; fills never shrink`);
  } else if (after.gt(before)) {
    const avgAfter = dec(broker.filledAvgPrice ?? 'NaN', `${broker.clientOrderId}.filledAvgPrice`);
    const avgBefore = record.filledAvgPrice ? dec(record.filledAvgPrice) : new Dec(0);
    const increment = after.minus(before);
    const price = after.times(avgAfter).minus(before.times(avgBefore)).div(increment).toDecimalPlaces(6);
    const filledAt = broker.filledAt ?? now;
    fill = {
      clientOrderId: record.clientOrderId,
      brokerOrderId: broker.id,
      symbol: record.symbol,
      side: record.side,
      purpose: record.purpose,
      qty: increment.toString(),
      price: price.toString(),
      cumulativeQty: after.toString(),
      filledAt,
      sessionDate: newYorkDate(new Date(filledAt)),
      recordedAt: now,
      runId,
    };
    changes.filledQty = after.toString();
    changes.filledAvgPrice = avgAfter.toString();
  }

  if (record.status !== broker.status) {
    if (record.status !== 'pending_submit' && TERMINAL_STATUSES.has(record.status)) {
      anomalies.push(`terminal status ${record.status} changed to ${broker.status} at the broker`);
    }
    changes.status = broker.status;
  }

  const hasChanges = Object.keys(changes).length > 0;
  return {
    ...(hasChanges ? { changes: { ...changes, updatedAt: now } } : {}),
    ...(fill ? { fill } : {}),
    ...(anomalies.length ? { anomaly: `${record.clientOrderId}: ${anomalies.join('; ')}` } : {}),
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

export interface PositionMismatch {
  symbol: string;
  /** Shares per the ledger's fills. */
  ledgerQty: string;
  /** Shares per the broker. */
  brokerQty: string;
}

/**
 * Compares ledger positions with the broker's, symbol by symbol (union of both sides).
 * @returns every symbol whose share counts differ; empty when they agree.
 */
export function reconcilePositions(ledger: ReadonlyMap<string, Dec>, broker: readonly BrokerPosition[]): PositionMismatch[] {
  const brokerQty = new Map<string, Dec>();
  for (const p of broker) brokerQty.set(p.symbol, (brokerQty.get(p.symbol) ?? new Dec(0)).plus(dec(p.qty)));
  const symbols = [...new Set([...ledger.keys(), ...brokerQty.keys()])].sort();
  const mismatches: PositionMismatch[] = [];
  for (const symbol of symbols) {
    const l = ledger.get(symbol) ?? new Dec(0);
    const b = brokerQty.get(symbol) ?? new Dec(0);
    if (!l.eq(b)) mismatches.push({ symbol, ledgerQty: l.toString(), brokerQty: b.toString() });
  }
  return mismatches;
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
 * Long positions not fully covered by working sell stop orders (including stop legs).
 * @param orders broker orders, parents with their legs nested (legs are inspected too).
 */
export function findUnprotectedPositions(positions: readonly BrokerPosition[], orders: readonly BrokerOrder[]): UnprotectedPosition[] {
  const covered = new Map<string, Dec>();
  const visit = (o: BrokerOrder): void => {
    if (o.side === 'sell' && (o.type === 'stop' || o.type === 'stop_limit') && WORKING_STATUSES.has(o.status)) {
      const remaining = dec(o.qty).minus(dec(o.filledQty));
      covered.set(o.symbol, (covered.get(o.symbol) ?? new Dec(0)).plus(remaining));
    }
    o.legs.forEach(visit);
  };
  orders.forEach(visit);
  const out: UnprotectedPosition[] = [];
  for (const p of positions) {
    const qty = dec(p.qty);
    if (qty.lte(0)) continue;
    const cover = covered.get(p.symbol) ?? new Dec(0);
    if (cover.lt(qty)) out.push({ symbol: p.symbol, qty: qty.toString(), protectedQty: cover.toString() });
  }
  return out;
}
