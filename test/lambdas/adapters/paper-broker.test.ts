import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newPaperState, submitOrder, type PaperState } from '../../../lambdas/adapters/broker/paper/engine';
import { eligibilityAt, firstSessionOpeningAtOrAfter, PaperBroker, type PaperAccountStore } from '../../../lambdas/adapters/broker/paper/paper-broker';
import { FilePaperAccountStore } from '../../../lambdas/adapters/broker/paper/stores';
import { SimClock } from '../../../lambdas/adapters/clock';
import type { RawBarRow } from '../../../lambdas/core/bars';
import { TradingCalendar, type Session } from '../../../lambdas/core/calendar';
import {
  BrokerError,
  MarketDataError,
  type BrokerOrder,
  type CalendarPort,
  type MarketDataPort,
  type SubmitOrderRequest,
} from '../../../lambdas/ports';

// Sessions Thu 2018-02-01 … Fri 2018-02-16 (no holiday in between), 09:30–16:00 EST = 14:30Z–21:00Z.
const DATES = ['2018-02-01', '2018-02-02', '2018-02-05', '2018-02-06', '2018-02-07', '2018-02-08', '2018-02-09', '2018-02-12', '2018-02-13', '2018-02-14', '2018-02-15', '2018-02-16'];
const session = (date: string): Session => ({ date, openUtc: `${date}T14:30:00Z`, closeUtc: `${date}T21:00:00Z` });
const SESSIONS = DATES.map(session);
const at = (iso: string) => new Date(iso);

class FakeCalendar implements CalendarPort {
  async loadSessions(): Promise<Session[]> {
    return SESSIONS.map((s) => ({ ...s }));
  }
}

type Ohlc = [open: number, high: number, low: number, close: number];

/** Daily rows for every session: `base` unless `overrides` names the date. */
function rows(base: Ohlc, overrides: Record<string, Ohlc | 'defect'> = {}): RawBarRow[] {
  return DATES.map((date, i) => {
    const o = overrides[date] ?? base;
    // 'defect': low above high, which validation refuses (a 40 open would fill any buy limit ≥ 40).
    const [open, high, low, close] = o === 'defect' ? [40, 39, 41, 40] : o;
    return { line: i + 2, date, open: String(open), high: String(high), low: String(low), close: String(close), volume: '1000' };
  });
}

class FakeMarketData implements MarketDataPort {
  readonly loads: string[] = [];
  constructor(
    private readonly data: Record<string, RawBarRow[]>,
    private readonly listed: string[] = Object.keys(data).sort(),
  ) {}
  async listSymbols(): Promise<string[]> {
    return [...this.listed];
  }
  async loadDailyRows(symbol: string): Promise<RawBarRow[]> {
    this.loads.push(symbol);
    const found = this.data[symbol];
    if (!found) throw new MarketDataError(symbol, `no data file for ${symbol}`);
    return found.map((r) => ({ ...r }));
  }
}

/** In-memory store with the same optimistic versioning contract as the real ones. */
class MemoryStore implements PaperAccountStore {
  saved: { state: PaperState; version: number } | undefined;
  saves = 0;
  /** Delay before load answers (lets tests interleave two brokers). */
  loadDelayMs = 0;
  async load() {
    const snapshot = this.saved ? structuredClone(this.saved) : undefined;
    if (this.loadDelayMs) await new Promise((r) => setTimeout(r, this.loadDelayMs));
    return snapshot;
  }
  async save(state: PaperState, expectedVersion: number | undefined): Promise<number> {
    if (this.saved?.version !== expectedVersion) throw new Error(`paper account changed concurrently (expected version ${expectedVersion})`);
    const version = (expectedVersion ?? 0) + 1;
    this.saved = { state: structuredClone(state), version };
    this.saves += 1;
    return version;
  }
}

/** AAA trades flat at 102/103/101/102 unless a test says otherwise; BBB at 50. */
const defaultData = (aaa: Record<string, Ohlc | 'defect'> = {}, bbb: Record<string, Ohlc | 'defect'> = {}) => ({
  AAA: rows([102, 103, 101, 102], aaa),
  BBB: rows([50, 51, 49, 50], bbb),
});

function setup(options: { start: string; data?: Record<string, RawBarRow[]>; listed?: string[]; store?: MemoryStore; initialCash?: string }) {
  const clock = new SimClock(at(options.start));
  const marketData = new FakeMarketData(options.data ?? defaultData(), options.listed);
  const store = options.store ?? new MemoryStore();
  const broker = new PaperBroker({ store, marketData, calendar: new FakeCalendar(), clock, ...(options.initialCash ? { initialCash: options.initialCash } : {}) });
  return { clock, marketData, store, broker };
}

const entry = (overrides: Partial<SubmitOrderRequest> = {}): SubmitOrderRequest => ({
  clientOrderId: 'entry-1',
  symbol: 'AAA',
  side: 'buy',
  type: 'limit',
  timeInForce: 'gtc',
  orderClass: 'oto',
  qty: '10',
  limitPrice: '100',
  stopLoss: { stopPrice: '95' },
  ...overrides,
});

async function brokerError(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokerError);
  return error as BrokerError;
}

