/**
 * Ports: the interfaces the handlers need from the outside world. Adapters in `lambdas/adapters/`
 * implement them (AWS and local flavours); the functional core in `lambdas/core/` never sees them.
 *
 * Money and quantities cross these ports as decimal strings (USD, shares), never as floats.
 */
import type { RawBarRow } from './core/bars';
import type { Session } from './core/calendar';
import type { AlpacaOrderStatus } from './core/order-status';

/** Wall clock. The only source of "now" for handlers; the core takes time as an argument. */
export interface Clock {
  now(): Date;
}

/** Thrown by a market-data adapter when a symbol's source cannot be read at all (missing file, bad header). */
export class MarketDataError extends Error {
  constructor(
    readonly symbol: string,
    message: string,
  ) {
    super(message);
    this.name = 'MarketDataError';
  }
}

/** Daily bars by symbol. */
export interface MarketDataPort {
  /** Every symbol this source can serve, sorted ascending. */
  listSymbols(): Promise<string[]>;
  /**
   * All daily rows for `symbol`, in source order, as raw text (validation happens in the core).
   * @throws MarketDataError when the symbol has no source or the source is unreadable.
   */
  loadDailyRows(symbol: string): Promise<RawBarRow[]>;
}

/** NYSE session calendar source. */
export interface CalendarPort {
  /** All known sessions, ascending by date. */
  loadSessions(): Promise<Session[]>;
}

/** What a parameter store returned for the kill switch, before the fail-closed interpretation. */
export interface RawParameter {
  /** The parameter's value as stored. */
  value: string;
  /** ISO-8601 UTC instant of the last change, when the store knows it. */
  lastModified?: string;
}

/** Kill-switch parameter: SSM in AWS, a file in the state directory locally. */
export interface KillSwitchPort {
  /**
   * Reads the current value, uncached.
   * @throws any error of the underlying store; callers must fail closed (see core/kill-switch).
   */
  read(): Promise<RawParameter>;
  /** Sets the value (local runs and tests; in AWS the owner sets it in the console). */
  write(value: string): Promise<void>;
}

/**
 * Alert severities, lowest to highest, as the trading spec assigns them:
 * CRITICAL halt on a risk limit, reconciliation mismatch, broker auth failure or connection lost;
 * HIGH daily loss beyond half its limit, fill rate < 50%, slippage above its threshold;
 * MEDIUM broker rejected an order, rate limited (429); LOW partial fill; INFO for the record.
 */
export type AlertSeverity = 'INFO' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/** An operator alert. `type` is a stable machine code (e.g. RECONCILIATION_MISMATCH). */
export interface Alert {
  severity: AlertSeverity;
  type: string;
  message: string;
  runId?: string;
  tradingDate?: string;
  /** ISO-8601 UTC. */
  at: string;
  details?: Record<string, unknown>;
}

/** Alert delivery: SNS in AWS, console plus JSON lines locally. */
export interface AlertPort {
  publish(alert: Alert): Promise<void>;
}

/** Broker API keys and market-data keys (Secrets Manager in AWS, environment variables locally). */
export interface ApiCredentials {
  APCA_API_KEY_ID?: string;
  APCA_API_SECRET_KEY?: string;
  ALPHAVANTAGE_API_KEY?: string;
}

/** Source of API credentials. */
export interface SecretsPort {
  /** @throws when the secret cannot be read or is not a JSON object of strings. */
  getCredentials(): Promise<ApiCredentials>;
}

// ---------------------------------------------------------------------------------------------
// Broker
// ---------------------------------------------------------------------------------------------

export type OrderSide = 'buy' | 'sell';
export type OrderType = 'market' | 'limit' | 'stop' | 'stop_limit';
export type TimeInForce = 'day' | 'gtc' | 'opg' | 'cls' | 'ioc' | 'fok';
export type OrderClass = 'simple' | 'bracket' | 'oco' | 'oto';

/**
 * An order submission, in Alpaca's vocabulary. Decimal strings: qty in shares, prices in USD.
 * For `order_class: 'oto'` the stop-loss leg travels in the same request (`stopLoss`).
 */
export interface SubmitOrderRequest {
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  orderClass: OrderClass;
  qty: string;
  limitPrice?: string;
  stopPrice?: string;
  stopLoss?: { stopPrice: string };
  /** Take-profit leg of a bracket order (limit, USD per share). */
  takeProfit?: { limitPrice: string };
}

/** A broker's view of one order (Alpaca Order object, camelCased). Decimal strings as above. */
export interface BrokerOrder {
  id: string;
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  orderClass: OrderClass;
  qty: string;
  filledQty: string;
  /** Average fill price in USD, null until something filled. */
  filledAvgPrice: string | null;
  limitPrice: string | null;
  stopPrice: string | null;
  status: AlpacaOrderStatus;
  /** ISO-8601 UTC timestamps, null when not applicable. */
  submittedAt: string;
  filledAt: string | null;
  canceledAt: string | null;
  expiredAt: string | null;
  /** Child orders (stop-loss leg of an OTO/bracket). */
  legs: BrokerOrder[];
}

