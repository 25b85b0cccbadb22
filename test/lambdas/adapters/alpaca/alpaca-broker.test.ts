/** AlpacaBroker over a scripted fetch: requests it sends and how it reads Alpaca's answers. */
import { entryRequest } from '../../../support/orders';
import { describe, expect, it } from 'vitest';
import { AlpacaBroker, type AlpacaBrokerOptions } from '../../../../lambdas/adapters/broker/alpaca/alpaca-broker';
import { AlpacaCalendar } from '../../../../lambdas/adapters/broker/alpaca/alpaca-calendar';
import { AlpacaResponseError } from '../../../../lambdas/adapters/broker/alpaca/mapping';
import { TradingCalendar } from '../../../../lambdas/core/calendar';
import { BrokerError, type SubmitOrderRequest } from '../../../../lambdas/ports';
import { alpacaOrder, contract, json, keys, ManualTime, noContent, scriptedFetch, type Handler } from './helpers';

const PARENT_ID = '61e69015-8549-4bfd-b9c3-01e75843f47d';
const LEG_ID = 'c1a2b3c4-0000-4000-8000-000000000002';

function setup(handler: Handler | Handler[], options: Partial<AlpacaBrokerOptions> = {}) {
  const { fetch, calls } = scriptedFetch(handler);
  const time = new ManualTime();
  const broker = new AlpacaBroker({ credentials: keys(), fetch, now: time.now, sleep: time.sleep, random: () => 0, ...options });
  return { broker, calls, time };
}

const account = (flags: Partial<Record<'trading_blocked' | 'trade_suspended_by_user' | 'account_blocked', boolean>> = {}) => ({
  id: '1d9eed04-be39-4e01-9b84-a48ac5bbafcf',
  status: 'ACTIVE',
  cash: '122086.5',
  equity: '123346.11',
  buying_power: '245432.61',
  trading_blocked: false,
  trade_suspended_by_user: false,
  account_blocked: false,
  ...flags,
});

const stopLeg = (overrides: Record<string, unknown> = {}) =>
  alpacaOrder({ id: LEG_ID, client_order_id: 'alpaca-leg-uuid', side: 'sell', type: 'stop', order_type: 'stop', limit_price: null, stop_price: '152.1', status: 'held', order_class: 'oto', ...overrides });

describe('getAccount', () => {
  it('maps cash, equity and buying power as decimal strings', async () => {
    const { broker, calls } = setup(() => json(200, account()));
    expect(await broker.getAccount()).toEqual({ cash: '122086.5', equity: '123346.11', buyingPower: '245432.61', tradingBlocked: false });
    expect(calls[0]!.url.pathname).toBe('/v2/account');
  });

  it('tradingBlocked when trading_blocked, trade_suspended_by_user or account_blocked', async () => {
    for (const flag of ['trading_blocked', 'trade_suspended_by_user', 'account_blocked'] as const) {
      const { broker } = setup(() => json(200, account({ [flag]: true })));
      expect((await broker.getAccount()).tradingBlocked).toBe(true);
    }
  });

  it('a missing block flag is an error, not "not blocked"', async () => {
    const { trade_suspended_by_user: _omit, ...partial } = account();
    const { broker } = setup(() => json(200, partial));
    await expect(broker.getAccount()).rejects.toThrow('GET /v2/account: unexpected response value trade_suspended_by_user = undefined (missing)');
  });
});

describe('listPositions', () => {
  it('maps positions; a short keeps a negative qty', async () => {
    const position = { symbol: 'AAPL', qty: '10', side: 'long', avg_entry_price: '160.5', current_price: '161', market_value: '1610', asset_id: 'x', exchange: 'NASDAQ' };
    const { broker } = setup(() => json(200, [position, { ...position, symbol: 'TSLA', qty: '-3', side: 'short', market_value: '-900' }, { ...position, symbol: 'F', qty: '2', side: 'short' }]));
    expect(await broker.listPositions()).toEqual([
      { symbol: 'AAPL', qty: '10', avgEntryPrice: '160.5', currentPrice: '161', marketValue: '1610' },
      { symbol: 'TSLA', qty: '-3', avgEntryPrice: '160.5', currentPrice: '161', marketValue: '-900' },
      { symbol: 'F', qty: '-2', avgEntryPrice: '160.5', currentPrice: '161', marketValue: '1610' },
    ]);
  });
});