/** Every order id in a listing, legs included. */
const allIds = (orders: BrokerOrder[]): string[] => orders.flatMap((o) => [o.id, ...allIds(o.legs)]);

describe('firstSessionOpeningAtOrAfter', () => {
  const calendar = new TradingCalendar(SESSIONS);
  it.each([
    ['before the open of a session day', '2018-02-06T14:29:59.999Z', '2018-02-06'],
    ['exactly at the open', '2018-02-06T14:30:00.000Z', '2018-02-06'],
    ['1 ms after the open', '2018-02-06T14:30:00.001Z', '2018-02-07'],
    ['during the session', '2018-02-06T18:00:00.000Z', '2018-02-07'],
    ['after the close', '2018-02-06T22:00:00.000Z', '2018-02-07'],
    ['late evening (next UTC day)', '2018-02-07T03:00:00.000Z', '2018-02-07'],
    ['on Saturday', '2018-02-10T15:00:00.000Z', '2018-02-12'],
    ['on Friday after the open', '2018-02-09T15:00:00.000Z', '2018-02-12'],
  ])('%s → %s', (_name, now, expected) => {
    expect(firstSessionOpeningAtOrAfter(calendar, at(now))?.date).toBe(expected);
  });

  it('knows no session after the last one has opened, nor after the calendar ends', () => {
    expect(firstSessionOpeningAtOrAfter(calendar, at('2018-02-16T15:00:00.000Z'))).toBeUndefined();
    expect(firstSessionOpeningAtOrAfter(calendar, at('2018-02-17T15:00:00.000Z'))).toBeUndefined();
  });
});

describe('PaperBroker: a new account', () => {
  it('starts with the initial cash at the last session closed before now', async () => {
    const { broker, store, marketData } = setup({ start: '2018-02-06T12:00:00.000Z', initialCash: '25000' });
    expect(await broker.processedThrough()).toBeNull(); // no account yet
    expect(await broker.getAccount()).toEqual({ cash: '25000', equity: '25000', buyingPower: '25000', tradingBlocked: false });
    expect(await broker.processedThrough()).toBe('2018-02-05');
    expect(store.saved?.state).toMatchObject({ createdAt: '2018-02-06T12:00:00.000Z', processedThrough: '2018-02-05', executions: [], orders: [] });
    expect(store.saves).toBe(1);
    expect(marketData.loads).toEqual([]); // nothing to replay
    expect(await broker.listPositions()).toEqual([]);
    expect(await broker.listOrders({ status: 'all' })).toEqual([]);
  });

  it('does not count the session in progress as processed', async () => {
    const during = setup({ start: '2018-02-06T15:00:00.000Z' });
    await during.broker.getAccount();
    expect(await during.broker.processedThrough()).toBe('2018-02-05');
    const atClose = setup({ start: '2018-02-06T21:00:00.000Z' });
    await atClose.broker.getAccount();
    expect(await atClose.broker.processedThrough()).toBe('2018-02-06');
  });

  it('defaults to 100,000 USD', async () => {
    const { broker } = setup({ start: '2018-02-06T12:00:00.000Z' });
    expect((await broker.getAccount()).cash).toBe('100000');
  });
});

