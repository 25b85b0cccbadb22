import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accountOf,
  cancelOrder,
  DUPLICATE_CLIENT_ORDER_ID_CODE,
  fillAtLimitNow,
  lastPlayedPhase,
  newPaperState,
  NO_COSTS,
  slippedPrice,
  positionsOf,
  processSession,
  processSessionOpen,
  sessionInProgress,
  submitOrder,
  toBrokerOrder,
  type PaperOrder,
  type PaperState,
  type SubmitContext,
} from '../../../lambdas/adapters/broker/paper/engine';
import type { Bar } from '../../../lambdas/core/bars';
import type { Session } from '../../../lambdas/core/calendar';
import { Dec } from '../../../lambdas/core/money';
import { isOpenStatus } from '../../../lambdas/core/order-status';
import { BrokerError, type SubmitOrderRequest } from '../../../lambdas/ports';

// Mon 2018-02-05 … Fri 2018-02-09, NYSE hours in EST (09:30–16:00 = 14:30Z–21:00Z).
const DATES = ['2018-02-05', '2018-02-06', '2018-02-07', '2018-02-08', '2018-02-09'] as const;
const session = (date: string): Session => ({ date, openUtc: `${date}T14:30:00Z`, closeUtc: `${date}T21:00:00Z` });
const [MON, TUE, WED] = DATES.map(session) as [Session, Session, Session];

const bar = (date: string, open: number, high: number, low: number, close: number): Bar => ({ date, open, high, low, close, volume: 1_000_000 });

/** A fresh account with 10,000 USD that has processed the Friday before MON. */
const fresh = (cash = '10000'): PaperState => newPaperState('paper', cash, '2018-02-02T22:00:00.000Z', '2018-02-02');

const request = (overrides: Partial<SubmitOrderRequest> = {}): SubmitOrderRequest => ({
  clientOrderId: 'c1',
  symbol: 'AAA',
  side: 'buy',
  type: 'limit',
  timeInForce: 'gtc',
  orderClass: 'simple',
  qty: '10',
  limitPrice: '100',
  ...overrides,
});

/** Submitted before MON's open, so eligible from MON. */
const context = (overrides: Partial<SubmitContext> = {}): SubmitContext => ({
  now: '2018-02-05T14:00:00.000Z',
  eligibleFrom: MON.date,
  marketOpen: false,
  knownSymbol: true,
  referencePrice: '100',
  ...overrides,
});

function submit(state: PaperState, overrides: Partial<SubmitOrderRequest> = {}, ctx: Partial<SubmitContext> = {}) {
  return submitOrder(state, request(overrides), context(ctx));
}

const oto = (overrides: Partial<SubmitOrderRequest> = {}): Partial<SubmitOrderRequest> => ({
  orderClass: 'oto',
  stopLoss: { stopPrice: '95' },
  ...overrides,
});

/** Plays `session` with one bar per symbol (symbols without a bar get none). */
function play(state: PaperState, s: Session, bars: Record<string, Bar>): PaperState {
  return processSession(state, s, (symbol) => bars[symbol]);
}

function order(state: PaperState, id: string): PaperOrder {
  const found = state.orders.find((o) => o.id === id);
  if (!found) throw new Error(`no order ${id}`);
  return found;
}

function legOf(state: PaperState, parent: PaperOrder): PaperOrder {
  expect(parent.legIds).toHaveLength(1);
  return order(state, parent.legIds[0]!);
}

/** Runs `fn`, expecting a BrokerError; returns it. */
function brokerError(fn: () => unknown): BrokerError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(BrokerError);
  return caught as BrokerError;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** An account holding `qty` AAA bought at the open of MON for `price`. */
function holding(qty: string, price: number, cash = '10000'): PaperState {
  const { state } = submit(fresh(cash), { clientOrderId: 'seed', type: 'market', limitPrice: undefined, qty });
  return play(state, MON, { AAA: bar(MON.date, price, price, price, price) });
}

