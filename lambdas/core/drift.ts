/**
 * Live-vs-backtest drift of one session: what the run actually did at the broker, against what the
 * backtest engine (the paper broker's matching engine) would have done from the same decisions on
 * the same bar. A first step towards a drift metric: per order, which values differ, and for orders
 * filled on both sides the fill-price gap in bps.
 *
 * Pure: no I/O, no clock. The shell (handlers/shared/drift.ts) gathers the three inputs:
 *
 * (a) `backtestOrders`: the orders the backtest engine would have sent for the session, i.e. what
 *     the risk kernel allowed, built as the orders step builds them (client_order_id, symbol, side,
 *     type, qty, limit, stop-loss leg trigger);
 * (b) `liveOrders`: the run's top-level orders of the session in the ledger (sent, adopted,
 *     rejected, never sent, …) with their fills; stop-loss legs are folded into their parent
 *     (`stopLossPrice` is the live leg's trigger);
 * (c) `backtestFills`: one simulated outcome per backtest order (filled / unfilled / rejected by
 *     the engine / unknown when the session's bar is not available).
 *
 * Rows: one per client_order_id of (a) ∪ (b), sorted by client_order_id, each with the backtest and
 * live values and a `differences` list of stable codes (in this order):
 *
 * | code | when |
 * |---|---|
 * | `MISSING_LIVE` | decided (in a) but never reached the broker: no ledger order, or one the broker never had (no broker order id, not rejected: pending_submit, blocked, expired before sending) |
 * | `EXTRA_LIVE` | a live order (in b) the backtest would not have sent (not in a) |
 * | `REJECTED_LIVE` | the broker rejected it (ledger status `rejected`) and the backtest engine did not |
 * | `REJECTED_BACKTEST` | the backtest engine refused it (e.g. 403 buying power) and the live order was not rejected |
 * | `QTY` | ordered quantities differ (both sides known) |
 * | `LIMIT_PRICE` | limit prices differ (one side null and the other not counts) |
 * | `STOP_PRICE` | stop-loss triggers differ (backtest `stopLossPrice` vs the live leg's trigger) |
 * | `FILLED_LIVE_ONLY` | live filled qty > 0, the backtest did not fill (not sent, unfilled or rejected) |
 * | `FILLED_BACKTEST_ONLY` | the backtest filled, live filled nothing (also when it never reached the broker) |
 * | `FILL_QTY` | both filled, with different filled quantities |
 *
 * A backtest outcome `unknown` (no bar) gives no fill code: nothing is guessed; the row carries
 * the reason and the totals count it in `backtestUnknown`.
 *
 * Fill-price gap, for rows filled on both sides (bps, rounded to 0.0001):
 *
 *     gapBps = s × (liveAvg − backtestPrice) / backtestPrice × 10,000,   s = +1 buy, −1 sell
 *
 * Positive = live paid more (buy) or received less (sell) than the backtest: worse than the backtest.
 * E.g. a buy filled live at 100.10 against a backtest fill at 100.00: +10 bps; a sell at 99.90 live
 * against 100.00: +10 bps. Weight of a row: its matched notional = min(live, backtest filled qty) ×
 * backtestPrice (USD), so the weighted mean is the USD lost to drift on the matched shares per USD of
 * matched backtest notional, in bps.
 */
import type { OrderSide, OrderType } from '../ports';
import { Dec, dec } from './money';

/** The difference codes, in the order a row lists them. */
export const DRIFT_CODES = [
  'MISSING_LIVE',
  'EXTRA_LIVE',
  'REJECTED_LIVE',
  'REJECTED_BACKTEST',
  'QTY',
  'LIMIT_PRICE',
  'STOP_PRICE',
  'FILLED_LIVE_ONLY',
  'FILLED_BACKTEST_ONLY',
  'FILL_QTY',
] as const;
export type DriftCode = (typeof DRIFT_CODES)[number];

/** An order the backtest engine would have sent. Decimal strings: qty in shares, prices USD per share. */
export interface BacktestOrder {
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  /** Shares, > 0. */
  qty: string;
  /** Limit price (limit orders), else null. */
  limitPrice: string | null;
  /** Trigger of the stop-loss leg sent with the order (OTO entries), else null. */
  stopLossPrice: string | null;
}

/**
 * The backtest engine's outcome for one backtest order on the session's bar.
 * - `filled`: filledQty shares (> 0) at avgPrice (USD per share, after the engine's slippage);
 * - `unfilled`: accepted, and the bar did not fill it (or the engine canceled it), `reason` says why;
 * - `rejected`: refused at submission by the engine (Alpaca-like refusal), `reason` is the refusal;
 * - `unknown`: not simulated, e.g. the session's bar of the symbol is not available (yet); `reason` says why.
 */