describe('PaperBroker: catching up with the clock', () => {
  it('fills an eligible order at the open phase (during the session) and plays the rest at the close, once, and persists it', async () => {
    const { broker, clock, store, marketData } = setup({
      start: '2018-02-05T14:00:00.000Z', // Monday, before the open
      data: defaultData({ '2018-02-05': [99, 101, 97, 100] }),
    });
    const submitted = await broker.submitOrder(entry());
    expect(submitted).toMatchObject({ clientOrderId: 'entry-1', status: 'accepted', submittedAt: '2018-02-05T14:00:00.000Z', filledQty: '0' });
    expect(submitted.legs).toMatchObject([{ side: 'sell', type: 'stop', stopPrice: '95', status: 'held' }]);
    expect((await broker.getAccount()).buyingPower).toBe('99000');

    // Before the open nothing is known yet: nothing fills.
    clock.advanceTo(at('2018-02-05T14:29:59.999Z'));
    expect((await broker.getOrder(submitted.id)).status).toBe('accepted');

    // New rule (engine.ts, phase "open"): from the open on, the session's OPEN price is public, so
    // reads during the session show the fill at the open (open 99 ≤ limit 100) and the position
    // marked at the open (99); before sessions had two phases this read still showed 'accepted'.
    // The rest of the bar (low 97, close 100) is not used before the close.
    clock.advanceTo(at('2018-02-05T20:59:59.999Z'));
    const during = await broker.getOrder(submitted.id);
    expect(during).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '99', filledAt: '2018-02-05T14:30:00Z' });
    expect(during.legs[0]?.status).toBe('new'); // live from the open; low 97 > stop 95 anyway
    expect(await broker.listPositions()).toEqual([{ symbol: 'AAA', qty: '10', avgEntryPrice: '99', currentPrice: '99', marketValue: '990' }]);
    expect(await broker.getAccount()).toEqual({ cash: '99010', equity: '100000', buyingPower: '99010', tradingBlocked: false });
    expect(await broker.processedThrough()).toBe('2018-02-02'); // Monday has not closed

    clock.advanceTo(at('2018-02-05T21:00:00.000Z'));
    expect(await broker.listPositions()).toEqual([{ symbol: 'AAA', qty: '10', avgEntryPrice: '99', currentPrice: '100', marketValue: '1000' }]);
    const filled = await broker.getOrder(submitted.id);
    expect(filled).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '99', filledAt: '2018-02-05T14:30:00Z' });
    expect(filled.legs[0]?.status).toBe('new');
    expect(await broker.getAccount()).toEqual({ cash: '99010', equity: '100010', buyingPower: '99010', tradingBlocked: false });

    // Calling again changes nothing and writes nothing.
    const saves = store.saves;
    const executions = store.saved!.state.executions.length;
    expect(await broker.getAccount()).toEqual({ cash: '99010', equity: '100010', buyingPower: '99010', tradingBlocked: false });
    expect(await broker.processedThrough()).toBe('2018-02-05');
    expect(store.saves).toBe(saves);
    expect(store.saved!.state.executions).toHaveLength(executions);
    expect(executions).toBe(1);
    expect(marketData.loads).toEqual(['AAA']); // bars are read once per broker

    // A second broker over the same store sees the same account.
    const other = new PaperBroker({ store, marketData: new FakeMarketData(defaultData()), calendar: new FakeCalendar(), clock });
    expect(await other.getAccount()).toEqual({ cash: '99010', equity: '100010', buyingPower: '99010', tradingBlocked: false });
    expect((await other.getOrderByClientOrderId('entry-1'))?.status).toBe('filled');
  });

  it('plays every session missed since the last call, in order', async () => {
    const { broker, clock } = setup({
      start: '2018-02-05T14:00:00.000Z',
      data: defaultData({ '2018-02-07': [99, 101, 97, 100], '2018-02-08': [97, 98, 94, 96], '2018-02-09': [96, 97, 95, 96.5] }),
    });
    await broker.submitOrder(entry());
    clock.advanceTo(at('2018-02-10T12:00:00.000Z')); // Saturday: Mon…Fri all closed
    const account = await broker.getAccount();
    // Bought 10 at 99 on Wed, stopped out at 95 on Thu.
    expect(account).toMatchObject({ cash: '99960', equity: '99960' });
    expect(await broker.processedThrough()).toBe('2018-02-09');
    const order = await broker.getOrderByClientOrderId('entry-1');
    expect(order?.filledAt).toBe('2018-02-07T14:30:00Z');
    expect(order?.legs[0]).toMatchObject({ status: 'filled', filledAvgPrice: '95', filledAt: '2018-02-08T21:00:00Z' });
  });

  it('makes an order submitted during a session eligible on the rest of that bar, never at its open (no look-ahead)', async () => {
    const { broker, clock } = setup({
      start: '2018-02-05T15:00:00.000Z', // Monday, market open
      data: defaultData({ '2018-02-05': [99, 101, 90, 100], '2018-02-07': [101, 102, 99.5, 100] }),
    });
    const submitted = await broker.submitOrder(entry({ orderClass: 'simple', stopLoss: undefined }));
    expect(submitted.status).toBe('new');
    // New rule (engine.ts, orders submitted during a session): the order trades on Monday's bar but
    // not at Monday's open, which had passed (before this rule it waited for Tuesday's open). A buy
    // limit then fills at the limit when low ≤ limit (90 ≤ 100): at 100, never at the better open
    // 99, stamped at Monday's close; nothing fills before the close.
    clock.advanceTo(at('2018-02-05T20:59:59.999Z'));
    expect((await broker.getOrder(submitted.id)).status).toBe('new');
    clock.advanceTo(at('2018-02-05T21:00:00.000Z'));
    expect(await broker.getOrder(submitted.id)).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '100', filledAt: '2018-02-05T21:00:00Z' });
    expect(await broker.listExecutions({})).toMatchObject([{ orderId: submitted.id, qty: '10', price: '100', transactionTime: '2018-02-05T21:00:00Z' }]);
  });

  it('fills an order submitted before the open on that same session', async () => {
    const { broker, clock } = setup({ start: '2018-02-06T14:29:00.000Z', data: defaultData({ '2018-02-06': [98, 99, 97, 98] }) });
    const submitted = await broker.submitOrder(entry({ orderClass: 'simple', stopLoss: undefined }));
    clock.advanceTo(at('2018-02-06T21:00:00.000Z'));
    expect(await broker.getOrder(submitted.id)).toMatchObject({ status: 'filled', filledAvgPrice: '98', filledAt: '2018-02-06T14:30:00Z' });
  });

  it('expires a day order at the close of its session', async () => {
    const { broker, clock } = setup({ start: '2018-02-05T14:00:00.000Z' });
    const submitted = await broker.submitOrder(entry({ timeInForce: 'day' }));
    clock.advanceTo(at('2018-02-05T21:00:00.000Z'));
    const order = await broker.getOrder(submitted.id);
    expect(order).toMatchObject({ status: 'expired', expiredAt: '2018-02-05T21:00:00Z' });
    expect(order.legs[0]?.status).toBe('canceled');
    expect(await broker.listOrders({ status: 'open' })).toEqual([]);
  });

  it('refuses the second of two concurrent writers instead of losing an update', async () => {
    const store = new MemoryStore();
    const first = setup({ start: '2018-02-05T14:00:00.000Z', store });
    await first.broker.getAccount(); // create the account
    const second = setup({ start: '2018-02-05T14:00:00.000Z', store });
    store.loadDelayMs = 5; // both load before either saves
    const results = await Promise.allSettled([
      first.broker.submitOrder(entry({ clientOrderId: 'one', orderClass: 'simple', stopLoss: undefined })),
      second.broker.submitOrder(entry({ clientOrderId: 'two', orderClass: 'simple', stopLoss: undefined })),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const won = results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<BrokerOrder>;
    store.loadDelayMs = 0;
    expect((await first.broker.listOrders({ status: 'all' })).map((o) => o.clientOrderId)).toEqual([won.value.clientOrderId]);
  });
});

