/**
 * The broker port over Alpaca's Trading API v2 (REST), plus the extras the pipeline's safety layers
 * use: the market clock and calendar, and the account-configuration kill switch (`suspend_trade`).
 *
 * Endpoints (Alpaca Trading API v2; spec subset in test/fixtures/contracts/alpaca):
 * | method                      | request                                                        |
 * |-----------------------------|----------------------------------------------------------------|
 * | getAccount                  | GET /v2/account                                                |
 * | listPositions               | GET /v2/positions                                              |
 * | listOrders                  | GET /v2/orders?status=…&limit=500&direction=desc&nested=false (+ until) |
 * | getOrderByClientOrderId     | GET /v2/orders:by_client_order_id?client_order_id=…            |
 * | getOrder                    | GET /v2/orders/{id}?nested=true                                |
 * | submitOrder                 | POST /v2/orders                                                |
 * | cancelOrder                 | DELETE /v2/orders/{id}                                         |
 * | listExecutions              | GET /v2/account/activities/FILL?after=…&direction=asc&page_size=100 (+ page_token) |
 * | getClock / getCalendar      | GET /v2/clock, GET /v2/calendar?start=…&end=…                  |
 * | getAccountConfigurations    | GET /v2/account/configurations                                 |
 * | setSuspendTrade             | PATCH /v2/account/configurations {"suspend_trade": true|false} |
 *
 * Why listOrders asks for `nested=false` (flat): with `nested=true` Alpaca rolls legs up under
 * their parent and applies the status filter to the parent, so once an OTO/bracket entry has filled
 * (closed), `status=open&nested=true` no longer returns its still-working stop-loss / take-profit
 * legs at all (reported in alpacahq/alpaca-trade-api-js issues #80 and #87). A flat listing
 * returns every order row, legs included, each exactly once, so the stop protecting a position is
 * always visible to the open-order checks. (Also reported, alpacahq/alpaca-trade-api-python #322:
 * a `held` leg may be classed as closed by Alpaca's filter; a held leg is not working yet, so the
 * protection check is unaffected, and `getOrder` still shows it under its parent.)
 * Single-order reads (getOrder, getOrderByClientOrderId, submitOrder) do return legs nested.
 *
 * Transport, retries and rate limiting: see transport.ts. POST/PATCH/DELETE are never retried
 * except on 429, so submitOrder either returns, or throws and leaves the caller to look the order
 * up by client_order_id.
 */
import { assertCalendarDate, type Session } from '../../../core/calendar';
import {
  BrokerError,
  type BrokerAccount,
  type BrokerExecution,
  type BrokerOrder,
  type BrokerPort,
  type BrokerPosition,
  type SubmitOrderRequest,
} from '../../../ports';
import { resolveAlpacaEndpoint, type AlpacaEndpoint } from './config';
import {
  AlpacaAccountConfigurationsSchema,
  AlpacaAccountSchema,
  AlpacaCalendarSchema,
  AlpacaClockSchema,
  AlpacaFillActivityListSchema,
  AlpacaOrderListSchema,
  AlpacaOrderSchema,
  AlpacaPositionListSchema,
  parseAlpaca,
  toAlpacaClock,
  toBrokerAccount,
  toBrokerExecution,
  toBrokerOrder,
  toBrokerPosition,
  toCreateOrderBody,
  toSession,
  toUtcIso,
  type AlpacaAccountConfigurations,
  type AlpacaClock,
  type AlpacaOrderJson,
} from './mapping';
import { AlpacaTransport, type AlpacaTransportOptions } from './transport';

/** Alpaca's maximum `limit` for GET /v2/orders. */
export const MAX_ORDERS_PAGE = 500;
/** Alpaca's maximum `page_size` for account activities (without `date`). */
export const MAX_ACTIVITIES_PAGE = 100;
/** Safety stop for pagination loops. */
const MAX_PAGES = 1_000;

/** AlpacaBroker configuration: the transport's options, with the endpoint given as raw config. */
export interface AlpacaBrokerOptions extends Omit<AlpacaTransportOptions, 'baseUrl'> {
  /** `APCA_API_BASE_URL`; default the paper endpoint. Checked by resolveAlpacaEndpoint. */
  baseUrl?: string | undefined;
  /** True only for explicit live trading (`ALPACA_LIVE=true`). */
  live?: boolean | undefined;
  /** Orders per GET /v2/orders page, 1–500. Default 500. */
  ordersPageSize?: number;
  /** Activities per page, 1–100. Default 100. */
  activitiesPageSize?: number;
}

