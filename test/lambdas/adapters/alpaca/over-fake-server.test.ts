/**
 * AlpacaBroker over real HTTP against the fake Alpaca server (test/support/fake-alpaca-server.ts),
 * backed by the in-memory FakeBroker: the OTO round trip, and the server's scripted faults.
 * Backoff waits go through an injected sleep; the only real wait is one 100 ms client timeout.
 */
import { entryRequest } from '../../../support/orders';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlpacaBroker } from '../../../../lambdas/adapters/broker/alpaca/alpaca-broker';
import { AlpacaCalendar } from '../../../../lambdas/adapters/broker/alpaca/alpaca-calendar';
import { BrokerError, BrokerTransportError, type SubmitOrderRequest } from '../../../../lambdas/ports';
import { startFakeAlpacaServer, type FakeAlpacaServer } from '../../../support/fake-alpaca-server';
import { FakeBroker, MutableClock, WINTER_WEEK } from '../../../support/fake-broker';
import { ManualTime } from './helpers';

const ENTRY: SubmitOrderRequest = entryRequest();

let clock: MutableClock;
let backing: FakeBroker;
let fake: FakeAlpacaServer;
let time: ManualTime;
let alpaca: AlpacaBroker;

beforeEach(async () => {
  clock = new MutableClock(new Date('2018-02-07T14:00:00.000Z'));
  backing = new FakeBroker(clock);
  fake = await startFakeAlpacaServer({ broker: backing, sessions: WINTER_WEEK, clock });
  time = new ManualTime();
  alpaca = new AlpacaBroker({ baseUrl: fake.baseUrl, credentials: fake.credentials, sleep: time.sleep, now: time.now, random: () => 0 });
});

afterEach(async () => {
  await fake.close();
});

