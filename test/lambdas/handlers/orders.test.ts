/**
 * The orders step and its ledger-first placement protocol, on real DynamoDB adapters (dynalite)
 * with a scriptable fake broker. Every test is named after the failure it prevents.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { entryOrder } from '../../support/orders';
import { deriveClientOrderId, MAX_CLIENT_ORDER_ID_LENGTH } from '../../../lambdas/core/client-order-id';
import { intentRecord } from '../../../lambdas/core/ledger';
import { toSubmitRequest } from '../../../lambdas/core/order';
import { dec } from '../../../lambdas/core/money';
import type { RiskDecision } from '../../../lambdas/core/risk/kernel';
import { BrokerError } from '../../../lambdas/ports';
import { SUBMIT_ATTEMPTS, ordersStep, type OrdersArtifact } from '../../../lambdas/handlers/orders';
import { ARTIFACTS, type PipelineState } from '../../../lambdas/handlers/shared/pipeline-state';
import {
  decisionsArtifact,
  duplicateClientOrderId,
  entryDecision,
  networkError,
  startHandlerHarness,
  type HandlerHarness,
  type PlannedEntry,
} from '../../support/fake-broker';

const TRADING_DATE = '2018-02-07';
const PRE_OPEN = '2018-02-07T14:00:00.000Z';
const CLOSE = '2018-02-07T21:00:00.000Z';

let h: HandlerHarness;
beforeEach(async () => {
  h = await startHandlerHarness({ now: PRE_OPEN });
});
afterEach(async () => {
  await h.stop();
});

function state(runId: string): PipelineState {
  return {
    runId,
    strategyId: h.config.strategyId,
    tradingDate: TRADING_DATE,
    session: { isSession: true, date: TRADING_DATE, openUtc: '2018-02-07T14:30:00.000Z', closeUtc: CLOSE },
  };
}

type Entry = PlannedEntry;

const AAPL: Entry = { symbol: 'AAPL', qty: 10, limitPrice: '160.50', stopLossPrice: '152.10' };
const MSFT: Entry = { symbol: 'MSFT', qty: 20, limitPrice: '91.35', stopLossPrice: '86.02' };
const decision = entryDecision;

async function putDecisions(runId: string, decisions: RiskDecision[]): Promise<void> {
  await h.artifacts.put(runId, ARTIFACTS.decisions, decisionsArtifact(decisions, PRE_OPEN), new Date(PRE_OPEN));
}

const entryId = (symbol: string, strategyId = h.config.strategyId) =>
  deriveClientOrderId({ strategyId, sessionDate: TRADING_DATE, symbol, side: 'buy', purpose: 'entry' });

/** The Order ordersStep builds for an entry (same id, prices, expiry). */
function orderFor(e: Entry) {
  return entryOrder({ symbol: e.symbol, strategyId: h.config.strategyId, tradingDate: TRADING_DATE, qty: e.qty, limitPrice: e.limitPrice, stopLossPrice: e.stopLossPrice, expiresAt: CLOSE });
}

async function placements(runId: string) {
  return (await h.artifacts.get<OrdersArtifact>(runId, ARTIFACTS.orders)).placements;
}

