/**
 * cancel-verify on real DynamoDB adapters (dynalite) with a scriptable fake broker: syncing fills,
 * confirmed cancels, cancels that race fills, late fills, reconciliation and stop protection.
 * Orders get into the ledger the way production puts them there: through ordersStep.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { entryOrder } from '../../support/orders';
import { deriveClientOrderId } from '../../../lambdas/core/client-order-id';
import { INITIAL_TRADING_STATE } from '../../../lambdas/core/kill-switch';
import { intentRecord } from '../../../lambdas/core/ledger';
import { toSubmitRequest } from '../../../lambdas/core/order';
import { cancelVerifyStep, LATE_FILL_LOOKBACK_MS, type VerificationArtifact } from '../../../lambdas/handlers/cancel-verify';
import { ordersStep } from '../../../lambdas/handlers/orders';
import { CANCEL_POLL_DELAYS_MS } from '../../../lambdas/handlers/shared/cancel-and-verify';
import { ARTIFACTS, type PipelineState } from '../../../lambdas/handlers/shared/pipeline-state';
import {
  decisionsArtifact,
  entryDecision,
  networkError,
  startHandlerHarness,
  type HandlerHarness,
  type PlannedEntry,
} from '../../support/fake-broker';

const DAY1 = '2018-02-07';
const DAY2 = '2018-02-08';
const PRE_OPEN = `${DAY1}T14:00:00.000Z`;
const MIDDAY = `${DAY1}T18:00:00.000Z`;
const CLOSE1 = `${DAY1}T21:00:00.000Z`;
const AFTER_CLOSE1 = `${DAY1}T21:15:00.000Z`;
const AFTER_CLOSE2 = `${DAY2}T21:15:00.000Z`;

const AAPL: PlannedEntry = { symbol: 'AAPL', qty: 10, limitPrice: '160.50', stopLossPrice: '152.10' };
const MSFT: PlannedEntry = { symbol: 'MSFT', qty: 20, limitPrice: '91.35', stopLossPrice: '86.02' };

let h: HandlerHarness;
beforeEach(async () => {
  h = await startHandlerHarness({ now: PRE_OPEN });
});
afterEach(async () => {
  await h.stop();
});

function state(runId: string, tradingDate = DAY1): PipelineState {
  return {
    runId,
    strategyId: h.config.strategyId,
    tradingDate,
    session: { isSession: true, date: tradingDate, openUtc: `${tradingDate}T14:30:00.000Z`, closeUtc: `${tradingDate}T21:00:00.000Z` },
  };
}

const entryId = (symbol: string, date = DAY1) =>
  deriveClientOrderId({ strategyId: h.config.strategyId, sessionDate: date, symbol, side: 'buy', purpose: 'entry' });

/** Places entries for DAY1 through the real orders step (ledger + fake broker). */
async function place(...entries: PlannedEntry[]): Promise<void> {
  h.clock.set(PRE_OPEN);
  await h.artifacts.put('run-1', ARTIFACTS.decisions, decisionsArtifact(entries.map((e) => entryDecision(e)), PRE_OPEN), new Date(PRE_OPEN));
  const counts = await ordersStep(state('run-1'), h.deps);
  expect(counts.submitted).toBe(entries.length);
}

async function verify(at: string, runId = 'run-1', tradingDate = DAY1) {
  h.clock.set(at);
  const summary = await cancelVerifyStep(state(runId, tradingDate), h.deps);
  const artifact = await h.artifacts.get<VerificationArtifact>(runId, ARTIFACTS.verification);
  return { summary, artifact };
}

const legOf = (clientOrderId: string) => h.broker.peek(clientOrderId)!.legs[0]!;
const severe = () => h.alerts.published.filter((a) => a.severity === 'CRITICAL' || a.severity === 'HIGH');