describe('listOrders', () => {
  it('asks for a flat list (nested=false) of up to 500, newest first, and lists the working stop of a filled entry', async () => {
    // What Alpaca answers once the OTO entry has filled: nested=true drops the leg with its closed
    // parent; the flat listing still has the working stop.
    const workingStop = stopLeg({ status: 'new' });
    const { broker, calls } = setup((request) => json(200, request.url.searchParams.get('nested') === 'true' ? [] : [workingStop]));
    const open = await broker.listOrders({ status: 'open' });
    const query = Object.fromEntries(calls[0]!.url.searchParams);
    expect(query).toEqual({ status: 'open', limit: '500', direction: 'desc', nested: 'false' });
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ id: LEG_ID, side: 'sell', type: 'stop', stopPrice: '152.1', status: 'new', legs: [] });
  });

  it('pages with until = oldest submitted_at + 1 ms and drops rows seen twice (parent and leg share a timestamp)', async () => {
    const at = (s: number) => `2018-02-07T14:00:0${s}.500123Z`;
    const o = (n: number, s: number, extra: Record<string, unknown> = {}) =>
      alpacaOrder({ id: `00000000-0000-4000-8000-00000000000${n}`, client_order_id: `c${n}`, submitted_at: at(s), created_at: at(s), ...extra });
    const page1 = [o(5, 5), o(4, 4), o(3, 3, { order_class: 'oto' })];
    const page2 = [o(3, 3, { order_class: 'oto' }), o(2, 3, { side: 'sell', type: 'stop', limit_price: null, stop_price: '150', status: 'held', order_class: 'oto' }), o(1, 1)];
    const page3 = [o(1, 1)];
    const { broker, calls } = setup([() => json(200, page1), () => json(200, page2), () => json(200, page3)], { ordersPageSize: 3 });
    const orders = await broker.listOrders({ status: 'all' });
    expect(orders.map((x) => x.clientOrderId)).toEqual(['c5', 'c4', 'c3', 'c2', 'c1']);
    expect(calls).toHaveLength(3); // page 2 was full too; page 3 (1 row < 3) ends the listing
    expect(calls[0]!.url.searchParams.get('until')).toBeNull();
    expect(calls[1]!.url.searchParams.get('until')).toBe('2018-02-07T14:00:03.501Z');
    expect(calls[2]!.url.searchParams.get('until')).toBe('2018-02-07T14:00:01.501Z');
    expect(calls[1]!.url.searchParams.get('limit')).toBe('3');
  });

  it('a leg Alpaca nests under its parent AND lists on its own appears once', async () => {
    const parent = alpacaOrder({ order_class: 'oto', legs: [stopLeg()] });
    const { broker } = setup(() => json(200, [parent, stopLeg()]));
    const orders = await broker.listOrders({ status: 'open' });
    expect(orders.map((x) => x.id)).toEqual([PARENT_ID, LEG_ID]);
    expect(orders[0]!.legs).toEqual([]);
  });

  it('refuses to loop when a full page shares one millisecond', async () => {
    const same = [0, 1].map((n) => alpacaOrder({ id: `00000000-0000-4000-8000-00000000000${n}`, client_order_id: `c${n}` }));
    const { broker } = setup(() => json(200, same), { ordersPageSize: 2 });
    await expect(broker.listOrders({ status: 'all' })).rejects.toThrow(/a full page of 2 orders shares one millisecond/);
  });

  it('an unknown status is refused, naming the field and the value', async () => {
    const { broker } = setup(() => json(200, [alpacaOrder(), alpacaOrder({ status: 'frozen' })]));
    const error = await broker.listOrders({ status: 'all' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlpacaResponseError);
    expect(error).toMatchObject({ field: '[1].status', value: 'frozen' });
    expect((error as Error).message).toMatch(/^GET \/v2\/orders: unexpected response value \[1\]\.status = "frozen" \(Invalid option: expected one of "new"\|/);
  });

  it('held legs are accepted (status held is one of ALPACA_ORDER_STATUSES)', async () => {
    const { broker } = setup(() => json(200, [stopLeg({ status: 'held' })]));
    expect((await broker.listOrders({ status: 'open' }))[0]!.status).toBe('held');
  });
});