describe('ordersStep: idempotency', () => {
  test('duplicate execution submits nothing: a second run of the same decisions reports already_placed', async () => {
    await putDecisions('run-1', [decision(AAPL), decision(MSFT), decision({ ...AAPL, symbol: 'IBM' }, false)]);
    const first = await ordersStep(state('run-1'), h.deps);
    expect(first).toMatchObject({ submitted: 2, already_placed: 0, adopted: 0, rejected: 0, unconfirmed: 0, blocked: 0 });

    await putDecisions('run-2', [decision(AAPL), decision(MSFT)]);
    const second = await ordersStep(state('run-2'), h.deps);
    expect(second).toMatchObject({ submitted: 0, already_placed: 2 });
    // And a retry of the very same execution.
    expect(await ordersStep(state('run-1'), h.deps)).toMatchObject({ submitted: 0, already_placed: 2 });

    expect(h.broker.submitted.map((r) => r.clientOrderId).sort()).toEqual([entryId('AAPL'), entryId('MSFT')]);
    expect(h.broker.allOrders().filter((o) => o.orderClass === 'oto' && o.side === 'buy')).toHaveLength(2);
    expect((await placements('run-2')).map((p) => p.outcome)).toEqual(['already_placed', 'already_placed']);
  });

  test('two executions racing on the same decisions both finish and leave exactly one broker order per intent', async () => {
    for (let round = 0; round < 6; round++) {
      const entries = [
        { ...AAPL, symbol: `A${round}` },
        { ...MSFT, symbol: `M${round}` },
      ];
      await putDecisions(`run-a${round}`, entries.map((e) => decision(e)));
      await putDecisions(`run-b${round}`, entries.map((e) => decision(e)));
      const [a, b] = await Promise.all([ordersStep(state(`run-a${round}`), h.deps), ordersStep(state(`run-b${round}`), h.deps)]);

      expect(a.submitted + b.submitted).toBe(2);
      expect(a.submitted + a.adopted + a.already_placed).toBe(2);
      expect(b.submitted + b.adopted + b.already_placed).toBe(2);
      for (const e of entries) {
        const atBroker = h.broker.allOrders().filter((o) => o.clientOrderId === entryId(e.symbol));
        expect(atBroker).toHaveLength(1);
        const rec = await h.ledger.get(entryId(e.symbol));
        expect(rec).toMatchObject({ status: 'new', brokerOrderId: atBroker[0]!.id });
        expect(['run-a' + round, 'run-b' + round]).toContain(rec!.submittedByRunId);
        const legs = (await h.ledger.listOrders()).filter((o) => o.parentClientOrderId === entryId(e.symbol));
        expect(legs).toHaveLength(1);
      }
    }
    expect(h.alerts.published).toEqual([]);
  });
});