/** Alpaca's "not found" answer. */
const isNotFound = (error: unknown): boolean => error instanceof BrokerError && error.status === 404;

/**
 * BrokerPort over Alpaca's Trading API v2 (see the module doc for endpoints and the listing
 * choice). Money and quantities are the decimal strings Alpaca sends (USD, shares); instants are
 * ISO-8601 UTC. Every method may throw BrokerError (HTTP ≥ 400), BrokerTransportError (timeout /
 * network) or AlpacaResponseError (an answer of unexpected shape).
 */
export class AlpacaBroker implements BrokerPort {
  /** The endpoint this instance talks to (paper, live or local). */
  readonly endpoint: AlpacaEndpoint;
  /** The HTTP transport (shared by AlpacaCalendar when built from this broker). */
  readonly transport: AlpacaTransport;
  private readonly ordersPageSize: number;
  private readonly activitiesPageSize: number;

  /**
   * @throws Error when the base URL is refused (live endpoint without `live: true`, see
   *   resolveAlpacaEndpoint) or a page size / transport option is out of range.
   */
  constructor(options: AlpacaBrokerOptions) {
    this.endpoint = resolveAlpacaEndpoint({ baseUrl: options.baseUrl, live: options.live });
    this.transport = new AlpacaTransport({ ...options, baseUrl: this.endpoint.baseUrl });
    this.ordersPageSize = pageSize('ordersPageSize', options.ordersPageSize ?? MAX_ORDERS_PAGE, MAX_ORDERS_PAGE);
    this.activitiesPageSize = pageSize('activitiesPageSize', options.activitiesPageSize ?? MAX_ACTIVITIES_PAGE, MAX_ACTIVITIES_PAGE);
  }

  /** Cash, equity, buying power (USD) and whether Alpaca refuses new orders. GET /v2/account. */
  async getAccount(): Promise<BrokerAccount> {
    const { body } = await this.transport.request('GET', '/v2/account');
    return toBrokerAccount(parseAlpaca(AlpacaAccountSchema, body, 'GET /v2/account'));
  }

  /** Open positions. GET /v2/positions. */
  async listPositions(): Promise<BrokerPosition[]> {
    const { body } = await this.transport.request('GET', '/v2/positions');
    return parseAlpaca(AlpacaPositionListSchema, body, 'GET /v2/positions').map(toBrokerPosition);
  }

