/**
 * The one way a step becomes a Lambda handler: middy, Powertools Logger with the Lambda context,
 * and zod parsing of the event at the boundary (a bad payload fails with the field and value).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { depsFromEnv, type Deps } from '../../wiring/deps';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'trading-pipeline' });

/** Thrown when a step's input does not match its schema. Step Functions sees the name as the error. */
export class InputValidationError extends Error {
  constructor(step: string, details: string) {
    super(`${step}: invalid input: ${details}`);
    this.name = 'InputValidationError';
  }
}

/** Renders zod issues as `path=value: message` items. */
export function describeZodError(error: z.ZodError, input: unknown): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String);
      const value = path.reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), input);
      return `${path.join('.') || '(root)'}=${JSON.stringify(value)}: ${issue.message}`;
    })
    .join('; ');
}

export type Step<I, O> = (input: I, deps: Deps) => Promise<O>;

/**
 * Wraps a step as a Lambda handler.
 * @param getDeps called on each invocation (Lambda: memoized env wiring; local: the runner's deps).
 */
export function makeStepHandler<S extends z.ZodType, O>(
  name: string,
  schema: S,
  step: Step<z.infer<S>, O>,
  getDeps: () => Deps,
) {
  return middy(async (event: unknown, _context: Context): Promise<O> => {
    const parsed = schema.safeParse(event);
    if (!parsed.success) throw new InputValidationError(name, describeZodError(parsed.error, event));
    const data = parsed.data as { runId?: string; tradingDate?: string };
    logger.appendKeys({ step: name, runId: data.runId, tradingDate: data.tradingDate });
    const output = await step(parsed.data, getDeps());
    logger.info(`${name} done`, { output: output as Record<string, unknown> });
    return output;
  }).use(injectLambdaContext(logger, { resetKeys: true }));
}

/** Deps from the Lambda environment, built on the first invocation and reused while warm. */
export function lambdaDeps(): () => Deps {
  let deps: Deps | undefined;
  return () => (deps ??= depsFromEnv());
}