export type BacktestFill =
  | { clientOrderId: string; status: 'filled'; filledQty: string; avgPrice: string }
  | { clientOrderId: string; status: 'unfilled' | 'rejected' | 'unknown'; reason: string };

/** A live (ledger) order of the session. Decimal strings as in BacktestOrder. */
export interface LiveOrder {
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  qty: string;
  limitPrice: string | null;
  /** Trigger of the stop-loss leg as the broker has it (the leg's stop price), else the one requested, else null. */
  stopLossPrice: string | null;
  /** Ledger status (`pending_submit`, `new`, `filled`, `canceled`, `rejected`, …). */
  status: string;
  /** The broker's message for a rejection, or why the status last changed. */
  statusReason: string | null;
  /** True when the broker has (or had) the order: a broker order id is recorded. */
  atBroker: boolean;
  /** Shares filled in the session, ≥ 0. */
  filledQty: string;
  /** Average fill price, USD per share; required when filledQty > 0. */
  filledAvgPrice: string | null;
}

/** What the orders step reported for an order (ORDERS artifact), to explain a missing one. */
export interface PlacementNote {
  clientOrderId: string;
  /** PlacementOutcome of handlers/orders (`submitted`, `blocked`, `unconfirmed`, …). */
  outcome: string;
  detail?: string;
}

export interface DriftInput {
  /** The session, YYYY-MM-DD. */
  tradingDate: string;
  backtestOrders: readonly BacktestOrder[];
  /** Exactly one per backtest order. */
  backtestFills: readonly BacktestFill[];
  liveOrders: readonly LiveOrder[];
  /** Optional: the orders step's placements (shown on the rows, never compared). */
  placements?: readonly PlacementNote[];
}

/** One order, both sides. */
export interface DriftRow {
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  /** The backtest order and its simulated outcome; null for EXTRA_LIVE. */
  backtest: (BacktestOrder & { fill: BacktestFill }) | null;
  /** The live order; null when the ledger has none (MISSING_LIVE). */
  live: LiveOrder | null;
  /** The orders step's placement outcome for this order, when it reported one. */
  placement?: { outcome: string; detail?: string };
  /** Stable codes, in DRIFT_CODES order; empty when the two sides agree. */
  differences: DriftCode[];
  /** Fill-price gap, bps (see module doc), when filled on both sides; else null. */
  gapBps: number | null;
  /** min(live, backtest filled qty) × backtest price, USD (decimal string): the gap's weight; null without a gap. */
  matchedNotional: string | null;
}

export interface DriftTotals {
  /** Rows (client_order_ids of either side). */
  ordersCompared: number;
  /** Rows with at least one difference. */
  ordersDiffering: number;
  /** Rows per difference code (codes that occur). */
  byCode: Partial<Record<DriftCode, number>>;
  /** Rows filled on both sides (those with a gap). */
  filledBoth: number;
  /** Backtest orders whose outcome is unknown (no bar): not compared on fills. */
  backtestUnknown: number;
  /** Mean gap over the rows filled on both sides, bps (0.0001); null when none. */
  meanGapBps: number | null;
  /** Σ gap × matchedNotional / Σ matchedNotional, bps (0.0001); null when none. */
  weightedMeanGapBps: number | null;
  /** max |gap|, bps (0.0001); null when none. */
  maxAbsGapBps: number | null;
}

export interface DriftReport {
  tradingDate: string;
  rows: DriftRow[];
  totals: DriftTotals;
}

/**
 * Compares the backtest and live orders of one session (see the module doc for codes and formulas).
 * @throws Error naming the field and the value for malformed input: a bad date, an empty or
 *   duplicated client_order_id, a side other than buy/sell, a qty that is not a decimal > 0 (filled
 *   qty: ≥ 0), a price that is not a decimal > 0, a filled qty without an average price, a backtest
 *   order without exactly one outcome (or an outcome for no order), or a client_order_id whose
 *   symbol or side differ between the two sides.
 */
