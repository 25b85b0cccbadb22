/**
 * Executes the deployed ASL file locally with aws-local-stepfunctions.
 *
 * - Every Task state is bound to an in-process function: `${XFunctionArn}` resources to the
 *   Lambda handler registered under `X`, service integrations (e.g. `arn:aws:states:::sns:publish`)
 *   to a local implementation. An unbound Task is an error, so a new state cannot be skipped.
 * - Wait states are handed to the bound clock: the interpreter's own wait is zero, and just before
 *   the state that follows a Wait runs, `clock.advanceTo(instant)` is awaited with the instant the
 *   Wait would have resumed at (Timestamp/TimestampPath, or now + Seconds/SecondsPath). A simulated
 *   clock (SimClock, paper runs) jumps there at once; the wall clock (Alpaca runs) really waits.
 * - Retry pauses are zero (there is nothing to wait for in-process).
 * - The definition is parsed and validated (asl-validator, checkPaths and checkArn) once per process
 *   for each definition text; every execution of that text reuses the validated StateMachine (a
 *   StateMachine keeps no per-execution state: bindings and overrides are passed to each run).
 */
import { readFile } from 'node:fs/promises';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { JSONPath } from 'jsonpath-plus';

type StateDefinition = {
  Type: string;
  Resource?: string;
  Next?: string;
  Timestamp?: string;
  TimestampPath?: string;
  Seconds?: number;
  SecondsPath?: string;
};
export type AslDefinition = { StartAt: string; States: Record<string, StateDefinition> };

export type LocalTask = (input: unknown) => Promise<unknown>;

/**
 * The time source a local execution runs on: `now()` for the handlers, `advanceTo()` for Wait
 * states. A simulated clock (SimClock) jumps synchronously; a wall clock resolves once the instant
 * has really come. Either way `advanceTo` never moves time backwards (an instant in the past is a no-op).
 */
export interface LocalClock {
  /** The current instant. */
  now(): Date;
  /** Moves to (or waits for) `at`; resolves once `now()` is at or after it. */
  advanceTo(at: Date): void | Promise<void>;
}

export interface LocalBindings {
  /** Keyed by the placeholder name inside `${...}` minus nothing, e.g. `FetchFunctionArn`. */
  functions: Record<string, LocalTask>;
  /** Keyed by the integration resource ARN, e.g. `arn:aws:states:::sns:publish`. */
  integrations: Record<string, LocalTask>;
  /** Advanced (awaited) to each Wait state's resume instant before the state after the Wait runs. */
  clock: LocalClock;
}

const PLACEHOLDER = /\$\{([A-Za-z0-9]+)\}/g;

/** Reads the ASL file and returns its definition with `${...}` placeholders left as they are. */
export async function loadAsl(file: string): Promise<{ text: string; definition: AslDefinition }> {
  const text = await readFile(file, 'utf8');
  return { text, definition: JSON.parse(text) as AslDefinition };
}

/** Placeholder names used in the definition text, e.g. ['FetchFunctionArn', 'AlertTopicArn']. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))].sort();
}

/** A definition text parsed once: as written, with local ARNs, and its validated machine once built. */
interface PreparedAsl {
  original: AslDefinition;
  definition: AslDefinition;
  machine?: StateMachine;
}

/** Definition texts seen by this process (a run uses one; tests a few). */
const preparedAsl = new Map<string, PreparedAsl>();
/** More distinct texts than this and the oldest is forgotten (parsed and validated again if it comes back). */
const MAX_PREPARED_ASL = 16;