describe('placeOrder: ledger first, then the broker', () => {
  test('intent is written before the broker call; a network error is followed by a lookup, and only a confirmed absence allows a resend', async () => {
    await putDecisions('run-1', [decision(AAPL)]);
    let seenAtSubmit: unknown;
    h.broker.scriptSubmit({
      kind: 'inspect',
      hook: async () => {
        seenAtSubmit = await h.ledger.get(entryId('AAPL'));
        throw networkError();
      },
    });

    const counts = await ordersStep(state('run-1'), h.deps);

    expect(seenAtSubmit).toMatchObject({ clientOrderId: entryId('AAPL'), status: 'pending_submit', brokerOrderId: null, createdByRunId: 'run-1' });
    // submit (lost) → lookup (absent) → submit again with the same client_order_id
    const methods = h.broker.calls.map((c) => c.method).filter((m) => m === 'submitOrder' || m === 'getOrderByClientOrderId');
    expect(methods).toEqual(['submitOrder', 'getOrderByClientOrderId', 'submitOrder']);
    expect(h.broker.submitted.map((r) => r.clientOrderId)).toEqual([entryId('AAPL'), entryId('AAPL')]);
    expect(counts).toMatchObject({ submitted: 1, unconfirmed: 0 });
    expect(h.broker.allOrders().filter((o) => o.clientOrderId === entryId('AAPL'))).toHaveLength(1);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'new', submittedByRunId: 'run-1' });
  });

  test('a failed lookup after a failed submission stops the resends: left pending_submit, HIGH alert', async () => {
    await putDecisions('run-1', [decision(AAPL)]);
    h.broker.scriptSubmit({ kind: 'refuse', error: networkError() });
    h.broker.failNext('getOrderByClientOrderId', networkError('lookup reset'));

    const counts = await ordersStep(state('run-1'), h.deps);

    expect(counts).toMatchObject({ unconfirmed: 1, submitted: 0 });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'pending_submit', submittedByRunId: null });
    const [alert] = h.alerts.ofType('ORDER_UNCONFIRMED');
    expect(alert).toMatchObject({ severity: 'HIGH', runId: 'run-1' });
    expect(alert!.message).toMatch(/the lookup failed too \(lookup reset\)/);
  });

  test('no resend once the kill switch flipped while the submission was failing', async () => {
    await putDecisions('run-1', [decision(AAPL)]);
    h.broker.scriptSubmit({
      kind: 'inspect',
      hook: async () => {
        await h.killSwitch.write('HALTED');
        throw networkError();
      },
    });

    expect(await ordersStep(state('run-1'), h.deps)).toMatchObject({ blocked: 1, submitted: 0 });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1);
  });

  test('a submit whose response was lost is adopted from the broker, not sent again', async () => {
    await putDecisions('run-1', [decision(AAPL)]);
    h.broker.scriptSubmit({ kind: 'accept-then-fail', error: networkError('socket hang up') });

    const counts = await ordersStep(state('run-1'), h.deps);

    expect(counts).toMatchObject({ adopted: 1, submitted: 0, unconfirmed: 0 });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1);
    const broker = h.broker.peek(entryId('AAPL'))!;
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'new', brokerOrderId: broker.id });
    expect(h.alerts.published.filter((a) => a.severity !== 'INFO')).toEqual([]);
    // The stop-loss leg is in the ledger too.
    const legs = (await h.ledger.listOrders()).filter((o) => o.parentClientOrderId === entryId('AAPL'));
    expect(legs).toHaveLength(1);
  });

  test('crash after intent, before submit: the next run submits exactly once', async () => {
    const order = orderFor(AAPL);
    await h.ledger.putIntent(intentRecord(order, 'run-crashed', PRE_OPEN));
    await putDecisions('run-2', [decision(AAPL)]);

    expect(await ordersStep(state('run-2'), h.deps)).toMatchObject({ submitted: 1 });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1);
    expect(await h.ledger.get(order.clientOrderId)).toMatchObject({
      status: 'new',
      createdByRunId: 'run-crashed',
      submittedByRunId: 'run-2',
      brokerOrderId: h.broker.peek(order.clientOrderId)!.id,
    });
  });

  test('crash after intent, and the broker lookup fails: nothing is submitted blind (the step fails instead)', async () => {
    const order = orderFor(AAPL);
    await h.ledger.putIntent(intentRecord(order, 'run-crashed', PRE_OPEN));
    await putDecisions('run-2', [decision(AAPL)]);
    h.broker.failNext('getOrderByClientOrderId', networkError());

    await expect(ordersStep(state('run-2'), h.deps)).rejects.toThrow(/fetch failed/);
    expect(h.broker.callsTo('submitOrder')).toHaveLength(0);
    expect(await h.ledger.get(order.clientOrderId)).toMatchObject({ status: 'pending_submit' });
  });

  test('an execution redriven after the time in force ended closes the intent as expired and sends nothing', async () => {
    const order = orderFor(AAPL);
    await h.ledger.putIntent(intentRecord(order, 'run-crashed', PRE_OPEN));
    await putDecisions('run-2', [decision(AAPL), decision(MSFT)]);
    h.clock.set('2018-02-07T21:30:00.000Z'); // after the close: both entries are stale

    expect(await ordersStep(state('run-2'), h.deps)).toMatchObject({ expired: 2, submitted: 0 });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(0);
    expect(await h.ledger.get(order.clientOrderId)).toMatchObject({ status: 'expired', statusReason: `time in force ended ${CLOSE} before submission` });
    expect(await h.ledger.get(entryId('MSFT'))).toMatchObject({ status: 'expired' });
  });

  test('crash after submit, before recording it: the next run adopts the broker order with zero submits', async () => {
    const order = orderFor(AAPL);
    await h.ledger.putIntent(intentRecord(order, 'run-crashed', PRE_OPEN));
    const atBroker = h.broker.seed(toSubmitRequest(order));
    await putDecisions('run-2', [decision(AAPL)]);

    expect(await ordersStep(state('run-2'), h.deps)).toMatchObject({ adopted: 1, submitted: 0 });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(0);
    expect(await h.ledger.get(order.clientOrderId)).toMatchObject({ status: 'new', brokerOrderId: atBroker.id });
    const leg = (await h.ledger.listOrders()).find((o) => o.parentClientOrderId === order.clientOrderId);
    expect(leg).toMatchObject({ purpose: 'stop_loss', brokerOrderId: atBroker.legs[0]!.id, stopPrice: AAPL.stopLossPrice });
  });

  test('an adopted order that already filled, stop included, records both fills (no fill goes unnoticed)', async () => {
    const order = orderFor(AAPL);
    await h.ledger.putIntent(intentRecord(order, 'run-crashed', PRE_OPEN));
    const atBroker = h.broker.seed(toSubmitRequest(order));
    h.broker.fill(order.clientOrderId, '160.40');
    h.broker.fill(atBroker.legs[0]!.clientOrderId, '152.00');
    await putDecisions('run-2', [decision(AAPL)]);

    expect(await ordersStep(state('run-2'), h.deps)).toMatchObject({ adopted: 1 });

    const fills = await h.ledger.listFills();
    expect(fills.map((f) => [f.side, f.purpose, f.qty, f.price]).sort()).toEqual([
      ['buy', 'entry', '10', '160.4'],
      ['sell', 'stop_loss', '10', '152'],
    ]);
    const leg = (await h.ledger.listOrders()).find((o) => o.parentClientOrderId === order.clientOrderId);
    expect(leg).toMatchObject({ status: 'filled', filledQty: '10' });
  });

  test('422 client_order_id must be unique: look up and adopt, no retry', async () => {
    const atBroker = h.broker.seed(toSubmitRequest(orderFor(AAPL))); // e.g. placed by an execution whose ledger write was lost
    await putDecisions('run-1', [decision(AAPL)]);

    const counts = await ordersStep(state('run-1'), h.deps);

    expect(counts).toMatchObject({ adopted: 1, submitted: 0, rejected: 0 });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'new', brokerOrderId: atBroker.id });
    expect((await placements('run-1'))[0]!.detail).toMatch(/422/);
  });

  test('422 invalid from the broker: recorded as rejected with the broker message, MEDIUM alert, never retried', async () => {
    await putDecisions('run-1', [decision(AAPL), decision(MSFT)]);
    h.broker.scriptSubmit({ kind: 'refuse', error: new BrokerError(422, 'qty must be > 0', 40010000) });

    const counts = await ordersStep(state('run-1'), h.deps);

    expect(counts).toMatchObject({ rejected: 1, submitted: 1 });
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'rejected', statusReason: '422 qty must be > 0', brokerOrderId: null });
    const [alert] = h.alerts.ofType('ORDER_REJECTED');
    expect(alert).toMatchObject({ severity: 'MEDIUM' });
    expect(alert!.message).toContain('qty must be > 0');
    expect(h.broker.submitted.filter((r) => r.symbol === 'AAPL')).toHaveLength(1);
    expect((await h.deps.tradingState.getLatch()).state).toBe('ACTIVE');

    // A re-run does not retry the refused order either.
    await putDecisions('run-2', [decision(AAPL), decision(MSFT)]);
    expect(await ordersStep(state('run-2'), h.deps)).toMatchObject({ already_placed: 2, submitted: 0 });
    expect(h.broker.submitted.filter((r) => r.symbol === 'AAPL')).toHaveLength(1);
  });

  test.each([
    [401, 'request is not authorized'],
    [403, 'insufficient buying power'],
  ])('%i from the broker: trading state HALTED + CRITICAL, and nothing after it is sent', async (status, message) => {
    await putDecisions('run-1', [decision(AAPL), decision(MSFT)]);
    h.broker.scriptSubmit({ kind: 'refuse', error: new BrokerError(status, message) });

    const counts = await ordersStep(state('run-1'), h.deps);

    expect(counts).toMatchObject({ halted: 1, blocked: 1, submitted: 0 });
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'rejected', statusReason: `${status} ${message}` });
    expect(await h.deps.tradingState.getLatch()).toMatchObject({ state: 'HALTED', cause: expect.stringMatching(new RegExp(`^BROKER_AUTH_REFUSED: ${status}`)) });
    expect(h.alerts.ofType('BROKER_AUTH_REFUSED')).toEqual([expect.objectContaining({ severity: 'CRITICAL' })]);
    // MSFT was never sent: the latch is read again before each submission.
    expect(h.broker.submitted.map((r) => r.symbol)).toEqual(['AAPL']);
  });

  test('a 5xx from the broker is not a refusal: the order may exist, so it is looked up (adopted), not marked rejected', async () => {
    await putDecisions('run-1', [decision(AAPL)]);
    h.broker.scriptSubmit({ kind: 'accept-then-fail', error: new BrokerError(500, 'internal server error') });

    expect(await ordersStep(state('run-1'), h.deps)).toMatchObject({ adopted: 1, rejected: 0 });
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'new', brokerOrderId: h.broker.peek(entryId('AAPL'))!.id });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1);
  });

  test(`a 5xx whose order is never at the broker: looked up before each resend, at most ${SUBMIT_ATTEMPTS} sends, then pending_submit (unconfirmed + HIGH), not a terminal rejection`, async () => {
    await putDecisions('run-1', [decision(AAPL)]);
    for (let i = 0; i < SUBMIT_ATTEMPTS; i++) h.broker.scriptSubmit({ kind: 'refuse', error: new BrokerError(503, 'service unavailable') });

    expect(await ordersStep(state('run-1'), h.deps)).toMatchObject({ unconfirmed: 1, rejected: 0 });
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'pending_submit' });
    expect(h.alerts.ofType('ORDER_UNCONFIRMED')[0]).toMatchObject({ severity: 'HIGH' });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(SUBMIT_ATTEMPTS);
    expect(h.broker.callsTo('getOrderByClientOrderId')).toHaveLength(SUBMIT_ATTEMPTS);
  });

  test('422 duplicate but the broker cannot show the order: the step fails loudly instead of resubmitting', async () => {
    await putDecisions('run-1', [decision(AAPL)]);
    h.broker.scriptSubmit({ kind: 'refuse', error: duplicateClientOrderId() });

    await expect(ordersStep(state('run-1'), h.deps)).rejects.toThrow(/exists but cannot find it/);
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'pending_submit' });
  });
});

