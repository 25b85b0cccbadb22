/**
 * Alpaca order statuses (Trading API v2 `OrderStatus`, plus the `held` status used for the legs of
 * bracket/OTO orders until their parent fills) and the two questions the pipeline asks of them.
 * Source: Alpaca OpenAPI spec, components.schemas.OrderStatus (see ../shared/contracts/alpaca).
 */

/** Every status Alpaca can report. */
export const ALPACA_ORDER_STATUSES = [
  'new',
  'partially_filled',
  'filled',
  'done_for_day',
  'canceled',
  'expired',
  'replaced',
  'pending_cancel',
  'pending_replace',
  'accepted',
  'pending_new',
  'accepted_for_bidding',
  'stopped',
  'rejected',
  'suspended',
  'calculated',
  'held',
] as const;

export type AlpacaOrderStatus = (typeof ALPACA_ORDER_STATUSES)[number];

/**
 * Statuses after which Alpaca sends no further updates ("An order may be canceled through the API
 * up until the point it reaches a state of either filled, canceled, or expired"; rejected and
 * replaced are final too).
 */
export const TERMINAL_STATUSES: ReadonlySet<AlpacaOrderStatus> = new Set([
  'filled',
  'canceled',
  'expired',
  'rejected',
  'replaced',
]);

/** True when the order can still change (fill, cancel, expire). */
export function isOpenStatus(status: AlpacaOrderStatus): boolean {
  return !TERMINAL_STATUSES.has(status);
}