describe('PaperBroker: listing and finding orders', () => {
  it('nests held legs under an open parent, lists the live leg of a filled entry on its own, and never lists an order twice', async () => {
    const { broker, clock } = setup({
      start: '2018-02-05T14:00:00.000Z',
      data: defaultData({ '2018-02-05': [99, 101, 97, 100] }),
    });
    const filledEntry = await broker.submitOrder(entry({ clientOrderId: 'fills' }));
    const openEntry = await broker.submitOrder(entry({ clientOrderId: 'waits', limitPrice: '90', stopLoss: { stopPrice: '85' } }));

    const before = await broker.listOrders({ status: 'open' });
    expect(before.map((o) => o.clientOrderId)).toEqual(['waits', 'fills']); // newest first
    expect(before.map((o) => o.legs.map((l) => l.status))).toEqual([['held'], ['held']]);
    expect(await broker.listOrders({ status: 'closed' })).toEqual([]);

    clock.advanceTo(at('2018-02-05T21:00:00.000Z'));
    const open = await broker.listOrders({ status: 'open' });
    const liveLeg = (await broker.getOrder(filledEntry.id)).legs[0]!;
    expect(open.map((o) => o.id)).toEqual([openEntry.id, liveLeg.id]);
    expect(open[0]!.legs.map((l) => l.status)).toEqual(['held']);
    expect(open[1]).toMatchObject({ side: 'sell', type: 'stop', status: 'new', legs: [] });

    const closed = await broker.listOrders({ status: 'closed' });
    expect(closed.map((o) => o.id)).toEqual([filledEntry.id]);
    const all = await broker.listOrders({ status: 'all' });
    expect(all.map((o) => o.id)).toEqual([openEntry.id, filledEntry.id]);
    for (const listing of [open, closed, all]) {
      const ids = allIds(listing);
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect(allIds(all)).toHaveLength(4);
    // Every open order is reachable from the open listing, once.
    expect(allIds(open).filter((id) => id !== openEntry.id && id !== liveLeg.id)).toEqual([openEntry.legs[0]!.id]);
  });

  it('finds legs by client_order_id and by id; unknown ids give undefined and 404', async () => {
    const { broker } = setup({ start: '2018-02-05T14:00:00.000Z' });
    const parent = await broker.submitOrder(entry());
    const leg = parent.legs[0]!;
    expect(await broker.getOrderByClientOrderId(leg.clientOrderId)).toMatchObject({ id: leg.id, type: 'stop', status: 'held' });
    expect((await broker.getOrder(leg.id)).clientOrderId).toBe(leg.clientOrderId);
    expect(await broker.getOrderByClientOrderId('nope')).toBeUndefined();
    const error = await brokerError(broker.getOrder('ord-99999999'));
    expect([error.status, error.message]).toEqual([404, 'order not found']);
  });

  it('cancels through the port and reports refusals as Alpaca does', async () => {
    const { broker, clock } = setup({ start: '2018-02-05T14:00:00.000Z', data: defaultData({ '2018-02-06': [99, 101, 97, 100] }) });
    const waiting = await broker.submitOrder(entry({ clientOrderId: 'a' }));
    const filling = await broker.submitOrder(entry({ clientOrderId: 'b' }));
    await broker.cancelOrder(waiting.id);
    expect(await broker.getOrder(waiting.id)).toMatchObject({ status: 'canceled', canceledAt: '2018-02-05T14:00:00.000Z' });
    expect((await broker.getOrder(waiting.id)).legs[0]?.status).toBe('canceled');
    clock.advanceTo(at('2018-02-06T21:00:00.000Z'));
    const notCancelable = await brokerError(broker.cancelOrder(filling.id));
    expect([notCancelable.status, notCancelable.message]).toEqual([422, 'order is not cancelable']);
    const unknown = await brokerError(broker.cancelOrder('ord-99999999'));
    expect(unknown.status).toBe(404);
    const duplicate = await brokerError(broker.submitOrder(entry({ clientOrderId: 'a' })));
    expect([duplicate.status, duplicate.message, duplicate.code]).toEqual([422, 'client_order_id must be unique', 40010001]);
  });
});

describe('PaperBroker: buying power', () => {
  it('reserves market buys at the last close, so two market buys cannot overspend', async () => {
    const { broker } = setup({ start: '2018-02-06T14:00:00.000Z' }); // AAA closed at 102, BBB at 50 on Monday
    await broker.submitOrder(entry({ clientOrderId: 'm1', type: 'market', limitPrice: undefined, orderClass: 'simple', stopLoss: undefined, qty: '900' }));
    expect((await broker.getAccount()).buyingPower).toBe('8200'); // 100000 - 900 * 102
    const error = await brokerError(
      broker.submitOrder(entry({ clientOrderId: 'm2', symbol: 'BBB', type: 'market', limitPrice: undefined, orderClass: 'simple', stopLoss: undefined, qty: '200' })),
    );
    expect([error.status, error.message]).toEqual([403, 'insufficient buying power']);
  });
});

describe('PaperBroker: symbols without market data', () => {
  it('refuses a symbol the market data does not list (422)', async () => {
    const { broker } = setup({ start: '2018-02-05T14:00:00.000Z' });
    const error = await brokerError(broker.submitOrder(entry({ symbol: 'ZZZ' })));
    expect([error.status, error.message]).toEqual([422, 'asset not found: ZZZ']);
  });

  it('refuses a listed symbol whose data cannot be read (422), and keeps serving the others', async () => {
    const { broker } = setup({ start: '2018-02-05T14:00:00.000Z', listed: ['AAA', 'BBB', 'GONE'] });
    const error = await brokerError(broker.submitOrder(entry({ symbol: 'GONE' })));
    expect([error.status, error.message]).toEqual([422, 'asset not found: GONE']);
    expect((await broker.submitOrder(entry())).status).toBe('accepted');
  });

  it('keeps catching up the other symbols when one symbol loses its data', async () => {
    const store = new MemoryStore();
    const first = setup({ start: '2018-02-05T14:00:00.000Z', store });
    await first.broker.submitOrder(entry({ clientOrderId: 'aaa', symbol: 'AAA', limitPrice: '100' }));
    await first.broker.submitOrder(entry({ clientOrderId: 'bbb', symbol: 'BBB', limitPrice: '50', stopLoss: { stopPrice: '45' } }));
    // A later process whose market data no longer has AAA.
    const later = setup({ start: '2018-02-05T14:00:00.000Z', store, data: { BBB: rows([50, 51, 49, 50]) } });
    later.clock.advanceTo(at('2018-02-06T21:00:00.000Z'));
    const orders = await later.broker.listOrders({ status: 'all' });
    expect(orders.map((o) => [o.clientOrderId, o.status])).toEqual([
      ['bbb', 'filled'],
      ['aaa', 'accepted'],
    ]);
    expect(await later.broker.processedThrough()).toBe('2018-02-06');
  });

  it('does not fill on a session whose bar is defective, and does not mark with it', async () => {
    const { broker, clock } = setup({
      start: '2018-02-05T14:00:00.000Z',
      data: defaultData({ '2018-02-05': [99, 101, 97, 100], '2018-02-06': 'defect', '2018-02-07': [90, 91, 89, 90] }, { '2018-02-06': 'defect' }),
    });
    const aaa = await broker.submitOrder(entry({ orderClass: 'simple', stopLoss: undefined }));
    clock.advanceTo(at('2018-02-05T21:00:00.000Z'));
    const bbb = await broker.submitOrder(entry({ clientOrderId: 'b', symbol: 'BBB', orderClass: 'simple', stopLoss: undefined, limitPrice: '60' }));
    expect((await broker.getOrder(aaa.id)).status).toBe('filled');
    clock.advanceTo(at('2018-02-06T21:00:00.000Z'));
    expect(await broker.getOrder(bbb.id)).toMatchObject({ filledQty: '0', filledAt: null }); // the defective bar (open 40) is not used
    expect((await broker.listPositions())[0]?.currentPrice).toBe('100'); // still Monday's close, not 40
    clock.advanceTo(at('2018-02-07T21:00:00.000Z'));
    expect((await broker.getOrder(bbb.id)).status).toBe('filled');
    expect((await broker.listPositions()).map((p) => [p.symbol, p.currentPrice])).toEqual([
      ['AAA', '90'],
      ['BBB', '50'],
    ]);
  });
});

describe('PaperBroker: the end of the calendar', () => {
  it('refuses an order when no session is left to trade it (422)', async () => {
    // New rule (orders submitted during a session trade on that session's bar): while the last
    // session is open an order is still accepted; once it has closed, no session is left. (This
    // test refused at 15:00 during the last session before that rule.)
    const { broker, clock } = setup({ start: '2018-02-16T15:00:00.000Z' }); // last session, market open
    expect(await broker.submitOrder(entry())).toMatchObject({ status: 'new', clientOrderId: 'entry-1' });
    clock.advanceTo(at('2018-02-16T21:00:00.000Z')); // its close
    const error = await brokerError(broker.submitOrder(entry({ clientOrderId: 'after-close' })));
    expect([error.status, error.message]).toEqual([422, 'market is closed and no future session is known']);
  });

  it('still answers after the calendar ends, having played every known session', async () => {
    const { broker, clock } = setup({ start: '2018-02-16T14:00:00.000Z', data: defaultData({ '2018-02-16': [99, 101, 97, 100] }) });
    await broker.submitOrder(entry());
    clock.advanceTo(at('2018-02-17T15:00:00.000Z')); // Saturday, beyond the calendar
    expect((await broker.getAccount()).cash).toBe('99010');
    expect(await broker.processedThrough()).toBe('2018-02-16');
    const error = await brokerError(broker.submitOrder(entry({ clientOrderId: 'later' })));
    expect([error.status, error.message]).toEqual([422, 'market is closed and no future session is known']);
  });
});

describe('PaperBroker: fillOpenOrderAtLimit (fault-injection hook)', () => {
  it('fills an open, unfilled limit entry now at its limit; a later cancel is refused with 422', async () => {
    const { broker, clock } = setup({ start: '2018-02-05T14:00:00.000Z' });
    const waiting = await broker.submitOrder(entry({ limitPrice: '90', stopLoss: { stopPrice: '85' } }));
    clock.advanceTo(at('2018-02-05T18:00:00.000Z')); // Monday, market open
    const filled = await broker.fillOpenOrderAtLimit(waiting.id);
    expect(filled).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '90', filledAt: '2018-02-05T18:00:00.000Z' });
    expect(filled?.legs[0]?.status).toBe('new');
    expect(await broker.getOrder(waiting.id)).toEqual(filled);
    expect(await broker.listExecutions({})).toMatchObject([{ orderId: waiting.id, qty: '10', price: '90', cumQty: '10' }]);
    const refusal = await brokerError(broker.cancelOrder(waiting.id));
    expect([refusal.status, refusal.message]).toEqual([422, 'order is not cancelable']);

    // Monday's bar (low 101) is not played against the stop armed mid-session; the close marks the position.
    clock.advanceTo(at('2018-02-05T21:00:00.000Z'));
    expect(await broker.listPositions()).toEqual([{ symbol: 'AAA', qty: '10', avgEntryPrice: '90', currentPrice: '102', marketValue: '1020' }]);
    expect(await broker.getAccount()).toMatchObject({ cash: '99100', equity: '100120' });
  });

  it('answers undefined and changes nothing for a filled, unknown or non-limit order', async () => {
    const { broker, clock, store } = setup({ start: '2018-02-05T14:00:00.000Z', data: defaultData({ '2018-02-05': [99, 101, 97, 100] }) });
    const filling = await broker.submitOrder(entry());
    clock.advanceTo(at('2018-02-05T21:00:00.000Z'));
    expect((await broker.getOrder(filling.id)).status).toBe('filled'); // catches up (and saves) first
    const saves = store.saves;
    expect(await broker.fillOpenOrderAtLimit(filling.id)).toBeUndefined();
    expect(await broker.fillOpenOrderAtLimit(filling.legs[0]!.id)).toBeUndefined();
    expect(await broker.fillOpenOrderAtLimit('ord-99999999')).toBeUndefined();
    expect(store.saves).toBe(saves);
    expect(await broker.listExecutions({})).toHaveLength(1);
  });
});

