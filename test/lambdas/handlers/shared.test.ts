/**
 * Shared handler plumbing: the kill-switch read (fails closed), the Lambda middleware (a bad
 * event fails naming the field and value), and the ledger/broker sync under concurrency.
 */
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { entryOrder } from '../../support/orders';
import { intentRecord, type LedgerOrder } from '../../../lambdas/core/ledger';
import { toSubmitRequest } from '../../../lambdas/core/order';
import type { KillSwitchPort } from '../../../lambdas/ports';
import { readKillSwitch } from '../../../lambdas/handlers/shared/kill-switch';
import { InputValidationError, makeStepHandler } from '../../../lambdas/handlers/shared/middleware';
import { syncWithBroker } from '../../../lambdas/handlers/shared/order-sync';
import { PipelineStateSchema } from '../../../lambdas/handlers/shared/pipeline-state';
import type { Deps } from '../../../lambdas/wiring/deps';
import { FakeKillSwitch, startHandlerHarness, type HandlerHarness } from '../../support/fake-broker';

describe('readKillSwitch fails closed', () => {
  test.each([
    ['the port rejects', { read: async () => Promise.reject(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' })), write: async () => {} }],
    ['the port throws synchronously', { read: () => { throw Object.assign(new Error('socket timeout'), { name: 'TimeoutError' }); }, write: async () => {} }],
  ] as Array<[string, KillSwitchPort]>)('%s: HALTED with failedClosed and the error in the reason, never a throw', async (_label, port) => {
    const status = await readKillSwitch(port);
    expect(status.state).toBe('HALTED');
    expect(status.failedClosed).toBe(true);
    expect(status.reason).toMatch(/AccessDeniedException: User is not authorized|TimeoutError: socket timeout/);
    expect(status.reason).toMatch(/treated as HALTED/);
  });

  test('a port that throws a non-Error still yields HALTED', async () => {
    const status = await readKillSwitch({ read: () => Promise.reject('boom'), write: async () => {} });
    expect(status).toMatchObject({ state: 'HALTED', failedClosed: true });
    expect(status.reason).toContain('boom');
  });

  test.each([
    ['', 'HALTED', true],
    ['armed', 'HALTED', true],
    ['ARMED ', 'ARMED', false],
    ['\nREDUCE_ONLY\n', 'REDUCE_ONLY', false],
    ['HALTED', 'HALTED', false],
  ])('value %j reads as %s (failedClosed %s)', async (value, state, failedClosed) => {
    const status = await readKillSwitch(new FakeKillSwitch(value, '2018-02-07T13:00:00.000Z'));
    expect(status).toMatchObject({ state, failedClosed });
  });

  test('reads are never cached: a flip between two reads is seen', async () => {
    const port = new FakeKillSwitch('ARMED');
    expect((await readKillSwitch(port)).state).toBe('ARMED');
    port.value = 'HALTED';
    expect((await readKillSwitch(port)).state).toBe('HALTED');
    expect(port.reads).toBe(2);
  });
});

describe('makeStepHandler: the event is validated at the boundary', () => {
  const context = {
    functionName: 'orders',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:orders',
    memoryLimitInMB: '256',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/orders',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  } as unknown as Context;
  const goodEvent = {
    runId: 'run-1',
    strategyId: 'momo1',
    tradingDate: '2018-02-07',
    session: { isSession: true, date: '2018-02-07' },
  };

  function setup() {
    const step = vi.fn(async (input: unknown, _deps: Deps) => ({ ok: true, input }));
    const deps = { marker: 'deps' } as unknown as Deps;
    const getDeps = vi.fn(() => deps);
    const handler = makeStepHandler('orders', PipelineStateSchema, step, getDeps);
    return { step, getDeps, deps, handler };
  }

  test.each([
    ['tradingDate', { ...goodEvent, tradingDate: '2018-2-7' }, 'tradingDate="2018-2-7"'],
    ['session.date', { ...goodEvent, session: { isSession: true, date: 20180207 } }, 'session.date=20180207'],
    ['runId (missing)', { ...goodEvent, runId: undefined }, 'runId=undefined'],
    ['session.isSession', { ...goodEvent, session: { isSession: 'yes', date: '2018-02-07' } }, 'session.isSession="yes"'],
  ])('a bad %s fails with InputValidationError naming the field and value; the step never runs', async (_field, event, expected) => {
    const { step, getDeps, handler } = setup();
    const result = handler(event, context);
    await expect(result).rejects.toBeInstanceOf(InputValidationError);
    await expect(handler(event, context)).rejects.toMatchObject({ name: 'InputValidationError' });
    await expect(handler(event, context)).rejects.toThrow(expected);
    await expect(handler(event, context)).rejects.toThrow(/^orders: invalid input: /);
    expect(step).not.toHaveBeenCalled();
    expect(getDeps).not.toHaveBeenCalled();
  });

  test('a non-object event fails the same way', async () => {
    const { step, handler } = setup();
    await expect(handler('run-1', context)).rejects.toThrow(/orders: invalid input: \(root\)="run-1"/);
    expect(step).not.toHaveBeenCalled();
  });

  test('a valid event reaches the step with the parsed state and the deps', async () => {
    const { step, deps, handler } = setup();
    const out = await handler({ ...goodEvent, riskCheck: { allowed: 1 } }, context);
    expect(out).toMatchObject({ ok: true });
    expect(step).toHaveBeenCalledTimes(1);
    expect(step.mock.calls[0]![0]).toEqual({ ...goodEvent, riskCheck: { allowed: 1 } });
    expect(step.mock.calls[0]![1]).toBe(deps);
  });
});

describe('syncWithBroker under concurrency', () => {
  let h: HandlerHarness;
  beforeEach(async () => {
    h = await startHandlerHarness({ now: '2018-02-07T21:15:00.000Z' });
  });
  afterEach(async () => {
    await h.stop();
  });

  const ctx = (runId: string) => ({ runId, tradingDate: '2018-02-07', now: '2018-02-07T21:15:00.000Z' });

  async function filledOrder(): Promise<{ record: LedgerOrder }> {
    const order = entryOrder();
    const record = intentRecord(order, 'run-0', '2018-02-07T14:00:00.000Z');
    await h.ledger.putIntent(record);
    h.broker.seed(toSubmitRequest(order));
    h.broker.fill(order.clientOrderId, '160.40');
    return { record };
  }

  test('several executions syncing the same fill at once: one fill item, one leg, no VersionConflictError', async () => {
    const { record } = await filledOrder();
    const broker = h.broker.peek(record.clientOrderId)!;

    const results = await Promise.all(['a', 'b', 'c', 'd'].map((r) => syncWithBroker(h.deps, record, broker, ctx(`run-${r}`))));

    expect(await h.ledger.listFills()).toHaveLength(1);
    expect(results.flatMap((r) => r.fills)).toHaveLength(1);
    expect(await h.ledger.get(record.clientOrderId)).toMatchObject({ status: 'filled', filledQty: '10', brokerOrderId: broker.id });
    const legs = (await h.ledger.listOrders()).filter((o) => o.parentClientOrderId === record.clientOrderId);
    expect(legs).toHaveLength(1);
    expect(h.alerts.published).toEqual([]);
  });

  test('a stale record (the ledger moved on) is re-read and re-applied instead of failing or double-counting', async () => {
    const { record } = await filledOrder();
    const broker = h.broker.peek(record.clientOrderId)!;
    await syncWithBroker(h.deps, record, broker, ctx('run-a'));

    const again = await syncWithBroker(h.deps, record /* version 1, stale */, broker, ctx('run-b'));

    expect(again.fills).toEqual([]);
    expect(again.record).toMatchObject({ status: 'filled', filledQty: '10' });
    expect(await h.ledger.listFills()).toHaveLength(1);
    expect(h.alerts.published).toEqual([]);
  });
});