describe('paper engine: refusals (as Alpaca)', () => {
  it('refuses a reused client_order_id with 422 and code 40010001 while the first order is open', () => {
    const { state } = submit(fresh());
    const error = brokerError(() => submit(state, { qty: '1' }));
    expect(error.status).toBe(422);
    expect(error.message).toBe('client_order_id must be unique');
    expect(error.code).toBe(DUPLICATE_CLIENT_ORDER_ID_CODE);
    expect(DUPLICATE_CLIENT_ORDER_ID_CODE).toBe(40010001);
  });

  it('refuses a reused client_order_id after the first order was canceled', () => {
    const { state, order: first } = submit(fresh());
    const canceled = cancelOrder(state, first.id, '2018-02-05T14:10:00.000Z');
    expect(order(canceled, first.id).status).toBe('canceled');
    const error = brokerError(() => submit(canceled, { qty: '1' }));
    expect([error.status, error.message, error.code]).toEqual([422, 'client_order_id must be unique', 40010001]);
  });

  it('refuses a reused client_order_id after the first order filled', () => {
    const { state, order: first } = submit(fresh());
    const filled = play(state, MON, { AAA: bar(MON.date, 99, 101, 98, 100) });
    expect(order(filled, first.id).status).toBe('filled');
    const error = brokerError(() => submit(filled, { qty: '1' }, { eligibleFrom: TUE.date }));
    expect([error.status, error.message, error.code]).toEqual([422, 'client_order_id must be unique', 40010001]);
  });

  it("refuses a client_order_id equal to a stop-loss leg's client_order_id", () => {
    const { state, order: parent } = submit(fresh(), oto());
    const leg = legOf(state, parent);
    const error = brokerError(() => submit(state, { clientOrderId: leg.clientOrderId, qty: '1' }));
    expect([error.status, error.message, error.code]).toEqual([422, 'client_order_id must be unique', 40010001]);
  });

  it('never gives a generated leg a client_order_id that an earlier order already uses', () => {
    // The first order takes the client id the engine would generate for the third order id.
    let { state } = submit(fresh(), { clientOrderId: 'ord-00000003-leg', qty: '1' });
    ({ state } = submit(state, oto({ clientOrderId: 'entry', qty: '1' })));
    const ids = state.orders.map((o) => o.clientOrderId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('refuses a buy beyond buying power with 403, counting cash reserved by open buy orders', () => {
    // Exactly the cash is fine.
    expect(submit(fresh(), { qty: '100' }).order.status).toBe('accepted');
    const over = brokerError(() => submit(fresh(), { qty: '101' }));
    expect([over.status, over.message]).toEqual([403, 'insufficient buying power']);

    const { state, order: first } = submit(fresh(), { qty: '60' }); // reserves 6,000
    expect(accountOf(state).buyingPower).toBe('4000');
    const reserved = brokerError(() => submit(state, { clientOrderId: 'c2', qty: '41' }));
    expect([reserved.status, reserved.message]).toEqual([403, 'insufficient buying power']);
    expect(submit(state, { clientOrderId: 'c2', qty: '40' }).order.qty).toBe('40');
    // Canceling the first order frees its reservation.
    const freed = cancelOrder(state, first.id, '2018-02-05T14:10:00.000Z');
    expect(accountOf(freed).buyingPower).toBe('10000');
    expect(submit(freed, { clientOrderId: 'c2', qty: '100' }).order.qty).toBe('100');
  });

  it('reserves buying power for open market buys too (at the reference price)', () => {
    const { state } = submit(fresh(), { type: 'market', limitPrice: undefined, qty: '60' }, { referencePrice: '100' });
    expect(accountOf(state).buyingPower).toBe('4000');
    const error = brokerError(() =>
      submit(state, { clientOrderId: 'c2', symbol: 'BBB', type: 'market', limitPrice: undefined, qty: '50' }, { referencePrice: '100' }),
    );
    expect([error.status, error.message]).toEqual([403, 'insufficient buying power']);
  });

  it('refuses a market buy with 403 when no price is known to reserve against', () => {
    const error = brokerError(() => submit(fresh(), { type: 'market', limitPrice: undefined }, { referencePrice: undefined }));
    expect(error.status).toBe(403);
    expect(error.message).toContain('insufficient buying power');
  });

  it('refuses a sell beyond the position with 403, counting shares already committed to open sells', () => {
    const noPosition = brokerError(() => submit(fresh(), { side: 'sell', qty: '1' }));
    expect([noPosition.status, noPosition.message]).toEqual([403, 'insufficient qty available for order (requested: 1, available: 0)']);

    const held = holding('10', 50);
    const over = brokerError(() => submit(held, { clientOrderId: 's1', side: 'sell', qty: '11' }, { eligibleFrom: TUE.date }));
    expect([over.status, over.message]).toEqual([403, 'insufficient qty available for order (requested: 11, available: 10)']);

    const { state } = submit(held, { clientOrderId: 's1', side: 'sell', qty: '7' }, { eligibleFrom: TUE.date });
    const committed = brokerError(() => submit(state, { clientOrderId: 's2', side: 'sell', qty: '4' }, { eligibleFrom: TUE.date }));
    expect([committed.status, committed.message]).toEqual([403, 'insufficient qty available for order (requested: 4, available: 3)']);
    expect(submit(state, { clientOrderId: 's2', side: 'sell', qty: '3' }, { eligibleFrom: TUE.date }).order.side).toBe('sell');
  });

  const invalid: Array<[string, Partial<SubmitOrderRequest>, Partial<SubmitContext>, string]> = [
    ['time_in_force ioc', { timeInForce: 'ioc' }, {}, 'time_in_force ioc is not supported'],
    ['time_in_force fok', { timeInForce: 'fok' }, {}, 'time_in_force fok is not supported'],
    ['time_in_force opg', { timeInForce: 'opg' }, {}, 'time_in_force opg is not supported'],
    ['time_in_force cls', { timeInForce: 'cls' }, {}, 'time_in_force cls is not supported'],
    ['type stop_limit', { type: 'stop_limit', stopPrice: '99' }, {}, 'order type stop_limit is not supported'],
    ['order_class bracket', { orderClass: 'bracket', stopLoss: { stopPrice: '95' } }, {}, 'order_class bracket is not supported'],
    ['order_class oco', { orderClass: 'oco', stopLoss: { stopPrice: '95' } }, {}, 'order_class oco is not supported'],
    ['a limit order without limit_price', { limitPrice: undefined }, {}, 'limit_price is required for limit orders'],
    ['a stop order without stop_price', { type: 'stop', side: 'sell', limitPrice: undefined }, {}, 'stop_price is required for stop orders'],
    ['stop_loss above limit - 0.01 on an oto buy', oto({ stopLoss: { stopPrice: '99.995' } }), {}, 'stop_loss.stop_price must be <= base_price - 0.01'],
    ['stop_loss equal to the limit', oto({ stopLoss: { stopPrice: '100' } }), {}, 'stop_loss.stop_price must be <= base_price - 0.01'],
    ['stop_loss above the reference price - 0.01 on an oto market buy', oto({ type: 'market', limitPrice: undefined, stopLoss: { stopPrice: '99.995' } }), {}, 'stop_loss.stop_price must be <= base_price - 0.01'],
    ['an oto without stop_loss', { orderClass: 'oto' }, {}, 'oto orders require stop_loss'],
    ['an oto sell', oto({ side: 'sell' }), {}, 'the paper broker supports oto only for buy entries'],
    // A stop entry would leave its stop-loss leg held forever once filled.
    ['an oto with a stop entry', oto({ type: 'stop', stopPrice: '105', limitPrice: undefined }), {}, 'oto only for market or limit entries'],
    ['stop_loss on a simple order', { stopLoss: { stopPrice: '95' } }, {}, 'stop_loss is only allowed with order_class oto or bracket'],
    ['an unknown symbol', { symbol: 'NOPE' }, { knownSymbol: false }, 'asset not found: NOPE'],
    ['no future session', {}, { eligibleFrom: undefined }, 'market is closed and no future session is known'],
    ['a fractional qty', { qty: '1.5' }, {}, 'qty must be a whole number of shares > 0, got 1.5'],
    ['a zero qty', { qty: '0' }, {}, 'qty must be a whole number of shares > 0, got 0'],
    ['a negative limit price', { limitPrice: '-1' }, {}, 'limit_price must be > 0, got -1'],
    ['a non-numeric limit price', { limitPrice: 'abc' }, {}, 'limit_price must be a decimal number, got "abc"'],
    ['a non-numeric stop_loss price', oto({ stopLoss: { stopPrice: 'x' } }), {}, 'stop_loss.stop_price must be a decimal number, got "x"'],
    ['an empty client_order_id', { clientOrderId: '' }, {}, 'client_order_id must be 1-48 characters'],
    ['a 49-character client_order_id', { clientOrderId: 'x'.repeat(49) }, {}, 'client_order_id must be 1-48 characters'],
  ];
  it.each(invalid)('refuses %s with 422', (_name, overrides, ctx, message) => {
    const error = brokerError(() => submit(fresh(), overrides, ctx));
    expect(error.status).toBe(422);
    expect(error.message).toContain(message);
  });

  it('accepts a stop_loss exactly at limit - 0.01', () => {
    const { state, order: parent } = submit(fresh(), oto({ stopLoss: { stopPrice: '99.99' } }));
    expect(legOf(state, parent).stopPrice).toBe('99.99');
  });

  it('never changes the state it is given, even when refusing', () => {
    const state = deepFreeze(holding('10', 50));
    expect(() => submit(state, { clientOrderId: 'ok', qty: '1' }, { eligibleFrom: TUE.date })).not.toThrow();
    expect(() => submit(state, { clientOrderId: 'seed' })).toThrow(BrokerError);
    const { state: withOrder, order: o } = submit(state, oto({ clientOrderId: 'x', qty: '1' }), { eligibleFrom: TUE.date });
    deepFreeze(withOrder);
    expect(() => cancelOrder(withOrder, o.id, TUE.openUtc)).not.toThrow();
    expect(() => play(withOrder, TUE, { AAA: bar(TUE.date, 50, 60, 40, 55) })).not.toThrow();
  });
});

describe('paper engine: acceptance and eligibility', () => {
  it('reports accepted outside market hours and new during them; stop legs are held', () => {
    const closed = submit(fresh(), oto());
    expect(closed.order.status).toBe('accepted');
    expect(legOf(closed.state, closed.order).status).toBe('held');
    const open = submit(fresh(), oto(), { marketOpen: true, now: '2018-02-05T15:00:00.000Z', eligibleFrom: TUE.date });
    expect(open.order.status).toBe('new');
    const leg = legOf(open.state, open.order);
    expect(leg).toMatchObject({ status: 'held', side: 'sell', type: 'stop', stopPrice: '95', parentId: open.order.id, qty: '10' });
    expect(open.order).toMatchObject({ submittedAt: '2018-02-05T15:00:00.000Z', eligibleFrom: TUE.date, filledQty: '0', filledAvgPrice: null });
  });

  it('does not fill an order on a session before the one it is eligible from (no look-ahead)', () => {
    // Submitted during MON: MON's bar (which would fill) must not be used.
    const { state, order: o } = submit(fresh(), {}, { marketOpen: true, now: '2018-02-05T15:00:00.000Z', eligibleFrom: TUE.date });
    const afterMon = play(state, MON, { AAA: bar(MON.date, 90, 95, 85, 92) });
    expect(order(afterMon, o.id).status).toBe('new');
    expect(afterMon.cash).toBe('10000');
    const afterTue = play(afterMon, TUE, { AAA: bar(TUE.date, 99, 101, 98, 100) });
    expect(order(afterTue, o.id)).toMatchObject({ status: 'filled', filledAvgPrice: '99', filledAt: TUE.openUtc });
  });
});

describe('paper engine: fills', () => {
  it('fills a buy limit at the open when the open is at or below the limit', () => {
    const { state, order: o } = submit(fresh());
    const next = play(state, MON, { AAA: bar(MON.date, 99.5, 101, 97, 100.25) });
    expect(order(next, o.id)).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '99.5', filledAt: MON.openUtc });
    expect(next.cash).toBe('9005');
    expect(next.positions.AAA).toEqual({ qty: '10', avgEntryPrice: '99.5', lastPrice: '100.25' });
    expect(next.executions).toEqual([
      { id: expect.any(String), orderId: o.id, symbol: 'AAA', side: 'buy', qty: '10', price: '99.5', at: MON.openUtc, session: MON.date, cumQty: '10' },
    ]);
    // An open exactly at the limit fills at the open too.
    const atLimit = play(submit(fresh()).state, MON, { AAA: bar(MON.date, 100, 101, 97, 100) });
    expect(atLimit.executions[0]).toMatchObject({ price: '100', at: MON.openUtc });
  });

  it('fills a buy limit at the limit, stamped at the close, when only the low reaches it', () => {
    const { state, order: o } = submit(fresh());
    const next = play(state, MON, { AAA: bar(MON.date, 102, 103, 100, 101) });
    expect(order(next, o.id)).toMatchObject({ status: 'filled', filledAvgPrice: '100', filledAt: MON.closeUtc });
    expect(next.cash).toBe('9000');
  });

  it('does not fill a buy limit when the low stays above it; a gtc order stays open', () => {
    const { state, order: o } = submit(fresh());
    const next = play(state, MON, { AAA: bar(MON.date, 102, 103, 100.01, 101) });
    expect(order(next, o.id)).toMatchObject({ status: 'accepted', filledQty: '0', filledAt: null });
    expect(next.cash).toBe('10000');
    expect(next.positions).toEqual({});
    expect(next.executions).toEqual([]);
    expect(next.processedThrough).toBe(MON.date);
  });

  it('fills a market order at the open', () => {
    const { state, order: o } = submit(fresh(), { type: 'market', limitPrice: undefined });
    const next = play(state, MON, { AAA: bar(MON.date, 104, 110, 90, 95) });
    expect(order(next, o.id)).toMatchObject({ status: 'filled', filledAvgPrice: '104', filledAt: MON.openUtc });
    expect(next.cash).toBe('8960');
  });

  it('fills a sell limit at the open when the open is at or above it, else at the limit when the high reaches it', () => {
    const held = holding('10', 50);
    const atOpen = submit(held, { clientOrderId: 's', side: 'sell', limitPrice: '60', qty: '4' }, { eligibleFrom: TUE.date });
    const gapUp = play(atOpen.state, TUE, { AAA: bar(TUE.date, 61, 62, 58, 59) });
    expect(order(gapUp, atOpen.order.id)).toMatchObject({ status: 'filled', filledAvgPrice: '61', filledAt: TUE.openUtc });
    expect(gapUp.cash).toBe(new Dec(10000).minus(500).plus(244).toString());
    expect(gapUp.positions.AAA).toMatchObject({ qty: '6', avgEntryPrice: '50', lastPrice: '59' });

    const touched = play(atOpen.state, TUE, { AAA: bar(TUE.date, 55, 60, 54, 58) });
    expect(order(touched, atOpen.order.id)).toMatchObject({ status: 'filled', filledAvgPrice: '60', filledAt: TUE.closeUtc });

    const missed = play(atOpen.state, TUE, { AAA: bar(TUE.date, 55, 59.99, 54, 58) });
    expect(order(missed, atOpen.order.id).status).toBe('accepted');
  });

  it('sums cash and averages positions in decimals (no float drift)', () => {
    let state = fresh('1');
    const prices = [0.1, 0.2, 0.3];
    DATES.slice(0, 3).forEach((date, i) => {
      const s = session(date);
      state = submitOrder(state, request({ clientOrderId: `b${i}`, type: 'market', limitPrice: undefined, qty: '1' }), context({ eligibleFrom: date, referencePrice: String(prices[i]) })).state;
      state = play(state, s, { AAA: bar(date, prices[i]!, prices[i]!, prices[i]!, prices[i]!) });
    });
    expect(state.cash).toBe('0.4');
    expect(state.positions.AAA).toEqual({ qty: '3', avgEntryPrice: '0.2', lastPrice: '0.3' });
    expect(accountOf(state)).toMatchObject({ cash: '0.4', equity: '1.3' });
    // 0.1 + 0.2 in floats is 0.30000000000000004; the account must not show that.
    expect(state.executions.map((e) => e.price)).toEqual(['0.1', '0.2', '0.3']);
  });

  it('keeps cash and positions consistent with the executions over random sessions (property)', () => {
    const dayArb = fc.record({
      open: fc.integer({ min: 1, max: 2000 }),
      up: fc.integer({ min: 0, max: 300 }),
      down: fc.integer({ min: 0, max: 300 }),
      closeAt: fc.double({ min: 0, max: 1, noNaN: true }),
      action: fc.constantFrom('buy-limit', 'buy-market', 'sell-limit', 'sell-market', 'oto', 'none'),
      qty: fc.integer({ min: 1, max: 30 }),
      offset: fc.integer({ min: -200, max: 200 }),
    });
    fc.assert(
      fc.property(fc.array(dayArb, { minLength: 1, maxLength: 5 }), (days) => {
        let state = fresh('5000');
        days.forEach((day, i) => {
          const s = session(DATES[i]!);
          // Prices in cents, so every price has two decimals (e.g. 12.34).
          const cents = (n: number) => new Dec(n).div(100);
          const open = cents(day.open + 200);
          const high = open.plus(cents(day.up));
          const low = Dec.max(cents(1), open.minus(cents(day.down)));
          const close = low.plus(high.minus(low).times(day.closeAt).toDecimalPlaces(2, Dec.ROUND_DOWN));
          const limit = Dec.max(cents(1), open.plus(cents(day.offset)));
          const held = state.positions.AAA?.qty ?? '0';
          const base = { clientOrderId: `o${i}`, qty: String(day.qty) };
          let req: SubmitOrderRequest | undefined;
          if (day.action === 'buy-limit') req = request({ ...base, limitPrice: limit.toString() });
          if (day.action === 'buy-market') req = request({ ...base, type: 'market', limitPrice: undefined });
          if (day.action === 'oto' && limit.gt('0.02'))
            req = request({ ...base, orderClass: 'oto', limitPrice: limit.toString(), stopLoss: { stopPrice: limit.minus(limit.div(10)).toDecimalPlaces(2, Dec.ROUND_DOWN).toString() } });
          if (day.action === 'sell-limit' && held !== '0') req = request({ ...base, side: 'sell', qty: held, limitPrice: limit.toString() });
          if (day.action === 'sell-market' && held !== '0') req = request({ ...base, side: 'sell', qty: held, type: 'market', limitPrice: undefined });
          if (req) {
            try {
              state = submitOrder(state, req, context({ eligibleFrom: s.date, referencePrice: state.positions.AAA?.lastPrice ?? '10' })).state;
            } catch (error) {
              if (!(error instanceof BrokerError)) throw error;
            }
          }
          state = play(state, s, { AAA: { date: s.date, open: open.toNumber(), high: high.toNumber(), low: low.toNumber(), close: close.toNumber(), volume: 1 } });

          let cash = new Dec(5000);
          let qty = new Dec(0);
          for (const e of state.executions) {
            const amount = new Dec(e.qty).times(e.price);
            cash = e.side === 'buy' ? cash.minus(amount) : cash.plus(amount);
            qty = e.side === 'buy' ? qty.plus(e.qty) : qty.minus(e.qty);
          }
          expect(state.cash).toBe(cash.toString());
          expect(new Dec(state.cash).gte(0)).toBe(true);
          expect(qty.gte(0)).toBe(true); // never short
          expect(state.positions.AAA?.qty ?? '0').toBe(qty.toString());
          for (const o of state.orders) expect(new Dec(o.filledQty).lte(o.qty)).toBe(true);
        });
      }),
    );
  });
});

describe('paper engine: OTO stop-loss legs', () => {
  it('keeps the leg held until the parent fills, then makes it new from that session', () => {
    const { state, order: parent } = submit(fresh(), oto());
    const noFill = play(state, MON, { AAA: bar(MON.date, 102, 103, 101, 102) });
    expect(legOf(noFill, order(noFill, parent.id)).status).toBe('held');
    const filled = play(noFill, TUE, { AAA: bar(TUE.date, 99, 101, 97, 100) });
    expect(order(filled, parent.id).status).toBe('filled');
    expect(legOf(filled, parent)).toMatchObject({ status: 'new', eligibleFrom: TUE.date, filledQty: '0' });
    expect(filled.positions.AAA?.qty).toBe('10');
  });

  it('fills the leg at the open when a later bar gaps below the stop', () => {
    const { state, order: parent } = submit(fresh(), oto());
    const entered = play(state, MON, { AAA: bar(MON.date, 99, 101, 97, 100) });
    const gapped = play(entered, TUE, { AAA: bar(TUE.date, 93, 94, 90, 92) });
    expect(legOf(gapped, parent)).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '93', filledAt: TUE.openUtc });
    expect(gapped.positions).toEqual({});
    expect(gapped.cash).toBe('9940'); // 10000 - 990 + 930
  });

  it('fills the leg at the stop, stamped at the close, when a later low crosses it', () => {
    const { state, order: parent } = submit(fresh(), oto());
    const entered = play(state, MON, { AAA: bar(MON.date, 99, 101, 97, 100) });
    const crossed = play(entered, TUE, { AAA: bar(TUE.date, 97, 98, 94, 96) });
    expect(legOf(crossed, parent)).toMatchObject({ status: 'filled', filledAvgPrice: '95', filledAt: TUE.closeUtc });
    expect(crossed.cash).toBe('9960'); // 10000 - 990 + 950
    // A low that stays above the stop leaves it working.
    const held = play(entered, TUE, { AAA: bar(TUE.date, 97, 98, 95.01, 96) });
    expect(legOf(held, parent).status).toBe('new');
    expect(held.positions.AAA?.qty).toBe('10');
  });

  it('fills the leg at the stop in the same bar as an intrabar entry (pessimistic)', () => {
    const { state, order: parent } = submit(fresh(), oto());
    // Entry only reachable intrabar (open 101 > limit 100); the same bar then falls to 94.
    const next = play(state, MON, { AAA: bar(MON.date, 101, 102, 94, 96) });
    expect(order(next, parent.id)).toMatchObject({ status: 'filled', filledAvgPrice: '100', filledAt: MON.closeUtc });
    expect(legOf(next, parent)).toMatchObject({ status: 'filled', filledAvgPrice: '95', filledAt: MON.closeUtc });
    expect(next.positions).toEqual({});
    expect(next.cash).toBe('9950');
  });

  it('fills the leg at the stop in the same bar as an entry at the open when the low breaches it', () => {
    const { state, order: parent } = submit(fresh(), oto());
    const next = play(state, MON, { AAA: bar(MON.date, 99, 100, 94, 96) });
    expect(order(next, parent.id).filledAvgPrice).toBe('99');
    expect(legOf(next, parent)).toMatchObject({ status: 'filled', filledAvgPrice: '95' });
    expect(next.cash).toBe('9960');
  });

  it('never sells more than is held: a stop after a partial exit sells only the rest', () => {
    const { state, order: parent } = submit(fresh(), oto());
    let next = play(state, MON, { AAA: bar(MON.date, 99, 101, 97, 100) });
    const sell = submitOrder(next, request({ clientOrderId: 'exit', side: 'sell', type: 'market', limitPrice: undefined, qty: '4' }), context({ eligibleFrom: TUE.date }));
    next = play(sell.state, TUE, { AAA: bar(TUE.date, 98, 99, 96, 97) });
    expect(next.positions.AAA?.qty).toBe('6');
    next = play(next, WED, { AAA: bar(WED.date, 96, 97, 90, 91) });
    const leg = legOf(next, parent);
    expect(leg.filledQty).toBe('6');
    expect(['filled', 'canceled']).toContain(leg.status);
    expect(next.positions).toEqual({});
    expect(next.executions.filter((e) => e.side === 'sell').map((e) => e.qty)).toEqual(['4', '6']);
    // 10000 - 990 + 4*98 + 6*95
    expect(next.cash).toBe('9972');
  });

  it('cancels a live stop whose position is already gone instead of going short', () => {
    const { state, order: parent } = submit(fresh(), oto());
    let next = play(state, MON, { AAA: bar(MON.date, 99, 101, 97, 100) });
    next = submitOrder(next, request({ clientOrderId: 'exit', side: 'sell', type: 'market', limitPrice: undefined, qty: '10' }), context({ eligibleFrom: TUE.date })).state;
    next = play(next, TUE, { AAA: bar(TUE.date, 98, 99, 90, 91) }); // stop checked first: sells at 95
    next = play(next, WED, { AAA: bar(WED.date, 90, 91, 80, 85) });
    expect(next.positions).toEqual({});
    const sold = next.executions.filter((e) => e.side === 'sell').reduce((sum, e) => sum.plus(e.qty), new Dec(0));
    expect(sold.toString()).toBe('10');
    expect(legOf(next, parent).status).toBe('filled');
    expect(order(next, next.orders.find((o) => o.clientOrderId === 'exit')!.id)).toMatchObject({ status: 'canceled', filledQty: '0' });
  });

  it('cancels the held leg when the parent cannot be paid for at the fill', () => {
    // Market OTO reserved at 100 but the bar opens at 101: 10 shares cost 1,010 > 1,000 cash.
    const { state, order: parent } = submit(fresh('1000'), oto({ type: 'market', limitPrice: undefined }), { referencePrice: '100' });
    const next = play(state, MON, { AAA: bar(MON.date, 101, 102, 100, 101) });
    expect(order(next, parent.id)).toMatchObject({ status: 'canceled', filledQty: '0' });
    expect(legOf(next, parent).status).toBe('canceled');
    expect(next.cash).toBe('1000');
    expect(next.orders.filter((o) => !['filled', 'canceled', 'expired'].includes(o.status))).toEqual([]);
  });
});

