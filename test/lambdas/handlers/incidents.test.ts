/**
 * The failures users fear, one test each, named after the incident. Real DynamoDB adapters
 * (dynalite), the real handlers and shared protocols, and the scriptable FakeBroker.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { deriveClientOrderId } from '../../../lambdas/core/client-order-id';
import { INITIAL_TRADING_STATE } from '../../../lambdas/core/kill-switch';
import { intentRecord, positionsFromFills } from '../../../lambdas/core/ledger';
import { createOrder, toSubmitRequest } from '../../../lambdas/core/order';
import { cancelVerifyStep } from '../../../lambdas/handlers/cancel-verify';
import { ordersStep, placeOrder } from '../../../lambdas/handlers/orders';
import { cancelAndVerify } from '../../../lambdas/handlers/shared/cancel-and-verify';
import { ARTIFACTS, type PipelineState } from '../../../lambdas/handlers/shared/pipeline-state';
import { reconcileWithBroker, syncOpenOrders } from '../../../lambdas/handlers/shared/reconcile';
import { BrokerTransportError } from '../../../lambdas/ports';
import { decisionsArtifact, entryDecision, startHandlerHarness, type HandlerHarness, type PlannedEntry } from '../../support/fake-broker';
import { entryOrder } from '../../support/orders';

const DAY = '2018-02-07';
const PRE_OPEN = `${DAY}T14:00:00.000Z`;
const MIDDAY = `${DAY}T18:00:00.000Z`;
const AFTER_CLOSE = `${DAY}T21:15:00.000Z`;
const AAPL: PlannedEntry = { symbol: 'AAPL', qty: 60, limitPrice: '160.50', stopLossPrice: '152.10' };

let h: HandlerHarness;
beforeEach(async () => {
  h = await startHandlerHarness({ now: PRE_OPEN });
});
afterEach(async () => {
  await h.stop();
});

const base = { runId: 'run-x', tradingDate: DAY };
const ctx = () => ({ ...base, now: h.clock.now().toISOString() });
const state = (runId: string): PipelineState => ({
  runId,
  strategyId: h.config.strategyId,
  tradingDate: DAY,
  session: { isSession: true, date: DAY, openUtc: `${DAY}T14:30:00.000Z`, closeUtc: `${DAY}T21:00:00.000Z` },
});
const entryId = (symbol: string) => deriveClientOrderId({ strategyId: h.config.strategyId, sessionDate: DAY, symbol, side: 'buy', purpose: 'entry' });

async function placeEntries(runId: string, ...entries: PlannedEntry[]) {
  h.clock.set(PRE_OPEN);
  await h.artifacts.put(runId, ARTIFACTS.decisions, decisionsArtifact(entries.map((e) => entryDecision(e)), PRE_OPEN), new Date(PRE_OPEN));
  return ordersStep(state(runId), h.deps);
}

/** Ledger positions (from fills) vs broker positions, as share counts by symbol. */
async function books() {
  const ledger = Object.fromEntries([...positionsFromFills(await h.ledger.listFills())].map(([s, q]) => [s, q.toString()]));
  const broker = Object.fromEntries((await h.broker.listPositions()).map((p) => [p.symbol, p.qty]));
  return { ledger, broker };
}