describe('eligibilityAt', () => {
  const calendar = new TradingCalendar(SESSIONS);
  it.each([
    ['before the open: that session, at its open', '2018-02-06T14:29:59.999Z', '2018-02-06', true],
    ['exactly at the open: that session, its open already played', '2018-02-06T14:30:00.000Z', '2018-02-06', false],
    ['09:45 New York: that session, not at its open', '2018-02-06T14:45:00.000Z', '2018-02-06', false],
    ['1 ms before the close', '2018-02-06T20:59:59.999Z', '2018-02-06', false],
    ['exactly at the close: the next session, at its open', '2018-02-06T21:00:00.000Z', '2018-02-07', true],
    ['on Saturday: Monday, at its open', '2018-02-10T15:00:00.000Z', '2018-02-12', true],
    ['during the last session of the calendar', '2018-02-16T15:00:00.000Z', '2018-02-16', false],
  ])('%s', (_name, now, date, atOpen) => {
    expect(eligibilityAt(calendar, at(now))).toEqual({ session: session(date), atOpen });
  });

  it('knows none once the last session has closed, nor beyond the calendar', () => {
    expect(eligibilityAt(calendar, at('2018-02-16T21:00:00.000Z'))).toBeUndefined();
    expect(eligibilityAt(calendar, at('2018-02-17T15:00:00.000Z'))).toBeUndefined();
  });
});