describe('cancel raced a fill (BUG-100 family)', () => {
  test.each([
    ['the cancel answers 422 not cancelable', 'fill-then-422'],
    ['the cancel is accepted but the read-back shows filled', 'accepted-but-filled'],
  ] as const)('%s: the fill is recorded once, status filled, MEDIUM alert, and no exit is ever sent', async (_label, kind) => {
    await place(AAPL);
    h.broker.scriptCancel(entryId('AAPL'), { kind, price: '160.40' });

    const { summary, artifact } = await verify(AFTER_CLOSE1);

    expect(summary).toMatchObject({ cancelRacedFill: 1, canceled: 0, fillsRecorded: 1, mismatches: 0, unprotected: 0 });
    expect(artifact.cancels).toEqual([{ clientOrderId: entryId('AAPL'), symbol: 'AAPL', outcome: 'filled_before_cancel', filledQty: '10' }]);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '160.4' });
    expect(await h.ledger.listFills()).toEqual([
      expect.objectContaining({ clientOrderId: entryId('AAPL'), side: 'buy', purpose: 'entry', qty: '10', price: '160.4', cumulativeQty: '10' }),
    ]);
    const [raced] = h.alerts.ofType('CANCEL_RACED_FILL');
    expect(raced).toMatchObject({ severity: 'MEDIUM' });
    expect(raced!.message).toContain(entryId('AAPL'));
    expect(severe()).toEqual([]);
    // The stop-loss leg now works and protects the position; its ledger record follows.
    const leg = (await h.ledger.listOrders()).find((o) => o.parentClientOrderId === entryId('AAPL'));
    expect(leg).toMatchObject({ purpose: 'stop_loss', status: 'new' });
    expect(await h.tradingState.getLatch()).toEqual(INITIAL_TRADING_STATE);

    // Next day: nothing new — no second fill, no second alert, no second cancel, and still no exit.
    await verify(AFTER_CLOSE2, 'run-2', DAY2);
    expect(await h.ledger.listFills()).toHaveLength(1);
    expect(h.alerts.ofType('CANCEL_RACED_FILL')).toHaveLength(1);
    expect(h.broker.callsTo('cancelOrder')).toHaveLength(1);
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1); // the entry itself, from ordersStep
    expect(severe()).toEqual([]);
  });

  test('a partial fill before a confirmed cancel is recorded with its qty and reported', async () => {
    await place(AAPL);
    h.broker.scriptCancel(entryId('AAPL'), { kind: 'accepted-but-filled', price: '160.45', qty: '4' });

    const { summary, artifact } = await verify(AFTER_CLOSE1);

    expect(summary).toMatchObject({ cancelRacedFill: 1, fillsRecorded: 1, mismatches: 0 });
    expect(artifact.cancels[0]).toMatchObject({ outcome: 'partially_filled_then_canceled', filledQty: '4' });
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'canceled', filledQty: '4' });
    expect((await h.ledger.listFills()).map((f) => f.qty)).toEqual(['4']);
    expect(h.alerts.ofType('CANCEL_RACED_FILL')).toHaveLength(1);
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1);
  });
});

