/**
 * The local run: the deployed state machine executed in-process over real history, one
 * execution per session, on one paper account that persists in the state directory.
 *
 * State directory layout:
 *   dynamodb/            dynalite (LevelDB) — order ledger, trading state, run artifacts
 *   paper-account.json   the paper broker's account (cash, positions, orders, executions)
 *   kill-switch.json     the kill-switch parameter (ARMED on first use)
 *   alerts.jsonl         every alert, one JSON object per line
 *   sim-clock.json       simulated time reached so far (it never goes back)
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { LocalAlertSink } from '../lambdas/adapters/alerts/local-sink';
import { PaperBroker } from '../lambdas/adapters/broker/paper/paper-broker';
import { createFaultInjectingBroker, type FaultProfile, type FaultRecord } from '../lambdas/adapters/broker/faults';
import { RetryingBroker } from '../lambdas/adapters/broker/retrying-broker';
import { FilePaperAccountStore } from '../lambdas/adapters/broker/paper/stores';
import { CsvCalendar } from '../lambdas/adapters/calendar/csv-calendar';
import { SimClock } from '../lambdas/adapters/clock';
import { createDocumentClient, localTableNames } from '../lambdas/adapters/dynamodb/client';
import { DynamoOrderLedger } from '../lambdas/adapters/dynamodb/order-ledger';
import { DynamoRunArtifacts } from '../lambdas/adapters/dynamodb/run-artifacts';
import { DynamoTradingStateStore } from '../lambdas/adapters/dynamodb/trading-state';
import { CsvMarketData } from '../lambdas/adapters/market-data/csv';
import { LocalFileKillSwitch } from '../lambdas/adapters/parameters/local-file';
import { EnvCredentials } from '../lambdas/adapters/secrets/secrets-manager';
import { newYorkTime, TradingCalendar } from '../lambdas/core/calendar';
import type { StrategyConfig } from '../lambdas/core/config';
import type { KillSwitchState } from '../lambdas/core/kill-switch';
import * as cancelVerify from '../lambdas/handlers/cancel-verify';
import * as features from '../lambdas/handlers/features';
import * as fetch from '../lambdas/handlers/fetch';
import * as orders from '../lambdas/handlers/orders';
import * as predict from '../lambdas/handlers/predict';
import * as riskCheck from '../lambdas/handlers/risk-check';
import type { Deps } from '../lambdas/wiring/deps';
import { executeLocally, loadAsl, type LocalTask } from './asl';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalDynamo } from './dynalite';
import { buildRangeSummary, buildSessionReport, type RangeReport, type SessionReport } from './report';

export interface LocalRunOptions {
  /** Session dates to run, ascending (validated NYSE sessions). */
  sessions: string[];
  /** Universe override. */
  symbols?: string[];
  dataDir: string;
  stateDir: string;
  calendarFile: string;
  aslFile: string;
  /** Written to the kill-switch parameter before the first session. */
  killSwitch?: KillSwitchState;
  config: StrategyConfig;
  /** Starting cash of a new paper account, USD. */
  initialCash: string;
  /** Called after each session with its report. */
  onSession?: (report: SessionReport) => void;
  /** Print one line per state-machine step as it finishes (single-session runs). */
  traceSteps?: boolean;
  /** Seeded faults injected into the paper broker (default none). */
  faultProfile?: FaultProfile;
  /** Seed of the fault injector (default 1): the same seed reproduces the same run. */
  seed?: number;
  print: (line: string) => void;
}

/** Thrown for a request the state directory cannot honour (e.g. replaying before its account's present). */
export class LocalRunError extends Error {
  override name = 'LocalRunError';
}

/**
 * Runs the sessions. Starts and stops dynalite; never touches the network.
 * @returns one report per session and a summary.
 * @throws LocalRunError for requests the state cannot serve; Error when an execution fails.
 */