describe('ordersStep: kill switch at submission time', () => {
  test.each([
    ['HALTED', (h: HandlerHarness) => void (h.killSwitch.value = 'HALTED')],
    ['REDUCE_ONLY', (h: HandlerHarness) => void (h.killSwitch.value = 'REDUCE_ONLY')],
    ['garbage', (h: HandlerHarness) => void (h.killSwitch.value = 'armed')],
    ['unreadable (port throws)', (h: HandlerHarness) => void (h.killSwitch.failWith = Object.assign(new Error('denied'), { name: 'AccessDeniedException' }))],
  ])('kill switch %s after the risk check: nothing is submitted, outcomes blocked', async (_label, flip) => {
    await putDecisions('run-1', [decision(AAPL), decision(MSFT)]);
    flip(h);

    const counts = await ordersStep(state('run-1'), h.deps);

    expect(counts).toMatchObject({ blocked: 2, submitted: 0 });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(0);
    expect(await h.ledger.listOrders()).toEqual([]);
    for (const p of await placements('run-1')) {
      expect(p.outcome).toBe('blocked');
      expect(p.detail).toMatch(/^KILL_SWITCH: /);
    }
  });

  test('a kill switch flipped to HALTED while the step runs stops every submission not yet sent', async () => {
    await putDecisions('run-1', [decision(AAPL), decision(MSFT), decision({ ...MSFT, symbol: 'IBM' })]);
    h.broker.scriptSubmit({
      kind: 'inspect',
      hook: () => {
        h.killSwitch.value = 'HALTED'; // the owner hits the switch while the first order is in flight
      },
    });

    const counts = await ordersStep(state('run-1'), h.deps);

    expect(counts).toMatchObject({ submitted: 1, blocked: 2 });
    expect(h.broker.submitted.map((r) => r.symbol)).toEqual(['AAPL']);
    expect((await placements('run-1')).map((p) => p.outcome)).toEqual(['submitted', 'blocked', 'blocked']);
  });

  test('a halt latched after the risk check (e.g. reconciliation) stops submissions even with the switch ARMED', async () => {
    await putDecisions('run-1', [decision(AAPL)]);
    await h.tradingState.setLatch({ state: 'HALTED', cause: 'RECONCILIATION_MISMATCH: AAPL ledger 10 vs broker 0', since: PRE_OPEN });

    const counts = await ordersStep(state('run-1'), h.deps);

    expect(counts).toMatchObject({ blocked: 1, submitted: 0 });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(0);
    expect((await placements('run-1'))[0]!.detail).toMatch(/^RECONCILIATION_MISMATCH: AAPL ledger 10 vs broker 0/);
  });

  test('blocked entries raise one ENTRIES_BLOCKED alert naming the cause', async () => {
    await putDecisions('run-1', [decision(AAPL), decision(MSFT)]);
    h.killSwitch.failWith = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });

    await ordersStep(state('run-1'), h.deps);

    const alerts = h.alerts.ofType('ENTRIES_BLOCKED');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.message).toMatch(/^2 allowed entries not submitted: .*AccessDeniedException/);
  });

  test('the kill switch is read by the orders step itself, not taken from the DECISIONS artifact', async () => {
    await putDecisions('run-1', [decision(AAPL)]); // artifact says ARMED
    h.killSwitch.value = 'HALTED';
    await ordersStep(state('run-1'), h.deps);
    expect(h.killSwitch.reads).toBeGreaterThanOrEqual(1);
    expect(h.broker.callsTo('submitOrder')).toHaveLength(0);
  });
});