describe('getOrderByClientOrderId', () => {
  it('looks the order up by client_order_id', async () => {
    const { broker, calls } = setup(() => json(200, alpacaOrder()));
    const order = await broker.getOrderByClientOrderId('momo1-20180207-AAPL-b-en');
    expect(calls[0]!.url.pathname).toBe('/v2/orders:by_client_order_id');
    expect(calls[0]!.url.searchParams.get('client_order_id')).toBe('momo1-20180207-AAPL-b-en');
    expect(order).toMatchObject({ id: PARENT_ID, orderClass: 'simple', legs: [] });
  });

  it('404 → undefined', async () => {
    const { broker } = setup(() => json(404, { code: 40410000, message: 'order not found' }));
    expect(await broker.getOrderByClientOrderId('nope')).toBeUndefined();
  });

  it('other errors propagate', async () => {
    const { broker } = setup(() => json(403, { message: 'forbidden' }));
    await expect(broker.getOrderByClientOrderId('x')).rejects.toMatchObject({ status: 403 });
  });

  it('an OTO answered with legs: null is read again by id with nested=true, so its stop leg is known', async () => {
    const { broker, calls } = setup([() => json(200, alpacaOrder({ order_class: 'oto', legs: null })), () => json(200, alpacaOrder({ order_class: 'oto', legs: [stopLeg()] }))]);
    const order = await broker.getOrderByClientOrderId('momo1-20180207-AAPL-b-en');
    expect(calls[1]!.url.pathname).toBe(`/v2/orders/${PARENT_ID}`);
    expect(calls[1]!.url.searchParams.get('nested')).toBe('true');
    expect(order!.legs).toHaveLength(1);
    expect(order!.legs[0]).toMatchObject({ id: LEG_ID, type: 'stop', stopPrice: '152.1', status: 'held' });
  });
});

