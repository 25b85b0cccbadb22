/**
 * A fake Alpaca Trading API v2 server for tests: node:http on 127.0.0.1 (random port), speaking the
 * REST subset the Alpaca adapter uses, backed by any BrokerPort (FakeBroker, PaperBroker, …).
 * It translates Alpaca's snake_case JSON to the port's camelCase and back; the business rules
 * (fills, cancels, 422 duplicate client_order_id, …) are the backing broker's.
 *
 * Usage:
 * ```ts
 * const fake = await startFakeAlpacaServer({ broker: new FakeBroker(clock) });
 * const alpaca = new AlpacaBroker({ baseUrl: fake.baseUrl, credentials: fake.credentials });
 * fake.fault('POST /v2/orders', { status: 500, afterProcessing: true }); // order created, response lost
 * fake.fault('GET /v2/account', { status: 429, retryAfterSeconds: 0, times: 2 });
 * await fake.close();
 * ```
 *
 * Routes (`FakeAlpacaRoute`): GET /v2/account, GET|PATCH /v2/account/configurations,
 * GET /v2/account/activities/FILL, GET /v2/positions, GET|POST /v2/orders,
 * GET /v2/orders:by_client_order_id, GET|DELETE /v2/orders/{order_id}, GET /v2/clock, GET /v2/calendar.
 *
 * Fidelity (what it mirrors from Alpaca, and the choices it makes where Alpaca's behaviour is not
 * documented):
 * - auth headers `APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` are required (401 otherwise);
 * - ids are UUIDs (the backing broker's ids are mapped), asset ids are stable per symbol;
 * - errors are `{"code": …, "message": …}` with the backing broker's BrokerError status/message/code;
 *   any other exception of the backing broker becomes 500;
 * - GET /v2/orders: `status` open|closed|all (default open; `held` counts as open), `limit` (default
 *   50, max 500), `after`/`until` exclusive on submitted_at, `direction` (default desc). With
 *   `nested=true` legs are rolled up under their parent and a leg whose parent does not match the
 *   status is NOT listed (the behaviour reported against Alpaca); otherwise every order is a row
 *   with `legs: null`;
 * - GET /v2/orders/{id} nests legs only with `nested=true`; GET /v2/orders:by_client_order_id
 *   answers `legs: null` (the conservative reading); POST /v2/orders answers with legs nested;
 * - DELETE answers 204; `suspend_trade: true` (PATCH configurations) makes POST /v2/orders answer
 *   403 and shows `trade_suspended_by_user: true` on the account;
 * - activities: FILL only, ids `<time>::<uuid>`, `page_token`/`page_size` (max 100)/`direction`,
 *   `after` exclusive;
 * - clock/calendar come from `sessions` (New York times), `now` from `clock`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DateTime } from 'luxon';
import { NEW_YORK_ZONE, type Session } from '../../lambdas/core/calendar';
import { Dec, dec } from '../../lambdas/core/money';
import { isOpenStatus } from '../../lambdas/core/order-status';
import {
  BrokerError,
  type ApiCredentials,
  type BrokerExecution,
  type BrokerOrder,
  type BrokerPort,
  type BrokerPosition,
  type Clock,
  type SecretsPort,
  type SubmitOrderRequest,
} from '../../lambdas/ports';

/** The routes the fake serves (method + Alpaca path template). */
export type FakeAlpacaRoute =
  | 'GET /v2/account'
  | 'GET /v2/account/configurations'
  | 'PATCH /v2/account/configurations'
  | 'GET /v2/account/activities/FILL'
  | 'GET /v2/positions'
  | 'GET /v2/orders'
  | 'POST /v2/orders'
  | 'GET /v2/orders:by_client_order_id'
  | 'GET /v2/orders/{order_id}'
  | 'DELETE /v2/orders/{order_id}'
  | 'GET /v2/clock'
  | 'GET /v2/calendar';

/** A scripted misbehaviour for the next `times` requests to a route. */
export interface FakeAlpacaFault {
  /** HTTP status to answer instead of the real one (e.g. 500, 503, 429, 403). */
  status?: number;
  /** Error body message (default `fake fault <status>`). */
  message?: string;
  /** Error body code (default status × 100000). */
  code?: number;
  /** Adds a `Retry-After: <seconds>` header (use with status 429). */
  retryAfterSeconds?: number;
  /** Waits this long (real ms) before handling — longer than the client's timeout simulates a timeout. */
  delayMs?: number;
  /** Let the backing broker process the request first, then answer `status` (the response is lost). */
  afterProcessing?: boolean;
  /** How many requests the fault applies to. Default 1. */
  times?: number;
}

