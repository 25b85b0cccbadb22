/**
 * Orders as immutable, validated values.
 *
 * `createOrder` is the only way to make an `Order`. It
 *   1. rounds every price to the venue tick (see `money.tickSize`) in the direction that never
 *      worsens the order: a buy limit rounds down (never pay more), a sell limit up (never sell
 *      for less), a sell stop up and a buy stop down (the protective stop triggers no later);
 *      a take-profit limit rounds away from the entry like a limit of its side;
 *   2. validates every field with zod plus the cross-field invariants (stop on the protective
 *      side, take-profit beyond the entry, fractional shares only when configured, the
 *      client_order_id derived from the intent);
 *   3. returns a frozen object.
 * An invalid order never reaches the ledger or the broker.
 */
import { z } from 'zod';
import type { SubmitOrderRequest } from '../ports';
import { deriveClientOrderId, MAX_CLIENT_ORDER_ID_LENGTH, ORDER_PURPOSES } from './client-order-id';
import { dec, isOnTick, roundToTick, type TickRounding } from './money';

const decimalString = z.string().regex(/^\d+(\.\d+)?$/, 'must be a non-negative decimal string like "12.34"');

export const OrderSchema = z
  .object({
    clientOrderId: z.string().min(1).max(MAX_CLIENT_ORDER_ID_LENGTH),
    strategyId: z.string().regex(/^[a-z][a-z0-9]{0,11}$/),
    /** Session the order is for, YYYY-MM-DD (New York). */
    tradingDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    symbol: z.string().regex(/^[A-Z][A-Z0-9.]{0,9}$/),
    side: z.enum(['buy', 'sell']),
    type: z.enum(['market', 'limit', 'stop', 'stop_limit']),
    timeInForce: z.enum(['day', 'gtc', 'opg', 'cls', 'ioc', 'fok']),
    orderClass: z.enum(['simple', 'bracket', 'oco', 'oto']),
    /** Why the order exists (entry, or the exit kind), stored explicitly. */
    purpose: z.enum(ORDER_PURPOSES),
    /** Shares, > 0. Whole shares unless the order is created with `allowFractional`. */
    qty: z.string().regex(/^\d+(\.\d{1,9})?$/, 'must be a positive decimal number of shares'),
    /** USD per share, on the venue tick. Required for limit and stop_limit. */
    limitPrice: decimalString.optional(),
    /** USD per share trigger, on the venue tick. Required for stop and stop_limit. */
    stopPrice: decimalString.optional(),
    /** Stop-loss leg trigger (USD per share) for oto/bracket orders. */
    stopLossPrice: decimalString.optional(),
    /** Take-profit leg limit (USD per share); bracket orders only. */
    takeProfitPrice: decimalString.optional(),
    /** ISO-8601 UTC after which an unfilled entry is stale and cancel-verify cancels it. */
    expiresAt: z.iso.datetime().optional(),
  })
  .strict();

/** Options of createOrder. */
export interface OrderOptions {
  /**
   * Allow fractional quantities (Alpaca: `day` time in force and `simple` order class only).
   * Off unless the strategy config turns it on.
   */
  allowFractional?: boolean;
}

/** Price input: a decimal string, a finite number or anything `dec` accepts. */
type PriceInput = string | number;

/** What createOrder accepts: the schema's fields, prices as decimal strings or numbers (rounded to the tick). */
export type OrderInput = Omit<z.input<typeof OrderSchema>, 'limitPrice' | 'stopPrice' | 'stopLossPrice' | 'takeProfitPrice'> & {
  limitPrice?: PriceInput;
  stopPrice?: PriceInput;
  stopLossPrice?: PriceInput;
  takeProfitPrice?: PriceInput;
};

/** A validated, frozen order. Decimal strings: qty in shares, prices in USD per share. */
export type Order = Readonly<z.infer<typeof OrderSchema>>;

/**
 * Validates, rounds to the tick and freezes an order (see module doc for the rounding rules).
 * @throws Error listing each invalid field with the value given, e.g.
 *   `invalid order: stopLossPrice="161": must be below the buy limit 160.33`.
 */
