/**
 * Orders as immutable, validated values.
 *
 * `createOrder` is the only way to make an `Order`: it validates every field with zod plus the
 * cross-field invariants (tick grid, stop on the protective side, client_order_id derived from the
 * intent) and returns a frozen object. An invalid order never reaches the ledger or the broker.
 */
import { z } from 'zod';
import type { SubmitOrderRequest } from '../ports';
import { deriveClientOrderId, MAX_CLIENT_ORDER_ID_LENGTH, ORDER_PURPOSES } from './client-order-id';
import { dec, isOnTick } from './money';

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
    purpose: z.enum(ORDER_PURPOSES),
    /** Shares, whole numbers (fractional shares are not enabled). */
    qty: z.string().regex(/^[1-9]\d*$/, 'must be a whole number of shares >= 1'),
    /** USD per share, on the venue tick. Required for limit and stop_limit. */
    limitPrice: decimalString.optional(),
    /** USD per share trigger, on the venue tick. Required for stop and stop_limit. */
    stopPrice: decimalString.optional(),
    /** Stop-loss leg trigger (USD per share) for oto/bracket orders. */
    stopLossPrice: decimalString.optional(),
    /** ISO-8601 UTC after which an unfilled entry is stale and cancel-verify cancels it. */
    expiresAt: z.iso.datetime().optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    const needsLimit = o.type === 'limit' || o.type === 'stop_limit';
    const needsStop = o.type === 'stop' || o.type === 'stop_limit';
    if (needsLimit && !o.limitPrice) issue('limitPrice', `required for type ${o.type}`);
    if (!needsLimit && o.limitPrice) issue('limitPrice', `not allowed for type ${o.type}`);
    if (needsStop && !o.stopPrice) issue('stopPrice', `required for type ${o.type}`);
    if (!needsStop && o.stopPrice) issue('stopPrice', `not allowed for type ${o.type}`);
    for (const field of ['limitPrice', 'stopPrice', 'stopLossPrice'] as const) {
      const value = o[field];
      if (value === undefined) continue;
      if (dec(value).lte(0)) issue(field, 'must be > 0');
      else if (!isOnTick(value)) issue(field, 'must be on the venue tick ($0.01 at or above $1, $0.0001 below)');
    }
    const protective = o.orderClass === 'oto' || o.orderClass === 'bracket';
    if (protective && !o.stopLossPrice) issue('stopLossPrice', `required for order_class ${o.orderClass}: every entry carries its stop-loss`);
    if (!protective && o.stopLossPrice) issue('stopLossPrice', `only oto/bracket orders carry a stop-loss leg`);
    if (o.stopLossPrice && o.limitPrice) {
      const stop = dec(o.stopLossPrice);
      const limit = dec(o.limitPrice);
      if (o.side === 'buy' && !stop.lt(limit)) issue('stopLossPrice', `must be below the buy limit ${o.limitPrice}`);
      if (o.side === 'sell' && !stop.gt(limit)) issue('stopLossPrice', `must be above the sell limit ${o.limitPrice}`);
    }
    if (o.purpose === 'entry') {
      let expected: string | undefined;
      try {
        expected = deriveClientOrderId({
          strategyId: o.strategyId,
          sessionDate: o.tradingDate,
          symbol: o.symbol,
          side: o.side,
          purpose: o.purpose,
        });
      } catch (error) {
        issue('clientOrderId', (error as Error).message);
      }
      if (expected && expected !== o.clientOrderId) issue('clientOrderId', `must be the derived id ${expected}`);
    }
  });

/** A validated, frozen order. Decimal strings: qty in shares, prices in USD per share. */
export type Order = Readonly<z.infer<typeof OrderSchema>>;

/**
 * Validates and freezes an order.
 * @throws Error listing each invalid field with the value given, e.g.
 *   `invalid order: stopLossPrice="155.401": must be on the venue tick (...)`.
 */
export function createOrder(input: z.input<typeof OrderSchema>): Order {
  const result = OrderSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => {
      const field = i.path.join('.') || '(order)';
      const value = i.path.length === 1 ? (input as Record<string, unknown>)[String(i.path[0])] : undefined;
      return `${field}=${JSON.stringify(value)}: ${i.message}`;
    });
    throw new Error(`invalid order: ${problems.join('; ')}`);
  }
  return Object.freeze({ ...result.data });
}

/** The broker request for an order (the stop-loss leg travels in the same request). */
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
  };
}