/** Parses a definition text (once per text): the definition as written and with local ARNs substituted. */
function prepareAsl(aslText: string): PreparedAsl {
  const cached = preparedAsl.get(aslText);
  if (cached) return cached;
  // Substitute placeholders with syntactically valid local ARNs (the interpreter validates ARNs).
  const substituted = aslText.replace(PLACEHOLDER, (_all, name: string) =>
    name.endsWith('FunctionArn')
      ? `arn:aws:lambda:us-east-1:000000000000:function:local-${name.replace(/FunctionArn$/, '')}`
      : `arn:aws:sns:us-east-1:000000000000:local-${name}`,
  );
  const original = JSON.parse(aslText) as AslDefinition;
  const definition = JSON.parse(substituted) as AslDefinition;
  const prepared: PreparedAsl = { original, definition };
  if (preparedAsl.size >= MAX_PREPARED_ASL) preparedAsl.delete(preparedAsl.keys().next().value as string);
  preparedAsl.set(aslText, prepared);
  return prepared;
}

/**
 * Runs one execution.
 * @returns the execution output.
 * @throws Error `execution <name> failed: ...` when the state machine fails.
 */
export async function executeLocally(
  aslText: string,
  input: unknown,
  bindings: LocalBindings,
  execution: { name: string; startTime: string },
): Promise<unknown> {
  const prepared = prepareAsl(aslText);
  const { original } = prepared;

  const taskHandlers: Record<string, LocalTask> = {};
  const waitOverrides: Record<string, number> = {};
  const retryOverrides: Record<string, number> = {};
  for (const [stateName, state] of Object.entries(original.States)) {
    if (state.Type === 'Wait') waitOverrides[stateName] = 0;
    if (state.Type !== 'Task') continue;
    retryOverrides[stateName] = 0;
    const resource = state.Resource ?? '';
    const placeholder = /^\$\{([A-Za-z0-9]+)\}$/.exec(resource)?.[1];
    const handler = placeholder ? bindings.functions[placeholder] : bindings.integrations[resource];
    if (!handler) throw new Error(`no local binding for Task state ${stateName} (resource ${resource})`);
    taskHandlers[stateName] = handler;
  }
  // A Task that follows a Wait first moves the clock to (or waits for) the Wait's resume instant.
  for (const [waitName, wait] of Object.entries(original.States)) {
    if (wait.Type !== 'Wait' || !wait.Next) continue;
    const next = taskHandlers[wait.Next];
    if (!next) throw new Error(`Wait state ${waitName} must be followed by a Task state to be simulated locally`);
    taskHandlers[wait.Next] = async (taskInput) => {
      await bindings.clock.advanceTo(resumeInstant(waitName, wait, taskInput, bindings.clock.now()));
      return next(taskInput);
    };
  }

  // Validated on first use of this text only (an invalid definition throws here every time).
  prepared.machine ??= new StateMachine(prepared.definition as never, { validationOptions: { checkPaths: true, checkArn: true } });
  const { machine } = prepared;
  const run = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: taskHandlers as never, waitTimeOverrides: waitOverrides, retryIntervalOverrides: retryOverrides },
    context: { Execution: { Id: `local:${execution.name}`, Name: execution.name, StartTime: execution.startTime, Input: input as never } },
  });
  try {
    return await run.result;
  } catch (error) {
    const cause = error instanceof ExecutionError ? ((error as Error & { cause?: unknown }).cause ?? error) : error;
    throw new Error(`execution ${execution.name} failed: ${(cause as Error).message ?? String(cause)}`, { cause });
  }
}

function resumeInstant(name: string, wait: StateDefinition, input: unknown, now: Date): Date {
  const at = (value: unknown, what: string): Date => {
    const instant = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(instant.getTime())) throw new Error(`Wait state ${name}: ${what} is not an ISO-8601 timestamp (${JSON.stringify(value)})`);
    return instant;
  };
  const query = (path: string): unknown => JSONPath({ path, json: input as object, wrap: false });
  if (wait.Timestamp) return at(wait.Timestamp, 'Timestamp');
  if (wait.TimestampPath) return at(query(wait.TimestampPath), `TimestampPath ${wait.TimestampPath}`);
  const seconds = wait.Seconds ?? (wait.SecondsPath ? Number(query(wait.SecondsPath)) : Number.NaN);
  if (!Number.isFinite(seconds)) throw new Error(`Wait state ${name} has no usable Timestamp or Seconds`);
  return new Date(now.getTime() + seconds * 1000);
}
