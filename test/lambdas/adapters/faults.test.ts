import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createFaultInjectingBroker,
  hasLimitFillHook,
  type FaultInjectionOptions,
  type FaultRecord,
} from '../../../lambdas/adapters/broker/faults/fault-injecting-broker';
import { FAULT_KINDS, FAULT_PROFILES, FAULT_RATES, isFaultProfile, type FaultRates } from '../../../lambdas/adapters/broker/faults/profiles';
import { PaperBroker } from '../../../lambdas/adapters/broker/paper/paper-broker';
import { FilePaperAccountStore } from '../../../lambdas/adapters/broker/paper/stores';
import { CsvCalendar } from '../../../lambdas/adapters/calendar/csv-calendar';
import { SimClock } from '../../../lambdas/adapters/clock';
import { CsvMarketData } from '../../../lambdas/adapters/market-data/csv';
import { BrokerError, BrokerTransportError, type BrokerOrder, type BrokerPort, type SubmitOrderRequest } from '../../../lambdas/ports';
import { FakeBroker, MutableClock } from '../../support/fake-broker';

const CALENDAR_FILE = 'data/calendars/xnys-sessions-1990-2023.csv';
const DATA_DIR = 'data/daily';
/** Monday 2018-01-22, 09:00 New York (before the open). AAPL traded 176.60–177.78 that day, MSFT ~90. */
const MONDAY_PRE_OPEN = '2018-01-22T14:00:00.000Z';
const at = (iso: string) => new Date(iso);

/** A real PaperBroker on a fresh temp file store, the bundled CSV data and the NYSE calendar. */
function paper(start = MONDAY_PRE_OPEN) {
  const dir = mkdtempSync(join(tmpdir(), 'faults-'));
  const clock = new SimClock(at(start));
  const store = new FilePaperAccountStore(join(dir, 'paper-account.json'));
  const broker = new PaperBroker({
    store,
    marketData: new CsvMarketData({ dataDir: DATA_DIR }),
    calendar: new CsvCalendar({ file: CALENDAR_FILE }),
    clock,
  });
  return { broker, clock, store };
}

/** Options for a decorator that injects only what `rates` asks for (profile none + overrides). */
const only = (rates: Partial<FaultRates>, extra: Partial<FaultInjectionOptions> = {}): FaultInjectionOptions => ({
  profile: 'none',
  seed: 7,
  sleep: async () => {},
  rates,
  ...extra,
});

/** An OTO limit buy with its stop-loss. */
const oto = (clientOrderId: string, symbol: string, limitPrice: string, stopPrice: string, qty = '10'): SubmitOrderRequest => ({
  clientOrderId,
  symbol,
  side: 'buy',
  type: 'limit',
  timeInForce: 'gtc',
  orderClass: 'oto',
  qty,
  limitPrice,
  stopLoss: { stopPrice },
});

/** AAPL entries: one that fills on Monday's bar (limit above the market), one that never does. */
const FILLS = oto('aapl-fills', 'AAPL', '190', '150');
const WAITS = oto('aapl-waits', 'AAPL', '150', '140');

async function settle<T>(promise: Promise<T>): Promise<{ ok: T } | { error: unknown }> {
  return promise.then(
    (ok) => ({ ok }),
    (error: unknown) => ({ error }),
  );
}

/** The error `promise` rejects with, checked to be a `type`. Fails the test if it resolves. */
async function rejection<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const outcome = await settle(promise);
  expect(outcome).toHaveProperty('error');
  const error = (outcome as { error: unknown }).error;
  expect(error).toBeInstanceOf(type);
  return error as E;
}

function describeError(error: unknown): string {
  if (error instanceof BrokerError) return `BrokerError ${error.status} ${error.message}`;
  if (error instanceof BrokerTransportError) return `BrokerTransportError ${error.kind} ${error.message}`;
  return `${(error as Error).name}: ${(error as Error).message}`;
}