describe('getOrder', () => {
  it('GET /v2/orders/{id}?nested=true, legs mapped', async () => {
    const { broker, calls } = setup(() => json(200, alpacaOrder({ order_class: 'oto', legs: [stopLeg()] })));
    const order = await broker.getOrder(PARENT_ID);
    expect(calls[0]!.url.toString()).toBe(`https://paper-api.alpaca.markets/v2/orders/${PARENT_ID}?nested=true`);
    expect(order).toEqual({
      id: PARENT_ID,
      clientOrderId: 'momo1-20180207-AAPL-b-en',
      symbol: 'AAPL',
      side: 'buy',
      type: 'limit',
      timeInForce: 'gtc',
      orderClass: 'oto',
      qty: '10',
      filledQty: '0',
      filledAvgPrice: null,
      limitPrice: '160.5',
      stopPrice: null,
      status: 'new',
      submittedAt: '2018-02-07T14:00:00.120Z',
      filledAt: null,
      canceledAt: null,
      expiredAt: null,
      legs: [expect.objectContaining({ id: LEG_ID, clientOrderId: 'alpaca-leg-uuid', legs: [] })],
    });
  });

  it('404 → BrokerError 404', async () => {
    const { broker } = setup(() => json(404, { code: 40410000, message: 'order not found' }));
    const error = await broker.getOrder('00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ status: 404, message: 'order not found', code: 40410000 });
  });
});

describe('submitOrder', () => {
  const entry: SubmitOrderRequest = entryRequest();

  it('POSTs one snake_case body with decimal strings; the stop-loss travels in the same request', async () => {
    const { broker, calls } = setup(() => json(200, alpacaOrder({ order_class: 'oto', legs: [stopLeg()] })));
    const order = await broker.submitOrder(entry);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.method).toBe('POST');
    expect(calls[0]!.url.pathname).toBe('/v2/orders');
    expect(calls[0]!.headers['content-type']).toBe('application/json');
    expect(calls[0]!.body).toEqual({
      symbol: 'AAPL',
      qty: '10',
      side: 'buy',
      type: 'limit',
      time_in_force: 'gtc',
      order_class: 'oto',
      client_order_id: 'momo1-20180207-AAPL-b-en',
      limit_price: '160.50',
      stop_loss: { stop_price: '152.10' },
    });
    expect(order.legs[0]).toMatchObject({ type: 'stop', side: 'sell', stopPrice: '152.1' });
  });

  it('a bracket carries take_profit and stop_loss', async () => {
    const { broker, calls } = setup(() => json(200, alpacaOrder({ order_class: 'bracket', legs: [stopLeg()] })));
    await broker.submitOrder({ ...entry, orderClass: 'bracket', takeProfit: { limitPrice: '175' } });
    expect(calls[0]!.body).toMatchObject({ order_class: 'bracket', take_profit: { limit_price: '175' }, stop_loss: { stop_price: '152.10' } });
  });

  it('refuses inconsistent requests before sending anything', async () => {
    const { broker, calls } = setup(() => json(200, alpacaOrder()));
    await expect(broker.submitOrder({ ...entry, orderClass: 'simple' })).rejects.toThrow('order_class simple carries no stopLoss/takeProfit legs');
    await expect(broker.submitOrder({ ...entry, orderClass: 'bracket' })).rejects.toThrow('order_class bracket needs both stopLoss and takeProfit');
    await expect(broker.submitOrder({ ...entry, stopLoss: undefined })).rejects.toThrow('order_class oto needs exactly one of stopLoss or takeProfit');
    await expect(broker.submitOrder({ ...entry, qty: '1e3' })).rejects.toThrow('order qty must be a positive decimal string, got "1e3"');
    await expect(broker.submitOrder({ ...entry, qty: '0' })).rejects.toThrow('order qty must be a positive decimal string, got "0"');
    await expect(broker.submitOrder({ ...entry, limitPrice: undefined })).rejects.toThrow('order limitPrice must be a positive decimal string, got undefined');
    await expect(broker.submitOrder({ ...entry, stopPrice: '150' })).rejects.toThrow('order stopPrice is not allowed for type limit, got "150"');
    await expect(broker.submitOrder({ ...entry, clientOrderId: 'x'.repeat(129) })).rejects.toThrow('order clientOrderId must be 1-128 characters');
    expect(calls).toHaveLength(0);
  });

  it('an accepted OTO answered with legs: null is read back by id; if that read fails the order is still returned', async () => {
    const ok = setup([() => json(200, alpacaOrder({ order_class: 'oto' })), () => json(200, alpacaOrder({ order_class: 'oto', legs: [stopLeg()] }))]);
    expect((await ok.broker.submitOrder(entry)).legs).toHaveLength(1);
    expect(ok.calls.map((c) => c.method)).toEqual(['POST', 'GET']);

    const lost = setup([() => json(200, alpacaOrder({ order_class: 'oto' })), () => json(404, {})]);
    const order = await lost.broker.submitOrder(entry);
    expect(order).toMatchObject({ id: PARENT_ID, legs: [] });
    expect(lost.calls.map((c) => c.method)).toEqual(['POST', 'GET']);
  });
});