/**
 * One execution (fill or partial fill) as the broker reports it — Alpaca's FILL account activity.
 * Decimal strings: qty in shares, price in USD per share.
 */
export interface BrokerExecution {
  /** The broker's execution id (Alpaca activity id); unique per execution. */
  id: string;
  /** Broker order id the execution belongs to. */
  orderId: string;
  symbol: string;
  side: OrderSide;
  /** Shares in this execution, > 0. */
  qty: string;
  /** USD per share of this execution. */
  price: string;
  /** The order's cumulative filled qty after this execution. */
  cumQty: string;
  /** ISO-8601 UTC. */
  transactionTime: string;
  /** Commission charged for this execution, USD (absent: none reported; Alpaca equities are commission-free). */
  commission?: string;
}

/** Broker account summary: cash and equity (NAV) in USD. */
export interface BrokerAccount {
  cash: string;
  equity: string;
  buyingPower: string;
  /** True when the broker refuses new orders (Alpaca trading_blocked / trade_suspended_by_user). */
  tradingBlocked: boolean;
}

/** One open position. qty in shares (negative for shorts); prices in USD. */
export interface BrokerPosition {
  symbol: string;
  qty: string;
  avgEntryPrice: string;
  currentPrice: string;
  marketValue: string;
}

/**
 * A refusal from the broker, with the HTTP status and message Alpaca would send
 * (e.g. 422 `client_order_id must be unique`, 403 `insufficient buying power`,
 * 422 `order is not cancelable`, 404 `order not found`).
 */
export class BrokerError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'BrokerError';
  }
}

/**
 * The request may or may not have reached the broker: a timeout, a dropped connection or a lost
 * response. Never a reason to resend an order blindly — look it up by client_order_id first.
 */
export class BrokerTransportError extends Error {
  constructor(
    readonly kind: 'timeout' | 'network',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BrokerTransportError';
  }
}

/** Trading API: Alpaca REST (adapters/broker/alpaca) and the paper broker (adapters/broker/paper). */
export interface BrokerPort {
  getAccount(): Promise<BrokerAccount>;
  listPositions(): Promise<BrokerPosition[]>;
  /**
   * Orders by status filter, newest first; `open` means not in a terminal status. Every order,
   * parent or leg, appears exactly once: either nested in its parent's `legs` (only when the parent
   * is in the list too) or listed on its own — so the live stop-loss of a filled entry is always
   * there for `open`. Which of the two an adapter uses may differ: the paper broker nests legs under
   * a matching parent; the Alpaca adapter lists every order on its own (`nested=false`, because
   * Alpaca's `nested=true` drops the open legs of a closed parent). Callers must walk `legs`
   * recursively and assume neither shape.
   */
  listOrders(filter: { status: 'open' | 'closed' | 'all' }): Promise<BrokerOrder[]>;
  /** @returns undefined when the broker has no order with that client_order_id (HTTP 404). */
  getOrderByClientOrderId(clientOrderId: string): Promise<BrokerOrder | undefined>;
  /** @throws BrokerError 404 when unknown. */
  getOrder(brokerOrderId: string): Promise<BrokerOrder>;
  /** @throws BrokerError on refusal (422 duplicate client_order_id, 403 buying power, 422 invalid). */
  submitOrder(request: SubmitOrderRequest): Promise<BrokerOrder>;
  /**
   * Requests a cancel. Success means the request was accepted, not that the order is canceled:
   * callers must read the order back to confirm.
   * @throws BrokerError 422 when the order is no longer cancelable (e.g. already filled), 404 when unknown.
   */
  cancelOrder(brokerOrderId: string): Promise<void>;
  /**
   * Executions (fills) at or after `after` (ISO-8601 UTC; all when omitted), oldest first. The same
   * execution may be reported again (a replayed event); callers must be idempotent per `id`.
   */
  listExecutions(filter: { after?: string }): Promise<BrokerExecution[]>;
  /**
   * Broker-side kill switch, when the broker has one (Alpaca's `suspend_trade` account
   * configuration: while on, the broker refuses every new order of the account). Optional.
   */
  getTradeSuspended?(): Promise<boolean>;
  /** Turns the broker-side kill switch on or off. @throws when the broker does not confirm it. */
  setTradeSuspended?(on: boolean): Promise<void>;
}

/**
 * Where the predict step's model comes from: a walk-forward bundle of versioned artifacts
 * (core/model/artifact.ts). Adapters: the bundle shipped in `models/`, or a JSON file.
 */
export interface ModelSourcePort {
  /**
   * The bundle, validated. A file holding a single artifact is returned as a one-snapshot bundle.
   * @throws Error naming the file and the invalid field.
   */
  load(): Promise<import('./core/model/artifact').ModelBundle>;
  /** Where the model comes from, for messages and reports (a path, or `bundled:<file>`). */
  readonly source: string;
}