/** One request as the fake received it (no headers: they carry the keys). */
export interface RecordedRequest {
  method: string;
  /** Matched route, or undefined for an unknown path. */
  route: FakeAlpacaRoute | undefined;
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body, if any. */
  body: unknown;
}

export interface FakeAlpacaServerOptions {
  /** What the fake trades against. */
  broker: BrokerPort;
  /** Expected `APCA-API-KEY-ID`. Default `fake-key-id`. */
  keyId?: string;
  /** Expected `APCA-API-SECRET-KEY`. Default `fake-secret-key`. */
  secretKey?: string;
  /** Sessions for /v2/calendar and /v2/clock (404 when absent). */
  sessions?: Session[];
  /** "Now" for /v2/clock. Default the system clock. */
  clock?: Clock;
}

export interface FakeAlpacaServer {
  /** `http://127.0.0.1:<port>`, for AlpacaBroker's `baseUrl`. */
  readonly baseUrl: string;
  /** A SecretsPort returning the keys the fake expects. */
  readonly credentials: SecretsPort;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Current value of the account's `suspend_trade` configuration. */
  readonly suspendTrade: boolean;
  /** Queues a fault for the next requests to `route` (FIFO per route). */
  fault(route: FakeAlpacaRoute, fault: FakeAlpacaFault): void;
  /** Drops every queued fault. */
  clearFaults(): void;
  /** The Alpaca (UUID) id the fake shows for a backing-broker order id. */
  alpacaId(brokerOrderId: string): string;
  /** Stops the server (open connections are closed). */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: number = status * 100_000,
  ) {
    super(message);
  }
}