/**
 * A fixed call sequence over five sessions against any broker: pre-open entries (some fill, some
 * never do), reads after the close, cancels of the waiting entries. Every outcome is logged
 * (results and errors), so two runs can be compared exactly.
 */
async function scenario(broker: BrokerPort, clock: SimClock): Promise<unknown[]> {
  const log: unknown[] = [];
  const attempt = async <T>(label: string, fn: () => Promise<T>): Promise<T | undefined> => {
    const outcome = await settle(fn());
    if ('ok' in outcome) {
      log.push({ label, ok: outcome.ok ?? null });
      return outcome.ok;
    }
    log.push({ label, error: describeError(outcome.error) });
    return undefined;
  };
  const days = ['2018-01-22', '2018-01-23', '2018-01-24', '2018-01-25', '2018-01-26'];
  for (const [d, day] of days.entries()) {
    clock.advanceTo(at(`${day}T14:00:00.000Z`));
    await attempt('account', () => broker.getAccount());
    const requests = [
      oto(`d${d}-aapl-fill`, 'AAPL', '190', '150', '5'),
      oto(`d${d}-aapl-wait`, 'AAPL', '150', '140', '5'),
      oto(`d${d}-msft-fill`, 'MSFT', '110', '80', '5'),
      oto(`d${d}-msft-wait`, 'MSFT', '70', '60', '5'),
    ];
    for (const request of requests) await attempt(`submit ${request.clientOrderId}`, () => broker.submitOrder(request));
    clock.advanceTo(at(`${day}T21:15:00.000Z`));
    await attempt('open orders', () => broker.listOrders({ status: 'open' }));
    await attempt('all orders', () => broker.listOrders({ status: 'all' }));
    await attempt('executions', () => broker.listExecutions({ after: `${days[0]}T00:00:00.000Z` }));
    await attempt('positions', () => broker.listPositions());
    for (const request of requests) {
      const order = await attempt(`find ${request.clientOrderId}`, () => broker.getOrderByClientOrderId(request.clientOrderId));
      if (!order) continue;
      await attempt(`get ${order.id}`, () => broker.getOrder(order.id));
      if (request.clientOrderId.endsWith('-wait')) await attempt(`cancel ${order.id}`, () => broker.cancelOrder(order.id));
    }
    await attempt('executions again', () => broker.listExecutions({}));
  }
  return log;
}

async function runScenario(options: FaultInjectionOptions) {
  const { broker: inner, clock, store } = paper();
  const faults: FaultRecord[] = [];
  const broker = createFaultInjectingBroker(inner, { ...options, onFault: (f) => faults.push(f) });
  const log = await scenario(broker, clock);
  return { log, faults, recorded: broker.faults, state: (await store.load())?.state };
}

/** Every order in a listing, legs included. */
const flatten = (orders: BrokerOrder[]): BrokerOrder[] => orders.flatMap((o) => [o, ...flatten(o.legs)]);

describe('fault profiles', () => {
  it('lists none, flaky and hostile; none injects nothing; hostile can inject every kind and is harsher than flaky', () => {
    expect(FAULT_PROFILES).toEqual(['none', 'flaky', 'hostile']);
    expect(isFaultProfile('hostile')).toBe(true);
    expect(isFaultProfile('evil')).toBe(false);
    for (const value of Object.values(FAULT_RATES.none)) expect(value).toBe(0);
    const { hostile, flaky } = FAULT_RATES;
    for (const key of Object.keys(hostile) as (keyof FaultRates)[]) {
      expect(hostile[key]).toBeGreaterThan(0);
      expect(flaky[key]).toBeGreaterThan(0);
      expect(hostile[key]).toBeGreaterThanOrEqual(flaky[key]);
    }
  });

  it('refuses an unknown profile, a seed that is not a safe integer and a rate outside [0, 1]', () => {
    const inner = new FakeBroker(new MutableClock(at(MONDAY_PRE_OPEN)));
    expect(() => createFaultInjectingBroker(inner, { profile: 'evil' as never, seed: 1 })).toThrow(/unknown fault profile/);
    expect(() => createFaultInjectingBroker(inner, { profile: 'flaky', seed: 1.5 })).toThrow(/safe integer/);
    expect(() => createFaultInjectingBroker(inner, { profile: 'flaky', seed: 1, rates: { latency: 2 } })).toThrow(/latency/);
    expect(() => createFaultInjectingBroker(inner, { profile: 'flaky', seed: 1, rates: { rateLimitBurstMax: 1.5 } })).toThrow(/rateLimitBurstMax/);
  });
});