describe('paper engine: time in force', () => {
  it('expires an unfilled day order at the close of its first eligible session and cancels its held leg', () => {
    const { state, order: parent } = submit(fresh(), oto({ timeInForce: 'day' }));
    const next = play(state, MON, { AAA: bar(MON.date, 102, 103, 101, 102) });
    expect(order(next, parent.id)).toMatchObject({ status: 'expired', expiredAt: MON.closeUtc });
    expect(legOf(next, parent)).toMatchObject({ status: 'canceled', canceledAt: MON.closeUtc });
    expect(accountOf(next).buyingPower).toBe('10000');
  });

  it('does not expire a day order before the session it is eligible from', () => {
    const { state, order: o } = submit(fresh(), { timeInForce: 'day' }, { marketOpen: true, now: '2018-02-05T15:00:00.000Z', eligibleFrom: TUE.date });
    const next = play(state, MON, { AAA: bar(MON.date, 102, 103, 101, 102) });
    expect(order(next, o.id).status).toBe('new');
  });

  it('keeps a gtc order open across sessions until it fills', () => {
    const { state, order: o } = submit(fresh());
    let next = play(state, MON, { AAA: bar(MON.date, 102, 103, 101, 102) });
    next = play(next, TUE, { AAA: bar(TUE.date, 102, 103, 101, 102) });
    expect(order(next, o.id).status).toBe('accepted');
    next = play(next, WED, { AAA: bar(WED.date, 101, 102, 99, 101) });
    expect(order(next, o.id)).toMatchObject({ status: 'filled', filledAvgPrice: '100' });
  });

  it('keeps the live leg of a filled day entry working after the close', () => {
    const { state, order: parent } = submit(fresh(), oto({ timeInForce: 'day' }));
    const next = play(state, MON, { AAA: bar(MON.date, 99, 101, 97, 100) });
    expect(order(next, parent.id).status).toBe('filled');
    expect(legOf(next, parent).status).toBe('new');
  });
});