/** A UUID-shaped stable id for a string (asset ids per symbol). */
function stableUuid(text: string): string {
  const h = createHash('sha1').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const ms = (iso: string): number => Date.parse(iso);

/** Alpaca's timestamps on clock answers: New York offset, e.g. 2022-05-17T09:30:00-04:00. */
const newYorkIso = (instant: string | Date): string =>
  DateTime.fromJSDate(typeof instant === 'string' ? new Date(instant) : instant, { zone: NEW_YORK_ZONE }).toISO({ suppressMilliseconds: true })!;
const newYorkHhmm = (instant: string, withColon = true): string =>
  DateTime.fromISO(instant, { zone: NEW_YORK_ZONE }).toFormat(withColon ? 'HH:mm' : 'HHmm');

/** Starts the fake on 127.0.0.1 with a random free port. */
export async function startFakeAlpacaServer(options: FakeAlpacaServerOptions): Promise<FakeAlpacaServer> {
  const keyId = options.keyId ?? 'fake-key-id';
  const secretKey = options.secretKey ?? 'fake-secret-key';
  const broker = options.broker;
  const clock: Clock = options.clock ?? { now: () => new Date() };
  const sessions = options.sessions ? [...options.sessions].sort((a, b) => a.date.localeCompare(b.date)) : undefined;
  const accountId = randomUUID();
  const requests: RecordedRequest[] = [];
  const faults = new Map<FakeAlpacaRoute, Array<FakeAlpacaFault & { remaining: number }>>();
  const configurations: Record<string, unknown> = {
    dtbp_check: 'entry',
    trade_confirm_email: 'all',
    suspend_trade: false,
    no_shorting: false,
    fractional_trading: true,
    max_margin_multiplier: '1',
    pdt_check: 'entry',
    ptp_no_exception_entry: false,
  };

  // Backing ids ↔ UUIDs.
  const toUuid = new Map<string, string>();
  const fromUuid = new Map<string, string>();
  const uuidOf = (id: string): string => {
    let uuid = toUuid.get(id);
    if (!uuid) {
      uuid = randomUUID();
      toUuid.set(id, uuid);
      fromUuid.set(uuid, id);
    }
    return uuid;
  };
  const brokerIdOf = (uuid: string): string => {
    const id = fromUuid.get(uuid);
    if (!id) throw new HttpError(404, 'order not found', 40410000);
    return id;
  };

  // ----- JSON shapes ---------------------------------------------------------------------------

  const orderJson = (o: BrokerOrder, legs: BrokerOrder[] | null): Record<string, unknown> => {
    const updated = [o.submittedAt, o.filledAt, o.canceledAt, o.expiredAt].filter((t): t is string => t !== null).sort((a, b) => ms(b) - ms(a))[0]!;
    return {
      id: uuidOf(o.id),
      client_order_id: o.clientOrderId,
      created_at: o.submittedAt,
      updated_at: updated,
      submitted_at: o.submittedAt,
      filled_at: o.filledAt,
      expired_at: o.expiredAt,
      canceled_at: o.canceledAt,
      failed_at: null,
      replaced_at: null,
      replaced_by: null,
      replaces: null,
      asset_id: stableUuid(o.symbol),
      symbol: o.symbol,
      asset_class: 'us_equity',
      notional: null,
      qty: o.qty,
      filled_qty: o.filledQty,
      filled_avg_price: o.filledAvgPrice,
      order_class: o.orderClass,
      order_type: o.type,
      type: o.type,
      side: o.side,
      time_in_force: o.timeInForce,
      limit_price: o.limitPrice,
      stop_price: o.stopPrice,
      status: o.status,
      extended_hours: false,
      legs: legs === null ? null : legs.map((leg) => orderJson(leg, null)),
      trail_percent: null,
      trail_price: null,
      hwm: null,
    };
  };

  const positionJson = (p: BrokerPosition): Record<string, unknown> => {
    const qty = dec(p.qty);
    const costBasis = dec(p.avgEntryPrice).times(qty);
    const marketValue = dec(p.marketValue);
    const pl = marketValue.minus(costBasis);
    const plpc = costBasis.isZero() ? new Dec(0) : pl.div(costBasis.abs());
    return {
      asset_id: stableUuid(p.symbol),
      symbol: p.symbol,
      exchange: 'NASDAQ',
      asset_class: 'us_equity',
      asset_marginable: false,
      avg_entry_price: p.avgEntryPrice,
      qty: p.qty,
      qty_available: p.qty,
      side: qty.isNegative() ? 'short' : 'long',
      market_value: p.marketValue,
      cost_basis: costBasis.toString(),
      unrealized_pl: pl.toString(),
      unrealized_plpc: plpc.toDecimalPlaces(6).toString(),
      unrealized_intraday_pl: pl.toString(),
      unrealized_intraday_plpc: plpc.toDecimalPlaces(6).toString(),
      current_price: p.currentPrice,
      lastday_price: p.currentPrice,
      change_today: '0',
    };
  };

  const activityId = (e: BrokerExecution): string =>
    `${DateTime.fromISO(e.transactionTime, { zone: 'utc' }).toFormat('yyyyLLddHHmmssSSS')}000000::${stableUuid(`execution:${e.id}`)}`;
  const activityJson = (e: BrokerExecution, leavesQty: string): Record<string, unknown> => ({
    id: activityId(e),
    activity_type: 'FILL',
    transaction_time: e.transactionTime,
    type: dec(leavesQty).isZero() ? 'fill' : 'partial_fill',
    price: e.price,
    qty: e.qty,
    side: e.side,
    symbol: e.symbol,
    leaves_qty: leavesQty,
    order_id: uuidOf(e.orderId),
    cum_qty: e.cumQty,
    order_status: dec(leavesQty).isZero() ? 'filled' : 'partially_filled',
  });

  // ----- handlers ------------------------------------------------------------------------------

  /** Every order once, with its parent's id (legs follow their parent), oldest first. */
  const allRows = async (): Promise<Array<{ order: BrokerOrder; parentId: string | null }>> => {
    const rows: Array<{ order: BrokerOrder; parentId: string | null }> = [];
    const visit = (o: BrokerOrder, parentId: string | null) => {
      rows.push({ order: o, parentId });
      o.legs.forEach((leg) => visit(leg, o.id));
    };
    [...(await broker.listOrders({ status: 'all' }))].reverse().forEach((o) => visit(o, null));
    return rows;
  };

  const listOrders = async (query: Record<string, string>): Promise<unknown> => {
    const status = query.status ?? 'open';
    if (!['open', 'closed', 'all'].includes(status)) throw new HttpError(422, `invalid status: ${status}`, 42210000);
    const limit = Math.min(500, Math.max(1, Number(query.limit ?? 50) || 50));
    const direction = query.direction ?? 'desc';
    const nested = query.nested === 'true';
    const matches = (o: BrokerOrder) => status === 'all' || (status === 'open') === isOpenStatus(o.status);
    const after = query.after ? ms(query.after) : -Infinity;
    const until = query.until ? ms(query.until) : Infinity;
    let rows = await allRows();
    if (nested) rows = rows.filter((r) => r.parentId === null);
    rows = rows.filter((r) => matches(r.order) && ms(r.order.submittedAt) > after && ms(r.order.submittedAt) < until);
    rows = rows.map((r, i) => ({ r, i })).sort((a, b) => ms(a.r.order.submittedAt) - ms(b.r.order.submittedAt) || a.i - b.i).map((x) => x.r);
    if (direction === 'desc') rows.reverse();
    return rows.slice(0, limit).map((r) => orderJson(r.order, nested ? r.order.legs : null));
  };

  const submit = async (body: unknown): Promise<unknown> => {
    if (configurations.suspend_trade === true) throw new HttpError(403, 'new orders are rejected: trading is suspended by the account configuration (fake)', 40310000);
    if (!body || typeof body !== 'object') throw new HttpError(422, 'request body must be a JSON object', 42210000);
    const b = body as Record<string, unknown>;
    const text = (field: string, required = true): string | undefined => {
      const v = b[field];
      if (v === undefined || v === null) {
        if (required) throw new HttpError(422, `${field} is required`, 40010001);
        return undefined;
      }
      if (typeof v !== 'string' && typeof v !== 'number') throw new HttpError(422, `${field} must be a string`, 40010001);
      return String(v);
    };
    const leg = (field: string, key: string): string | undefined => {
      const v = b[field];
      if (v === undefined) return undefined;
      const inner = (v as Record<string, unknown> | null)?.[key];
      if (typeof inner !== 'string' && typeof inner !== 'number') throw new HttpError(422, `${field}.${key} is required`, 40010001);
      return String(inner);
    };
    const orderClass = (text('order_class', false) ?? 'simple') || 'simple';
    const request: SubmitOrderRequest = {
      clientOrderId: text('client_order_id', false) ?? randomUUID(),
      symbol: text('symbol')!,
      side: text('side') as SubmitOrderRequest['side'],
      type: text('type') as SubmitOrderRequest['type'],
      timeInForce: text('time_in_force') as SubmitOrderRequest['timeInForce'],
      orderClass: orderClass as SubmitOrderRequest['orderClass'],
      qty: text('qty')!,
    };
    const limitPrice = text('limit_price', false);
    const stopPrice = text('stop_price', false);
    const stopLoss = leg('stop_loss', 'stop_price');
    const takeProfit = leg('take_profit', 'limit_price');
    if (limitPrice !== undefined) request.limitPrice = limitPrice;
    if (stopPrice !== undefined) request.stopPrice = stopPrice;
    if (stopLoss !== undefined) request.stopLoss = { stopPrice: stopLoss };
    if (takeProfit !== undefined) request.takeProfit = { limitPrice: takeProfit };
    const order = await broker.submitOrder(request);
    return orderJson(order, order.legs);
  };

  const account = async (): Promise<unknown> => {
    const a = await broker.getAccount();
    const positions = await broker.listPositions();
    const long = positions.filter((p) => !dec(p.qty).isNegative()).reduce((sum, p) => sum.plus(dec(p.marketValue)), new Dec(0));
    const short = positions.filter((p) => dec(p.qty).isNegative()).reduce((sum, p) => sum.plus(dec(p.marketValue)), new Dec(0));
    return {
      id: accountId,
      account_number: 'PAFAKE0001',
      status: 'ACTIVE',
      crypto_status: 'INACTIVE',
      currency: 'USD',
      cash: a.cash,
      equity: a.equity,
      portfolio_value: a.equity,
      last_equity: a.equity,
      buying_power: a.buyingPower,
      regt_buying_power: a.buyingPower,
      non_marginable_buying_power: a.buyingPower,
      options_buying_power: '0',
      long_market_value: long.toString(),
      short_market_value: short.toString(),
      initial_margin: '0',
      maintenance_margin: '0',
      last_maintenance_margin: '0',
      sma: '0',
      multiplier: '1',
      shorting_enabled: false,
      pattern_day_trader: false,
      trading_blocked: a.tradingBlocked,
      transfers_blocked: false,
      account_blocked: false,
      trade_suspended_by_user: configurations.suspend_trade === true,
      accrued_fees: '0',
      pending_transfer_in: '0',
      pending_transfer_out: '0',
      created_at: '2018-01-02T14:00:00Z',
    };
  };

  const activities = async (query: Record<string, string>): Promise<unknown> => {
    const after = query.after ? ms(query.after) : -Infinity;
    const pageSize = Math.min(100, Math.max(1, Number(query.page_size ?? 100) || 100));
    const executions = (await broker.listExecutions({})).filter((e) => ms(e.transactionTime) > after);
    const orders = new Map((await allRows()).map((r) => [r.order.id, r.order]));
    let list = executions.map((e) => {
      const order = orders.get(e.orderId);
      const leaves = order ? dec(order.qty).minus(dec(e.cumQty)).toString() : '0';
      return activityJson(e, leaves);
    });
    if (query.direction !== 'asc') list.reverse();
    if (query.page_token) {
      const index = list.findIndex((a) => a.id === query.page_token);
      list = index >= 0 ? list.slice(index + 1) : [];
    }
    return list.slice(0, pageSize);
  };

  const needSessions = (): Session[] => {
    if (!sessions || sessions.length === 0) throw new HttpError(404, 'the fake has no calendar (pass sessions)', 40410000);
    return sessions;
  };

  const calendar = (query: Record<string, string>): unknown => {
    const all = needSessions();
    const start = query.start?.slice(0, 10) ?? '0000-00-00';
    const end = query.end?.slice(0, 10) ?? '9999-99-99';
    return all
      .map((s, i) => ({ s, next: all[i + 1] }))
      .filter(({ s }) => s.date >= start && s.date <= end)
      .map(({ s, next }) => ({
        date: s.date,
        open: newYorkHhmm(s.openUtc),
        close: newYorkHhmm(s.closeUtc),
        session_open: '0400',
        session_close: '2000',
        // T+1 settlement approximated by the next session in the list.
        settlement_date: next?.date ?? s.date,
      }));
  };

  const marketClock = (): unknown => {
    const all = needSessions();
    const now = clock.now();
    const t = now.getTime();
    const current = all.find((s) => ms(s.openUtc) <= t && t < ms(s.closeUtc));
    const nextOpen = all.find((s) => ms(s.openUtc) > t);
    const nextClose = current ?? all.find((s) => ms(s.closeUtc) > t);
    if (!nextOpen || !nextClose) throw new HttpError(404, `the fake's calendar ends before ${now.toISOString()}`, 40410000);
    return { timestamp: newYorkIso(now), is_open: current !== undefined, next_open: newYorkIso(nextOpen.openUtc), next_close: newYorkIso(nextClose.closeUtc) };
  };

  const patchConfigurations = (body: unknown): unknown => {
    if (!body || typeof body !== 'object') throw new HttpError(422, 'request body must be a JSON object', 40010001);
    for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
      if (!(key in configurations)) throw new HttpError(422, `unknown configuration ${key}`, 40010001);
      if (typeof value !== typeof configurations[key]) throw new HttpError(422, `${key} must be a ${typeof configurations[key]}`, 40010001);
      configurations[key] = value;
    }
    return { ...configurations };
  };

  // ----- routing -------------------------------------------------------------------------------

  const route = (method: string, path: string): { route: FakeAlpacaRoute; id?: string } | undefined => {
    const key = `${method} ${path}`;
    const fixed: FakeAlpacaRoute[] = [
      'GET /v2/account',
      'GET /v2/account/configurations',
      'PATCH /v2/account/configurations',
      'GET /v2/account/activities/FILL',
      'GET /v2/positions',
      'GET /v2/orders',
      'POST /v2/orders',
      'GET /v2/orders:by_client_order_id',
      'GET /v2/clock',
      'GET /v2/calendar',
    ];
    const hit = fixed.find((r) => r === key);
    if (hit) return { route: hit };
    const m = /^\/v2\/orders\/([^/]+)$/.exec(path);
    if (m && (method === 'GET' || method === 'DELETE')) return { route: `${method} /v2/orders/{order_id}` as FakeAlpacaRoute, id: decodeURIComponent(m[1]!) };
    return undefined;
  };

  const dispatch = async (r: { route: FakeAlpacaRoute; id?: string }, query: Record<string, string>, body: unknown): Promise<{ status: number; body?: unknown }> => {
    switch (r.route) {
      case 'GET /v2/account':
        return { status: 200, body: await account() };
      case 'GET /v2/account/configurations':
        return { status: 200, body: { ...configurations } };
      case 'PATCH /v2/account/configurations':
        return { status: 200, body: patchConfigurations(body) };
      case 'GET /v2/account/activities/FILL':
        return { status: 200, body: await activities(query) };
      case 'GET /v2/positions':
        return { status: 200, body: (await broker.listPositions()).map(positionJson) };
      case 'GET /v2/orders':
        return { status: 200, body: await listOrders(query) };
      case 'POST /v2/orders':
        return { status: 200, body: await submit(body) };
      case 'GET /v2/orders:by_client_order_id': {
        const order = query.client_order_id ? await broker.getOrderByClientOrderId(query.client_order_id) : undefined;
        if (!order) throw new HttpError(404, 'order not found', 40410000);
        return { status: 200, body: orderJson(order, null) };
      }
      case 'GET /v2/orders/{order_id}': {
        const order = await broker.getOrder(brokerIdOf(r.id!));
        return { status: 200, body: orderJson(order, query.nested === 'true' ? order.legs : null) };
      }
      case 'DELETE /v2/orders/{order_id}':
        await broker.cancelOrder(brokerIdOf(r.id!));
        return { status: 204 };
      case 'GET /v2/clock':
        return { status: 200, body: marketClock() };
      case 'GET /v2/calendar':
        return { status: 200, body: calendar(query) };
    }
  };

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    if (res.destroyed || res.writableEnded) return;
    if (body === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', ...headers }).end(JSON.stringify(body));
  };

  const errorBody = (error: unknown): { status: number; body: { code: number; message: string } } => {
    if (error instanceof HttpError) return { status: error.status, body: { code: error.code, message: error.message } };
    if (error instanceof BrokerError) return { status: error.status, body: { code: error.code ?? error.status * 100_000, message: error.message } };
    return { status: 500, body: { code: 50000000, message: `internal server error: ${(error as Error)?.message ?? String(error)}` } };
  };

  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new HttpError(400, 'request body format is invalid', 40010000);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const query = Object.fromEntries(url.searchParams.entries());
    const matched = route(method, url.pathname);
    const record: RecordedRequest = { method, route: matched?.route, path: url.pathname, query, body: undefined };
    requests.push(record);
    try {
      record.body = await readBody(req);
      if (req.headers['apca-api-key-id'] !== keyId || req.headers['apca-api-secret-key'] !== secretKey) {
        throw new HttpError(401, 'unauthorized.', 40110000);
      }
      if (!matched) throw new HttpError(404, `endpoint not found: ${method} ${url.pathname}`, 40410000);

      const queue = faults.get(matched.route);
      const fault = queue?.[0];
      if (fault) {
        fault.remaining -= 1;
        if (fault.remaining <= 0) queue!.shift();
      }
      if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault?.status !== undefined) {
        if (fault.afterProcessing) await dispatch(matched, query, record.body).catch(() => undefined);
        const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'Retry-After': String(fault.retryAfterSeconds) } : {};
        send(res, fault.status, { code: fault.code ?? fault.status * 100_000, message: fault.message ?? `fake fault ${fault.status}` }, headers);
        return;
      }
      const out = await dispatch(matched, query, record.body);
      send(res, out.status, out.body);
    } catch (error) {
      const { status, body } = errorBody(error);
      send(res, status, body);
    }
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const credentials: SecretsPort = {
    async getCredentials(): Promise<ApiCredentials> {
      return { APCA_API_KEY_ID: keyId, APCA_API_SECRET_KEY: secretKey };
    },
  };

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    credentials,
    requests,
    get suspendTrade() {
      return configurations.suspend_trade === true;
    },
    fault(routeKey, fault) {
      const queue = faults.get(routeKey) ?? [];
      queue.push({ ...fault, remaining: fault.times ?? 1 });
      faults.set(routeKey, queue);
    },
    clearFaults() {
      faults.clear();
    },
    alpacaId: uuidOf,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