describe('FaultInjectingBroker: determinism', () => {
  it('profile none is a pure pass-through: same answers, same account, no faults, no delays', async () => {
    const bare = paper();
    const expected = await scenario(bare.broker, bare.clock);
    let sleeps = 0;
    const wrapped = await runScenario({ profile: 'none', seed: 42, sleep: async () => void (sleeps += 1) });
    expect(wrapped.log).toEqual(expected);
    expect(wrapped.state).toEqual((await bare.store.load())?.state);
    expect(wrapped.faults).toEqual([]);
    expect(wrapped.recorded).toEqual([]);
    expect(sleeps).toBe(0);
    // The scenario did trade: fills, cancels and open legs are all in it.
    expect(wrapped.state?.executions.length).toBeGreaterThan(5);
    expect(wrapped.state?.orders.some((o) => o.status === 'canceled')).toBe(true);
  });

  it('the same seed and the same calls give the same faults and the same answers; another seed gives others', async () => {
    const sleeps: number[][] = [[], [], []];
    const first = await runScenario({ profile: 'hostile', seed: 1234, sleep: async (ms) => void sleeps[0]!.push(ms) });
    const second = await runScenario({ profile: 'hostile', seed: 1234, sleep: async (ms) => void sleeps[1]!.push(ms) });
    const other = await runScenario({ profile: 'hostile', seed: 4321, sleep: async (ms) => void sleeps[2]!.push(ms) });
    expect(first.faults.length).toBeGreaterThan(10);
    expect(second.faults).toEqual(first.faults);
    expect(second.log).toEqual(first.log);
    expect(second.state).toEqual(first.state);
    expect(sleeps[1]).toEqual(sleeps[0]);
    expect(other.faults).not.toEqual(first.faults);
    // onFault saw exactly what the broker kept.
    expect(first.recorded).toEqual(first.faults);
  });

  it('hostile reaches every fault kind; flaky injects fewer faults than hostile', async () => {
    const kinds = new Set<string>();
    let hostileCount = 0;
    let flakyCount = 0;
    for (const seed of [1, 2, 3]) {
      const hostile = await runScenario({ profile: 'hostile', seed, sleep: async () => {} });
      hostile.faults.forEach((f) => kinds.add(f.kind));
      hostileCount += hostile.faults.length;
      flakyCount += (await runScenario({ profile: 'flaky', seed, sleep: async () => {} })).faults.length;
    }
    expect([...kinds].sort()).toEqual([...FAULT_KINDS].sort());
    expect(flakyCount).toBeLessThan(hostileCount);
  });
});