describe('paper engine: cancelOrder', () => {
  it('cancels an open order and its held leg', () => {
    const { state, order: parent } = submit(fresh(), oto());
    const next = cancelOrder(state, parent.id, '2018-02-05T14:10:00.000Z');
    expect(order(next, parent.id)).toMatchObject({ status: 'canceled', canceledAt: '2018-02-05T14:10:00.000Z' });
    expect(legOf(next, parent)).toMatchObject({ status: 'canceled', canceledAt: '2018-02-05T14:10:00.000Z' });
    // A canceled order never fills.
    const after = play(next, MON, { AAA: bar(MON.date, 90, 91, 80, 85) });
    expect(after.executions).toEqual([]);
  });

  it('refuses to cancel a filled order (422) and an already canceled one', () => {
    const { state, order: parent } = submit(fresh(), oto());
    const filled = play(state, MON, { AAA: bar(MON.date, 99, 101, 97, 100) });
    const error = brokerError(() => cancelOrder(filled, parent.id, TUE.openUtc));
    expect([error.status, error.message]).toEqual([422, 'order is not cancelable']);
    // The live leg itself can be canceled, once.
    const leg = legOf(filled, parent);
    const canceled = cancelOrder(filled, leg.id, TUE.openUtc);
    expect(order(canceled, leg.id).status).toBe('canceled');
    const again = brokerError(() => cancelOrder(canceled, leg.id, TUE.openUtc));
    expect([again.status, again.message]).toEqual([422, 'order is not cancelable']);
  });

  it('answers 404 for an unknown order', () => {
    const error = brokerError(() => cancelOrder(fresh(), 'ord-99999999', TUE.openUtc));
    expect([error.status, error.message]).toEqual([404, 'order not found']);
  });
});

describe('paper engine: processSession', () => {
  it('refuses a session at or before the last processed one', () => {
    const state = play(fresh(), MON, {});
    expect(() => play(state, MON, {})).toThrow('session 2018-02-05 already processed (through 2018-02-05)');
    expect(() => play(fresh(), session('2018-02-01'), {})).toThrow('already processed');
    expect(play(state, TUE, {}).processedThrough).toBe(TUE.date);
  });

  it('marks positions at the close, and a missing bar neither fills nor marks', () => {
    const held = holding('10', 50); // marked at 50 on MON
    const withOrder = submit(held, { clientOrderId: 'b2', limitPrice: '60', qty: '5' }, { eligibleFrom: TUE.date });
    const noBar = play(withOrder.state, TUE, {});
    expect(noBar.positions.AAA).toEqual({ qty: '10', avgEntryPrice: '50', lastPrice: '50' });
    expect(order(noBar, withOrder.order.id).status).toBe('accepted');
    expect(noBar.processedThrough).toBe(TUE.date);

    const marked = play(noBar, WED, { AAA: bar(WED.date, 61, 63, 60.5, 62.5) });
    expect(order(marked, withOrder.order.id).status).toBe('accepted'); // low 60.5 > limit 60
    expect(marked.positions.AAA?.lastPrice).toBe('62.5');
    expect(accountOf(marked).equity).toBe('10125'); // 9500 + 10 * 62.5
  });

  it('does not fill an entry whose bar is missing but fills another symbol that has one', () => {
    let { state } = submit(fresh(), { clientOrderId: 'a', symbol: 'AAA', qty: '1' });
    ({ state } = submit(state, { clientOrderId: 'b', symbol: 'BBB', qty: '1' }));
    const next = play(state, MON, { BBB: bar(MON.date, 90, 91, 89, 90) });
    expect(next.orders.map((o) => [o.clientOrderId, o.status])).toEqual([
      ['a', 'accepted'],
      ['b', 'filled'],
    ]);
  });
});

