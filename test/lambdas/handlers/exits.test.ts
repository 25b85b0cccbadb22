/**
 * Exits through the orders step (shared/flatten.ts) on real DynamoDB adapters and the scriptable
 * fake broker: risk-reducing orders go out whatever the kill switch or the latch says, and the
 * stop-loss leg is confirmed canceled before a closing sell is sent (never two sells for one
 * position). Also: the risk check pages CRITICAL when the broker connection is lost.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { deriveClientOrderId } from '../../../lambdas/core/client-order-id';
import type { RiskDecision } from '../../../lambdas/core/risk/kernel';
import { BrokerTransportError } from '../../../lambdas/ports';
import { ordersStep, type OrdersArtifact } from '../../../lambdas/handlers/orders';
import { riskCheckStep } from '../../../lambdas/handlers/risk-check';
import { ARTIFACTS, type PipelineState } from '../../../lambdas/handlers/shared/pipeline-state';
import { decisionsArtifact, entryDecision, startHandlerHarness, type HandlerHarness } from '../../support/fake-broker';

const DAY1 = '2018-02-06';
const DAY2 = '2018-02-07';

let h: HandlerHarness;
beforeEach(async () => {
  h = await startHandlerHarness({ now: '2018-02-06T14:45:00.000Z' });
});
afterEach(async () => {
  await h.stop();
});

const state = (runId: string, date: string): PipelineState => ({
  runId,
  strategyId: h.config.strategyId,
  tradingDate: date,
  session: { isSession: true, date, openUtc: `${date}T14:30:00.000Z`, closeUtc: `${date}T21:00:00.000Z` },
});
const entryId = (symbol: string) => deriveClientOrderId({ strategyId: h.config.strategyId, sessionDate: DAY1, symbol, side: 'buy', purpose: 'entry' });

function exitDecision(symbol: string, qty: string): RiskDecision {
  return { symbol, kind: 'exit', side: 'sell', action: 'sell_to_close', allowed: true, rule: 'EXIT', reason: `EXIT: sell ${qty} ${symbol} to close (flatten: test)`, qty, purpose: 'flatten' };
}

/** Day 1: AAPL 10 sh bought and held under its stop-loss leg. */
async function holdAapl(): Promise<void> {
  await h.artifacts.put('run-1', ARTIFACTS.decisions, decisionsArtifact([entryDecision({ symbol: 'AAPL', qty: 10, limitPrice: '160.50', stopLossPrice: '152.10' })], '2018-02-06T14:45:00.000Z'), new Date());
  await ordersStep(state('run-1', DAY1), h.deps);
  h.broker.fill(entryId('AAPL'), '160.20');
  h.clock.set('2018-02-07T14:45:00.000Z');
}

describe('exits are never gated', () => {
  test.each([
    ['kill switch HALTED', async () => h.killSwitch.write('HALTED')],
    ['latch HALTED', async () => h.tradingState.setLatch({ state: 'HALTED', cause: 'MAX_DRAWDOWN: test', since: '2018-02-07T14:00:00.000Z' })],
    ['day locked', async () => void (await h.tradingState.setDayLock({ date: DAY2, cause: 'DAILY_LOSS_LIMIT: test', since: '2018-02-07T14:40:00.000Z' }))],
  ])('%s: the stop leg is canceled (and confirmed) first, then the position is sold; entries stay blocked', async (_label, stop) => {
    await holdAapl();
    await stop();
    const artifact = decisionsArtifact([exitDecision('AAPL', '10'), entryDecision({ symbol: 'MSFT', qty: 20, limitPrice: '91.35', stopLossPrice: '86.02' })], '2018-02-07T14:45:00.000Z');
    await h.artifacts.put('run-2', ARTIFACTS.decisions, { ...artifact, flatten: { cause: 'MAX_DRAWDOWN: test' } }, new Date());

    const counts = await ordersStep(state('run-2', DAY2), h.deps);

    const placed = await h.artifacts.get<OrdersArtifact>('run-2', ARTIFACTS.orders);
    // The entry (still open in the ledger: nothing synced it since the fill) reads back filled; the
    // stop-loss leg is confirmed canceled.
    expect(placed.flatten!.cancels.map((c) => c.outcome)).toEqual(['filled_before_cancel', 'canceled']);
    const sellId = deriveClientOrderId({ strategyId: h.config.strategyId, sessionDate: DAY2, symbol: 'AAPL', side: 'sell', purpose: 'flatten' });
    expect(placed.flatten!.exits).toEqual([{ clientOrderId: sellId, symbol: 'AAPL', outcome: 'submitted' }]);
    const calls = h.broker.callsTo('submitOrder').map((c) => (c.args[0] as { clientOrderId: string }).clientOrderId);
    expect(calls).toEqual([entryId('AAPL'), sellId]); // no MSFT entry while stopped
    // Every cancel came before the closing sell.
    const log = (h.broker as unknown as { calls: Array<{ method: string; args: unknown[] }> }).calls;
    const sellIndex = log.findIndex((c) => c.method === 'submitOrder' && (c.args[0] as { clientOrderId: string }).clientOrderId === sellId);
    const lastCancel = log.map((c) => c.method).lastIndexOf('cancelOrder');
    expect(lastCancel).toBeGreaterThanOrEqual(0);
    expect(lastCancel).toBeLessThan(sellIndex);
    expect(h.broker.peek(sellId)).toMatchObject({ side: 'sell', type: 'market', timeInForce: 'day', orderClass: 'simple', qty: '10' });
    expect(counts.blocked).toBe(1);
  });

  test('an exit larger than the broker position sells only what is held (never a short)', async () => {
    await holdAapl();
    h.broker.overridePosition('AAPL', '4');
    await h.artifacts.put('run-2', ARTIFACTS.decisions, decisionsArtifact([exitDecision('AAPL', '10')], '2018-02-07T14:45:00.000Z'), new Date());
    await ordersStep(state('run-2', DAY2), h.deps);
    const sellId = deriveClientOrderId({ strategyId: h.config.strategyId, sessionDate: DAY2, symbol: 'AAPL', side: 'sell', purpose: 'flatten' });
    expect(h.broker.peek(sellId)?.qty).toBe('4');
  });
});