describe('FaultInjectingBroker: transport faults', () => {
  it('latency delays the call through the injected sleep, then answers normally', async () => {
    const { broker: inner } = paper();
    const delays: number[] = [];
    const broker = createFaultInjectingBroker(inner, only({ latency: 1, latencyMaxMs: 5 }, { sleep: async (ms) => void delays.push(ms) }));
    expect(await broker.getAccount()).toEqual(await inner.getAccount());
    expect(await broker.listPositions()).toEqual([]);
    expect(delays).toHaveLength(2);
    for (const ms of delays) expect(ms >= 1 && ms <= 5).toBe(true);
    expect(broker.faults.map((f) => [f.kind, f.method])).toEqual([
      ['latency', 'getAccount'],
      ['latency', 'listPositions'],
    ]);
  });

  it('timeout_after_accept: the order is created but the caller gets a timeout; resending is refused as a duplicate', async () => {
    const { broker: inner } = paper();
    const broker = createFaultInjectingBroker(inner, only({ timeoutAfterAccept: 1 }));
    expect((await rejection(broker.submitOrder(FILLS), BrokerTransportError)).kind).toBe('timeout');
    const created = await inner.getOrderByClientOrderId(FILLS.clientOrderId);
    expect(created).toMatchObject({ status: 'accepted', qty: '10', limitPrice: '190' });
    expect(broker.faults).toEqual([
      { call: 1, kind: 'timeout_after_accept', method: 'submitOrder', detail: expect.stringContaining(created!.id) },
    ]);
    expect((await rejection(inner.submitOrder(FILLS), BrokerError)).status).toBe(422);
  });

  it('dropped_response: the call takes effect at the broker but the response is lost', async () => {
    const { broker: inner } = paper();
    const broker = createFaultInjectingBroker(inner, only({ droppedResponse: 1 }));
    expect((await rejection(broker.submitOrder(WAITS), BrokerTransportError)).kind).toBe('network');
    const order = (await inner.getOrderByClientOrderId(WAITS.clientOrderId))!;
    expect(order.status).toBe('accepted');

    expect((await rejection(broker.cancelOrder(order.id), BrokerTransportError)).kind).toBe('network');
    expect((await inner.getOrder(order.id)).status).toBe('canceled');

    expect((await rejection(broker.getAccount(), BrokerTransportError)).kind).toBe('network');
    expect(broker.faults.map((f) => [f.kind, f.method])).toEqual([
      ['dropped_response', 'submitOrder'],
      ['dropped_response', 'cancelOrder'],
      ['dropped_response', 'getAccount'],
    ]);
  });

  it('rate_limited: 429 bursts never reach the inner broker', async () => {
    const inner = new FakeBroker(new MutableClock(at(MONDAY_PRE_OPEN)));
    const broker = createFaultInjectingBroker(inner, only({ rateLimited: 1, rateLimitBurstMax: 4 }));
    for (let i = 0; i < 12; i += 1) {
      const call: Promise<unknown> = i % 2 ? broker.getAccount() : broker.submitOrder(oto(`c${i}`, 'AAPL', '190', '150'));
      const error = await rejection(call, BrokerError);
      expect([error.status, error.message]).toEqual([429, 'too many requests']);
    }
    expect(inner.calls).toEqual([]);
    expect(inner.allOrders()).toEqual([]);
    // Bursts: "call 1 of K" … "call K of K", then a new burst.
    const positions = broker.faults.map((f) => /call (\d+) of (\d+)/.exec(f.detail)!.slice(1).map(Number));
    let expectedNext = 1;
    for (const [n, k] of positions) {
      expect(n).toBe(expectedNext);
      expect(k! >= 1 && k! <= 4).toBe(true);
      expectedNext = n === k ? 1 : n! + 1;
    }
    expect(positions.some(([, k]) => k! > 1)).toBe(true);
  });

  it('under hostile, every 429 and every 5xx before the broker is a call the inner broker never saw', async () => {
    const inner = new FakeBroker(new MutableClock(at(MONDAY_PRE_OPEN)));
    const broker = createFaultInjectingBroker(inner, { profile: 'hostile', seed: 99, sleep: async () => {} });
    const total = 300;
    let refusedBefore = 0;
    for (let i = 0; i < total; i += 1) {
      const outcome = await settle(broker.getAccount());
      if ('error' in outcome && outcome.error instanceof BrokerError) refusedBefore += 1;
    }
    const rateLimited = broker.faults.filter((f) => f.kind === 'rate_limited').length;
    const serverErrors = broker.faults.filter((f) => f.kind === 'server_error').length;
    expect(rateLimited).toBeGreaterThan(0);
    expect(serverErrors).toBeGreaterThan(0);
    expect(refusedBefore).toBe(rateLimited + serverErrors);
    expect(inner.callsTo('getAccount')).toHaveLength(total - refusedBefore);
  });

  it('server_error before the broker changes nothing; after it, on submit, the order exists', async () => {
    const inner = new FakeBroker(new MutableClock(at(MONDAY_PRE_OPEN)));
    const before = createFaultInjectingBroker(inner, only({ serverErrorBefore: 1 }));
    expect([500, 502, 503]).toContain((await rejection(before.submitOrder(oto('before', 'AAPL', '190', '150')), BrokerError)).status);
    expect(inner.calls).toEqual([]);

    const after = createFaultInjectingBroker(inner, only({ serverErrorAfterSubmit: 1 }));
    expect([500, 502, 503]).toContain((await rejection(after.submitOrder(oto('after', 'AAPL', '190', '150')), BrokerError)).status);
    expect(inner.peek('after')).toMatchObject({ clientOrderId: 'after', status: 'new' });
    expect(after.faults).toEqual([{ call: 1, kind: 'server_error', method: 'submitOrder', detail: expect.stringMatching(/after the broker acted/) }]);
    // A 5xx after the broker acted is only ever injected on submit.
    await expect(after.getAccount()).resolves.toMatchObject({ cash: '100000' });
  });
});