describe('paper engine: account views', () => {
  it('computes equity as cash plus qty × last price over all positions, and lists positions by symbol', () => {
    let { state } = submit(fresh(), { clientOrderId: 'z', symbol: 'ZZZ', type: 'market', limitPrice: undefined, qty: '3' });
    ({ state } = submit(state, { clientOrderId: 'a', symbol: 'AAA', type: 'market', limitPrice: undefined, qty: '7' }));
    state = play(state, MON, { AAA: bar(MON.date, 10, 12, 9, 11.25), ZZZ: bar(MON.date, 100, 101, 99, 100.5) });
    expect(state.cash).toBe('9630'); // 10000 - 300 - 70
    expect(accountOf(state)).toEqual({ cash: '9630', equity: '10010.25', buyingPower: '9630', tradingBlocked: false }); // + 78.75 + 301.5
    expect(positionsOf(state)).toEqual([
      { symbol: 'AAA', qty: '7', avgEntryPrice: '10', currentPrice: '11.25', marketValue: '78.75' },
      { symbol: 'ZZZ', qty: '3', avgEntryPrice: '100', currentPrice: '100.5', marketValue: '301.5' },
    ]);
  });

  it('averages the entry price of a position built in two fills', () => {
    let state = holding('10', 50);
    state = submit(state, { clientOrderId: 'more', type: 'market', limitPrice: undefined, qty: '5' }, { eligibleFrom: TUE.date }).state;
    state = play(state, TUE, { AAA: bar(TUE.date, 53, 54, 52, 53) });
    expect(state.positions.AAA).toEqual({ qty: '15', avgEntryPrice: '51', lastPrice: '53' });
  });

  it('shows an order in broker form with its legs nested', () => {
    const { state, order: parent } = submit(fresh(), oto());
    const view = toBrokerOrder(state, parent);
    expect(view).toMatchObject({ id: parent.id, clientOrderId: 'c1', orderClass: 'oto', status: 'accepted', limitPrice: '100', stopPrice: null });
    expect(view.legs).toHaveLength(1);
    expect(view.legs[0]).toMatchObject({ side: 'sell', type: 'stop', stopPrice: '95', status: 'held', legs: [] });
    expect(view).not.toHaveProperty('eligibleFrom');
  });

  it('refuses a non-positive initial cash', () => {
    expect(() => newPaperState('paper', '0', '2018-02-02T22:00:00.000Z', null)).toThrow('initialCash must be > 0, got 0');
  });
});

describe('paper engine: fillAtLimitNow (a fill landing while a cancel is in flight)', () => {
  const NOW = '2018-02-05T18:00:00.000Z';
  const ctx = { now: NOW, session: MON, legsEligibleFrom: TUE.date };

  it('fills an open limit entry in full at its limit, now, and arms its stop leg from the next session', () => {
    const { state, order: parent } = submit(fresh(), oto());
    const before = deepFreeze(structuredClone(state));
    const result = fillAtLimitNow(before, parent.id, ctx)!;
    expect(result.order).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '100', filledAt: NOW });
    expect(result.state.cash).toBe('9000');
    expect(positionsOf(result.state)).toEqual([{ symbol: 'AAA', qty: '10', avgEntryPrice: '100', currentPrice: '100', marketValue: '1000' }]);
    expect(result.state.executions).toMatchObject([{ orderId: parent.id, qty: '10', price: '100', at: NOW, session: MON.date, cumQty: '10' }]);
    expect(legOf(result.state, result.order)).toMatchObject({ status: 'new', eligibleFrom: TUE.date, updatedAt: NOW });
    expect(before).toEqual(state); // the input is untouched

    // MON's bar is not played against the new stop (it went live after MON's open); TUE's is.
    const monday = play(result.state, MON, { AAA: bar(MON.date, 99, 101, 90, 100) });
    expect(legOf(monday, order(monday, parent.id)).status).toBe('new');
    const tuesday = play(monday, TUE, { AAA: bar(TUE.date, 99, 101, 94, 96) });
    expect(legOf(tuesday, order(tuesday, parent.id))).toMatchObject({ status: 'filled', filledAvgPrice: '95' });
  });

  it('answers undefined, changing nothing, for orders it cannot fill that way', () => {
    const { state, order: parent } = submit(fresh(), oto());
    const leg = legOf(state, order(state, parent.id));
    expect(fillAtLimitNow(state, 'ord-99999999', ctx)).toBeUndefined();
    expect(fillAtLimitNow(state, leg.id, ctx)).toBeUndefined(); // a leg, not an entry
    const canceled = cancelOrder(state, parent.id, NOW);
    expect(fillAtLimitNow(canceled, parent.id, ctx)).toBeUndefined();
    const { state: market, order: m } = submit(fresh(), { type: 'market', limitPrice: undefined });
    expect(fillAtLimitNow(market, m.id, ctx)).toBeUndefined();
    // Cash spent elsewhere since submission: the fill cannot be honoured.
    const { state: big, order: b } = submit(fresh(), { qty: '100' });
    expect(fillAtLimitNow({ ...big, cash: '50' }, b.id, ctx)).toBeUndefined();
    // A sell limit beyond the position.
    const held = holding('5', 100);
    const { state: selling, order: s } = submit(held, { clientOrderId: 's', side: 'sell', qty: '5', limitPrice: '120' }, { eligibleFrom: TUE.date });
    expect(fillAtLimitNow({ ...selling, positions: { AAA: { ...selling.positions.AAA!, qty: '3' } } }, s.id, ctx)).toBeUndefined();
    const sold = fillAtLimitNow(selling, s.id, ctx)!;
    expect(sold.order).toMatchObject({ status: 'filled', filledAvgPrice: '120' });
    expect(sold.state.positions).toEqual({});
  });
});