export function computeDrift(input: DriftInput): DriftReport {
  if (typeof input.tradingDate !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(input.tradingDate)) {
    throw new Error(`tradingDate must be a date YYYY-MM-DD, got ${JSON.stringify(input.tradingDate)}`);
  }
  const backtest = indexOrders('backtestOrders', input.backtestOrders, validateBacktestOrder);
  const live = indexOrders('liveOrders', input.liveOrders, validateLiveOrder);
  const fills = new Map<string, BacktestFill>();
  input.backtestFills.forEach((f, i) => {
    const field = `backtestFills[${i}]`;
    const id = f?.clientOrderId;
    if (!backtest.has(id)) throw new Error(`${field}.clientOrderId is not a backtest order, got ${JSON.stringify(id)}`);
    if (fills.has(id)) throw new Error(`${field}.clientOrderId is a second outcome for ${JSON.stringify(id)}`);
    validateFill(field, f);
    fills.set(id, f);
  });
  for (const id of backtest.keys()) {
    if (!fills.has(id)) throw new Error(`backtestFills has no outcome for backtest order ${JSON.stringify(id)}`);
  }
  const placements = new Map((input.placements ?? []).map((p) => [p.clientOrderId, p]));

  const ids = [...new Set([...backtest.keys(), ...live.keys()])].sort();
  const rows: DriftRow[] = [];
  const gaps: Array<{ gap: Dec; weight: Dec }> = [];
  for (const id of ids) {
    const b = backtest.get(id);
    const l = live.get(id);
    if (b && l && (b.symbol !== l.symbol || b.side !== l.side)) {
      throw new Error(`liveOrders ${JSON.stringify(id)} is ${l.side} ${l.symbol} but the backtest order is ${b.side} ${b.symbol}`);
    }
    const fill = b ? fills.get(id)! : undefined;
    const codes = new Set<DriftCode>();
    if (b && (!l || (!l.atBroker && l.status !== 'rejected'))) codes.add('MISSING_LIVE');
    if (!b && l) codes.add('EXTRA_LIVE');
    const liveRejected = l?.status === 'rejected';
    const backtestRejected = fill?.status === 'rejected';
    if (b && liveRejected && !backtestRejected) codes.add('REJECTED_LIVE');
    if (l && backtestRejected && !liveRejected) codes.add('REJECTED_BACKTEST');
    if (b && l) {
      if (!dec(b.qty).eq(dec(l.qty))) codes.add('QTY');
      if (!samePrice(b.limitPrice, l.limitPrice)) codes.add('LIMIT_PRICE');
      if (!samePrice(b.stopLossPrice, l.stopLossPrice)) codes.add('STOP_PRICE');
    }
    const liveFilled = l ? dec(l.filledQty) : new Dec(0);
    let gapBps: number | null = null;
    let matchedNotional: string | null = null;
    if (fill?.status !== 'unknown') {
      const backtestFilled = fill?.status === 'filled' ? dec(fill.filledQty) : new Dec(0);
      if (liveFilled.gt(0) && backtestFilled.isZero()) codes.add('FILLED_LIVE_ONLY');
      if (backtestFilled.gt(0) && liveFilled.isZero()) codes.add('FILLED_BACKTEST_ONLY');
      if (fill?.status === 'filled' && liveFilled.gt(0)) {
        if (!liveFilled.eq(backtestFilled)) codes.add('FILL_QTY');
        const price = dec(fill.avgPrice);
        const sign = b!.side === 'buy' ? 1 : -1;
        const gap = dec(l!.filledAvgPrice!).minus(price).div(price).times(10_000).times(sign);
        const weight = Dec.min(liveFilled, backtestFilled).times(price);
        gaps.push({ gap, weight });
        gapBps = bps(gap);
        matchedNotional = weight.toString();
      }
    }
    const placement = placements.get(id);
    rows.push({
      clientOrderId: id,
      symbol: (b ?? l)!.symbol,
      side: (b ?? l)!.side,
      backtest: b ? { ...b, fill: fill! } : null,
      live: l ?? null,
      ...(placement ? { placement: { outcome: placement.outcome, ...(placement.detail !== undefined ? { detail: placement.detail } : {}) } } : {}),
      differences: DRIFT_CODES.filter((c) => codes.has(c)),
      gapBps,
      matchedNotional,
    });
  }

  const byCode: Partial<Record<DriftCode, number>> = {};
  for (const row of rows) for (const code of row.differences) byCode[code] = (byCode[code] ?? 0) + 1;
  const totalWeight = gaps.reduce((s, g) => s.plus(g.weight), new Dec(0));
  return {
    tradingDate: input.tradingDate,
    rows,
    totals: {
      ordersCompared: rows.length,
      ordersDiffering: rows.filter((r) => r.differences.length > 0).length,
      byCode,
      filledBoth: gaps.length,
      backtestUnknown: [...fills.values()].filter((f) => f.status === 'unknown').length,
      meanGapBps: gaps.length === 0 ? null : bps(gaps.reduce((s, g) => s.plus(g.gap), new Dec(0)).div(gaps.length)),
      weightedMeanGapBps: gaps.length === 0 || totalWeight.isZero() ? null : bps(gaps.reduce((s, g) => s.plus(g.gap.times(g.weight)), new Dec(0)).div(totalWeight)),
      maxAbsGapBps: gaps.length === 0 ? null : bps(Dec.max(...gaps.map((g) => g.gap.abs()))),
    },
  };
}