describe('FaultInjectingBroker: replayed fills', () => {
  it('delivers earlier executions again with the same ids and fields, oldest first', async () => {
    const { broker: inner, clock } = paper();
    await inner.submitOrder(FILLS);
    await inner.submitOrder(oto('msft-fills', 'MSFT', '110', '80'));
    clock.advanceTo(at('2018-01-22T21:15:00.000Z'));
    const truth = await inner.listExecutions({});
    expect(truth).toHaveLength(2);

    const broker = createFaultInjectingBroker(inner, only({ replayedFill: 1 }));
    const reported = await broker.listExecutions({});
    expect(reported.length).toBeGreaterThan(truth.length);
    const ids = reported.map((e) => e.id);
    expect(new Set(ids)).toEqual(new Set(truth.map((e) => e.id)));
    for (const e of reported) expect(e).toEqual(truth.find((t) => t.id === e.id));
    const times = reported.map((e) => Date.parse(e.transactionTime));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(broker.faults).toEqual([{ call: 1, kind: 'replayed_fill', method: 'listExecutions', detail: expect.stringMatching(/^executions exe-\d{8} \(order ord-\d{8}\)/) }]);

    // A later call may replay executions delivered before, even from before `after`.
    const later = await broker.listExecutions({ after: '2030-01-01T00:00:00.000Z' });
    expect(later.length).toBeGreaterThan(0);
    for (const e of later) expect(truth.map((t) => t.id)).toContain(e.id);
    expect(await inner.listExecutions({})).toEqual(truth); // the inner broker is untouched
  });

  it('replays nothing before anything was delivered', async () => {
    const { broker: inner } = paper();
    const broker = createFaultInjectingBroker(inner, only({ replayedFill: 1 }));
    expect(await broker.listExecutions({})).toEqual([]);
    expect(broker.faults).toEqual([]);
  });
});