describe('incidents', () => {
  test('BUG-100: the stop-loss fills before the cancel arrives, so no emergency buy (or sell) is sent', async () => {
    await placeEntries('run-1', AAPL);
    h.clock.set(MIDDAY);
    h.broker.fill(entryId('AAPL'), '160.40'); // long 60, stop leg working
    await syncOpenOrders(h.deps, base);
    const stopLeg = (await h.ledger.listOrders()).find((o) => o.purpose === 'stop_loss')!;
    expect(stopLeg.status).toBe('new');

    // Someone (a flatten, a rebalance) cancels the stop; the stop fills on its way.
    h.broker.scriptCancel(stopLeg.clientOrderId, { kind: 'fill-then-422', price: '152.05' });
    const result = await cancelAndVerify(h.deps, stopLeg, ctx());

    expect(result.outcome).toBe('filled_before_cancel');
    expect(result.outcome === 'filled_before_cancel' && result.filledQty).toBe('60');
    // The ledger knows the stop filled: flat, like the broker. Nothing else was ever sent.
    expect(await books()).toEqual({ ledger: {}, broker: {} });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1); // the entry only
    expect(await h.ledger.get(stopLeg.clientOrderId)).toMatchObject({ status: 'filled', filledQty: '60', purpose: 'stop_loss' });
  });

  test('ZOMBIE POSITION: a fill while the order is still pending entry in the ledger opens the position in the ledger', async () => {
    // The intent was written, the submission's answer was lost, and the order then filled.
    const order = entryOrder({ qty: 60, expiresAt: `${DAY}T21:00:00.000Z` });
    await h.ledger.putIntent(intentRecord(order, 'run-lost', PRE_OPEN));
    h.broker.seed(toSubmitRequest(order));
    h.clock.set(MIDDAY);
    h.broker.fill(order.clientOrderId, '160.10');

    const synced = await syncOpenOrders(h.deps, base);
    const reconciled = await reconcileWithBroker(h.deps, base);

    expect(synced.fills.map((f) => [f.purpose, f.qty, f.price])).toEqual([['entry', '60', '160.1']]);
    expect(await h.ledger.get(order.clientOrderId)).toMatchObject({ status: 'filled', filledQty: '60' });
    expect(reconciled.discrepancies).toEqual([]);
    expect(await books()).toEqual({ ledger: { AAPL: '60' }, broker: { AAPL: '60' } });
    expect(await h.tradingState.getLatch()).toEqual(INITIAL_TRADING_STATE);
  });

  test('PHANTOM POSITION: `canceled` with filled_qty > 0 and an avg price is a fill; with 0 it is a cancel', async () => {
    await placeEntries('run-1', AAPL, { symbol: 'MSFT', qty: 20, limitPrice: '91.35', stopLossPrice: '86.02' });
    h.clock.set(MIDDAY);
    h.broker.fill(entryId('AAPL'), '160.30', '25'); // 25 of 60, then canceled
    h.broker.completeCancel(entryId('AAPL'));
    h.broker.completeCancel(entryId('MSFT')); // nothing filled

    await syncOpenOrders(h.deps, base);

    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'canceled', filledQty: '25', filledAvgPrice: '160.3' });
    expect(await h.ledger.get(entryId('MSFT'))).toMatchObject({ status: 'canceled', filledQty: '0' });
    expect((await h.ledger.listFills()).map((f) => [f.symbol, f.qty])).toEqual([['AAPL', '25']]);
    expect((await reconcileWithBroker(h.deps, base)).discrepancies).toEqual([]);
  });

  test('ORPHANED PARTIAL FILLS: a partial take-profit fill is not treated as a full close', async () => {
    const bracket = createOrder({
      ...toPlain(entryOrder({ qty: 10 })),
      orderClass: 'bracket',
      takeProfitPrice: '175.00',
    });
    await placeOrder(h.deps, bracket, { runId: 'run-1', tradingDate: DAY });
    h.clock.set(MIDDAY);
    h.broker.fill(bracket.clientOrderId, '160.00');
    const legs = h.broker.peek(bracket.clientOrderId)!.legs;
    const takeProfit = legs.find((l) => l.type === 'limit')!;
    const stop = legs.find((l) => l.type === 'stop')!;
    h.broker.setStatus(stop.clientOrderId, 'held'); // Alpaca holds the stop while its OCO take-profit works
    h.broker.fill(takeProfit.clientOrderId, '175.00', '4');

    const { summary } = await verifyAfterClose();

    const tp = await h.ledger.get(takeProfit.clientOrderId);
    expect(tp).toMatchObject({ purpose: 'take_profit', status: 'partially_filled', filledQty: '4' });
    expect(await h.ledger.get(stop.clientOrderId)).toMatchObject({ purpose: 'stop_loss', status: 'held' });
    expect(await books()).toEqual({ ledger: { AAPL: '6' }, broker: { AAPL: '6' } });
    expect(summary).toMatchObject({ mismatches: 0, unprotected: 0 });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1); // no "exit the rest" order
    expect(h.broker.callsTo('cancelOrder')).toEqual([]); // and the legs were left working
  });

  test('DUPLICATE 422: the broker already has the client_order_id; the order is adopted, never doubled', async () => {
    const order = entryOrder({ qty: 60, expiresAt: `${DAY}T21:00:00.000Z` });
    h.broker.seed(toSubmitRequest(order)); // an earlier execution got it there; this ledger never heard of it

    const placement = await placeOrder(h.deps, order, { runId: 'run-2', tradingDate: DAY });

    expect(placement).toMatchObject({ outcome: 'adopted', detail: 'broker answered 422 client_order_id must be unique' });
    expect(h.broker.allOrders().filter((o) => o.clientOrderId === order.clientOrderId)).toHaveLength(1);
    expect(await h.ledger.get(order.clientOrderId)).toMatchObject({ brokerOrderId: h.broker.peek(order.clientOrderId)!.id, status: 'new' });
  });

  test('SUBMIT TIMEOUT BUT ACCEPTED: looked up by client_order_id before anything else, adopted, never resent', async () => {
    h.broker.scriptSubmit({ kind: 'accept-then-fail', error: new BrokerTransportError('timeout', 'request timed out after 10000 ms') });

    const counts = await placeEntries('run-1', AAPL);

    expect(counts).toMatchObject({ adopted: 1, submitted: 0, unconfirmed: 0 });
    const methods = h.broker.calls.map((c) => c.method);
    expect(methods.indexOf('getOrderByClientOrderId')).toBeGreaterThan(methods.indexOf('submitOrder'));
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1);
    expect(h.broker.allOrders().filter((o) => o.clientOrderId === entryId('AAPL'))).toHaveLength(1);
    // A re-run of the step sends nothing either.
    expect(await placeEntries('run-2', AAPL)).toMatchObject({ already_placed: 1, submitted: 0 });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1);
  });

  test('HELD STOP LEG: a stop leg reported `held` is a known leg, protects a filled parent, and is never cancelled as stale', async () => {
    await placeEntries('run-1', AAPL);
    const leg = (await h.ledger.listOrders()).find((o) => o.parentClientOrderId === entryId('AAPL'))!;
    expect(leg).toMatchObject({ purpose: 'stop_loss', status: 'held' });
    h.clock.set(MIDDAY);
    h.broker.fill(entryId('AAPL'), '160.40');
    h.broker.setStatus(leg.clientOrderId, 'held'); // the broker keeps reporting it held

    const { summary, alerts } = await verifyAfterClose();

    expect(summary).toMatchObject({ mismatches: 0, unprotected: 0, canceled: 0 });
    expect(await h.ledger.get(leg.clientOrderId)).toMatchObject({ status: 'held' });
    expect(alerts.filter((a) => a.severity === 'CRITICAL')).toEqual([]);
    expect(h.broker.callsTo('cancelOrder')).toEqual([]);
  });

  test('REPLAYED FILL: the same execution delivered twice is recorded once', async () => {
    await placeEntries('run-1', AAPL);
    h.clock.set(MIDDAY);
    h.broker.fill(entryId('AAPL'), '160.40');
    h.broker.replayExecution();
    h.broker.replayExecution();

    const first = await syncOpenOrders(h.deps, base);
    h.broker.replayExecution(0);
    const second = await syncOpenOrders(h.deps, { ...base, runId: 'run-y' });

    const fills = await h.ledger.listFills();
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({ qty: '60', executionId: h.broker.executions[0]!.id });
    expect(first.fills).toHaveLength(1);
    expect(second.fills).toEqual([]);
    expect(await books()).toEqual({ ledger: { AAPL: '60' }, broker: { AAPL: '60' } });
  });
});

async function verifyAfterClose() {
  h.clock.set(AFTER_CLOSE);
  const before = h.alerts.published.length;
  const summary = await cancelVerifyStep(state('run-1'), h.deps);
  return { summary, alerts: h.alerts.published.slice(before) };
}

/** An Order as the plain input createOrder takes again (to derive a variant). */
function toPlain(order: ReturnType<typeof entryOrder>) {
  return { ...order };
}