describe('ordersStep: what is sent', () => {
  test('every request is an OTO entry with its stop-loss below the limit and a derived client_order_id <= 48 chars; the stop leg lands in the ledger', async () => {
    await h.stop();
    h = await startHandlerHarness({ now: PRE_OPEN, config: { strategyId: 'abcdefghijkl' } }); // longest strategy id
    const BRK: Entry = { symbol: 'BRK.B', qty: 3, limitPrice: '210.00', stopLossPrice: '199.99' };
    const LONG: Entry = { symbol: 'ABCDEFGHIJ', qty: 7, limitPrice: '0.9500', stopLossPrice: '0.8123' };
    await putDecisions('run-1', [decision(BRK), decision(LONG), decision(AAPL)]);

    expect(await ordersStep(state('run-1'), h.deps)).toMatchObject({ submitted: 3 });

    for (const req of h.broker.submitted) {
      expect(req.orderClass).toBe('oto');
      expect(req.side).toBe('buy');
      expect(req.type).toBe('limit');
      expect(req.timeInForce).toBe('gtc');
      expect(req.stopLoss).toBeDefined();
      expect(dec(req.stopLoss!.stopPrice).lt(dec(req.limitPrice!))).toBe(true);
      expect(req.clientOrderId.length).toBeLessThanOrEqual(MAX_CLIENT_ORDER_ID_LENGTH);
      expect(req.clientOrderId).toBe(entryId(req.symbol, 'abcdefghijkl'));
    }
    expect(h.broker.submitted.find((r) => r.symbol === 'BRK.B')).toMatchObject({ qty: '3', limitPrice: '210.00', stopLoss: { stopPrice: '199.99' } });

    const ledger = await h.ledger.listOrders();
    for (const req of h.broker.submitted) {
      const parent = ledger.find((o) => o.clientOrderId === req.clientOrderId)!;
      expect(parent).toMatchObject({ purpose: 'entry', status: 'new', submittedByRunId: 'run-1', expiresAt: CLOSE, stopLossPrice: req.stopLoss!.stopPrice });
      const legs = ledger.filter((o) => o.parentClientOrderId === req.clientOrderId);
      expect(legs).toHaveLength(1);
      expect(legs[0]).toMatchObject({ purpose: 'stop_loss', side: 'sell', type: 'stop', stopPrice: req.stopLoss!.stopPrice, qty: req.qty, status: 'held' });
    }
  });

  test('no allowed decisions: nothing read, nothing sent, an empty ORDERS artifact', async () => {
    await putDecisions('run-1', [decision(AAPL, false)]);
    expect(await ordersStep(state('run-1'), h.deps)).toMatchObject({ submitted: 0, blocked: 0 });
    expect(h.broker.calls).toEqual([]);
    expect(await placements('run-1')).toEqual([]);
  });
});
