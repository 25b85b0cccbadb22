import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimClock } from '../../lambdas/adapters/clock';
import { executeLocally, loadAsl, placeholdersOf } from '../../local/asl';

const ASL_FILE = resolve(import.meta.dirname, '../../state-machines/trading-pipeline.asl.json');
const STEPS = ['FetchFunctionArn', 'FeaturesFunctionArn', 'PredictFunctionArn', 'RiskCheckFunctionArn', 'OrdersFunctionArn', 'CancelVerifyFunctionArn'];

describe('state-machines/trading-pipeline.asl.json', () => {
  it('chains the six steps in order, with the wait for the close before cancel-verify', async () => {
    const { definition } = await loadAsl(ASL_FILE);
    const path: string[] = [];
    let name: string | undefined = definition.StartAt;
    while (name) {
      path.push(name);
      const state: { Next?: string; Default?: string } = definition.States[name] as never;
      name = state.Next ?? state.Default;
    }
    // The default path skips the end-of-day flatten (off for daily strategies).
    expect(path).toEqual(['Fetch', 'IsTradingSession', 'Features', 'Predict', 'RiskCheck', 'PlaceOrders', 'IsEndOfDayFlatten', 'WaitForSessionClose', 'CancelVerify', 'AfterVerify', 'Done']);
  });

  it('with endOfDayUtc set, waits for it, decides the end-of-day exits and flattens before the close wait', async () => {
    const { definition } = await loadAsl(ASL_FILE);
    const choice = definition.States.IsEndOfDayFlatten as unknown as { Choices: Array<{ Variable: string; IsPresent: boolean; Next: string }> };
    expect(choice.Choices).toEqual([{ Variable: '$.session.endOfDayUtc', IsPresent: true, Next: 'WaitForEndOfDay' }]);
    expect(definition.States.WaitForEndOfDay).toMatchObject({ Type: 'Wait', TimestampPath: '$.session.endOfDayUtc', Next: 'EndOfDayRiskCheck' });
    expect(definition.States.EndOfDayRiskCheck).toMatchObject({ Resource: '${RiskCheckFunctionArn}', Next: 'EndOfDayFlatten' });
    expect(definition.States.EndOfDayFlatten).toMatchObject({ Resource: '${OrdersFunctionArn}', Next: 'WaitForSessionClose' });
    for (const name of ['EndOfDayRiskCheck', 'EndOfDayFlatten']) {
      expect((definition.States[name] as unknown as { Parameters: Record<string, unknown> }).Parameters.action, name).toBe('end_of_day');
    }
  });

  it('routes every step failure to an alert; a failed placement still reaches cancel-verify', async () => {
    const { definition } = await loadAsl(ASL_FILE);
    const catchOf = (name: string) => (definition.States[name] as { Catch?: Array<{ Next: string }> }).Catch?.[0]?.Next;
    for (const name of ['Fetch', 'Features', 'Predict', 'RiskCheck', 'CancelVerify']) expect(catchOf(name), name).toBe('NotifyFailure');
    expect(catchOf('PlaceOrders')).toBe('NotifyOrdersFailure');
    expect(definition.States.NotifyOrdersFailure!.Next).toBe('IsEndOfDayFlatten');
    for (const name of ['EndOfDayRiskCheck', 'EndOfDayFlatten']) expect(catchOf(name), name).toBe('NotifyEndOfDayFailure');
    expect(definition.States.NotifyEndOfDayFailure!.Next).toBe('WaitForSessionClose');
    expect(definition.States.NotifyFailure!.Next).toBe('ExecutionFailed');
  });

  it('uses exactly the placeholders the stack substitutes', async () => {
    const { text } = await loadAsl(ASL_FILE);
    expect(placeholdersOf(text)).toEqual([...STEPS, 'AlertTopicArn'].sort());
  });
});