describe('confirmed cancels', () => {
  test('an expired entry is cancelled and recorded canceled only after the read-back confirms it', async () => {
    await place(AAPL, MSFT);

    const { summary, artifact } = await verify(AFTER_CLOSE1);

    expect(summary).toMatchObject({ canceled: 2, cancelRacedFill: 0, fillsRecorded: 0, mismatches: 0, unprotected: 0 });
    for (const symbol of ['AAPL', 'MSFT']) {
      const broker = h.broker.peek(entryId(symbol))!;
      const methods = h.broker.calls.filter((c) => c.args[0] === broker.id).map((c) => c.method);
      expect(methods.lastIndexOf('getOrder')).toBeGreaterThan(methods.indexOf('cancelOrder'));
      expect(await h.ledger.get(entryId(symbol))).toMatchObject({ status: 'canceled' });
      const leg = (await h.ledger.listOrders()).find((o) => o.parentClientOrderId === entryId(symbol));
      expect(leg).toMatchObject({ status: 'canceled' });
    }
    expect(artifact.cancels.map((c) => c.outcome)).toEqual(['canceled', 'canceled']);
    // The only alert is the fill-rate one (0 of 2 entries filled today, issue #4 spec); nothing about the cancels.
    expect(h.alerts.published.map((a) => a.type)).toEqual(['FILL_RATE']);
  });

  test('a cancel still pending after the bounded read-backs is UNRESOLVED: HALTED + CRITICAL, never recorded canceled; the next run finishes it', async () => {
    await place(AAPL);
    h.broker.scriptCancel(entryId('AAPL'), { kind: 'pending' });
    h.clock.set(AFTER_CLOSE1);

    await expect(cancelVerifyStep(state('run-1'), h.deps)).rejects.toThrow(/CANCEL_UNRESOLVED/);

    const first = await h.artifacts.get<VerificationArtifact>('run-1', ARTIFACTS.verification);
    expect(first.cancels).toEqual([{ clientOrderId: entryId('AAPL'), symbol: 'AAPL', outcome: 'unresolved' }]);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'pending_cancel' });
    expect(await h.tradingState.getLatch()).toMatchObject({ state: 'HALTED', cause: expect.stringMatching(/^CANCEL_UNRESOLVED: .*AAPL.* still pending_cancel/) });
    expect(h.alerts.ofType('CANCEL_UNRESOLVED')).toEqual([expect.objectContaining({ severity: 'CRITICAL' })]);
    // Polled a bounded number of times, never a second order.
    const brokerId = h.broker.peek(entryId('AAPL'))!.id;
    expect(h.broker.callsTo('getOrder').filter((c) => c.args[0] === brokerId).length).toBeLessThanOrEqual(CANCEL_POLL_DELAYS_MS.length + 2);

    h.broker.completeCancel(entryId('AAPL'));
    await verify(AFTER_CLOSE2, 'run-2', DAY2);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'canceled' });
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1);
  });

  test('a cancel lost in transport is re-sent once the read-back shows the order still working, then confirmed', async () => {
    await place(AAPL);
    h.broker.scriptCancel(entryId('AAPL'), { kind: 'error', error: networkError() });

    const { summary, artifact } = await verify(AFTER_CLOSE1);

    expect(h.broker.callsTo('cancelOrder')).toHaveLength(2);
    expect(artifact.cancels).toEqual([{ clientOrderId: entryId('AAPL'), symbol: 'AAPL', outcome: 'canceled' }]);
    expect(summary.canceled).toBe(1);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'canceled' });
    expect(severe().map((a) => a.type)).toEqual(['FILL_RATE']); // 0 of 1 entries filled today (issue #4 spec)
  });

  test('a cancel that keeps failing leaves the order as the broker shows it (never recorded canceled), HALTED + CRITICAL', async () => {
    await place(AAPL);
    h.broker.failNext('cancelOrder', networkError()).failNext('cancelOrder', networkError());
    h.clock.set(AFTER_CLOSE1);

    await expect(cancelVerifyStep(state('run-1'), h.deps)).rejects.toThrow(/CANCEL_UNRESOLVED/);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'new' });
    expect((await h.tradingState.getLatch()).state).toBe('HALTED');
    expect(h.alerts.ofType('CANCEL_UNRESOLVED')).toHaveLength(1);
  });

  test('one failed cancel does not skip reconciliation or the protection check: the step fails after them', async () => {
    await place(AAPL);
    h.broker.failNext('cancelOrder', networkError()).failNext('cancelOrder', networkError());
    h.broker.overridePosition('TSLA', '5'); // a position the ledger never saw
    h.clock.set(AFTER_CLOSE1);

    await expect(cancelVerifyStep(state('run-1'), h.deps)).rejects.toThrow(/could not sync or cancel 1 order\(s\): cancel .*AAPL.*CANCEL_UNRESOLVED/);
    expect((await h.tradingState.getLatch()).cause).toContain('TSLA ledger 0 vs broker 5');
    expect(h.alerts.ofType('RECONCILIATION_MISMATCH')).toHaveLength(1);
    expect(h.alerts.ofType('UNPROTECTED_POSITION')).toHaveLength(1);
    const artifact = await h.artifacts.get<VerificationArtifact>('run-1', ARTIFACTS.verification);
    expect(artifact.errors).toHaveLength(1);
  });

  test('entries before their expiresAt are not cancelled', async () => {
    await place(AAPL);
    const { summary } = await verify(MIDDAY);
    expect(h.broker.callsTo('cancelOrder')).toEqual([]);
    expect(summary.canceled).toBe(0);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'new', expiresAt: CLOSE1 });
  });

  test('an entry living two sessions (entryTtlSessions 2) survives the first close and is cancelled after the second', async () => {
    await h.stop();
    h = await startHandlerHarness({ now: PRE_OPEN, config: { entryTtlSessions: 2 } });
    await place(AAPL);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ expiresAt: `${DAY2}T21:00:00.000Z` });

    await verify(AFTER_CLOSE1);
    expect(h.broker.callsTo('cancelOrder')).toEqual([]);

    await verify(AFTER_CLOSE2, 'run-2', DAY2);
    expect(h.broker.callsTo('cancelOrder')).toHaveLength(1);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'canceled' });
  });
});