describe('cancelOrder', () => {
  it('DELETE /v2/orders/{id} → 204', async () => {
    const { broker, calls } = setup(noContent);
    await broker.cancelOrder(PARENT_ID);
    expect(calls[0]!.method).toBe('DELETE');
    expect(calls[0]!.url.pathname).toBe(`/v2/orders/${PARENT_ID}`);
  });

  it('422 not cancelable and 404 unknown are BrokerErrors', async () => {
    const { broker } = setup([() => json(422, { code: 42210000, message: 'order is not cancelable' }), () => json(404, { code: 40410000, message: 'order not found' })]);
    await expect(broker.cancelOrder(PARENT_ID)).rejects.toMatchObject({ name: 'BrokerError', status: 422, message: 'order is not cancelable', code: 42210000 });
    await expect(broker.cancelOrder(PARENT_ID)).rejects.toMatchObject({ name: 'BrokerError', status: 404, message: 'order not found' });
  });
});

describe('listExecutions (FILL account activities)', () => {
  /** Shaped like the TradeActivity example of Alpaca's Account Activities docs (values are ours). */
  const fill = (n: number, time: string, extra: Record<string, unknown> = {}) => ({
    activity_type: 'FILL',
    cum_qty: String(n * 5),
    id: `${time.replace(/\D/g, '').slice(0, 17)}::0b9a3c44-6d1e-4c55-9a0e-00000000000${n}`,
    leaves_qty: String(10 - n * 5),
    price: '160.42',
    qty: '5',
    side: 'buy',
    symbol: 'AAPL',
    transaction_time: time,
    order_id: PARENT_ID,
    type: n === 2 ? 'fill' : 'partial_fill',
    ...extra,
  });

  it('maps the documented shape and pages with page_token, oldest first', async () => {
    const a = fill(1, '2018-02-07T15:01:02.345Z');
    const b = fill(2, '2018-02-07T15:05:00.001234Z');
    const c = { ...fill(3, '2018-02-08T15:00:00Z', { side: 'sell_short', cum_qty: '1', qty: '1', leaves_qty: '0' }) };
    const { broker, calls } = setup([() => json(200, [a, b]), () => json(200, [c])], { activitiesPageSize: 2 });
    const executions = await broker.listExecutions({ after: '2018-02-07T15:01:02.345Z' });
    expect(executions).toEqual([
      { id: a.id, orderId: PARENT_ID, symbol: 'AAPL', side: 'buy', qty: '5', price: '160.42', cumQty: '5', transactionTime: '2018-02-07T15:01:02.345Z' },
      { id: b.id, orderId: PARENT_ID, symbol: 'AAPL', side: 'buy', qty: '5', price: '160.42', cumQty: '10', transactionTime: '2018-02-07T15:05:00.001Z' },
      { id: c.id, orderId: PARENT_ID, symbol: 'AAPL', side: 'sell', qty: '1', price: '160.42', cumQty: '1', transactionTime: '2018-02-08T15:00:00.000Z' },
    ]);
    expect(calls[0]!.url.pathname).toBe('/v2/account/activities/FILL');
    // `after` is exclusive at Alpaca: asked 1 ms earlier so an execution AT `after` is included.
    expect(Object.fromEntries(calls[0]!.url.searchParams)).toEqual({ direction: 'asc', page_size: '2', after: '2018-02-07T15:01:02.344Z' });
    expect(calls[1]!.url.searchParams.get('page_token')).toBe(b.id);
  });

  it('without after: no after parameter, page size 100', async () => {
    const { broker, calls } = setup(() => json(200, []));
    expect(await broker.listExecutions({})).toEqual([]);
    expect(Object.fromEntries(calls[0]!.url.searchParams)).toEqual({ direction: 'asc', page_size: '100' });
  });

  it('refuses a malformed after, and an activity that is not a fill', async () => {
    const { broker } = setup(() => json(200, [fill(1, '2018-02-07T15:01:02Z', { activity_type: 'DIV' })]));
    await expect(broker.listExecutions({ after: 'yesterday' })).rejects.toThrow('listExecutions after must be an ISO-8601 instant, got "yesterday"');
    await expect(broker.listExecutions({})).rejects.toThrow(/\[0\]\.activity_type = "DIV"/);
  });
});

