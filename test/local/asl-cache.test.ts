/**
 * local/asl.ts validates a definition text once per process (asl-validator with checkPaths and
 * checkArn, inside aws-local-stepfunctions' StateMachine constructor) and reuses the machine for
 * every execution of that text; an invalid text is refused every time.
 */
import { describe, expect, it, vi } from 'vitest';

const constructed: unknown[] = [];
vi.mock('aws-local-stepfunctions', async (importOriginal) => {
  const original = await importOriginal<typeof import('aws-local-stepfunctions')>();
  class CountingStateMachine extends original.StateMachine {
    constructor(...args: ConstructorParameters<typeof original.StateMachine>) {
      super(...args);
      constructed.push(args[0]);
    }
  }
  return { ...original, StateMachine: CountingStateMachine };
});

const { executeLocally } = await import('../../local/asl');

const clock = { now: () => new Date('2018-02-07T14:00:00.000Z'), advanceTo: () => undefined };
/** One Task bound to `${StepFunctionArn}`, then Succeed. */
const definition = (next: string) =>
  JSON.stringify({
    StartAt: 'Step',
    States: { Step: { Type: 'Task', Resource: '${StepFunctionArn}', ResultPath: '$.out', Next: next }, Done: { Type: 'Succeed' } },
  });

describe('executeLocally: the definition is validated once per text', () => {
  it('builds one validated machine for many executions of the same text, and runs each with its own bindings', async () => {
    const text = definition('Done');
    const before = constructed.length;
    for (let i = 0; i < 5; i++) {
      const output = await executeLocally(
        text,
        { i },
        { functions: { StepFunctionArn: async (input) => ({ seen: (input as { i: number }).i * 10 }) }, integrations: {}, clock },
        { name: `e${i}`, startTime: '2018-02-07T14:00:00Z' },
      );
      expect(output).toEqual({ i, out: { seen: i * 10 } });
    }
    expect(constructed.length - before).toBe(1);
    // Another text gets its own machine.
    await executeLocally(definition('Done').replace('"Done"', '"Done" '), {}, { functions: { StepFunctionArn: async () => 1 }, integrations: {}, clock }, { name: 'x', startTime: '2018-02-07T14:00:00Z' });
    expect(constructed.length - before).toBe(2);
  });

  it('refuses an invalid definition on every execution (validation stays on)', async () => {
    const text = definition('Nowhere');
    const bindings = { functions: { StepFunctionArn: async () => 1 }, integrations: {}, clock };
    for (let i = 0; i < 2; i++) {
      await expect(executeLocally(text, {}, bindings, { name: `bad${i}`, startTime: '2018-02-07T14:00:00Z' })).rejects.toThrow(/State machine definition is invalid/);
    }
  });
});