export function createOrder(input: OrderInput, options: OrderOptions = {}): Order {
  const problems: string[] = [];
  const problem = (field: string, value: unknown, message: string) => problems.push(`${field}=${JSON.stringify(value)}: ${message}`);

  const rounded: Record<string, unknown> = { ...input };
  const exitSide = input.side === 'buy' ? 'sell' : 'buy';
  const roundings: Array<[keyof OrderInput, TickRounding]> = [
    ['limitPrice', input.side === 'buy' ? 'down' : 'up'],
    ['stopPrice', input.side === 'sell' ? 'up' : 'down'],
    ['stopLossPrice', exitSide === 'sell' ? 'up' : 'down'],
    ['takeProfitPrice', exitSide === 'sell' ? 'up' : 'down'],
  ];
  for (const [field, mode] of roundings) {
    const value = input[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' && typeof value !== 'number') continue; // zod names the type error
    try {
      const d = dec(value, field);
      const r = d.gt(0) ? roundToTick(d, mode) : d;
      // Keep the caller's spelling ("152.10") when it is already on the grid; else the rounded value.
      rounded[field] = typeof value === 'string' && r.eq(d) ? value : r.toString();
    } catch (error) {
      problem(field, value, (error as Error).message);
    }
  }

  const result = OrderSchema.safeParse(rounded);
  if (!result.success) {
    for (const i of result.error.issues) {
      const field = i.path.join('.') || '(order)';
      const value = i.path.length === 1 ? (input as Record<string, unknown>)[String(i.path[0])] : undefined;
      problem(field, value, i.message);
    }
  }
  if (problems.length === 0 && result.success) {
    const o = result.data;
    const issue = (field: keyof Order, message: string) => problem(field, (input as Record<string, unknown>)[field], message);
    const needsLimit = o.type === 'limit' || o.type === 'stop_limit';
    const needsStop = o.type === 'stop' || o.type === 'stop_limit';
    if (needsLimit && !o.limitPrice) issue('limitPrice', `required for type ${o.type}`);
    if (!needsLimit && o.limitPrice) issue('limitPrice', `not allowed for type ${o.type}`);
    if (needsStop && !o.stopPrice) issue('stopPrice', `required for type ${o.type}`);
    if (!needsStop && o.stopPrice) issue('stopPrice', `not allowed for type ${o.type}`);
    for (const field of ['limitPrice', 'stopPrice', 'stopLossPrice', 'takeProfitPrice'] as const) {
      const value = o[field];
      if (value === undefined) continue;
      if (dec(value).lte(0)) issue(field, 'must be > 0');
      else if (!isOnTick(value)) issue(field, 'must be on the venue tick ($0.01 at or above $1, $0.0001 below)');
    }
    const qty = dec(o.qty);
    if (!options.allowFractional && (!qty.isInteger() || qty.lt(1))) {
      issue('qty', 'must be a whole number of shares >= 1 (fractional shares are not enabled)');
    } else if (qty.lte(0)) issue('qty', 'must be > 0 shares');
    else if (!qty.isInteger()) {
      if (o.timeInForce !== 'day' || o.orderClass !== 'simple') {
        issue('qty', `fractional orders must be time_in_force day and order_class simple (got ${o.timeInForce}, ${o.orderClass})`);
      }
    }
    const protective = o.orderClass === 'oto' || o.orderClass === 'bracket';
    if (protective && !o.stopLossPrice) issue('stopLossPrice', `required for order_class ${o.orderClass}: every entry carries its stop-loss`);
    if (!protective && o.stopLossPrice) issue('stopLossPrice', `only oto/bracket orders carry a stop-loss leg`);
    if (o.orderClass === 'bracket' && !o.takeProfitPrice) issue('takeProfitPrice', 'required for order_class bracket');
    if (o.orderClass !== 'bracket' && o.takeProfitPrice) issue('takeProfitPrice', `only bracket orders carry a take-profit leg (order_class ${o.orderClass})`);
    if (o.stopLossPrice && o.limitPrice) {
      const stop = dec(o.stopLossPrice);
      const limit = dec(o.limitPrice);
      if (o.side === 'buy' && !stop.lt(limit)) issue('stopLossPrice', `must be below the buy limit ${o.limitPrice}`);
      if (o.side === 'sell' && !stop.gt(limit)) issue('stopLossPrice', `must be above the sell limit ${o.limitPrice}`);
    }
    if (o.takeProfitPrice && o.limitPrice) {
      const tp = dec(o.takeProfitPrice);
      const limit = dec(o.limitPrice);
      if (o.side === 'buy' && !tp.gt(limit)) issue('takeProfitPrice', `must be above the buy limit ${o.limitPrice}`);
      if (o.side === 'sell' && !tp.lt(limit)) issue('takeProfitPrice', `must be below the sell limit ${o.limitPrice}`);
    }
    if (o.purpose === 'entry' && o.side === 'sell') issue('side', 'entries are long only (buy); a sell is an exit');
    if (o.purpose !== 'entry' && protective) issue('orderClass', `exit orders (${o.purpose}) are simple orders, never ${o.orderClass}`);
    if (o.purpose === 'entry' || o.purpose === 'flatten' || o.purpose === 'rebalance') {
      let expected: string | undefined;
      try {
        expected = deriveClientOrderId({ strategyId: o.strategyId, sessionDate: o.tradingDate, symbol: o.symbol, side: o.side, purpose: o.purpose });
      } catch (error) {
        issue('clientOrderId', (error as Error).message);
      }
      if (expected && expected !== o.clientOrderId) issue('clientOrderId', `must be the derived id ${expected}`);
    }
  }
  if (problems.length > 0 || !result.success) throw new Error(`invalid order: ${problems.join('; ')}`);
  return Object.freeze({ ...result.data });
}

/** The broker request for an order (the stop-loss and take-profit legs travel in the same request). */
export function toSubmitRequest(order: Order): SubmitOrderRequest {
  return {
    clientOrderId: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    timeInForce: order.timeInForce,
    orderClass: order.orderClass,
    qty: order.qty,
    ...(order.limitPrice ? { limitPrice: order.limitPrice } : {}),
    ...(order.stopPrice ? { stopPrice: order.stopPrice } : {}),
    ...(order.stopLossPrice ? { stopLoss: { stopPrice: order.stopLossPrice } } : {}),
    ...(order.takeProfitPrice ? { takeProfit: { limitPrice: order.takeProfitPrice } } : {}),
  };
}