describe('FaultInjectingBroker: fill during cancel', () => {
  it('fills the open entry at its limit before the cancel lands; the cancel gets 422 and the position is real', async () => {
    const { broker: inner, clock } = paper();
    const waiting = await inner.submitOrder(WAITS);
    clock.advanceTo(at('2018-01-22T18:00:00.000Z')); // during the session
    const broker = createFaultInjectingBroker(inner, only({ fillDuringCancel: 1 }));
    expect(broker.canFillDuringCancel).toBe(true);

    const refused = await rejection(broker.cancelOrder(waiting.id), BrokerError);
    expect([refused.status, refused.message]).toEqual([422, 'order is not cancelable']);
    expect(broker.faults).toEqual([{ call: 1, kind: 'fill_during_cancel', method: 'cancelOrder', detail: expect.stringContaining(waiting.id) }]);

    const order = await inner.getOrder(waiting.id);
    expect(order).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '150', filledAt: '2018-01-22T18:00:00.000Z' });
    expect(order.legs[0]).toMatchObject({ type: 'stop', stopPrice: '140', status: 'new' });
    expect(await inner.listPositions()).toEqual([{ symbol: 'AAPL', qty: '10', avgEntryPrice: '150', currentPrice: '150', marketValue: '1500' }]);
    expect((await inner.getAccount()).cash).toBe('98500');
    expect(await inner.listExecutions({})).toMatchObject([{ orderId: waiting.id, qty: '10', price: '150', cumQty: '10', transactionTime: '2018-01-22T18:00:00.000Z' }]);

    // The close marks the position; the stop (140) stays working: AAPL's low that day was 176.60.
    clock.advanceTo(at('2018-01-22T21:15:00.000Z'));
    expect(await inner.listPositions()).toMatchObject([{ symbol: 'AAPL', qty: '10', currentPrice: '177' }]);
    expect((await inner.getOrder(waiting.id)).legs[0]?.status).toBe('new');
  });

  it('leaves orders that cannot fill that way alone (already filled, unknown): the cancel answers as the broker does', async () => {
    const { broker: inner, clock } = paper();
    const filled = await inner.submitOrder(FILLS);
    clock.advanceTo(at('2018-01-22T21:15:00.000Z'));
    const broker = createFaultInjectingBroker(inner, only({ fillDuringCancel: 1 }));
    expect((await rejection(broker.cancelOrder(filled.id), BrokerError)).status).toBe(422);
    expect((await rejection(broker.cancelOrder('ord-99999999'), BrokerError)).status).toBe(404);
    expect(broker.faults).toEqual([]);
    expect(await inner.listExecutions({})).toHaveLength(1);
  });

  it('is never injected when the inner broker has no fill hook', async () => {
    const inner = new FakeBroker(new MutableClock(at(MONDAY_PRE_OPEN)));
    expect(hasLimitFillHook(inner)).toBe(false);
    const broker = createFaultInjectingBroker(inner, only({ fillDuringCancel: 1 }));
    expect(broker.canFillDuringCancel).toBe(false);
    const order = await broker.submitOrder(oto('x', 'AAPL', '150', '140'));
    await broker.cancelOrder(order.id);
    expect(inner.peek('x')?.status).toBe('canceled');
    expect(broker.faults).toEqual([]);
  });
});

describe('FaultInjectingBroker: held legs', () => {
  it('reports the working stop leg of a filled parent as held, nested or on its own, and nothing else', async () => {
    const { broker: inner, clock } = paper();
    const filled = await inner.submitOrder(FILLS);
    const waiting = await inner.submitOrder(WAITS);
    clock.advanceTo(at('2018-01-22T21:15:00.000Z'));
    // A simple working stop (not a leg) on the position.
    const simpleStop = await inner.submitOrder({ clientOrderId: 'simple-stop', symbol: 'AAPL', side: 'sell', type: 'stop', timeInForce: 'gtc', orderClass: 'simple', qty: '5', stopPrice: '100' });
    const liveLeg = (await inner.getOrder(filled.id)).legs[0]!;
    expect(liveLeg.status).toBe('new');

    const broker = createFaultInjectingBroker(inner, only({ heldLeg: 1 }));
    const open = await broker.listOrders({ status: 'open' });
    const byId = new Map(flatten(open).map((o) => [o.id, o]));
    expect(byId.get(liveLeg.id)?.status).toBe('held');
    expect(byId.get(simpleStop.id)?.status).toBe('accepted');
    expect(byId.get(waiting.id)?.status).toBe('accepted');
    expect(byId.get(waiting.legs[0]!.id)?.status).toBe('held'); // truly held: its parent has not filled

    const all = await broker.listOrders({ status: 'all' });
    const parent = all.find((o) => o.id === filled.id)!;
    expect(parent).toMatchObject({ status: 'filled', filledQty: '10' });
    expect(parent.legs[0]).toMatchObject({ id: liveLeg.id, status: 'held', stopPrice: '150' });
    expect((await broker.getOrder(liveLeg.id)).status).toBe('held');
    expect((await broker.getOrder(filled.id)).legs[0]?.status).toBe('held');

    expect(broker.faults.map((f) => f.kind)).toEqual(['held_leg', 'held_leg', 'held_leg', 'held_leg']);
    for (const f of broker.faults) expect(f.detail).toContain(liveLeg.id);
    expect((await inner.getOrder(liveLeg.id)).status).toBe('new'); // the inner broker is untouched
  });
});