describe('paper engine: a session in two phases (open, then close)', () => {
  /** Plays only the open phase of `s`. */
  const open = (state: PaperState, s: Session, bars: Record<string, Bar>) => processSessionOpen(state, s, (symbol) => bars[symbol]);
  /** Submitted at 09:45 New York during `s` (its open phase played): eligible on its bar, not at its open. */
  const intraday = (s: Session): Partial<SubmitContext> => ({ now: `${s.date}T14:45:00.000Z`, eligibleFrom: s.date, eligibleAtOpen: false, marketOpen: true });
  const MON_BAR = bar(MON.date, 99, 101, 97, 100);

  it('fills a market order at the open in the open phase, marks at the open, then marks at the close', () => {
    const { state, order: o } = submit(fresh(), { type: 'market', limitPrice: undefined });
    const opened = open(state, MON, { AAA: bar(MON.date, 104, 110, 90, 95) });
    expect(order(opened, o.id)).toMatchObject({ status: 'filled', filledAvgPrice: '104', filledAt: MON.openUtc });
    expect(opened.positions.AAA).toEqual({ qty: '10', avgEntryPrice: '104', lastPrice: '104' });
    expect(accountOf(opened)).toEqual({ cash: '8960', equity: '10000', buyingPower: '8960', tradingBlocked: false });
    expect(opened.processedThrough).toBe('2018-02-02'); // MON has not closed
    expect(lastPlayedPhase(opened)).toEqual({ session: MON.date, phase: 'open' });
    expect(sessionInProgress(opened)).toBe(MON.date);

    const closed = play(opened, MON, { AAA: bar(MON.date, 104, 110, 90, 95) });
    expect(order(closed, o.id)).toMatchObject({ status: 'filled', filledAvgPrice: '104', filledAt: MON.openUtc });
    expect(closed.positions.AAA?.lastPrice).toBe('95');
    expect(accountOf(closed).equity).toBe('9910');
    expect(closed.executions).toHaveLength(1);
    expect([closed.processedThrough, lastPlayedPhase(closed), sessionInProgress(closed)]).toEqual([MON.date, { session: MON.date, phase: 'close' }, undefined]);
  });

  it('fills a buy limit at the open when the open satisfies it; otherwise only at the close, at the limit', () => {
    const atOpen = submit(fresh());
    const filledAtOpen = open(atOpen.state, MON, { AAA: MON_BAR });
    expect(order(filledAtOpen, atOpen.order.id)).toMatchObject({ status: 'filled', filledAvgPrice: '99', filledAt: MON.openUtc });

    // Open 101 > limit 100: nothing at the open, even though the low (98) will reach the limit.
    const later = submit(fresh());
    const notYet = open(later.state, MON, { AAA: bar(MON.date, 101, 102, 98, 99) });
    expect(order(notYet, later.order.id)).toMatchObject({ status: 'accepted', filledQty: '0' });
    expect(notYet.executions).toEqual([]);
    const closed = play(notYet, MON, { AAA: bar(MON.date, 101, 102, 98, 99) });
    expect(order(closed, later.order.id)).toMatchObject({ status: 'filled', filledAvgPrice: '100', filledAt: MON.closeUtc });
  });

  it('fills a sell limit at the open when open ≥ limit, else at the limit at the close', () => {
    const held = holding('10', 50);
    const s = submit(held, { clientOrderId: 's', side: 'sell', limitPrice: '60', qty: '4' }, { eligibleFrom: TUE.date });
    const gapUp = open(s.state, TUE, { AAA: bar(TUE.date, 61, 62, 58, 59) });
    expect(order(gapUp, s.order.id)).toMatchObject({ status: 'filled', filledAvgPrice: '61', filledAt: TUE.openUtc });
    const touched = open(s.state, TUE, { AAA: bar(TUE.date, 55, 60, 54, 58) });
    expect(order(touched, s.order.id).status).toBe('accepted');
    expect(order(play(touched, TUE, { AAA: bar(TUE.date, 55, 60, 54, 58) }), s.order.id)).toMatchObject({ filledAvgPrice: '60', filledAt: TUE.closeUtc });
  });

  it('fills a stop leg that the open gaps through in the open phase (visible during the session)', () => {
    const { state, order: parent } = submit(fresh(), oto());
    const entered = play(state, MON, { AAA: MON_BAR });
    const gapped = open(entered, TUE, { AAA: bar(TUE.date, 93, 94, 90, 92) });
    expect(legOf(gapped, parent)).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '93', filledAt: TUE.openUtc });
    expect(gapped.positions).toEqual({});
    expect(gapped.cash).toBe('9940');
    // A stop the open does not gap through waits for the rest of the bar.
    const notGapped = open(entered, TUE, { AAA: bar(TUE.date, 97, 98, 94, 96) });
    expect(legOf(notGapped, parent).status).toBe('new');
    expect(notGapped.positions.AAA).toEqual({ qty: '10', avgEntryPrice: '99', lastPrice: '97' }); // marked at the open
    const crossed = play(notGapped, TUE, { AAA: bar(TUE.date, 97, 98, 94, 96) });
    expect(legOf(crossed, parent)).toMatchObject({ status: 'filled', filledAvgPrice: '95', filledAt: TUE.closeUtc });
  });

  it('arms the stop leg of an entry filled at the open: a gap fills it at once, the rest of the bar at the close', () => {
    // Limit 100 with stop 95, open 94: entry at 94 and the open is already through the stop.
    const gap = submit(fresh(), oto());
    const gapped = open(gap.state, MON, { AAA: bar(MON.date, 94, 96, 93, 95) });
    expect(order(gapped, gap.order.id)).toMatchObject({ status: 'filled', filledAvgPrice: '94', filledAt: MON.openUtc });
    expect(legOf(gapped, gap.order)).toMatchObject({ status: 'filled', filledAvgPrice: '94', filledAt: MON.openUtc });

    const rest = submit(fresh(), oto());
    const armed = open(rest.state, MON, { AAA: bar(MON.date, 99, 100, 94, 96) });
    expect(legOf(armed, rest.order)).toMatchObject({ status: 'new', eligibleFrom: MON.date, updatedAt: MON.openUtc });
    const closed = play(armed, MON, { AAA: bar(MON.date, 99, 100, 94, 96) });
    expect(legOf(closed, rest.order)).toMatchObject({ status: 'filled', filledAvgPrice: '95', filledAt: MON.closeUtc });
    expect(closed.cash).toBe('9960');
  });

  it('fills a buy limit submitted during the session at the limit, never at the (better) open', () => {
    const opened = open(fresh(), MON, { AAA: MON_BAR });
    const { state, order: o } = submit(opened, {}, intraday(MON));
    expect(o).toMatchObject({ status: 'new', eligibleFrom: MON.date, eligibleAtOpen: false });
    const closed = play(state, MON, { AAA: MON_BAR }); // open 99 ≤ 100, low 97 ≤ 100
    expect(order(closed, o.id)).toMatchObject({ status: 'filled', filledAvgPrice: '100', filledAt: MON.closeUtc });
    expect(closed.cash).toBe('9000');
    // A low above the limit: no fill; a gtc order then trades at the next open like any other.
    const missed = play(submit(opened, {}, intraday(MON)).state, MON, { AAA: bar(MON.date, 99, 101, 100.5, 100.75) });
    expect(missed.orders[0]).toMatchObject({ status: 'new', filledQty: '0' });
    const next = play(missed, TUE, { AAA: bar(TUE.date, 98, 99, 97, 98) });
    expect(next.orders[0]).toMatchObject({ status: 'filled', filledAvgPrice: '98', filledAt: TUE.openUtc });
  });

  it('on a gap-down day, a buy limit submitted during the session fills at the worst price the bar traded (its high), never above it', () => {
    // Limit 100, but the whole bar traded in 90..95: paying 100 would be a price that never traded.
    const gap = bar(MON.date, 92, 95, 90, 93);
    const opened = open(fresh(), MON, { AAA: gap });
    const { state, order: o } = submit(opened, {}, intraday(MON));
    const closed = play(state, MON, { AAA: gap });
    expect(order(closed, o.id)).toMatchObject({ status: 'filled', filledAvgPrice: '95', filledAt: MON.closeUtc });
    expect(closed.cash).toBe('9050'); // 10 000 − 10 sh × 95
  });

  it('on a gap-up day, a sell limit submitted during the session fills at the bar low, never below it', () => {
    const gap = bar(TUE.date, 66, 70, 65, 68); // limit 60, whole bar above it
    const held = open(holding('10', 50), TUE, { AAA: gap });
    const { state, order: o } = submit(held, { clientOrderId: 's', side: 'sell', limitPrice: '60', qty: '10' }, intraday(TUE));
    const closed = play(state, TUE, { AAA: gap });
    expect(order(closed, o.id)).toMatchObject({ status: 'filled', filledAvgPrice: '65', filledAt: TUE.closeUtc });
  });

  it('fills a sell limit submitted during the session at the limit when the high reaches it', () => {
    const held = open(holding('10', 50), TUE, { AAA: bar(TUE.date, 61, 62, 58, 59) });
    const { state, order: o } = submit(held, { clientOrderId: 's', side: 'sell', limitPrice: '60', qty: '10' }, intraday(TUE));
    const closed = play(state, TUE, { AAA: bar(TUE.date, 61, 62, 58, 59) }); // open 61 ≥ 60, but the open had passed
    expect(order(closed, o.id)).toMatchObject({ status: 'filled', filledAvgPrice: '60', filledAt: TUE.closeUtc });
    expect(closed.positions).toEqual({});
  });

  it('fills a market sell submitted during the session (a flatten) at the close, stamped at the close', () => {
    const held = open(holding('10', 50), TUE, { AAA: bar(TUE.date, 52, 55, 45, 47) });
    const flatten = submit(
      held,
      { clientOrderId: 'flatten', side: 'sell', type: 'market', limitPrice: undefined, timeInForce: 'day', qty: '10' },
      { ...intraday(TUE), now: '2018-02-06T20:45:00.000Z' }, // 15:45 New York
    );
    expect(order(flatten.state, flatten.order.id).status).toBe('new');
    const closed = play(flatten.state, TUE, { AAA: bar(TUE.date, 52, 55, 45, 47) });
    expect(order(closed, flatten.order.id)).toMatchObject({ status: 'filled', filledAvgPrice: '47', filledAt: TUE.closeUtc });
    expect(closed.positions).toEqual({});
    expect(closed.cash).toBe('9970'); // 10000 - 500 + 470
  });

  it('fills a market buy submitted during the session at the close, reserved at the open mark until then', () => {
    const opened = open(fresh(), MON, { AAA: MON_BAR });
    const { state, order: o } = submit(opened, { type: 'market', limitPrice: undefined }, { ...intraday(MON), referencePrice: '99' });
    expect(o.reservePrice).toBe('99');
    expect(accountOf(state).buyingPower).toBe('9010');
    const closed = play(state, MON, { AAA: MON_BAR });
    expect(order(closed, o.id)).toMatchObject({ status: 'filled', filledAvgPrice: '100', filledAt: MON.closeUtc });
  });

  it('arms the stop leg of an entry submitted during the session after its fill, against the rest of the bar', () => {
    const opened = open(fresh(), MON, { AAA: bar(MON.date, 99, 101, 94, 96) });
    const { state, order: parent } = submit(opened, oto(), intraday(MON));
    expect(legOf(state, parent).eligibleAtOpen).toBeUndefined();
    const closed = play(state, MON, { AAA: bar(MON.date, 99, 101, 94, 96) });
    expect(order(closed, parent.id)).toMatchObject({ status: 'filled', filledAvgPrice: '100', filledAt: MON.closeUtc });
    expect(legOf(closed, parent)).toMatchObject({ status: 'filled', filledAvgPrice: '95', filledAt: MON.closeUtc });
    // The next session the live leg is checked at the open again, like any carried stop.
    const survived = play(submit(opened, oto(), intraday(MON)).state, MON, { AAA: bar(MON.date, 99, 101, 96, 97) });
    const gapped = open(survived, TUE, { AAA: bar(TUE.date, 90, 91, 89, 90) });
    expect(gapped.orders[1]).toMatchObject({ status: 'filled', filledAvgPrice: '90', filledAt: TUE.openUtc });
  });

  it('never gives an order an open that was already played, whatever the context says', () => {
    const opened = open(fresh(), MON, { AAA: MON_BAR });
    const { state, order: o } = submit(opened, { type: 'market', limitPrice: undefined }, { eligibleFrom: MON.date, now: '2018-02-05T15:00:00.000Z' });
    expect(o.eligibleAtOpen).toBe(false);
    expect(order(play(state, MON, { AAA: MON_BAR }), o.id)).toMatchObject({ filledAvgPrice: '100', filledAt: MON.closeUtc });
    // Before the open phase, an order for that session is eligible at its open (field absent).
    expect(submit(fresh()).order).not.toHaveProperty('eligibleAtOpen');
  });

  it('expires a day order submitted during the session at that close', () => {
    const opened = open(fresh(), MON, { AAA: MON_BAR });
    const { state, order: o } = submit(opened, { timeInForce: 'day', limitPrice: '90' }, intraday(MON));
    const closed = play(state, MON, { AAA: MON_BAR });
    expect(order(closed, o.id)).toMatchObject({ status: 'expired', expiredAt: MON.closeUtc });
  });

  it('keeps the refusals during a session (duplicate id 422, buying power 403, shares 403)', () => {
    const opened = open(holding('10', 50), TUE, { AAA: bar(TUE.date, 52, 55, 45, 47) });
    const dup = brokerError(() => submit(opened, { clientOrderId: 'seed', qty: '1' }, intraday(TUE)));
    expect([dup.status, dup.message, dup.code]).toEqual([422, 'client_order_id must be unique', 40010001]);
    const bp = brokerError(() => submit(opened, { clientOrderId: 'big', type: 'market', limitPrice: undefined, qty: '200' }, { ...intraday(TUE), referencePrice: '52' }));
    expect([bp.status, bp.message]).toEqual([403, 'insufficient buying power']);
    const shares = brokerError(() => submit(opened, { clientOrderId: 'sell', side: 'sell', type: 'market', limitPrice: undefined, qty: '11' }, intraday(TUE)));
    expect(shares.status).toBe(403);
  });

  it('refuses phases out of order', () => {
    const opened = open(fresh(), MON, {});
    expect(() => open(opened, MON, {})).toThrow('the open of session 2018-02-05 was already played');
    expect(() => open(opened, TUE, {})).toThrow('session 2018-02-05 is in progress (its close was not played); cannot open 2018-02-06');
    expect(() => play(opened, TUE, {})).toThrow('session 2018-02-05 is in progress (its close was not played); cannot play 2018-02-06');
    const closed = play(opened, MON, {});
    expect(() => open(closed, MON, {})).toThrow('session 2018-02-05 already processed (through 2018-02-05)');
    expect(() => play(closed, MON, {})).toThrow('already processed');
    expect(lastPlayedPhase(open(closed, TUE, {}))).toEqual({ session: TUE.date, phase: 'open' });
  });

  it('reads an account saved before phases existed as closed through processedThrough', () => {
    const { state: withOrder, order: o } = submit(fresh(), oto());
    const { lastPlayed: _dropped, ...old } = withOrder; // the shape saved before two-phase sessions
    const saved = old as PaperState;
    expect(saved).not.toHaveProperty('lastPlayed');
    expect(lastPlayedPhase(saved)).toEqual({ session: '2018-02-02', phase: 'close' });
    expect(sessionInProgress(saved)).toBeUndefined();
    expect(lastPlayedPhase({ ...saved, processedThrough: null })).toBeNull();
    // Both ways of playing MON work on it and agree.
    const twoPhases = play(open(saved, MON, { AAA: MON_BAR }), MON, { AAA: MON_BAR });
    const onePass = play(saved, MON, { AAA: MON_BAR });
    expect(order(twoPhases, o.id)).toMatchObject({ status: 'filled', filledAvgPrice: '99', filledAt: MON.openUtc });
    expect(twoPhases).toEqual({ ...onePass, lastPlayed: { session: MON.date, phase: 'close' } });
    expect(newPaperState('paper', '1', '2018-02-02T22:00:00.000Z', '2018-02-02').lastPlayed).toEqual({ session: '2018-02-02', phase: 'close' });
  });
});