describe('fills nobody asked for', () => {
  test('LATE FILL after a confirmed cancel is a fill: recorded + CRITICAL LATE_FILL, no exit sent', async () => {
    await place(AAPL);
    await verify(AFTER_CLOSE1);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'canceled' });

    h.broker.lateFill(entryId('AAPL'), '160.30');
    const { summary } = await verify(AFTER_CLOSE2, 'run-2', DAY2);

    expect(await h.ledger.listFills()).toEqual([expect.objectContaining({ clientOrderId: entryId('AAPL'), qty: '10', price: '160.3' })]);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'filled', filledQty: '10' });
    const [late] = h.alerts.ofType('LATE_FILL');
    expect(late).toMatchObject({ severity: 'CRITICAL' });
    expect(late!.message).toMatch(/filled 10 more after the ledger saw canceled; applied as a fill/);
    // The fill is in the ledger, so the books agree; but its stop leg died with the cancel.
    expect(summary.mismatches).toBe(0);
    expect(await h.tradingState.getLatch()).toEqual(INITIAL_TRADING_STATE);
    expect(h.alerts.ofType('UNPROTECTED_POSITION')).toHaveLength(1);
    expect(h.broker.callsTo('submitOrder')).toHaveLength(1);

    // Recorded once: a third run changes nothing.
    await verify(`${DAY2}T22:00:00.000Z`, 'run-3', DAY2);
    expect(await h.ledger.listFills()).toHaveLength(1);
    expect(h.alerts.ofType('LATE_FILL')).toHaveLength(1);
  });

  test('a late fill older than the lookback is not re-read, and still cannot hide: reconciliation halts trading', async () => {
    await place(AAPL);
    await verify(AFTER_CLOSE1);
    h.broker.lateFill(entryId('AAPL'), '160.30');
    const later = new Date(Date.parse(AFTER_CLOSE1) + LATE_FILL_LOOKBACK_MS + 86_400_000).toISOString();
    h.broker.calls.length = 0;

    const { summary } = await verify(later, 'run-9');

    expect(h.broker.callsTo('getOrder')).toEqual([]);
    expect(summary.mismatches).toBe(1);
    expect((await h.tradingState.getLatch()).state).toBe('HALTED');
  });

  test('a fill during the session and a later stop-out are both recorded; the books agree at flat', async () => {
    await place(AAPL);
    h.clock.set(MIDDAY);
    h.broker.fill(entryId('AAPL'), '160.20');
    const first = await verify(AFTER_CLOSE1);
    expect(first.summary).toMatchObject({ fillsRecorded: 1, canceled: 0, mismatches: 0, unprotected: 0 });
    expect(h.broker.callsTo('cancelOrder')).toEqual([]);

    h.clock.set(`${DAY2}T15:00:00.000Z`);
    h.broker.fill(legOf(entryId('AAPL')).clientOrderId, '151.90');
    const second = await verify(AFTER_CLOSE2, 'run-2', DAY2);

    expect(second.summary).toMatchObject({ fillsRecorded: 1, mismatches: 0, unprotected: 0 });
    const fills = await h.ledger.listFills();
    expect(fills.map((f) => [f.side, f.purpose, f.qty, f.price]).sort()).toEqual([
      ['buy', 'entry', '10', '160.2'],
      ['sell', 'stop_loss', '10', '151.9'],
    ]);
    expect(severe()).toEqual([]);
  });

  test('an order the ledger has but the broker does not know raises CRITICAL ORDER_MISSING_AT_BROKER', async () => {
    await place(AAPL);
    h.broker.hide(entryId('AAPL'));
    await verify(MIDDAY);
    const [missing] = h.alerts.ofType('ORDER_MISSING_AT_BROKER');
    expect(missing).toMatchObject({ severity: 'CRITICAL' });
    expect(missing!.message).toContain(entryId('AAPL'));
  });
});