// ---------------------------------------------------------------------------------------------

function bps(value: Dec): number {
  // + 0 turns a -0 into 0.
  return value.toDecimalPlaces(4, Dec.ROUND_HALF_EVEN).toNumber() + 0;
}

function samePrice(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return dec(a).eq(dec(b));
}

function indexOrders<T extends { clientOrderId: string }>(name: string, orders: readonly T[], validate: (field: string, o: T) => void): Map<string, T> {
  if (!Array.isArray(orders)) throw new Error(`${name} must be an array, got ${JSON.stringify(orders)}`);
  const out = new Map<string, T>();
  orders.forEach((o, i) => {
    const field = `${name}[${i}]`;
    if (typeof o?.clientOrderId !== 'string' || o.clientOrderId.length === 0) {
      throw new Error(`${field}.clientOrderId must be a non-empty string, got ${JSON.stringify(o?.clientOrderId)}`);
    }
    if (out.has(o.clientOrderId)) throw new Error(`${field}.clientOrderId is duplicated: ${JSON.stringify(o.clientOrderId)}`);
    validate(field, o);
    out.set(o.clientOrderId, o);
  });
  return out;
}

function validateCommon(field: string, o: BacktestOrder | LiveOrder): void {
  if (typeof o.symbol !== 'string' || o.symbol.length === 0) throw new Error(`${field}.symbol must be a non-empty string, got ${JSON.stringify(o.symbol)}`);
  if (o.side !== 'buy' && o.side !== 'sell') throw new Error(`${field}.side must be buy or sell, got ${JSON.stringify(o.side)}`);
  if (typeof o.type !== 'string' || o.type.length === 0) throw new Error(`${field}.type must be an order type, got ${JSON.stringify(o.type)}`);
  positive(`${field}.qty`, o.qty);
  if (o.limitPrice !== null) positive(`${field}.limitPrice`, o.limitPrice);
  if (o.stopLossPrice !== null) positive(`${field}.stopLossPrice`, o.stopLossPrice);
}

function validateBacktestOrder(field: string, o: BacktestOrder): void {
  validateCommon(field, o);
}

function validateLiveOrder(field: string, o: LiveOrder): void {
  validateCommon(field, o);
  if (typeof o.status !== 'string' || o.status.length === 0) throw new Error(`${field}.status must be a ledger status, got ${JSON.stringify(o.status)}`);
  if (typeof o.atBroker !== 'boolean') throw new Error(`${field}.atBroker must be a boolean, got ${JSON.stringify(o.atBroker)}`);
  const filled = nonNegative(`${field}.filledQty`, o.filledQty);
  if (filled.gt(0)) {
    if (o.filledAvgPrice === null || o.filledAvgPrice === undefined) {
      throw new Error(`${field}.filledAvgPrice is required when filledQty is ${o.filledQty}, got ${JSON.stringify(o.filledAvgPrice)}`);
    }
    positive(`${field}.filledAvgPrice`, o.filledAvgPrice);
  }
}

function validateFill(field: string, f: BacktestFill): void {
  if (f.status === 'filled') {
    positive(`${field}.filledQty`, f.filledQty);
    positive(`${field}.avgPrice`, f.avgPrice);
    return;
  }
  if (f.status !== 'unfilled' && f.status !== 'rejected' && f.status !== 'unknown') {
    throw new Error(`${field}.status must be filled, unfilled, rejected or unknown, got ${JSON.stringify((f as { status: unknown }).status)}`);
  }
  if (typeof f.reason !== 'string' || f.reason.length === 0) throw new Error(`${field}.reason must be a non-empty string, got ${JSON.stringify(f.reason)}`);
}

function decimalOf(field: string, value: unknown): Dec {
  if (typeof value !== 'string' || !/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/.test(value.trim())) {
    throw new Error(`${field} must be a decimal string, got ${JSON.stringify(value)}`);
  }
  return dec(value, field);
}

function positive(field: string, value: unknown): Dec {
  const d = decimalOf(field, value);
  if (!d.gt(0)) throw new Error(`${field} must be > 0, got ${JSON.stringify(value)}`);
  return d;
}

function nonNegative(field: string, value: unknown): Dec {
  const d = decimalOf(field, value);
  if (d.lt(0)) throw new Error(`${field} must be >= 0, got ${JSON.stringify(value)}`);
  return d;
}