describe('paper engine: two phases give the one-pass result for orders submitted before the open', () => {
  const SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD'] as const;
  /** The state with executions in a canonical order and without their ids (the only things the phases may change). */
  const canonical = (state: PaperState) => ({
    ...state,
    executions: state.executions
      .map(({ id: _id, ...e }) => e)
      .sort((a, b) => (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0)),
  });
  const bothWays = (state: PaperState, s: Session, bars: Record<string, Bar>) => {
    const barFor = (symbol: string) => bars[symbol];
    return { onePass: processSession(state, s, barFor), twoPhases: processSession(processSessionOpen(state, s, barFor), s, barFor) };
  };

  it('agrees on a session mixing fills at the open, intrabar fills, gaps, stops, expiries and marks', () => {
    let state = fresh('100000');
    // MON: positions with live stop legs in AAA and BBB.
    state = submit(state, oto({ clientOrderId: 'a0', symbol: 'AAA' })).state;
    state = submit(state, oto({ clientOrderId: 'b0', symbol: 'BBB', stopLoss: { stopPrice: '96' } })).state;
    state = play(state, MON, { AAA: bar(MON.date, 99, 101, 97, 100), BBB: bar(MON.date, 99, 101, 97, 100) });
    // Before TUE's open: entries in CCC (fills at the open, its leg hit later), DDD (only intrabar),
    // a market buy in EEE, and a day order in FFF that never fills.
    const ctx = { eligibleFrom: TUE.date, now: '2018-02-05T22:00:00.000Z' };
    state = submit(state, oto({ clientOrderId: 'c0', symbol: 'CCC' }), ctx).state;
    state = submit(state, oto({ clientOrderId: 'd0', symbol: 'DDD' }), ctx).state;
    state = submit(state, { clientOrderId: 'e0', symbol: 'EEE', type: 'market', limitPrice: undefined }, ctx).state;
    state = submit(state, { clientOrderId: 'f0', symbol: 'FFF', timeInForce: 'day', limitPrice: '50' }, ctx).state;
    const bars = {
      AAA: bar(TUE.date, 93, 94, 90, 92), // the stop (95) gaps at the open
      BBB: bar(TUE.date, 98, 99, 94, 97), // the stop (96) is hit intrabar
      CCC: bar(TUE.date, 98, 99, 94, 96), // entry at the open 98, its stop 95 hit intrabar
      DDD: bar(TUE.date, 101, 102, 96, 99), // entry at the limit intrabar, the stop survives
      EEE: bar(TUE.date, 70, 72, 69, 71),
      FFF: bar(TUE.date, 55, 56, 51, 52),
    };
    const { onePass, twoPhases } = bothWays(state, TUE, bars);
    expect(canonical(twoPhases)).toEqual(canonical(onePass));
    expect(onePass.orders.map((o) => [o.parentId === null ? o.clientOrderId : 'leg', o.status, o.filledAvgPrice, o.filledAt])).toEqual([
      ['a0', 'filled', '99', MON.openUtc],
      ['leg', 'filled', '93', TUE.openUtc],
      ['b0', 'filled', '99', MON.openUtc],
      ['leg', 'filled', '96', TUE.closeUtc],
      ['c0', 'filled', '98', TUE.openUtc],
      ['leg', 'filled', '95', TUE.closeUtc],
      ['d0', 'filled', '100', TUE.closeUtc],
      ['leg', 'new', null, null],
      ['e0', 'filled', '70', TUE.openUtc],
      ['f0', 'expired', null, null],
    ]);
    expect(positionsOf(twoPhases).map((p) => [p.symbol, p.qty, p.currentPrice])).toEqual([
      ['DDD', '10', '99'],
      ['EEE', '10', '71'],
    ]);
  });

  it('agrees over random sessions of orders that do not compete for the same shares (property)', () => {
    const dayArb = fc.record({
      open: fc.integer({ min: 100, max: 2000 }),
      up: fc.integer({ min: 0, max: 300 }),
      down: fc.integer({ min: 0, max: 300 }),
      closeAt: fc.double({ min: 0, max: 1, noNaN: true }),
      action: fc.constantFrom('buy-limit', 'buy-market', 'sell-limit', 'sell-market', 'sell-stop', 'oto', 'none'),
      tif: fc.constantFrom('day', 'gtc'),
      qty: fc.integer({ min: 1, max: 30 }),
      offset: fc.integer({ min: -200, max: 200 }),
    });
    const cents = (n: number) => new Dec(n).div(100);
    fc.assert(
      fc.property(fc.array(fc.array(dayArb, { minLength: SYMBOLS.length, maxLength: SYMBOLS.length }), { minLength: 1, maxLength: 5 }), (days) => {
        let onePassState = fresh('10000000');
        let twoPhaseState = onePassState;
        days.forEach((perSymbol, i) => {
          const s = session(DATES[i]!);
          const bars: Record<string, Bar> = {};
          perSymbol.forEach((day, k) => {
            const symbol = SYMBOLS[k]!;
            const open = cents(day.open);
            const high = open.plus(cents(day.up));
            const low = Dec.max(cents(1), open.minus(cents(day.down)));
            const close = low.plus(high.minus(low).times(day.closeAt).toDecimalPlaces(2, Dec.ROUND_DOWN));
            bars[symbol] = { date: s.date, open: open.toNumber(), high: high.toNumber(), low: low.toNumber(), close: close.toNumber(), volume: 1 };
            // One working order (or OTO pair) per symbol at a time: orders never compete for shares.
            if (onePassState.orders.some((o) => o.symbol === symbol && isOpenStatus(o.status))) return;
            const limit = Dec.max(cents(1), open.plus(cents(day.offset)));
            const held = onePassState.positions[symbol]?.qty;
            const base = { clientOrderId: `${symbol}-${i}`, symbol, qty: String(day.qty), timeInForce: day.tif };
            let req: SubmitOrderRequest | undefined;
            if (day.action === 'buy-limit') req = request({ ...base, limitPrice: limit.toString() });
            if (day.action === 'buy-market') req = request({ ...base, type: 'market', limitPrice: undefined });
            if (day.action === 'oto' && limit.gt('0.02'))
              req = request({ ...base, orderClass: 'oto', limitPrice: limit.toString(), stopLoss: { stopPrice: limit.minus(limit.div(20)).toDecimalPlaces(2, Dec.ROUND_DOWN).toString() } });
            if (day.action === 'sell-limit' && held) req = request({ ...base, side: 'sell', qty: held, limitPrice: limit.toString() });
            if (day.action === 'sell-market' && held) req = request({ ...base, side: 'sell', qty: held, type: 'market', limitPrice: undefined });
            if (day.action === 'sell-stop' && held) req = request({ ...base, side: 'sell', qty: held, type: 'stop', limitPrice: undefined, stopPrice: limit.toString() });
            if (!req) return;
            const ctx = context({ eligibleFrom: s.date, now: `${s.date}T14:00:00.000Z`, referencePrice: onePassState.positions[symbol]?.lastPrice ?? open.toString() });
            let accepted: PaperState | undefined;
            try {
              accepted = submitOrder(onePassState, req, ctx).state;
            } catch (error) {
              if (!(error instanceof BrokerError)) throw error;
            }
            if (accepted) {
              onePassState = accepted;
              twoPhaseState = submitOrder(twoPhaseState, req, ctx).state;
            }
          });
          const barFor = (symbol: string) => bars[symbol];
          onePassState = processSession(onePassState, s, barFor);
          twoPhaseState = processSession(processSessionOpen(twoPhaseState, s, barFor), s, barFor);
          expect(canonical(twoPhaseState)).toEqual(canonical(onePassState));
        });
      }),
    );
  });
});