describe('AlpacaBroker ↔ fake Alpaca server ↔ FakeBroker', () => {
  it('submit an OTO, look it up by client_order_id, cancel it, list orders', async () => {
    expect(alpaca.endpoint.mode).toBe('local');
    const submitted = await alpaca.submitOrder(ENTRY);
    expect(submitted).toMatchObject({ clientOrderId: ENTRY.clientOrderId, orderClass: 'oto', status: 'new', qty: '10', limitPrice: '160.50' });
    expect(submitted.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(submitted.legs).toHaveLength(1);
    expect(submitted.legs[0]).toMatchObject({ side: 'sell', type: 'stop', stopPrice: '152.10', status: 'held' });
    // What reached the backing broker: one submission, the stop inside it.
    expect(backing.submitted).toEqual([ENTRY]);

    const found = await alpaca.getOrderByClientOrderId(ENTRY.clientOrderId);
    expect(found).toMatchObject({ id: submitted.id, legs: [expect.objectContaining({ id: submitted.legs[0]!.id })] });
    expect(await alpaca.getOrderByClientOrderId('momo1-2018-02-07-MSFT-buy-entry')).toBeUndefined();

    const open = await alpaca.listOrders({ status: 'open' });
    expect(open.map((o) => o.id).sort()).toEqual([submitted.id, submitted.legs[0]!.id].sort());

    await alpaca.cancelOrder(submitted.id);
    const canceled = await alpaca.getOrder(submitted.id);
    expect(canceled.status).toBe('canceled');
    expect(canceled.legs[0]!.status).toBe('canceled');
    expect(await alpaca.listOrders({ status: 'open' })).toEqual([]);
    const closed = await alpaca.listOrders({ status: 'closed' });
    expect(closed).toHaveLength(2);
    expect(new Set(closed.map((o) => o.id)).size).toBe(2);

    const again = await alpaca.cancelOrder(submitted.id).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(BrokerError);
    expect(again).toMatchObject({ status: 422, message: 'order is not cancelable' });
    await expect(alpaca.getOrder('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ status: 404 });
  });

  it('the working stop of a filled entry is listed as open (Alpaca nested=true would hide it)', async () => {
    const submitted = await alpaca.submitOrder(ENTRY);
    clock.set('2018-02-07T15:00:00.000Z');
    backing.fill(ENTRY.clientOrderId, '160.40');

    const open = await alpaca.listOrders({ status: 'open' });
    expect(open).toEqual([expect.objectContaining({ id: submitted.legs[0]!.id, type: 'stop', status: 'new', legs: [] })]);
    // The same question in nested style returns nothing: the leg goes away with its closed parent.
    const nested = await fetch(`${fake.baseUrl}/v2/orders?status=open&nested=true`, { headers: { 'APCA-API-KEY-ID': 'fake-key-id', 'APCA-API-SECRET-KEY': 'fake-secret-key' } });
    expect(await nested.json()).toEqual([]);

    expect(await alpaca.listPositions()).toEqual([expect.objectContaining({ symbol: 'AAPL', qty: '10' })]);
    const executions = await alpaca.listExecutions({ after: '2018-02-07T15:00:00.000Z' });
    expect(executions).toEqual([
      expect.objectContaining({ orderId: submitted.id, symbol: 'AAPL', side: 'buy', qty: '10', price: '160.40', cumQty: '10', transactionTime: '2018-02-07T15:00:00.000Z' }),
    ]);
  });

  it('POST answered 500 after the order was created: thrown, never resent; the lookup finds it', async () => {
    fake.fault('POST /v2/orders', { status: 500, afterProcessing: true });
    const error = await alpaca.submitOrder(ENTRY).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'BrokerError', status: 500 });
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(backing.submitted).toHaveLength(1);
    expect(await alpaca.getOrderByClientOrderId(ENTRY.clientOrderId)).toMatchObject({ clientOrderId: ENTRY.clientOrderId, status: 'new' });
  });

  it('POST timing out: BrokerTransportError timeout, sent once', async () => {
    // 100 ms leaves the request time to reach the server even on a loaded machine; it answers after 250 ms.
    const slowClient = new AlpacaBroker({ baseUrl: fake.baseUrl, credentials: fake.credentials, timeoutMs: 100 });
    fake.fault('POST /v2/orders', { delayMs: 250 });
    const error = await slowClient.submitOrder(ENTRY).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerTransportError);
    expect(error).toMatchObject({ kind: 'timeout' });
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('429 with Retry-After on a POST: waited for, then sent again (a 429 was not processed)', async () => {
    fake.fault('POST /v2/orders', { status: 429, retryAfterSeconds: 1, message: 'rate limit exceeded' });
    const order = await alpaca.submitOrder(ENTRY);
    expect(order.clientOrderId).toBe(ENTRY.clientOrderId);
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
    expect(backing.submitted).toHaveLength(1);
    expect(time.sleeps).toEqual([1000]);
  });

  it('GET 503 twice: retried, then answered', async () => {
    fake.fault('GET /v2/account', { status: 503, times: 2 });
    expect(await alpaca.getAccount()).toEqual({ cash: '100000', equity: '100000', buyingPower: '100000', tradingBlocked: false });
    expect(fake.requests.filter((r) => r.route === 'GET /v2/account')).toHaveLength(3);
    expect(time.sleeps).toEqual([250, 500]);
  });

  it('broker-side kill switch: suspend_trade blocks new orders and shows on the account', async () => {
    await alpaca.setSuspendTrade(true);
    expect(fake.suspendTrade).toBe(true);
    expect((await alpaca.getAccount()).tradingBlocked).toBe(true);
    expect(await alpaca.getAccountConfigurations()).toMatchObject({ suspendTrade: true });
    await expect(alpaca.submitOrder(ENTRY)).rejects.toMatchObject({ status: 403 });
    expect(backing.submitted).toEqual([]);
    await alpaca.setSuspendTrade(false);
    expect((await alpaca.getAccount()).tradingBlocked).toBe(false);
  });

  it('clock and calendar', async () => {
    expect(await alpaca.getClock()).toEqual({ timestamp: '2018-02-07T14:00:00.000Z', isOpen: false, nextOpen: '2018-02-07T14:30:00.000Z', nextClose: '2018-02-07T21:00:00.000Z' });
    const sessions = await new AlpacaCalendar(alpaca, { start: '2018-02-06', end: '2018-02-08' }).loadSessions();
    expect(sessions).toEqual(WINTER_WEEK.filter((s) => s.date >= '2018-02-06' && s.date <= '2018-02-08'));
  });

  it('wrong keys: 401', async () => {
    const stranger = new AlpacaBroker({
      baseUrl: fake.baseUrl,
      credentials: { getCredentials: async () => ({ APCA_API_KEY_ID: 'other', APCA_API_SECRET_KEY: 'other' }) },
    });
    await expect(stranger.getAccount()).rejects.toMatchObject({ status: 401 });
  });
});