describe('PaperBroker: a session in two phases', () => {
  /** 09:45 New York (EST) on `date`: the decision time. */
  const nineFortyFive = (date: string) => at(`${date}T14:45:00.000Z`);

  it('shows the fills and marks of the open at 09:45: a stop the open gaps through is already filled', async () => {
    const { broker, clock, store } = setup({
      start: '2018-02-05T14:00:00.000Z',
      data: defaultData({ '2018-02-05': [99, 101, 97, 100], '2018-02-06': [93, 94, 90, 92] }, { '2018-02-06': [55, 56, 48, 49] }),
    });
    const aaa = await broker.submitOrder(entry());
    await broker.submitOrder(entry({ clientOrderId: 'bbb', symbol: 'BBB', limitPrice: '50', stopLoss: { stopPrice: '45' } }));
    clock.advanceTo(at('2018-02-05T21:00:00.000Z')); // Monday: 10 AAA at 99, 10 BBB at 50
    expect((await broker.getAccount()).cash).toBe('98510');

    clock.advanceTo(nineFortyFive('2018-02-06'));
    const leg = (await broker.getOrder(aaa.id)).legs[0]!;
    expect(leg).toMatchObject({ status: 'filled', filledAvgPrice: '93', filledAt: '2018-02-06T14:30:00Z' });
    expect(await broker.listPositions()).toEqual([{ symbol: 'BBB', qty: '10', avgEntryPrice: '50', currentPrice: '55', marketValue: '550' }]);
    expect(await broker.getAccount()).toEqual({ cash: '99440', equity: '99990', buyingPower: '99440', tradingBlocked: false });
    expect(await broker.listExecutions({ after: '2018-02-06T00:00:00.000Z' })).toMatchObject([{ orderId: leg.id, price: '93', transactionTime: '2018-02-06T14:30:00Z' }]);
    expect(await broker.processedThrough()).toBe('2018-02-05');
    expect(store.saved!.state.lastPlayed).toEqual({ session: '2018-02-06', phase: 'open' });
    const saves = store.saves;
    await broker.getAccount(); // nothing new to play: nothing written
    expect(store.saves).toBe(saves);

    clock.advanceTo(at('2018-02-06T21:00:00.000Z'));
    expect(await broker.listPositions()).toEqual([{ symbol: 'BBB', qty: '10', avgEntryPrice: '50', currentPrice: '49', marketValue: '490' }]);
    expect(await broker.processedThrough()).toBe('2018-02-06');
    expect(store.saved!.state.lastPlayed).toEqual({ session: '2018-02-06', phase: 'close' });
  });

  it('fills an OTO entry submitted at 09:45 at its limit, never at the better open, and arms its stop for the rest of the bar', async () => {
    const { broker, clock } = setup({ start: nineFortyFive('2018-02-06').toISOString(), data: defaultData({ '2018-02-06': [98, 101, 94, 96] }) });
    const submitted = await broker.submitOrder(entry());
    expect(submitted).toMatchObject({ status: 'new', submittedAt: '2018-02-06T14:45:00.000Z' });
    clock.advanceTo(at('2018-02-06T20:59:59.999Z'));
    expect((await broker.getOrder(submitted.id)).status).toBe('new');
    clock.advanceTo(at('2018-02-06T21:00:00.000Z'));
    const order = await broker.getOrder(submitted.id);
    expect(order).toMatchObject({ status: 'filled', filledAvgPrice: '100', filledAt: '2018-02-06T21:00:00Z' });
    expect(order.legs[0]).toMatchObject({ status: 'filled', filledAvgPrice: '95', filledAt: '2018-02-06T21:00:00Z' }); // low 94 ≤ 95
    expect(await broker.getAccount()).toMatchObject({ cash: '99950', equity: '99950' });
  });

  it('fills a market sell submitted at 15:45 (a flatten) at the close, stamped at the close', async () => {
    const { broker, clock } = setup({
      start: '2018-02-05T14:00:00.000Z',
      data: defaultData({ '2018-02-05': [99, 101, 97, 100], '2018-02-06': [101, 104, 96, 97] }),
    });
    await broker.submitOrder(entry({ orderClass: 'simple', stopLoss: undefined }));
    clock.advanceTo(at('2018-02-06T20:45:00.000Z')); // Tuesday 15:45 New York
    expect(await broker.listPositions()).toMatchObject([{ symbol: 'AAA', qty: '10', currentPrice: '101' }]); // marked at Tuesday's open
    const flatten = await broker.submitOrder(
      entry({ clientOrderId: 'flatten', side: 'sell', type: 'market', limitPrice: undefined, timeInForce: 'day', orderClass: 'simple', stopLoss: undefined }),
    );
    expect(flatten.status).toBe('new');
    clock.advanceTo(at('2018-02-06T21:00:00.000Z'));
    expect(await broker.getOrder(flatten.id)).toMatchObject({ status: 'filled', filledAvgPrice: '97', filledAt: '2018-02-06T21:00:00Z' });
    expect(await broker.listPositions()).toEqual([]);
    expect((await broker.getAccount()).cash).toBe('99980'); // 100000 - 990 + 970
  });

  it('reserves an intraday market buy at the open of the session in progress, and keeps the refusals', async () => {
    const { broker, clock } = setup({ start: '2018-02-05T14:00:00.000Z', data: defaultData({ '2018-02-06': [110, 111, 100, 105] }) });
    const early = await broker.submitOrder(entry({ clientOrderId: 'early', symbol: 'BBB', limitPrice: '40', stopLoss: { stopPrice: '35' } }));
    clock.advanceTo(nineFortyFive('2018-02-06'));
    const market = { type: 'market', limitPrice: undefined, orderClass: 'simple', stopLoss: undefined } as const;
    await broker.submitOrder(entry({ ...market, clientOrderId: 'm1', qty: '880' }));
    // 100000 - 400 (the BBB limit) - 880 × 110 (Tuesday's open, not Monday's close 102)
    expect((await broker.getAccount()).buyingPower).toBe('2800');
    const noCash = await brokerError(broker.submitOrder(entry({ ...market, clientOrderId: 'm2', symbol: 'BBB', qty: '60' })));
    expect([noCash.status, noCash.message]).toEqual([403, 'insufficient buying power']);
    const duplicate = await brokerError(broker.submitOrder(entry({ clientOrderId: 'early', qty: '1' })));
    expect([duplicate.status, duplicate.code]).toEqual([422, 40010001]);
    const noShares = await brokerError(broker.submitOrder(entry({ ...market, clientOrderId: 's1', side: 'sell', qty: '1' })));
    expect(noShares.status).toBe(403);
    clock.advanceTo(at('2018-02-06T21:00:00.000Z'));
    expect(await broker.getOrderByClientOrderId('m1')).toMatchObject({ status: 'filled', filledAvgPrice: '105', filledAt: '2018-02-06T21:00:00Z' });
    expect((await broker.getOrder(early.id)).status).toBe('accepted');
  });

  it('ends a session submitted before the open in the same account whether or not it was read during the session', async () => {
    const data = () => defaultData({ '2018-02-05': [99, 101, 94, 96], '2018-02-06': [97, 98, 93, 94] }, { '2018-02-06': [44, 46, 43, 45] });
    const watched = setup({ start: '2018-02-05T14:00:00.000Z', data: data() });
    const unwatched = setup({ start: '2018-02-05T14:00:00.000Z', data: data() });
    for (const { broker } of [watched, unwatched]) {
      await broker.submitOrder(entry()); // AAA: at the open 99, its stop hit intrabar (low 94)
      await broker.submitOrder(entry({ clientOrderId: 'bbb', symbol: 'BBB', limitPrice: '49.5', stopLoss: { stopPrice: '45' } })); // intrabar
      await broker.submitOrder(entry({ clientOrderId: 'aaa2', limitPrice: '93.5', stopLoss: { stopPrice: '90' } })); // AAA on Tuesday, intrabar
    }
    for (const instant of ['2018-02-05T14:45:00.000Z', '2018-02-05T18:00:00.000Z', '2018-02-06T14:45:00.000Z']) {
      watched.clock.advanceTo(at(instant));
      await watched.broker.getAccount();
    }
    expect(watched.store.saved!.state.executions.map((e) => e.price)).toEqual(['99', '95', '49.5', '44']); // Tuesday 09:45: BBB's stop gapped
    for (const { broker, clock } of [watched, unwatched]) {
      clock.advanceTo(at('2018-02-06T21:15:00.000Z'));
      await broker.getAccount();
    }
    expect(watched.store.saved!.state).toEqual(unwatched.store.saved!.state);
    expect(unwatched.store.saved!.state.executions.map((e) => [e.price, e.at])).toEqual([
      ['99', '2018-02-05T14:30:00Z'],
      ['95', '2018-02-05T21:00:00Z'],
      ['49.5', '2018-02-05T21:00:00Z'],
      ['44', '2018-02-06T14:30:00Z'],
      ['93.5', '2018-02-06T21:00:00Z'],
    ]);
  });

  it('catches up an account file saved before sessions had two phases (no lastPlayed): closed through processedThrough', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paper-broker-old-'));
    const file = join(dir, 'paper-account.json');
    const old = newPaperState('paper', '100000', '2018-02-02T22:00:00.000Z', '2018-02-02');
    const { state: withOrder } = submitOrder(old, entry(), {
      now: '2018-02-03T15:00:00.000Z',
      eligibleFrom: '2018-02-05',
      marketOpen: false,
      knownSymbol: true,
      referencePrice: '102',
    });
    const { lastPlayed: _absent, ...saved } = withOrder;
    writeFileSync(file, JSON.stringify({ version: 7, state: saved }, null, 1));
    expect(readFileSync(file, 'utf8')).not.toContain('lastPlayed');
    expect(readFileSync(file, 'utf8')).not.toContain('eligibleAtOpen');

    const store = new FilePaperAccountStore(file);
    const clock = new SimClock(at('2018-02-05T14:45:00.000Z')); // Monday 09:45
    const marketData = new FakeMarketData(defaultData({ '2018-02-05': [99, 101, 94, 96] }));
    const broker = new PaperBroker({ store, marketData, calendar: new FakeCalendar(), clock });
    expect(await broker.getOrderByClientOrderId('entry-1')).toMatchObject({ status: 'filled', filledAvgPrice: '99', filledAt: '2018-02-05T14:30:00Z' });
    expect((await store.load())?.state).toMatchObject({ processedThrough: '2018-02-02', lastPlayed: { session: '2018-02-05', phase: 'open' } });

    clock.advanceTo(at('2018-02-05T21:00:00.000Z'));
    const later = new PaperBroker({ store, marketData, calendar: new FakeCalendar(), clock });
    expect((await later.getOrderByClientOrderId('entry-1'))?.legs[0]).toMatchObject({ status: 'filled', filledAvgPrice: '95', filledAt: '2018-02-05T21:00:00Z' });
    expect(await later.getAccount()).toMatchObject({ cash: '99960', equity: '99960' });
    expect((await store.load())?.state).toMatchObject({ processedThrough: '2018-02-05', lastPlayed: { session: '2018-02-05', phase: 'close' } });
    expect((await store.load())?.state.executions).toHaveLength(2);
  });
});
