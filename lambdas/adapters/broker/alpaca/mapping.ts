/**
 * The boundary between Alpaca's JSON (snake_case, Trading API v2) and the broker port (camelCase).
 *
 * Responses are parsed with zod, field by field, for the fields the pipeline uses; everything else
 * Alpaca sends is ignored. A value outside the expected shape (an unknown order status, a price
 * that is not a decimal string, a `notional` order without `qty`) throws an AlpacaResponseError
 * naming the field path and the value, e.g.
 * `GET /v2/orders: [3].status = "frozen" is not valid (Invalid option: expected one of "new"|...)`.
 *
 * Money and quantities stay the decimal strings Alpaca sent (USD, shares); nothing is parsed to a
 * float. Timestamps become ISO-8601 UTC with millisecond precision (Alpaca sends nanoseconds).
 *
 * Sources: Alpaca Trading API OpenAPI spec (test/fixtures/contracts/alpaca/trading-api-subset.json:
 * Order, Account, Position, CreateOrderRequest, legacy_clock, legacy_calendar_day) and, for the FILL
 * account activity (not in that subset), Alpaca's "Account Activities" documentation (TradeActivity).
 */
import { z } from 'zod';
import { isCalendarDate, newYorkTime, type Session } from '../../../core/calendar';
import { dec } from '../../../core/money';
import { ALPACA_ORDER_STATUSES, type AlpacaOrderStatus } from '../../../core/order-status';
import type {
  BrokerAccount,
  BrokerExecution,
  BrokerOrder,
  BrokerPosition,
  OrderClass,
  OrderSide,
  OrderType,
  SubmitOrderRequest,
  TimeInForce,
} from '../../../ports';

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** Alpaca answered 2xx with a body the adapter cannot trust (wrong shape or an unexpected value). */
export class AlpacaResponseError extends Error {
  constructor(
    /** Request the body belongs to, e.g. `GET /v2/orders`. */
    readonly where: string,
    /** Path of the first offending field, e.g. `[3].status` (`` for the whole body). */
    readonly field: string,
    /** The offending value as received. */
    readonly value: unknown,
    message: string,
  ) {
    super(message);
    this.name = 'AlpacaResponseError';
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined (missing)';
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Parses `input` with `schema`.
 * @param where request label for the message, e.g. `GET /v2/account`.
 * @throws AlpacaResponseError naming the first bad field and its value.
 */
export function parseAlpaca<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = fieldPath(issue.path);
  const value = valueAt(input, issue.path);
  throw new AlpacaResponseError(
    where,
    field,
    value,
    `${where}: unexpected response value ${field || '(body)'} = ${show(value)} (${issue.message})`,
  );
}

// ---------------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------------

/** A decimal string as Alpaca writes money and quantities: `"150"`, `"0.02"`, `"-10"`, `"122011.0975"`. */
const DECIMAL = /^-?\d+(\.\d+)?$/;
const decimal = z.string().regex(DECIMAL, 'expected a decimal string');
/** ISO-8601 instant with an explicit offset, any fraction (Alpaca sends up to nanoseconds). */
const INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const instant = z.string().refine(isInstant, 'expected an ISO-8601 timestamp with offset');

function isInstant(text: string): boolean {
  try {
    toUtcIso(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * ISO-8601 UTC (ms precision) of an Alpaca timestamp: `2023-12-12T22:31:24.668464435Z` →
 * `2023-12-12T22:31:24.668Z`; `2022-05-16T16:32:24.14373588-04:00` → `2022-05-16T20:32:24.143Z`.
 * The fraction is truncated (not rounded) to milliseconds.
 * @throws Error when the text is not such a timestamp.
 */
export function toUtcIso(timestamp: string): string {
  const m = INSTANT.exec(timestamp);
  if (!m) throw new Error(`not an ISO-8601 timestamp with offset: ${JSON.stringify(timestamp)}`);
  const fraction = (m[2] ?? '.000').slice(1).padEnd(3, '0').slice(0, 3);
  const ms = Date.parse(`${m[1]}.${fraction}${m[3]}`);
  if (!Number.isFinite(ms)) throw new Error(`not a real instant: ${JSON.stringify(timestamp)}`);
  return new Date(ms).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

const ORDER_SIDES = ['buy', 'sell'] as const satisfies readonly OrderSide[];
const ORDER_TYPES = ['market', 'limit', 'stop', 'stop_limit'] as const satisfies readonly OrderType[];
const TIME_IN_FORCE = ['day', 'gtc', 'opg', 'cls', 'ioc', 'fok'] as const satisfies readonly TimeInForce[];
/** Alpaca writes `""` for a simple order in some responses (spec OrderClass enum includes ""). */
const ORDER_CLASSES = ['simple', 'bracket', 'oco', 'oto', ''] as const;

/** The Order fields the adapter reads (Alpaca `Order` / `OrderLeg` schemas). */
export interface AlpacaOrderJson {
  id: string;
  client_order_id: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  time_in_force: TimeInForce;
  order_class: (typeof ORDER_CLASSES)[number];
  qty: string;
  filled_qty: string;
  filled_avg_price: string | null;
  limit_price: string | null;
  stop_price: string | null;
  status: AlpacaOrderStatus;
  submitted_at?: string | null | undefined;
  created_at?: string | null | undefined;
  filled_at?: string | null | undefined;
  canceled_at?: string | null | undefined;
  expired_at?: string | null | undefined;
  legs?: AlpacaOrderJson[] | null | undefined;
}

/**
 * Alpaca `Order`, the fields used. `qty` must be present: notional (dollar-amount) orders have
 * `qty: null` and are not supported. `type: trailing_stop` and `order_class: mleg` are refused.
 */
export const AlpacaOrderSchema: z.ZodType<AlpacaOrderJson> = z.lazy(() =>
  z.object({
    id: z.string().min(1),
    client_order_id: z.string(),
    symbol: z.string().min(1),
    side: z.enum(ORDER_SIDES),
    type: z.enum(ORDER_TYPES),
    time_in_force: z.enum(TIME_IN_FORCE),
    order_class: z.enum(ORDER_CLASSES),
    qty: decimal,
    filled_qty: decimal,
    filled_avg_price: decimal.nullable(),
    limit_price: decimal.nullable(),
    stop_price: decimal.nullable(),
    status: z.enum(ALPACA_ORDER_STATUSES),
    submitted_at: instant.nullish(),
    created_at: instant.nullish(),
    filled_at: instant.nullish(),
    canceled_at: instant.nullish(),
    expired_at: instant.nullish(),
    legs: z.array(AlpacaOrderSchema).nullish(),
  }),
);

/** A list of orders (`GET /v2/orders`), each as AlpacaOrderSchema. */
export const AlpacaOrderListSchema = z.array(AlpacaOrderSchema);

const utcOrNull = (value: string | null | undefined): string | null => (value ? toUtcIso(value) : null);

/**
 * BrokerOrder of a parsed Alpaca order: camelCase, `order_class ""` → `simple`, `legs: null` → [],
 * timestamps in ISO-8601 UTC (ms). `submittedAt` falls back to `created_at` when Alpaca has not
 * set `submitted_at` yet.
 * @throws Error when neither submitted_at nor created_at is present.
 */
export function toBrokerOrder(raw: AlpacaOrderJson): BrokerOrder {
  const submitted = raw.submitted_at ?? raw.created_at;
  if (!submitted) throw new Error(`Alpaca order ${raw.id}: submitted_at and created_at are both missing`);
  return {
    id: raw.id,
    clientOrderId: raw.client_order_id,
    symbol: raw.symbol,
    side: raw.side,
    type: raw.type,
    timeInForce: raw.time_in_force,
    orderClass: raw.order_class === '' ? 'simple' : raw.order_class,
    qty: raw.qty,
    filledQty: raw.filled_qty,
    filledAvgPrice: raw.filled_avg_price,
    limitPrice: raw.limit_price,
    stopPrice: raw.stop_price,
    status: raw.status,
    submittedAt: toUtcIso(submitted),
    filledAt: utcOrNull(raw.filled_at),
    canceledAt: utcOrNull(raw.canceled_at),
    expiredAt: utcOrNull(raw.expired_at),
    legs: (raw.legs ?? []).map(toBrokerOrder),
  };
}

// ---------------------------------------------------------------------------------------------
// Order submission (request body)
// ---------------------------------------------------------------------------------------------

/**
 * The JSON body of `POST /v2/orders` (spec `CreateOrderRequest`): snake_case, every number a
 * decimal string like the spec's examples (`"qty": "2"`, `"limit_price": "150"`).
 */
export interface AlpacaCreateOrderBody {
  symbol: string;
  qty: string;
  side: OrderSide;
  type: OrderType;
  time_in_force: TimeInForce;
  order_class: OrderClass;
  client_order_id: string;
  limit_price?: string;
  stop_price?: string;
  /** Stop-loss leg (OTO / bracket / OCO): a stop order at `stop_price`, USD per share. */
  stop_loss?: { stop_price: string };
  /** Take-profit leg (bracket / OTO / OCO): a limit order at `limit_price`, USD per share. */
  take_profit?: { limit_price: string };
}

function positiveDecimal(field: string, value: string | undefined): string {
  if (typeof value !== 'string' || !DECIMAL.test(value) || !dec(value, field).gt(0)) {
    throw new Error(`order ${field} must be a positive decimal string, got ${show(value)}`);
  }
  return value;
}

/**
 * Builds the `POST /v2/orders` body of a submission, refusing an inconsistent request before
 * anything is sent. Rules (Alpaca "Orders" docs, order classes):
 * - `limit`/`stop_limit` need `limitPrice`, `stop`/`stop_limit` need `stopPrice`, others must not have them;
 * - `simple` carries no legs; `oto` carries exactly one of stopLoss / takeProfit; `bracket` and
 *   `oco` carry both (so an entry's stop-loss always travels in the same request as the entry);
 * - `clientOrderId` is 1–128 characters (spec maxLength 128); qty and prices are positive decimals.
 * @throws Error naming the field and value.
 */
export function toCreateOrderBody(request: SubmitOrderRequest): AlpacaCreateOrderBody {
  const id = request.clientOrderId;
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) {
    throw new Error(`order clientOrderId must be 1-128 characters, got ${show(id)}`);
  }
  if (typeof request.symbol !== 'string' || request.symbol.trim() === '') throw new Error(`order symbol must be non-empty, got ${show(request.symbol)}`);
  if (!(ORDER_SIDES as readonly string[]).includes(request.side)) throw new Error(`order side must be buy or sell, got ${show(request.side)}`);
  if (!(ORDER_TYPES as readonly string[]).includes(request.type)) throw new Error(`order type must be one of ${ORDER_TYPES.join(', ')}, got ${show(request.type)}`);
  if (!(TIME_IN_FORCE as readonly string[]).includes(request.timeInForce)) {
    throw new Error(`order timeInForce must be one of ${TIME_IN_FORCE.join(', ')}, got ${show(request.timeInForce)}`);
  }
  const body: AlpacaCreateOrderBody = {
    symbol: request.symbol,
    qty: positiveDecimal('qty', request.qty),
    side: request.side,
    type: request.type,
    time_in_force: request.timeInForce,
    order_class: request.orderClass,
    client_order_id: id,
  };

  const needsLimit = request.type === 'limit' || request.type === 'stop_limit';
  const needsStop = request.type === 'stop' || request.type === 'stop_limit';
  if (needsLimit) body.limit_price = positiveDecimal('limitPrice', request.limitPrice);
  else if (request.limitPrice !== undefined) throw new Error(`order limitPrice is not allowed for type ${request.type}, got ${show(request.limitPrice)}`);
  if (needsStop) body.stop_price = positiveDecimal('stopPrice', request.stopPrice);
  else if (request.stopPrice !== undefined) throw new Error(`order stopPrice is not allowed for type ${request.type}, got ${show(request.stopPrice)}`);

  const hasStopLoss = request.stopLoss !== undefined;
  const hasTakeProfit = request.takeProfit !== undefined;
  switch (request.orderClass) {
    case 'simple':
      if (hasStopLoss || hasTakeProfit) throw new Error('order_class simple carries no stopLoss/takeProfit legs; use oto or bracket');
      break;
    case 'oto':
      if (hasStopLoss === hasTakeProfit) throw new Error('order_class oto needs exactly one of stopLoss or takeProfit (both: use bracket)');
      break;
    case 'bracket':
    case 'oco':
      if (!hasStopLoss || !hasTakeProfit) throw new Error(`order_class ${request.orderClass} needs both stopLoss and takeProfit`);
      break;
    default:
      throw new Error(`order orderClass must be one of simple, oto, bracket, oco, got ${show(request.orderClass)}`);
  }
  if (request.stopLoss) body.stop_loss = { stop_price: positiveDecimal('stopLoss.stopPrice', request.stopLoss.stopPrice) };
  if (request.takeProfit) body.take_profit = { limit_price: positiveDecimal('takeProfit.limitPrice', request.takeProfit.limitPrice) };
  return body;
}

// ---------------------------------------------------------------------------------------------
// Account, positions, configurations
// ---------------------------------------------------------------------------------------------

/** Alpaca `Account`, the fields used. The three block flags are required: unknown means unusable. */
export const AlpacaAccountSchema = z.object({
  cash: decimal,
  equity: decimal,
  buying_power: decimal,
  trading_blocked: z.boolean(),
  trade_suspended_by_user: z.boolean(),
  account_blocked: z.boolean(),
});

/**
 * BrokerAccount (USD decimal strings). `tradingBlocked` is true when any of Alpaca's
 * `trading_blocked`, `trade_suspended_by_user` (the account-configuration kill switch) or
 * `account_blocked` is set: in each case Alpaca refuses new orders.
 */
export function toBrokerAccount(raw: z.output<typeof AlpacaAccountSchema>): BrokerAccount {
  return {
    cash: raw.cash,
    equity: raw.equity,
    buyingPower: raw.buying_power,
    tradingBlocked: raw.trading_blocked || raw.trade_suspended_by_user || raw.account_blocked,
  };
}

/** Alpaca `Position`, the fields used. */
export const AlpacaPositionSchema = z.object({
  symbol: z.string().min(1),
  qty: decimal,
  side: z.enum(['long', 'short']),
  avg_entry_price: decimal,
  current_price: decimal,
  market_value: decimal,
});
/** `GET /v2/positions`: an array of positions. */
export const AlpacaPositionListSchema = z.array(AlpacaPositionSchema);

/** BrokerPosition: qty in shares, negative for a short (a `short` position's qty gets a `-` if Alpaca sent it unsigned). */
export function toBrokerPosition(raw: z.output<typeof AlpacaPositionSchema>): BrokerPosition {
  const qty = raw.side === 'short' && !raw.qty.startsWith('-') && !/^0+(\.0+)?$/.test(raw.qty) ? `-${raw.qty}` : raw.qty;
  return { symbol: raw.symbol, qty, avgEntryPrice: raw.avg_entry_price, currentPrice: raw.current_price, marketValue: raw.market_value };
}

/** Alpaca account configurations (`GET/PATCH /v2/account/configurations`); other keys are kept in `raw`. */
export const AlpacaAccountConfigurationsSchema = z.looseObject({ suspend_trade: z.boolean() });

/** Account configurations: `suspendTrade` is Alpaca's broker-side kill switch (no new orders when true). */
export interface AlpacaAccountConfigurations {
  suspendTrade: boolean;
  /** The whole object as Alpaca sent it (e.g. `no_shorting`, `dtbp_check`, `fractional_trading`). */
  raw: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Executions (FILL account activities)
// ---------------------------------------------------------------------------------------------

/**
 * One FILL account activity (`GET /v2/account/activities/FILL`), the fields used. Shape per Alpaca's
 * Account Activities docs (TradeActivity): `id` (`<time>::<uuid>`, also the paging token),
 * `activity_type` "FILL", `order_id`, `symbol`, `side` buy | sell | sell_short, `qty` (this
 * execution), `price`, `cum_qty` (order total so far), `leaves_qty`, `transaction_time`, `type`
 * fill | partial_fill — numbers as decimal strings.
 */
export const AlpacaFillActivitySchema = z.object({
  id: z.string().min(1),
  activity_type: z.literal('FILL'),
  order_id: z.string().min(1),
  symbol: z.string().min(1),
  side: z.enum(['buy', 'sell', 'sell_short']),
  qty: decimal.refine((q) => dec(q).gt(0), 'expected qty > 0'),
  price: decimal,
  cum_qty: decimal,
  transaction_time: instant,
});
/** `GET /v2/account/activities/FILL`: an array of FILL activities. */
export const AlpacaFillActivityListSchema = z.array(AlpacaFillActivitySchema);

/** BrokerExecution of a FILL activity; `sell_short` counts as a `sell` (it lowers the position the same way). */
export function toBrokerExecution(raw: z.output<typeof AlpacaFillActivitySchema>): BrokerExecution {
  return {
    id: raw.id,
    orderId: raw.order_id,
    symbol: raw.symbol,
    side: raw.side === 'buy' ? 'buy' : 'sell',
    qty: raw.qty,
    price: raw.price,
    cumQty: raw.cum_qty,
    transactionTime: toUtcIso(raw.transaction_time),
  };
}

// ---------------------------------------------------------------------------------------------
// Clock and calendar
// ---------------------------------------------------------------------------------------------

/** `GET /v2/clock` (spec `legacy_clock`): timestamps with a New York offset. */
export const AlpacaClockSchema = z.object({
  timestamp: instant,
  is_open: z.boolean(),
  next_open: instant,
  next_close: instant,
});

/** The market clock, instants in ISO-8601 UTC (ms). */
export interface AlpacaClock {
  timestamp: string;
  isOpen: boolean;
  nextOpen: string;
  nextClose: string;
}

/** AlpacaClock of a parsed `/v2/clock` answer (New York offsets → ISO-8601 UTC, ms). */
export function toAlpacaClock(raw: z.output<typeof AlpacaClockSchema>): AlpacaClock {
  return { timestamp: toUtcIso(raw.timestamp), isOpen: raw.is_open, nextOpen: toUtcIso(raw.next_open), nextClose: toUtcIso(raw.next_close) };
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** One `GET /v2/calendar` day (spec `legacy_calendar_day`), the fields used: `open`/`close` are `HH:MM` New York time. */
export const AlpacaCalendarDaySchema = z.object({
  date: z.string().refine(isCalendarDate, 'expected a calendar date YYYY-MM-DD'),
  open: z.string().regex(HHMM, 'expected HH:MM'),
  close: z.string().regex(HHMM, 'expected HH:MM'),
});
/** `GET /v2/calendar`: an array of calendar days (spec `legacy_public_calendar_resp`). */
export const AlpacaCalendarSchema = z.array(AlpacaCalendarDaySchema);

/**
 * Session of a calendar day: New York wall times → UTC instants via luxon (zone America/New_York),
 * e.g. `{date: 2025-01-02, open: 09:30, close: 16:00}` → `openUtc 2025-01-02T14:30:00.000Z`,
 * `closeUtc 2025-01-02T21:00:00.000Z` (EST); in summer (EDT) 13:30 / 20:00 UTC.
 */
export function toSession(raw: z.output<typeof AlpacaCalendarDaySchema>): Session {
  const at = (hhmm: string) => {
    const [h, m] = hhmm.split(':').map(Number) as [number, number];
    return newYorkTime(raw.date, h, m).toISOString();
  };
  return { date: raw.date, openUtc: at(raw.open), closeUtc: at(raw.close) };
}

// ---------------------------------------------------------------------------------------------
// Error bodies
// ---------------------------------------------------------------------------------------------

/** Alpaca error body: `{"code": 40310000, "message": "insufficient buying power"}` (both optional here). */
export const AlpacaErrorBodySchema = z.object({
  code: z.number().int().optional(),
  message: z.string().optional(),
});