export async function runLocal(options: LocalRunOptions): Promise<RangeReport> {
  const { stateDir } = options;
  await mkdir(stateDir, { recursive: true });
  const calendar = new TradingCalendar(await new CsvCalendar({ file: options.calendarFile }).loadSessions());
  const clockFile = join(stateDir, 'sim-clock.json');
  const clock = new SimClock(await readSimTime(clockFile));

  const paperStore = new FilePaperAccountStore(join(stateDir, 'paper-account.json'));
  const processed = (await paperStore.load())?.state.processedThrough ?? null;
  const first = options.sessions[0]!;
  if (processed !== null && first < processed) {
    throw new LocalRunError(
      `the paper account in ${stateDir} has already traded through ${processed}; cannot run ${first} before it (use a new --state-dir to replay earlier dates)`,
    );
  }
  clock.advanceTo(newYorkTime(first, 9, 0));

  const dynamo = await startLocalDynamo(join(stateDir, 'dynamodb'));
  try {
    const db = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const tables = localTableNames();
    const marketData = new CsvMarketData({ dataDir: options.dataDir });
    const calendarPort = new CsvCalendar({ file: options.calendarFile });
    const killSwitch = new LocalFileKillSwitch(join(stateDir, 'kill-switch.json'), clock);
    const alerts = new LocalAlertSink(join(stateDir, 'alerts.jsonl'), options.print);
    const paper = new PaperBroker({ store: paperStore, marketData, calendar: calendarPort, clock, initialCash: options.initialCash });
    const faults: FaultRecord[] = [];
    const profile = options.faultProfile ?? 'none';
    // Simulated time: nothing is gained by really sleeping between retries or cancel polls.
    const noWait = async () => undefined;
    const broker =
      profile === 'none'
        ? paper
        : new RetryingBroker(createFaultInjectingBroker(paper, { profile, seed: options.seed ?? 1, sleep: noWait, onFault: (f) => faults.push(f) }), {
            sleep: noWait,
          });
    const deps: Deps = {
      config: options.config,
      clock,
      marketData,
      calendar: calendarPort,
      broker,
      sleep: noWait,
      killSwitch,
      alerts,
      secrets: new EnvCredentials(),
      ledger: new DynamoOrderLedger(db, tables.orderLedger, options.config.strategyId),
      tradingState: new DynamoTradingStateStore(db, tables.tradingState, options.config.strategyId),
      artifacts: new DynamoRunArtifacts(db, tables.runArtifacts),
    };

    if (options.killSwitch) await killSwitch.write(options.killSwitch);
    else if (!(await killSwitch.exists())) await killSwitch.write('ARMED'); // paper money: armed by default locally

    const { text: aslText } = await loadAsl(options.aslFile);
    const getDeps = () => deps;
    const trace = (name: string, task: LocalTask): LocalTask =>
      options.traceSteps
        ? async (input) => {
            const output = await task(input);
            options.print(`  step ${name.padEnd(13)} ${clock.now().toISOString()}  ${describeStepOutput(name, output)}`);
            return output;
          }
        : task;
    const functions: Record<string, LocalTask> = {
      FetchFunctionArn: trace('fetch', invoke('fetch', fetch.createHandler(getDeps))),
      FeaturesFunctionArn: trace('features', invoke('features', features.createHandler(getDeps))),
      PredictFunctionArn: trace('predict', invoke('predict', predict.createHandler(getDeps))),
      RiskCheckFunctionArn: trace('risk-check', invoke('risk-check', riskCheck.createHandler(getDeps))),
      OrdersFunctionArn: trace('orders', invoke('orders', orders.createHandler(getDeps))),
      CancelVerifyFunctionArn: trace('cancel-verify', invoke('cancel-verify', cancelVerify.createHandler(getDeps))),
    };

    const days: SessionReport[] = [];
    for (const date of options.sessions) {
      const session = calendar.session(date);
      clock.advanceTo(newYorkTime(date, 9, 0));
      const runId = `local-${date}-${randomUUID().slice(0, 8)}`;
      const alertsBefore = alerts.published.length;
      const faultsBefore = faults.length;
      const integrations: Record<string, LocalTask> = {
        'arn:aws:states:::sns:publish': async (parameters) => {
          const p = parameters as { Subject?: string; Message?: string };
          await alerts.publish({
            severity: 'CRITICAL',
            type: 'PIPELINE_FAILED',
            message: p.Message ?? p.Subject ?? 'pipeline failed',
            runId,
            tradingDate: date,
            at: clock.now().toISOString(),
          });
          return { MessageId: `local-${randomUUID()}` };
        },
      };
      const input = { tradingDate: date, ...(options.symbols ? { symbols: options.symbols } : {}) };
      try {
        await executeLocally(aslText, input, { functions, integrations, clock }, { name: runId, startTime: clock.now().toISOString() });
      } finally {
        await writeSimTime(clockFile, clock.now());
      }
      // The session is over for this account: make sure the broker has played its bar.
      clock.advanceTo(new Date(Date.parse(session.closeUtc) + fetch.VERIFY_DELAY_MINUTES * 60_000));
      const report = await buildSessionReport(deps, { runId, tradingDate: date, alerts: alerts.published.slice(alertsBefore), faults: faults.slice(faultsBefore) });
      days.push(report);
      options.onSession?.(report);
    }
    await writeSimTime(clockFile, clock.now());
    return { days, summary: buildRangeSummary(days, options.initialCash) };
  } finally {
    await dynamo.stop();
  }
}

/** One line for a step's output: its summary fields as key=value (fetch returns the whole state). */
function describeStepOutput(name: string, output: unknown): string {
  const summary = (name === 'fetch' ? (output as { fetch?: unknown }).fetch : output) as Record<string, unknown> | undefined;
  if (!summary || typeof summary !== 'object') return '';
  return Object.entries(summary)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ');
}

/** Adapts a middy Lambda handler to a local Task binding, with a minimal Lambda context. */
function invoke(name: string, handler: (event: unknown, context: Context) => Promise<unknown>): LocalTask {
  return (input) =>
    handler(input, {
      functionName: `local-${name}`,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:local-${name}`,
      memoryLimitInMB: '1024',
      awsRequestId: randomUUID(),
      logGroupName: `/local/${name}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: false,
      getRemainingTimeInMillis: () => 300_000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    });
}

async function readSimTime(file: string): Promise<Date> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { now?: string };
    const at = new Date(parsed.now ?? '');
    if (!Number.isNaN(at.getTime())) return at;
  } catch {
    // first run in this state directory
  }
  return new Date(0);
}

async function writeSimTime(file: string, now: Date): Promise<void> {
  await writeFile(file, `${JSON.stringify({ now: now.toISOString() })}\n`);
}