describe('executeLocally', () => {
  const noAlerts = { 'arn:aws:states:::sns:publish': async () => ({ MessageId: 'unused' }) };
  const sessionState = {
    runId: 'r',
    strategyId: 's',
    tradingDate: '2018-02-07',
    session: { isSession: true, date: '2018-02-07', verifyAfterUtc: '2018-02-07T21:15:00.000Z' },
  };

  it('runs every step in-process and jumps the simulated clock to the Wait timestamp before the next step', async () => {
    const { text } = await loadAsl(ASL_FILE);
    const clock = new SimClock(new Date('2018-02-07T14:00:00.000Z'));
    const seen: Array<[string, string]> = [];
    const step = (name: string, output: unknown) => async (input: unknown) => {
      seen.push([name, clock.now().toISOString()]);
      return name === 'FetchFunctionArn' ? { ...sessionState, input } : output;
    };
    const functions = Object.fromEntries(STEPS.map((s) => [s, step(s, { ok: s })]));
    const output = (await executeLocally(text, { tradingDate: '2018-02-07' }, { functions, integrations: noAlerts, clock }, { name: 'exec-1', startTime: '2018-02-07T14:00:00.000Z' })) as Record<string, unknown>;
    expect(seen.map(([n]) => n)).toEqual(STEPS);
    expect(seen.slice(0, 5).every(([, t]) => t === '2018-02-07T14:00:00.000Z')).toBe(true);
    expect(seen[5]![1]).toBe('2018-02-07T21:15:00.000Z');
    expect(output.cancelVerify).toEqual({ ok: 'CancelVerifyFunctionArn' });
    expect(output.orders).toEqual({ ok: 'OrdersFunctionArn' });
    // Fetch received the execution input plus the context-object fields.
    expect((output.input as Record<string, unknown>).runId).toBe('exec-1');
  });

  it('ends quietly on a non-session day', async () => {
    const { text } = await loadAsl(ASL_FILE);
    const clock = new SimClock(new Date(0));
    const calls: string[] = [];
    const functions = Object.fromEntries(
      STEPS.map((s) => [s, async () => {
        calls.push(s);
        return { ...sessionState, session: { isSession: false, date: '2018-02-10' } };
      }]),
    );
    await executeLocally(text, {}, { functions, integrations: noAlerts, clock }, { name: 'e', startTime: '2018-02-10T14:00:00Z' });
    expect(calls).toEqual(['FetchFunctionArn']);
  });

  it('a failing step publishes the failure alert and fails the execution', async () => {
    const { text } = await loadAsl(ASL_FILE);
    const clock = new SimClock(new Date(0));
    const published: unknown[] = [];
    const functions = Object.fromEntries(STEPS.map((s) => [s, async () => (s === 'PredictFunctionArn' ? Promise.reject(new Error('model exploded')) : sessionState)]));
    const integrations = { 'arn:aws:states:::sns:publish': async (p: unknown) => (published.push(p), { MessageId: 'm' }) };
    await expect(executeLocally(text, {}, { functions, integrations, clock }, { name: 'e', startTime: '2018-02-07T14:00:00Z' })).rejects.toThrow(/execution e failed/);
    expect(published).toHaveLength(1);
    expect(JSON.stringify(published[0])).toContain('model exploded');
  });

  it('a failed placement alerts, still runs cancel-verify after the close, then fails the execution', async () => {
    const { text } = await loadAsl(ASL_FILE);
    const clock = new SimClock(new Date('2018-02-07T14:00:00.000Z'));
    const calls: Array<[string, string]> = [];
    const published: unknown[] = [];
    const functions = Object.fromEntries(
      STEPS.map((s) => [
        s,
        async () => {
          calls.push([s, clock.now().toISOString()]);
          if (s === 'OrdersFunctionArn') throw new Error('broker unreachable');
          return sessionState;
        },
      ]),
    );
    const integrations = { 'arn:aws:states:::sns:publish': async (p: unknown) => (published.push(p), { MessageId: 'm' }) };
    await expect(executeLocally(text, {}, { functions, integrations, clock }, { name: 'e', startTime: '2018-02-07T14:00:00Z' })).rejects.toThrow(/execution e failed/);
    expect(calls.map(([s]) => s)).toEqual(STEPS);
    expect(calls[5]).toEqual(['CancelVerifyFunctionArn', '2018-02-07T21:15:00.000Z']);
    expect(published).toHaveLength(1);
    expect(JSON.stringify(published[0])).toMatch(/failed placing orders .*broker unreachable/);
  });

  it('refuses to run with a Task state that has no local binding', async () => {
    const { text } = await loadAsl(ASL_FILE);
    const functions = Object.fromEntries(STEPS.filter((s) => s !== 'OrdersFunctionArn').map((s) => [s, async () => sessionState]));
    await expect(executeLocally(text, {}, { functions, integrations: noAlerts, clock: new SimClock(new Date(0)) }, { name: 'e', startTime: '2018-02-07T14:00:00Z' })).rejects.toThrow(/no local binding for Task state PlaceOrders/);
  });
});