describe('FaultInjectingBroker: phantom cancels', () => {
  it('reports a filled order as canceled with its fills, on every read', async () => {
    const { broker: inner, clock } = paper();
    const filled = await inner.submitOrder(FILLS);
    const waiting = await inner.submitOrder(WAITS);
    clock.advanceTo(at('2018-01-22T21:15:00.000Z'));
    const truth = await inner.getOrder(filled.id);
    expect(truth).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '177.3' });

    const broker = createFaultInjectingBroker(inner, only({ phantomCancel: 1 }));
    const views = [
      await broker.getOrder(filled.id),
      await broker.getOrderByClientOrderId(FILLS.clientOrderId),
      (await broker.listOrders({ status: 'all' })).find((o) => o.id === filled.id),
      (await broker.listOrders({ status: 'closed' })).find((o) => o.id === filled.id),
    ];
    for (const view of views) {
      expect(view).toMatchObject({ status: 'canceled', filledQty: '10', filledAvgPrice: '177.3', canceledAt: truth.filledAt, filledAt: truth.filledAt });
    }
    // Open orders are never phantom-canceled; the inner broker still says filled.
    expect((await broker.getOrder(waiting.id)).status).toBe('accepted');
    expect((await inner.getOrder(filled.id)).status).toBe('filled');
    expect(broker.faults.filter((f) => f.kind === 'phantom_cancel')).toHaveLength(4);
  });

  it('picks orders from the seed and the order id, consistently across reads and call sequences', async () => {
    const { broker: inner, clock } = paper();
    for (let i = 0; i < 12; i += 1) await inner.submitOrder(oto(`e${i}`, 'MSFT', '110', '80', '1'));
    clock.advanceTo(at('2018-01-22T21:15:00.000Z'));
    const canceledIds = async (seed: number) => {
      const broker = createFaultInjectingBroker(inner, only({ phantomCancel: 0.5 }, { seed }));
      const reads: string[][] = [];
      for (let r = 0; r < 4; r += 1) {
        const orders = r % 2 ? await broker.listOrders({ status: 'closed' }) : await broker.listOrders({ status: 'all' });
        for (const o of orders) expect(o.filledQty).toBe('1');
        reads.push(orders.filter((o) => o.status === 'canceled').map((o) => o.id).sort());
        await broker.getAccount(); // other calls in between change nothing
      }
      for (const read of reads) expect(read).toEqual(reads[0]);
      return reads[0]!;
    };
    const picked = await canceledIds(5);
    expect(picked.length).toBeGreaterThan(0);
    expect(picked.length).toBeLessThan(12);
    expect(await canceledIds(5)).toEqual(picked);
    expect(await canceledIds(6)).not.toEqual(picked);
  });

  it('never phantom-cancels a partially filled order (it could still fill)', async () => {
    const inner = new FakeBroker(new MutableClock(at(MONDAY_PRE_OPEN)));
    const broker = createFaultInjectingBroker(inner, only({ phantomCancel: 1 }));
    await broker.submitOrder(oto('p', 'AAPL', '190', '150'));
    inner.fill('p', '180', '4');
    expect(await broker.getOrderByClientOrderId('p')).toMatchObject({ status: 'partially_filled', filledQty: '4' });
    inner.fill('p', '180');
    expect(await broker.getOrderByClientOrderId('p')).toMatchObject({ status: 'canceled', filledQty: '10', filledAvgPrice: '180' });
  });
});