describe('broker connection lost', () => {
  test('the risk check pages CRITICAL BROKER_CONNECTION_LOST and decides nothing', async () => {
    const lost = new BrokerTransportError('network', 'ECONNRESET');
    for (let i = 0; i < 5; i++) h.broker.failNext('listOrders', lost).failNext('getAccount', lost).failNext('listPositions', lost);
    await expect(riskCheckStep(state('run-3', DAY2), h.deps)).rejects.toThrow();
    expect(h.alerts.ofType('BROKER_CONNECTION_LOST')).toEqual([expect.objectContaining({ severity: 'CRITICAL' })]);
    await expect(h.artifacts.get('run-3', ARTIFACTS.decisions)).rejects.toThrow(/not found/);
  });
});

describe('broker-side kill switch (suspend_trade)', () => {
  const fakeBroker = (initial: boolean, failSet = false) => {
    const calls: boolean[] = [];
    let suspended = initial;
    return {
      calls,
      broker: {
        getTradeSuspended: async () => suspended,
        setTradeSuspended: async (on: boolean) => {
          calls.push(on);
          if (failSet) throw new Error('403 forbidden');
          suspended = on;
        },
      } as unknown as import('../../../lambdas/ports').BrokerPort,
    };
  };
  const alerts: Array<[string, string]> = [];
  const alert = async (severity: 'HIGH' | 'INFO', type: string) => void alerts.push([severity, type]);

  test('follows the kill switch: on while HALTED, off otherwise; unchanged values are not re-sent', async () => {
    const { syncBrokerSuspension } = await import('../../../lambdas/handlers/risk-check');
    const a = fakeBroker(false);
    expect(await syncBrokerSuspension(a.broker, true, alert)).toBe('suspend_trade=true (changed)');
    expect(await syncBrokerSuspension(a.broker, true, alert)).toBe('suspend_trade=true');
    expect(await syncBrokerSuspension(a.broker, false, alert)).toBe('suspend_trade=false (changed)');
    expect(a.calls).toEqual([true, false]);
  });

  test('a broker without it, or a refused change, never stops the run; the failure is a HIGH alert', async () => {
    const { syncBrokerSuspension } = await import('../../../lambdas/handlers/risk-check');
    expect(await syncBrokerSuspension({} as import('../../../lambdas/ports').BrokerPort, true, alert)).toMatch(/no suspend_trade/);
    alerts.length = 0;
    expect(await syncBrokerSuspension(fakeBroker(false, true).broker, true, alert)).toMatch(/could not set suspend_trade=true: 403 forbidden/);
    expect(alerts).toEqual([['HIGH', 'BROKER_SUSPEND_FAILED']]);
  });
});

describe('the daily-loss ladder on the closing equity (cancel-verify)', () => {
  // The morning check sees the loss up to 09:45 only; after the close the day's whole loss is judged.
  test.each([
    ['97999.99', 'CRITICAL', 'DAILY_LOSS_LIMIT', 'hard'], // -2.00001%
    ['98000', 'CRITICAL', 'DAILY_LOSS_LIMIT', 'hard'], // exactly -2%
    ['98999', 'HIGH', 'DAILY_LOSS', 'ok'], // -1.001%: beyond half the limit
    ['99001', undefined, undefined, 'ok'], // -0.999%
  ] as const)('closing equity %s after 100,000: %s %s', async (equity, severity, type, rung) => {
    const { cancelVerifyStep } = await import('../../../lambdas/handlers/cancel-verify');
    await h.tradingState.putEquity({ date: DAY1, equity: '100000', cash: '100000', at: '2018-02-06T21:15:00.000Z' });
    h.broker.account = { ...h.broker.account, equity, cash: equity };
    h.clock.set('2018-02-07T21:15:00.000Z');
    await cancelVerifyStep(state('run-4', DAY2), h.deps);
    const loss = h.alerts.published.filter((a) => a.type === 'DAILY_LOSS' || a.type === 'DAILY_LOSS_LIMIT');
    expect(loss.map((a) => [a.severity, a.type])).toEqual(severity ? [[severity, type]] : []);
    const verified = await h.artifacts.get<{ dailyLoss: { rung: string } }>('run-4', ARTIFACTS.verification);
    expect(verified.dailyLoss.rung).toBe(rung);
    expect((await h.tradingState.listEquity('2018-02-08', 1))[0]).toMatchObject({ date: DAY2, equity });
  });
});