describe('clock, calendar, configurations', () => {
  it('getClock parses the recorded /v2/clock answer into UTC', async () => {
    const { broker } = setup(() => json(200, contract('clock.json')));
    expect(await broker.getClock()).toEqual({
      timestamp: '2022-05-16T20:32:24.143Z',
      isOpen: false,
      nextOpen: '2022-05-17T13:30:00.000Z',
      nextClose: '2022-05-17T20:00:00.000Z',
    });
  });

  it('getCalendar converts New York open/close to UTC (EST and EDT, early close) and passes start/end', async () => {
    const days = [
      ...(contract('calendar.json') as object[]),
      { date: '2025-07-03', open: '09:30', close: '13:00', session_open: '0400', session_close: '1700', settlement_date: '2025-07-07' },
    ];
    const { broker, calls } = setup(() => json(200, days));
    const sessions = await broker.getCalendar({ start: '2025-01-01', end: '2025-07-31' });
    expect(Object.fromEntries(calls[0]!.url.searchParams)).toEqual({ start: '2025-01-01', end: '2025-07-31' });
    expect(sessions).toEqual([
      { date: '2025-01-02', openUtc: '2025-01-02T14:30:00.000Z', closeUtc: '2025-01-02T21:00:00.000Z' },
      { date: '2025-07-03', openUtc: '2025-07-03T13:30:00.000Z', closeUtc: '2025-07-03T17:00:00.000Z' },
    ]);
  });

  it('AlpacaCalendar feeds a TradingCalendar', async () => {
    const { broker } = setup(() =>
      json(200, [
        { date: '2025-03-07', open: '09:30', close: '16:00' },
        { date: '2025-03-10', open: '09:30', close: '16:00' }, // first session after the DST switch
      ]),
    );
    const calendar = new TradingCalendar(await new AlpacaCalendar(broker, { start: '2025-03-07', end: '2025-03-10' }).loadSessions());
    expect(calendar.session('2025-03-07').openUtc).toBe('2025-03-07T14:30:00.000Z');
    expect(calendar.session('2025-03-10').openUtc).toBe('2025-03-10T13:30:00.000Z');
    expect(calendar.nextSession('2025-03-07')?.date).toBe('2025-03-10');
  });

  it('getCalendar refuses bad dates and bad times', async () => {
    const { broker } = setup(() => json(200, [{ date: '2025-01-02', open: '9:30', close: '16:00' }]));
    await expect(broker.getCalendar({ start: '2025-1-1' })).rejects.toThrow('start must be a calendar date YYYY-MM-DD, got "2025-1-1"');
    await expect(broker.getCalendar()).rejects.toThrow('GET /v2/calendar: unexpected response value [0].open = "9:30" (expected HH:MM)');
  });

  it('suspend_trade: read, set, and a mismatching answer is an error', async () => {
    const { broker, calls } = setup([
      () => json(200, { suspend_trade: false, no_shorting: true }),
      () => json(200, { suspend_trade: true, no_shorting: true }),
      () => json(200, { suspend_trade: false }),
    ]);
    expect(await broker.getAccountConfigurations()).toEqual({ suspendTrade: false, raw: { suspend_trade: false, no_shorting: true } });
    expect((await broker.setSuspendTrade(true)).suspendTrade).toBe(true);
    expect(calls[1]!).toMatchObject({ method: 'PATCH', body: { suspend_trade: true } });
    expect(calls[1]!.url.pathname).toBe('/v2/account/configurations');
    await expect(broker.setSuspendTrade(true)).rejects.toThrow('asked suspend_trade=true, Alpaca answered false');
  });
});