describe('costs: slippage in bps and commission per share', () => {
  const costs = { commissionPerShare: '0.01', slippageBps: 10 };

  it('a buy limit filled at the open pays 10 bps over the open, capped at the limit, plus 0.01 USD per share', () => {
    // Open 99.00 <= limit 100: rule price 99.00; slipped 99.00 × 1.001 = 99.099 (4 dp, up) < 100.
    const { state } = submit(fresh(), { limitPrice: '100' });
    const after = processSession(state, MON, () => bar(MON.date, 99, 101, 98, 100), costs);
    const o = after.orders[0]!;
    expect(o.filledAvgPrice).toBe('99.099');
    expect(after.executions[0]!.commission).toBe('0.1');
    // cash 10000 − 10 × 99.099 − 10 × 0.01 = 9008.91
    expect(after.cash).toBe('9008.91');
  });

  it('a limit never fills beyond its limit: the slippage is capped there', () => {
    // Open 99.95: 99.95 × 1.001 = 100.04995 → 100.05 rounded up, capped at the limit 100.
    const { state } = submit(fresh(), { limitPrice: '100' });
    const after = processSession(state, MON, () => bar(MON.date, 99.95, 101, 98, 100), costs);
    expect(after.orders[0]!.filledAvgPrice).toBe('100');
  });

  it('a stop sell takes the full slippage below its stop and pays the commission from the proceeds', () => {
    const { state } = submit(fresh(), oto({ limitPrice: '100', stopLoss: { stopPrice: '95' } }));
    const bought = processSession(state, MON, () => bar(MON.date, 99, 100, 98.5, 99.5), NO_COSTS);
    expect(bought.cash).toBe('9010');
    // TUE: low 94 <= stop 95: rule price 95; slipped 95 × 0.999 = 94.905.
    const stopped = processSession(bought, TUE, () => bar(TUE.date, 96, 97, 94, 95.5), costs);
    const leg = legOf(stopped, stopped.orders[0]!);
    expect(leg.filledAvgPrice).toBe('94.905');
    // 9010 + 10 × 94.905 − 10 × 0.01 = 9958.95
    expect(stopped.cash).toBe('9958.95');
    expect(stopped.positions.AAA).toBeUndefined();
  });

  it('rounds against the trader: buys up, sells down, to 0.0001', () => {
    const buy = { side: 'buy' as const, type: 'market' as const, limitPrice: null };
    const sell = { side: 'sell' as const, type: 'market' as const, limitPrice: null };
    // 33.33333 × 1.0005 = 33.349996665 → 33.35 (up); × 0.9995 = 33.316666... → 33.3166 (down).
    expect(slippedPrice(buy, new Dec('33.33333'), { commissionPerShare: '0', slippageBps: 5 }).toString()).toBe('33.35');
    expect(slippedPrice(sell, new Dec('33.33333'), { commissionPerShare: '0', slippageBps: 5 }).toString()).toBe('33.3166');
    expect(slippedPrice(buy, new Dec('33.33333'), NO_COSTS).toString()).toBe('33.33333');
  });

  it('a buy that the commission would push past the cash is canceled, not filled', () => {
    // 10 × 100 = 1000 exactly the cash; the 1 USD/share commission makes it 1010 > 1000.
    const { state } = submit(fresh('1000'), { limitPrice: '100' }, { referencePrice: '100' });
    const after = processSession(state, MON, () => bar(MON.date, 100, 101, 99, 100), { commissionPerShare: '1', slippageBps: 0 });
    expect(after.orders[0]!.status).toBe('canceled');
    expect(after.cash).toBe('1000');
  });
});

describe('paper engine: states are values (copy on change)', () => {
  /** A week with entries, OTO legs, fills at the open and intraday, a stop-out, a cancel and an expiry. */
  function week(): PaperState[] {
    const states: PaperState[] = [fresh('100000')];
    const push = (s: PaperState) => {
      states.push(s);
      return s;
    };
    let s = states[0]!;
    s = push(submit(s, { clientOrderId: 'a', ...oto() }).state);
    s = push(submit(s, { clientOrderId: 'b', symbol: 'BBB', type: 'market', limitPrice: undefined, timeInForce: 'day' }).state);
    s = push(submit(s, { clientOrderId: 'c', symbol: 'CCC', limitPrice: '50', timeInForce: 'day' }).state);
    s = push(processSessionOpen(s, MON, (sym) => ({ AAA: bar(MON.date, 99, 101, 98, 100), BBB: bar(MON.date, 20, 21, 19, 20) })[sym]));
    s = push(processSession(s, MON, (sym) => ({ AAA: bar(MON.date, 99, 101, 98, 100), BBB: bar(MON.date, 20, 21, 19, 20), CCC: bar(MON.date, 60, 61, 59, 60) })[sym]));
    s = push(submit(s, { clientOrderId: 'd', symbol: 'DDD', limitPrice: '10' }, { eligibleFrom: TUE.date }).state);
    s = push(cancelOrder(s, s.orders.find((o) => o.clientOrderId === 'd')!.id, '2018-02-06T15:00:00.000Z'));
    s = push(play(s, TUE, { AAA: bar(TUE.date, 97, 98, 90, 92) })); // the AAA stop (95) fires
    push(play(s, WED, { BBB: bar(WED.date, 22, 23, 21, 22) }));
    return states;
  }

  it('never changes its input: every state of a week is unchanged by the calls that followed it', () => {
    const snapshots: string[] = [];
    const states: PaperState[] = [];
    for (const s of week()) {
      states.push(s);
      snapshots.push(JSON.stringify(s));
    }
    states.forEach((s, i) => expect(JSON.stringify(s)).toBe(snapshots[i]));
    // The week did what it says (so the check above covers fills, legs, cancels and expiries).
    const last = states[states.length - 1]!;
    expect(last.orders.map((o) => [o.clientOrderId, o.status])).toEqual([
      ['a', 'filled'],
      ['ord-00000002-leg', 'filled'],
      ['b', 'filled'],
      ['c', 'expired'],
      ['d', 'canceled'],
    ]);
  });

  it('shares terminal orders and executions between states, frozen; copies what can still change', () => {
    const states = week();
    const [before, after] = [states[4]!, states[5]!]; // MON's close played, then 'd' submitted
    const filled = before.orders.find((o) => o.clientOrderId === 'b')!;
    expect(after.orders.find((o) => o.clientOrderId === 'b')).toBe(filled);
    expect(Object.isFrozen(filled) && Object.isFrozen(filled.legIds)).toBe(true);
    expect(() => {
      (filled as { status: string }).status = 'canceled';
    }).toThrow(TypeError);
    expect(after.executions[0]).toBe(before.executions[0]);
    expect(Object.isFrozen(after.executions[0])).toBe(true);
    // The working stop leg and the positions are the new state's own.
    const leg = (s: PaperState) => s.orders.find((o) => o.clientOrderId === 'ord-00000002-leg')!;
    expect(leg(after)).not.toBe(leg(before));
    expect(leg(after)).toEqual(leg(before));
    expect(after.positions).not.toBe(before.positions);
    expect(after.positions.AAA).not.toBe(before.positions.AAA);
  });

  it('holds only JSON data: every state parses back from its JSON text exactly (what the file store relies on)', () => {
    for (const s of week()) expect(JSON.parse(JSON.stringify(s))).toStrictEqual(s);
  });
});