describe('reconciliation', () => {
  test('ledger fills vs broker positions mismatch: latch HALTED naming symbol and both quantities, CRITICAL', async () => {
    await place(AAPL);
    h.clock.set(MIDDAY);
    h.broker.fill(entryId('AAPL'), '160.20');
    h.broker.overridePosition('AAPL', '7'); // broker shows 7, ledger will hold 10
    h.broker.overridePosition('TSLA', '5'); // a position the ledger never saw

    const { summary, artifact } = await verify(AFTER_CLOSE1);

    expect(summary.mismatches).toBe(2);
    expect(artifact.mismatches).toEqual([
      { kind: 'quantity_mismatch', symbol: 'AAPL', ledgerQty: '10', brokerQty: '7' },
      { kind: 'broker_only', symbol: 'TSLA', ledgerQty: '0', brokerQty: '5' },
    ]);
    const latch = await h.tradingState.getLatch();
    expect(latch.state).toBe('HALTED');
    expect(latch.cause.startsWith('RECONCILIATION_MISMATCH:')).toBe(true);
    expect(latch.cause).toContain('AAPL ledger 10 vs broker 7');
    expect(latch.cause).toContain('TSLA ledger 0 vs broker 5');
    expect(latch.since).toBe(AFTER_CLOSE1);
    const [alert] = h.alerts.ofType('RECONCILIATION_MISMATCH');
    expect(alert).toMatchObject({ severity: 'CRITICAL' });
    expect(alert!.message).toContain('AAPL ledger 10 vs broker 7');
  });

  test('agreement leaves the latch untouched (and does not clear an earlier halt)', async () => {
    await place(AAPL);
    h.clock.set(MIDDAY);
    h.broker.fill(entryId('AAPL'), '160.20');
    await verify(AFTER_CLOSE1);
    expect(await h.tradingState.getLatch()).toEqual(INITIAL_TRADING_STATE);
    expect(h.alerts.ofType('RECONCILIATION_MISMATCH')).toEqual([]);

    const halted = { state: 'HALTED' as const, cause: 'RECONCILIATION_MISMATCH: earlier', since: AFTER_CLOSE1 };
    await h.tradingState.setLatch(halted);
    await verify(AFTER_CLOSE2, 'run-2', DAY2);
    expect(await h.tradingState.getLatch()).toEqual(halted);
  });
});

describe('stop-loss protection', () => {
  test('a long position without a working sell stop raises CRITICAL UNPROTECTED_POSITION', async () => {
    await place(AAPL);
    h.clock.set(MIDDAY);
    h.broker.fill(entryId('AAPL'), '160.20');
    h.broker.setStatus(legOf(entryId('AAPL')).clientOrderId, 'canceled'); // someone cancelled the stop

    const { summary, artifact } = await verify(AFTER_CLOSE1);

    expect(summary.unprotected).toBe(1);
    expect(artifact.unprotected).toEqual([{ symbol: 'AAPL', qty: '10', protectedQty: '0' }]);
    const [alert] = h.alerts.ofType('UNPROTECTED_POSITION');
    expect(alert).toMatchObject({ severity: 'CRITICAL' });
    expect(alert!.message).toContain('AAPL');
  });

  test('a position covered by its working stop leg raises nothing', async () => {
    await place(AAPL);
    h.clock.set(MIDDAY);
    h.broker.fill(entryId('AAPL'), '160.20');
    const { summary } = await verify(AFTER_CLOSE1);
    expect(summary.unprotected).toBe(0);
    expect(h.alerts.ofType('UNPROTECTED_POSITION')).toEqual([]);
  });
});

describe('intents that never reached the broker', () => {
  const intentFor = (e: PlannedEntry) =>
    entryOrder({ symbol: e.symbol, strategyId: h.config.strategyId, tradingDate: DAY1, qty: e.qty, limitPrice: e.limitPrice, stopLossPrice: e.stopLossPrice, expiresAt: CLOSE1 });

  test('a pending_submit intent not at the broker and past expiresAt is closed as expired', async () => {
    await h.ledger.putIntent(intentRecord(intentFor(AAPL), 'run-crashed', PRE_OPEN));
    await verify(AFTER_CLOSE1);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'expired', brokerOrderId: null });
    expect(h.broker.callsTo('submitOrder')).toEqual([]);
    expect(h.broker.callsTo('cancelOrder')).toEqual([]);
    expect(severe()).toEqual([]);
  });

  test('a pending_submit intent before expiresAt is left for the orders step', async () => {
    await h.ledger.putIntent(intentRecord(intentFor(AAPL), 'run-crashed', PRE_OPEN));
    await verify(MIDDAY);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'pending_submit' });
    expect(h.broker.callsTo('submitOrder')).toEqual([]);
  });

  test('a pending_submit intent the broker does have is adopted, then cancelled if expired', async () => {
    const order = intentFor(AAPL);
    await h.ledger.putIntent(intentRecord(order, 'run-crashed', PRE_OPEN));
    const atBroker = h.broker.seed(toSubmitRequest(order));

    const { summary } = await verify(AFTER_CLOSE1);

    expect(summary.canceled).toBe(1);
    expect(await h.ledger.get(entryId('AAPL'))).toMatchObject({ status: 'canceled', brokerOrderId: atBroker.id });
    expect(h.broker.callsTo('submitOrder')).toEqual([]);
  });
});