  /**
   * Orders matching Alpaca's status filter, newest first, every order (parents and legs) listed
   * exactly once and flat (see the module doc for why `nested=false`). Pages of `ordersPageSize`
   * are fetched with `until` = the oldest submission time seen + 1 ms, because `until` is exclusive
   * and an OTO parent and its legs share one submission time: rows seen twice are dropped by id.
   * Should Alpaca still nest a leg that is also listed on its own, the nested copy is dropped.
   * @throws Error when more than a page of orders share one millisecond (pagination cannot advance).
   */
  async listOrders(filter: { status: 'open' | 'closed' | 'all' }): Promise<BrokerOrder[]> {
    if (!['open', 'closed', 'all'].includes(filter.status)) throw new Error(`listOrders status must be open, closed or all, got ${JSON.stringify(filter.status)}`);
    const rows = new Map<string, AlpacaOrderJson>();
    let until: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const query = { status: filter.status, limit: this.ordersPageSize, direction: 'desc', nested: false, until };
      const { body } = await this.transport.request('GET', '/v2/orders', { query });
      const orders = parseAlpaca(AlpacaOrderListSchema, body, 'GET /v2/orders');
      let fresh = 0;
      let oldest = Number.POSITIVE_INFINITY;
      for (const raw of orders) {
        if (!rows.has(raw.id)) {
          rows.set(raw.id, raw);
          fresh += 1;
        }
        const submitted = raw.submitted_at ?? raw.created_at;
        if (submitted) oldest = Math.min(oldest, Date.parse(toUtcIso(submitted)));
      }
      if (orders.length < this.ordersPageSize) return finishFlatList(rows);
      if (fresh === 0 || !Number.isFinite(oldest)) {
        throw new Error(`GET /v2/orders: cannot page past ${until}: a full page of ${this.ordersPageSize} orders shares one millisecond`);
      }
      until = new Date(oldest + 1).toISOString();
    }
    throw new Error(`GET /v2/orders: more than ${MAX_PAGES} pages`);
  }

  /**
   * The order with this client_order_id, legs nested (fetched by id when the lookup answers
   * `legs: null` for an OTO/bracket/OCO order).
   * @returns undefined when Alpaca answers 404.
   */
  async getOrderByClientOrderId(clientOrderId: string): Promise<BrokerOrder | undefined> {
    let raw: AlpacaOrderJson;
    try {
      const { body } = await this.transport.request('GET', '/v2/orders:by_client_order_id', { query: { client_order_id: clientOrderId } });
      raw = parseAlpaca(AlpacaOrderSchema, body, 'GET /v2/orders:by_client_order_id');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    if (needsLegLookup(raw)) return this.getOrder(raw.id);
    return toBrokerOrder(raw);
  }

  /**
   * One order by Alpaca id, legs nested. GET /v2/orders/{id}?nested=true.
   * @throws BrokerError 404 when Alpaca does not know the id.
   */
  async getOrder(brokerOrderId: string): Promise<BrokerOrder> {
    const { body } = await this.transport.request('GET', `/v2/orders/${encodeURIComponent(brokerOrderId)}`, { query: { nested: true } });
    return toBrokerOrder(parseAlpaca(AlpacaOrderSchema, body, 'GET /v2/orders/{order_id}'));
  }

  /**
   * Submits an order (POST /v2/orders, body from toCreateOrderBody: the stop-loss leg travels in
   * the same request). Sent once: never retried except after a 429 (not processed by Alpaca).
   * When the answer carries `legs: null` for an order with legs, they are read back with
   * getOrder; if that read fails the accepted order is returned without legs (the next sync
   * picks them up) rather than reporting a failed submission.
   * @throws Error for an inconsistent request (nothing sent); BrokerError on refusal (403 buying
   *   power, 422 duplicate client_order_id or invalid); BrokerError 5xx or BrokerTransportError when
   *   the outcome is unknown — look the order up by client_order_id before anything else.
   */
  async submitOrder(request: SubmitOrderRequest): Promise<BrokerOrder> {
    const body = toCreateOrderBody(request);
    const response = await this.transport.request('POST', '/v2/orders', { body });
    const raw = parseAlpaca(AlpacaOrderSchema, response.body, 'POST /v2/orders');
    if (needsLegLookup(raw)) {
      try {
        return await this.getOrder(raw.id);
      } catch {
        return toBrokerOrder(raw);
      }
    }
    return toBrokerOrder(raw);
  }

  /**
   * Requests a cancel (DELETE /v2/orders/{id}, 204). Acceptance is not cancellation: read back.
   * @throws BrokerError 422 not cancelable (e.g. filled), 404 unknown; never retried except on 429.
   */
  async cancelOrder(brokerOrderId: string): Promise<void> {
    await this.transport.request('DELETE', `/v2/orders/${encodeURIComponent(brokerOrderId)}`);
  }

  /**
   * Fills at or after `after` (ISO-8601 UTC), oldest first, from the FILL account activities.
   * Alpaca documents `after` as "after this time" (exclusive), while the port wants "at or after":
   * the request asks from 1 ms earlier and the result keeps executions with transaction_time ≥ after. Pages of `activitiesPageSize` are chained with
   * `page_token` = the last activity id (Alpaca: with direction asc, the next page starts right
   * after that id); duplicates are dropped by id.
   * @throws Error when `after` is not an ISO-8601 instant.
   */
  async listExecutions(filter: { after?: string }): Promise<BrokerExecution[]> {
    let afterMs: number | undefined;
    if (filter.after !== undefined) {
      afterMs = Date.parse(filter.after);
      if (!Number.isFinite(afterMs)) throw new Error(`listExecutions after must be an ISO-8601 instant, got ${JSON.stringify(filter.after)}`);
    }
    const out: BrokerExecution[] = [];
    const seen = new Set<string>();
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const query = {
        direction: 'asc',
        page_size: this.activitiesPageSize,
        after: afterMs === undefined ? undefined : new Date(afterMs - 1).toISOString(),
        page_token: pageToken,
      };
      const { body } = await this.transport.request('GET', '/v2/account/activities/FILL', { query });
      const activities = parseAlpaca(AlpacaFillActivityListSchema, body, 'GET /v2/account/activities/FILL');
      let fresh = 0;
      for (const raw of activities) {
        if (seen.has(raw.id)) continue;
        seen.add(raw.id);
        fresh += 1;
        const execution = toBrokerExecution(raw);
        if (afterMs === undefined || Date.parse(execution.transactionTime) >= afterMs) out.push(execution);
      }
      const last = activities[activities.length - 1];
      if (activities.length < this.activitiesPageSize || last === undefined) return out;
      if (fresh === 0) throw new Error(`GET /v2/account/activities/FILL: page_token ${pageToken} returned no new activities`);
      pageToken = last.id;
    }
    throw new Error(`GET /v2/account/activities/FILL: more than ${MAX_PAGES} pages`);
  }

  /** The market clock (GET /v2/clock): open now?, next open and close, in ISO-8601 UTC. */
  async getClock(): Promise<AlpacaClock> {
    const { body } = await this.transport.request('GET', '/v2/clock');
    return toAlpacaClock(parseAlpaca(AlpacaClockSchema, body, 'GET /v2/clock'));
  }

  /**
   * NYSE sessions from GET /v2/calendar (`start`/`end` inclusive, YYYY-MM-DD; Alpaca's default
   * range when omitted), New York open/close converted to UTC (see toSession).
   * @throws Error for a malformed start/end, or when Alpaca's days are not strictly ascending.
   */
  async getCalendar(range: { start?: string; end?: string } = {}): Promise<Session[]> {
    if (range.start !== undefined) assertCalendarDate('start', range.start);
    if (range.end !== undefined) assertCalendarDate('end', range.end);
    const { body } = await this.transport.request('GET', '/v2/calendar', { query: { start: range.start, end: range.end } });
    const sessions = parseAlpaca(AlpacaCalendarSchema, body, 'GET /v2/calendar').map(toSession);
    sessions.forEach((s, i) => {
      const previous = sessions[i - 1];
      if (previous && s.date <= previous.date) throw new Error(`GET /v2/calendar: [${i}].date ${s.date} is not after ${previous.date}`);
    });
    return sessions;
  }

  /** Account configurations (GET /v2/account/configurations); `suspendTrade` is the broker-side kill switch. */
  async getAccountConfigurations(): Promise<AlpacaAccountConfigurations> {
    const { body } = await this.transport.request('GET', '/v2/account/configurations');
    const raw = parseAlpaca(AlpacaAccountConfigurationsSchema, body, 'GET /v2/account/configurations');
    return { suspendTrade: raw.suspend_trade, raw };
  }

  /**
   * Turns Alpaca's `suspend_trade` on or off (PATCH /v2/account/configurations): while on, Alpaca
   * refuses every new order of the account — the broker-side layer of the kill switch. Not retried
   * on 5xx/timeout (read it back with getAccountConfigurations).
   * @returns the configurations Alpaca answered.
   * @throws Error when Alpaca's answer does not show the requested value.
   */
  async setSuspendTrade(on: boolean): Promise<AlpacaAccountConfigurations> {
    const { body } = await this.transport.request('PATCH', '/v2/account/configurations', { body: { suspend_trade: on } });
    const raw = parseAlpaca(AlpacaAccountConfigurationsSchema, body, 'PATCH /v2/account/configurations');
    if (raw.suspend_trade !== on) throw new Error(`PATCH /v2/account/configurations: asked suspend_trade=${on}, Alpaca answered ${raw.suspend_trade}`);
    return { suspendTrade: raw.suspend_trade, raw };
  }

  /** BrokerPort's broker-side kill switch: Alpaca's `suspend_trade`. */
  async getTradeSuspended(): Promise<boolean> {
    return (await this.getAccountConfigurations()).suspendTrade;
  }

  /** BrokerPort's broker-side kill switch: sets Alpaca's `suspend_trade` (see setSuspendTrade). */
  async setTradeSuspended(on: boolean): Promise<void> {
    await this.setSuspendTrade(on);
  }
}

function pageSize(field: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${field} must be an integer 1-${max}, got ${value}`);
  return value;
}

/** An order with legs whose legs were not included (`legs: null`, flat style). */
function needsLegLookup(raw: AlpacaOrderJson): boolean {
  return (raw.order_class === 'oto' || raw.order_class === 'bracket' || raw.order_class === 'oco') && !raw.legs?.length;
}

/**
 * BrokerOrders of a flat listing, in the order first seen (newest first). A leg Alpaca nested under
 * its parent and also listed on its own stays only on its own, so no order appears twice.
 */
function finishFlatList(rows: ReadonlyMap<string, AlpacaOrderJson>): BrokerOrder[] {
  return [...rows.values()].map((raw) => toBrokerOrder({ ...raw, legs: (raw.legs ?? []).filter((leg) => !rows.has(leg.id)) }));
}
