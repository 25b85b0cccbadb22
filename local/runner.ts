/**
 * The local run: the deployed state machine executed in-process, one execution per session, with
 * the order ledger, trading state and run artifacts in dynalite under the state directory.
 *
 * Two brokers:
 * - `paper` (default): over real history. The paper broker fills on the bundled bars, time is a
 *   SimClock (decisions at 09:45 New York, DECISION_TIME_NY, during the session; the Wait jumps
 *   to 15 minutes after the close), and a range of sessions can be replayed on one account.
 * - `alpaca`: Alpaca's Trading API v2 (paper endpoint unless ALPACA_LIVE=true), keys from
 *   APCA_API_KEY_ID / APCA_API_SECRET_KEY, sessions from Alpaca's calendar, and real time: the
 *   broker defines the present, so one session (today's or a later one) per run, and the Wait
 *   before cancel-verify really waits until 15 minutes after the close.
 *
 * State directory layout:
 *   dynamodb/            dynalite (LevelDB) — order ledger, trading state, risk audit, run artifacts
 *   kill-switch.json     the kill-switch parameter (ARMED on first use; HALTED for Alpaca live)
 *   alerts.jsonl         every alert, one JSON object per line
 *   paper-account.json   paper only: the paper broker's account (cash, positions, open orders, …)
 *   paper-account.json.history.jsonl  paper only: its settled orders and executions, append-only
 *                        (FilePaperAccountStore)
 *   sim-clock.json       paper only: simulated time reached so far (it never goes back)
 *   broker.json          alpaca only: which Alpaca endpoint the ledger belongs to
 *   market-data-cache/   --market-data alphavantage|alpaca: fetched bars, <source>/<SYMBOL>.json
 *
 * Run artifacts (the bars, features, scores and decisions the steps of one execution pass each other
 * by runId) are in dynalite too, except those only the same execution reads: the bar windows
 * (BARS#<symbol>, about 1 MB a session), FEATURES (about 135 KB) and BENCHMARK_CLOSES are kept in this
 * process's memory only, for the latest two runs (RunArtifactsOptions.transient): persisting the bars
 * made a long replay write gigabytes. (`npm run features` exports the features of any date.) As in
 * AWS, artifacts expire ARTIFACT_TTL_DAYS after they were written (on the run's clock), so the state
 * directory stays bounded.
 *
 * Market data (`--market-data`, createLocalMarketData): `csv` (default) reads --data-dir;
 * `alphavantage` and `alpaca` fetch from the API (keys from the environment: ALPHAVANTAGE_API_KEY, or
 * APCA_API_KEY_ID / APCA_API_SECRET_KEY as for `--broker alpaca`) for the universe (--symbols or the
 * strategy config's universe) and the benchmark, caching what they fetched under the state directory.
 * The paper broker fills on the same bars the run decides on.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { DateTime } from 'luxon';
import { LocalAlertSink } from '../lambdas/adapters/alerts/local-sink';
import { DeduplicatingAlerts } from '../lambdas/adapters/alerts/deduplicating';
import { DynamoAlertLog } from '../lambdas/adapters/dynamodb/alert-log';
import { DynamoRiskAudit } from '../lambdas/adapters/dynamodb/risk-audit';
import { AlpacaBroker } from '../lambdas/adapters/broker/alpaca/alpaca-broker';
import { AlpacaCalendar } from '../lambdas/adapters/broker/alpaca/alpaca-calendar';
import { parseAlpacaLiveFlag, resolveAlpacaEndpoint, type AlpacaEndpoint } from '../lambdas/adapters/broker/alpaca/config';
import { buildBacktestAnalytics } from './backtest-report';
import { BundledModelSource, FileModelSource } from '../lambdas/adapters/model/model-source';
import { PaperBroker, paperCostsOf } from '../lambdas/adapters/broker/paper/paper-broker';
import { createFaultInjectingBroker, type FaultProfile, type FaultRecord } from '../lambdas/adapters/broker/faults';
import { RetryingBroker } from '../lambdas/adapters/broker/retrying-broker';
import { FilePaperAccountStore } from '../lambdas/adapters/broker/paper/stores';
import { CsvCalendar } from '../lambdas/adapters/calendar/csv-calendar';
import { SimClock } from '../lambdas/adapters/clock';
import { createDocumentClient, localTableNames } from '../lambdas/adapters/dynamodb/client';
import { cacheItemReads } from '../lambdas/adapters/dynamodb/item-cache';
import { DynamoOrderLedger } from '../lambdas/adapters/dynamodb/order-ledger';
import { ARTIFACT_TTL_DAYS, DynamoRunArtifacts } from '../lambdas/adapters/dynamodb/run-artifacts';
import { DynamoTradingStateStore } from '../lambdas/adapters/dynamodb/trading-state';
import { FileBarCache, LOCAL_CACHE_FOLDER } from '../lambdas/adapters/market-data/cache';
import { CsvMarketData } from '../lambdas/adapters/market-data/csv';
import type { MarketDataWarning } from '../lambdas/adapters/market-data/http';
import { apiSourceSymbols, createMarketData, type MarketDataSource } from '../lambdas/wiring/market-data';
import { LocalFileKillSwitch } from '../lambdas/adapters/parameters/local-file';
import { EnvCredentials } from '../lambdas/adapters/secrets/secrets-manager';
import { NEW_YORK_ZONE, newYorkDate, newYorkTime, TradingCalendar, type Session } from '../lambdas/core/calendar';
import type { StrategyConfig } from '../lambdas/core/config';
import type { KillSwitchState } from '../lambdas/core/kill-switch';
import * as cancelVerify from '../lambdas/handlers/cancel-verify';
import * as features from '../lambdas/handlers/features';
import * as fetch from '../lambdas/handlers/fetch';
import * as orders from '../lambdas/handlers/orders';
import * as predict from '../lambdas/handlers/predict';
import * as riskCheck from '../lambdas/handlers/risk-check';
import type { BrokerPort, CalendarPort, MarketDataPort } from '../lambdas/ports';
import type { Deps } from '../lambdas/wiring/deps';
import { ARTIFACTS } from '../lambdas/handlers/shared/pipeline-state';
import { executeLocally, loadAsl, type LocalClock, type LocalTask } from './asl';
import { FeaturePrecomputeWorker } from './feature-precompute';
import { IN_PROCESS_SIGNER, LOCAL_CREDENTIALS, LOCAL_REGION, startLocalDynamo } from './dynalite';
import { buildRangeSummary, buildSessionReport, type RangeReport, type SessionReport } from './report';

/**
 * When a paper run's execution starts (New York wall clock): 09:45, inside the 09:35–15:55 trade
 * window where entries are allowed (ten minutes after it opens, fifteen after the 09:30 open). The paper broker has then played
 * the session's open (fills and marks at the open); orders submitted now trade on the rest of the
 * day's bar. Matches the default schedule of the deployed stack (lib/stack-config.ts).
 */
export const DECISION_TIME_NY = { hour: 9, minute: 45 } as const;

/** Brokers a local run can trade with. */
export const LOCAL_BROKERS = ['paper', 'alpaca'] as const;
/** `paper`: the local paper broker over history; `alpaca`: Alpaca's Trading API in real time. */
export type LocalBrokerKind = (typeof LOCAL_BROKERS)[number];

/** Wiring of an Alpaca run that tests (or embedders) may replace. Every field is optional. */
export interface AlpacaRunOptions {
  /**
   * Where APCA_API_KEY_ID, APCA_API_SECRET_KEY, APCA_API_BASE_URL and ALPACA_LIVE are read.
   * Default `process.env`. (A test points APCA_API_BASE_URL at a server on 127.0.0.1.)
   */
  env?: NodeJS.ProcessEnv;
  /** fetch for the Alpaca requests. Default the global fetch. */
  fetch?: typeof globalThis.fetch;
  /**
   * The present, and the Wait state's clock. Default a WallClock (really waits). A test passes a
   * SimClock shared with the broker behind its fake server, so the Wait is simulated.
   */
  clock?: LocalClock;
  /** Waits between cancel-and-verify polls. Default real timers. */
  sleep?: (ms: number) => Promise<void>;
}

export interface LocalRunOptions {
  /**
   * After the last session, compute the backtest metrics over the sessions run and write the HTML
   * report into the state directory (summary.metrics, summary.htmlReport). The CLI sets it for ranges.
   */
  backtestReport?: boolean;
  /** A model bundle or artifact JSON file for the predict step (default: the shipped bundle). */
  modelFile?: string;
  /**
   * Session dates to run, ascending. Paper: validated NYSE sessions of the bundled calendar.
   * Alpaca: exactly one date, checked here against Alpaca's calendar and the broker's present.
   */
  sessions: string[];
  /** Universe override. */
  symbols?: string[];
  /**
   * What each execution does: `trade` (default) or `flatten` (cancel every open order through
   * cancel-and-verify, close every position, lock the day) — the kill switch's flatten action.
   */
  action?: 'trade' | 'flatten';
  dataDir: string;
  stateDir: string;
  /**
   * The bars the run decides on (and the paper broker fills on). Default CsvMarketData over
   * `dataDir`; createLocalMarketData builds the `--market-data` choice.
   */
  marketData?: MarketDataPort;
  /** Session calendar CSV of paper runs (alpaca runs read Alpaca's calendar). */
  calendarFile: string;
  aslFile: string;
  /** Written to the kill-switch parameter before the first session. */
  killSwitch?: KillSwitchState;
  config: StrategyConfig;
  /** Starting cash of a new paper account, USD (paper runs only). */
  initialCash: string;
  /**
   * Called after each session with its report, and the run artifacts store: the session's artifacts
   * can be read here, e.g. `artifacts.get(report.runId, ARTIFACTS.drift)` (they expire
   * ARTIFACT_TTL_DAYS later on the run's clock; the BARS#<symbol> windows, FEATURES and
   * BENCHMARK_CLOSES are gone once the next session has run). Awaited.
   */
  onSession?: (report: SessionReport, run: { artifacts: Pick<DynamoRunArtifacts, 'get' | 'getMany'> }) => void | Promise<void>;
  /**
   * Compute the next sessions' feature rows on a second thread (default true; paper runs of more
   * than one session over `dataDir` only). The results are the same either way.
   */
  precomputeFeatures?: boolean;
  /**
   * Told after the last session how many feature rows the features step took precomputed and how
   * many it computed itself; null when nothing was precomputed.
   */
  onFeatureRows?: (counts: { precomputed: number; computed: number } | null) => void;
  /** Print one line per state-machine step as it finishes (single-session runs). */
  traceSteps?: boolean;
  /** Which broker to trade with. Default `paper`. */
  broker?: LocalBrokerKind;
  /** Alpaca wiring overrides (broker `alpaca` only). */
  alpaca?: AlpacaRunOptions;
  /** Seeded faults injected into the paper broker (default none; paper only). */
  faultProfile?: FaultProfile;
  /** Seed of the fault injector (default 1): the same seed reproduces the same run. */
  seed?: number;
  print: (line: string) => void;
}

/** Thrown for a request the state directory cannot honour (e.g. replaying before its account's present). */
export class LocalRunError extends Error {
  override name = 'LocalRunError';
}

/** The Alpaca configuration of a local run, checked. */
export interface AlpacaSettings {
  /** `APCA_API_BASE_URL` as given (undefined: the default endpoint). */
  baseUrl: string | undefined;
  /** From `ALPACA_LIVE` (only `true` trades real money). */
  live: boolean;
  /** The endpoint the adapter will talk to, and whether it is paper, live or on this machine. */
  endpoint: AlpacaEndpoint;
}

/** Variables holding the Alpaca key pair (values never printed). */
export const ALPACA_KEY_VARIABLES = ['APCA_API_KEY_ID', 'APCA_API_SECRET_KEY'] as const;

/**
 * Reads and checks the Alpaca settings of a local run from the environment, before anything runs:
 * both keys present, ALPACA_LIVE `true`/`false`/unset, and APCA_API_BASE_URL acceptable for that
 * flag (see resolveAlpacaEndpoint: the live endpoint needs ALPACA_LIVE=true).
 * @throws LocalRunError naming the missing or invalid variable (never a key's value).
 */
export function alpacaSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AlpacaSettings {
  const missing = ALPACA_KEY_VARIABLES.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new LocalRunError(
      `--broker alpaca needs the Alpaca API key pair in the environment: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set ` +
        `(export APCA_API_KEY_ID and APCA_API_SECRET_KEY; paper-trading keys are on the Alpaca dashboard)`,
    );
  }
  try {
    const live = parseAlpacaLiveFlag(env.ALPACA_LIVE);
    const baseUrl = env.APCA_API_BASE_URL === '' ? undefined : env.APCA_API_BASE_URL;
    return { baseUrl, live, endpoint: resolveAlpacaEndpoint({ baseUrl, live }) };
  } catch (error) {
    throw new LocalRunError((error as Error).message);
  }
}

/** Longest single sleep of a WallClock wait, ms (short enough to notice a suspended laptop waking up). */
const WALL_CLOCK_MAX_SLEEP_MS = 60_000;

/** Options of a WallClock; `now`/`sleep` are injectable for tests. */
export interface WallClockOptions {
  /** Where the "waiting until …" line goes. */
  print: (line: string) => void;
  /** Epoch ms. Default Date.now. */
  now?: () => number;
  /** Waits ms. Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The real time of an Alpaca run. `advanceTo` of a future instant prints one line saying until
 * when (so a user knows why the run pauses) and resolves once that instant has come; an instant
 * in the past resolves at once, silently.
 */
export class WallClock implements LocalClock {
  private readonly nowMs: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: WallClockOptions) {
    this.nowMs = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  }

  /** The current instant. */
  now(): Date {
    return new Date(this.nowMs());
  }

  /**
   * Waits until `at` (no-op when `at` is not in the future).
   * @throws Error for an invalid Date.
   */
  async advanceTo(at: Date): Promise<void> {
    const target = at.getTime();
    if (Number.isNaN(target)) throw new Error('WallClock.advanceTo: invalid date');
    const remaining = target - this.nowMs();
    if (remaining <= 0) return;
    const local = DateTime.fromMillis(target, { zone: NEW_YORK_ZONE }).toFormat('yyyy-LL-dd HH:mm');
    this.options.print(
      `  waiting until ${at.toISOString()} (${local} New York, in ${formatDuration(remaining)}) before the next step; keep this process running`,
    );
    for (let left = remaining; left > 0; left = target - this.nowMs()) await this.sleep(Math.min(left, WALL_CLOCK_MAX_SLEEP_MS));
  }
}

/** `7h 05m`, `12m`, `40s`. */
function formatDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 0) return `${Math.ceil(ms / 1000)}s`;
  const hours = Math.floor(minutes / 60);
  return hours > 0 ? `${hours}h ${String(minutes % 60).padStart(2, '0')}m` : `${minutes}m`;
}

/** What differs between a paper run and an Alpaca run; everything else is shared. */
interface Venue {
  clock: LocalClock;
  broker: BrokerPort;
  /** What the report reads: the broker itself, never through the fault injector. */
  reportBroker: BrokerPort;
  calendarPort: CalendarPort;
  /** The calendar the sessions were checked against. */
  calendar: TradingCalendar;
  sleep: (ms: number) => Promise<void>;
  /** Faults injected so far (paper with --fault-profile only). */
  faults: FaultRecord[];
  /** Kill-switch value written on first use of a state directory when none is requested. */
  initialKillSwitch: KillSwitchState;
  /** Before each execution. */
  startSession(date: string): Promise<void>;
  /** After each execution, also when it failed. */
  executionEnded(): Promise<void>;
  /** After each successful execution, before its report. */
  endSession(session: Session): Promise<void>;
}

/** Simulated time: nothing is gained by really sleeping between retries or cancel polls. */
const noWait = async (): Promise<void> => undefined;
const realSleep = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs the sessions. Starts and stops dynalite. A paper run never touches the network; an Alpaca
 * run talks only to the Alpaca endpoint.
 * @returns one report per session and a summary.
 * @throws LocalRunError for requests that cannot be served (the state directory's account is past
 *   the date; Alpaca keys missing; not a session per Alpaca's calendar; …), before any step runs.
 *   A failed execution does not throw: its report carries `executionError` and the run goes on.
 */
export async function runLocal(options: LocalRunOptions): Promise<RangeReport> {
  const { stateDir } = options;
  const marketData = options.marketData ?? new CsvMarketData({ dataDir: options.dataDir });
  const venue = (options.broker ?? 'paper') === 'alpaca' ? await prepareAlpaca(options) : await preparePaper(options, marketData);
  const { clock } = venue;

  const dynamo = await startLocalDynamo(join(stateDir, 'dynamodb'));
  // A paper replay over the CSV files: the features of the next sessions are computed on a second
  // thread while this one runs (local/feature-precompute.ts); the step checks each row's inputs.
  // Only speed depends on it: a worker that cannot start leaves every row to the features step.
  let precompute: FeaturePrecomputeWorker | undefined;
  try {
    if (options.precomputeFeatures !== false && options.marketData === undefined && (options.broker ?? 'paper') === 'paper' && options.sessions.length > 1) {
      try {
        precompute = new FeaturePrecomputeWorker(
          options.sessions,
          { dataDir: options.dataDir, calendarFile: options.calendarFile, config: options.config, symbols: options.symbols },
          options.print,
        );
      } catch (error) {
        options.print(`feature precompute not started (${(error as Error).message}); the features step computes every session`);
      }
    }
    // In-process transport: the same dynalite requests without the loopback socket (local/dynalite.ts).
    const db = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, requestHandler: dynamo.requestHandler, signer: IN_PROCESS_SIGNER });
    // The only writer of the state directory's tables: single items read again are served from memory.
    cacheItemReads(db);
    const tables = localTableNames();
    // The only writer of its runs' artifacts: a step reads what an earlier step wrote from memory.
    // What only the execution itself reads (the bar windows, the features, the benchmark's closes)
    // stays in that memory only; the rest goes to the state directory.
    const transientArtifacts: readonly string[] = [ARTIFACTS.features, ARTIFACTS.benchmarkCloses];
    const artifacts = new DynamoRunArtifacts(db, tables.runArtifacts, {
      cacheOwnWrites: true,
      transient: { isTransient: (name) => name.startsWith(ARTIFACTS.bars('')) || transientArtifacts.includes(name) },
    });
    /**
     * Runs whose artifacts are not all expired yet, oldest first, with when the last of them expires
     * at the earliest: ARTIFACT_TTL_DAYS after the execution ended (every artifact was written by then).
     */
    const unexpired: Array<{ runId: string; dueMs: number }> = [];
    /** DynamoDB's TTL, on the run's clock: drops the artifacts of runs older than ARTIFACT_TTL_DAYS, each run once it is due. */
    const expireArtifacts = async (): Promise<void> => {
      const now = clock.now();
      while (unexpired.length > 0 && unexpired[0]!.dueMs <= now.getTime()) {
        if ((await artifacts.deleteExpired(unexpired[0]!.runId, now)).remaining > 0) break;
        unexpired.shift();
      }
    };
    const killSwitch = new LocalFileKillSwitch(join(stateDir, 'kill-switch.json'), clock);
    const alerts = new LocalAlertSink(join(stateDir, 'alerts.jsonl'), options.print);
    // The same de-duplication as in AWS (per severity and type, cooldown on the run's clock).
    const dedupedAlerts = new DeduplicatingAlerts(alerts, new DynamoAlertLog(db, tables.tradingState, options.config.strategyId), {
      cooldownSeconds: options.config.alertCooldownSeconds,
      now: () => clock.now(),
    });
    const deps: Deps = {
      config: options.config,
      clock,
      model: options.modelFile ? new FileModelSource(options.modelFile) : new BundledModelSource(),
      marketData,
      calendar: venue.calendarPort,
      broker: venue.broker,
      sleep: venue.sleep,
      killSwitch,
      alerts: dedupedAlerts,
      secrets: new EnvCredentials(options.alpaca?.env),
      // The only writer of this run's ledger (dynalite lives in this process): repeated listings are served from memory.
      ledger: new DynamoOrderLedger(db, tables.orderLedger, options.config.strategyId, { cacheListings: true }),
      tradingState: new DynamoTradingStateStore(db, tables.tradingState, options.config.strategyId),
      artifacts,
      riskAudit: new DynamoRiskAudit(db, tables.riskAudit, options.config.strategyId),
    };

    // A new state directory's kill switch counts as set the day before the first session (the
    // owner armed the account before its first run), so the 1-hour cooling-off does not apply to it.
    const setUpAt = new Date(clock.now().getTime() - 86_400_000).toISOString();
    const fresh = !(await killSwitch.exists());
    if (fresh) await killSwitch.write(options.killSwitch ?? venue.initialKillSwitch, { lastModified: setUpAt });
    else if (options.killSwitch) await killSwitch.write(options.killSwitch);

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
      FeaturesFunctionArn: trace('features', invoke('features', features.createHandler(getDeps, precompute))),
      PredictFunctionArn: trace('predict', invoke('predict', predict.createHandler(getDeps))),
      RiskCheckFunctionArn: trace('risk-check', invoke('risk-check', riskCheck.createHandler(getDeps))),
      OrdersFunctionArn: trace('orders', invoke('orders', orders.createHandler(getDeps))),
      CancelVerifyFunctionArn: trace('cancel-verify', invoke('cancel-verify', cancelVerify.createHandler(getDeps))),
    };

    const days: SessionReport[] = [];
    for (const date of options.sessions) {
      const session = venue.calendar.session(date);
      await venue.startSession(date);
      const runId = `local-${date}-${randomUUID().slice(0, 8)}`;
      const alertsBefore = alerts.published.length;
      const faultsBefore = venue.faults.length;
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
      const input = {
        tradingDate: date,
        ...(options.symbols ? { symbols: options.symbols } : {}),
        ...(options.action && options.action !== 'trade' ? { action: options.action } : {}),
      };
      // A failed execution is reported (after its CRITICAL alert) and the next session still runs,
      // as the next scheduled execution would in AWS.
      let executionError: string | null = null;
      try {
        await executeLocally(aslText, input, { functions, integrations, clock }, { name: runId, startTime: clock.now().toISOString() });
      } catch (error) {
        executionError = (error as Error).message;
      } finally {
        await venue.executionEnded();
      }
      const endedAt = clock.now().getTime();
      await venue.endSession(session);
      const report = await buildSessionReport(
        { ...deps, broker: venue.reportBroker },
        { runId, tradingDate: date, alerts: alerts.published.slice(alertsBefore), faults: venue.faults.slice(faultsBefore), executionError },
      );
      days.push(report);
      await options.onSession?.(report, { artifacts });
      unexpired.push({ runId, dueMs: endedAt + ARTIFACT_TTL_DAYS * 86_400_000 });
      await expireArtifacts();
    }
    await venue.executionEnded();
    const summary = buildRangeSummary(days, options.initialCash);
    if (options.backtestReport && days.length > 0) {
      const analytics = await buildBacktestAnalytics({
        deps,
        marketData,
        days,
        initialCash: options.initialCash,
        previousSession: venue.calendar.previousSession(days[0]!.tradingDate)?.date ?? null,
        stateDir,
        generatedAt: clock.now().toISOString(),
        settings: [
          { label: 'Model', value: deps.config.predictor === 'momentum' ? 'momentum' : deps.model.source },
          { label: 'Data', value: options.dataDir ?? 'market data API' },
        ],
      });
      summary.metrics = analytics.metrics;
      summary.costs = analytics.costs;
      summary.htmlReport = analytics.htmlReport;
    }
    options.onFeatureRows?.(precompute ? { ...precompute.tally } : null);
    return { days, summary };
  } finally {
    await precompute?.close();
    await dynamo.stop();
  }
}

/**
 * The paper venue: bundled calendar, SimClock persisted in the state directory, the paper account
 * file, optional seeded faults.
 */
async function preparePaper(options: LocalRunOptions, marketData: MarketDataPort): Promise<Venue> {
  const { stateDir } = options;
  await mkdir(stateDir, { recursive: true });
  const marker = await readBrokerMarker(stateDir);
  if (marker) {
    throw new LocalRunError(
      `${stateDir} holds the ledger of an Alpaca account (${marker.endpoint}); the paper broker needs its own --state-dir`,
    );
  }
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
  clock.advanceTo(newYorkTime(first, DECISION_TIME_NY.hour, DECISION_TIME_NY.minute));

  const calendarPort = new CsvCalendar({ file: options.calendarFile });
  const paper = new PaperBroker({ store: paperStore, marketData, calendar: calendarPort, clock, initialCash: options.initialCash, costs: paperCostsOf(options.config) });
  const faults: FaultRecord[] = [];
  const profile = options.faultProfile ?? 'none';
  const broker =
    profile === 'none'
      ? paper
      : new RetryingBroker(createFaultInjectingBroker(paper, { profile, seed: options.seed ?? 1, sleep: noWait, onFault: (f) => faults.push(f) }), {
          sleep: noWait,
        });
  return {
    clock,
    broker,
    reportBroker: paper,
    calendarPort,
    calendar,
    sleep: noWait,
    faults,
    initialKillSwitch: 'ARMED', // paper money: armed by default locally
    startSession: async (date) => clock.advanceTo(newYorkTime(date, DECISION_TIME_NY.hour, DECISION_TIME_NY.minute)),
    executionEnded: () => writeSimTime(clockFile, clock.now()),
    // The session is over for this account: make sure the broker has played its bar.
    endSession: async (session) => clock.advanceTo(new Date(Date.parse(session.closeUtc) + fetch.VERIFY_DELAY_MINUTES * 60_000)),
  };
}

/** What createLocalMarketData needs. */
export interface LocalMarketDataOptions {
  /** `csv`, `alphavantage` or `alpaca` (--market-data). */
  source: MarketDataSource;
  /** CSV folder (source `csv`). */
  dataDir: string;
  /** The run's state directory; API sources cache under `<stateDir>/market-data-cache/`. */
  stateDir: string;
  /** Universe and benchmark come from here unless `symbols` is given. */
  config: Pick<StrategyConfig, 'universe' | 'benchmark'>;
  /** Universe override (--symbols). */
  symbols?: readonly string[];
  /** Where keys and base URLs are read. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where retries, give-ups and cache resets are reported. */
  print?: (line: string) => void;
  /** Test seams: fetch, timers, randomness, the present. */
  fetch?: typeof globalThis.fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => Date;
}

/** Key variables each API source needs in a local run. */
export const MARKET_DATA_KEY_VARIABLES: Record<Exclude<MarketDataSource, 'csv'>, readonly string[]> = {
  alphavantage: ['ALPHAVANTAGE_API_KEY'],
  alpaca: ALPACA_KEY_VARIABLES,
};

/**
 * The market-data adapter of a local run: CsvMarketData over `dataDir`, or an API adapter with keys
 * from the environment, the universe (`symbols` or the strategy config's) plus the benchmark, and a
 * FileBarCache under the state directory. Nothing is fetched until the first load.
 * @throws LocalRunError naming the missing key variables, a missing universe, or an invalid
 *   ALPHAVANTAGE_BASE_URL / APCA_API_DATA_URL / ALPHAVANTAGE_ADJUSTED (never a key's value).
 */
export function createLocalMarketData(options: LocalMarketDataOptions): MarketDataPort {
  const { source } = options;
  if (source === 'csv') return new CsvMarketData({ dataDir: options.dataDir });
  const env = options.env ?? process.env;
  const missing = MARKET_DATA_KEY_VARIABLES[source].filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new LocalRunError(`--market-data ${source} needs ${missing.join(' and ')} in the environment (not set)`);
  }
  const print = options.print ?? (() => undefined);
  try {
    return createMarketData({
      source,
      env,
      credentials: new EnvCredentials(env),
      symbols: apiSourceSymbols(source, options.config, options.symbols),
      cache: new FileBarCache({ dir: join(options.stateDir, LOCAL_CACHE_FOLDER) }),
      onWarning: (warning: MarketDataWarning) => print(`  market data ${warning.source} ${warning.code} ${warning.symbol}: ${warning.message}`),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
  } catch (error) {
    throw new LocalRunError((error as Error).message);
  }
}

/** Calendar days of Alpaca's calendar loaded before the first session (covers the previous session). */
const ALPACA_CALENDAR_DAYS_BEFORE = 14;
/** Calendar days loaded after the last session (covers the longest entry time in force, 20 sessions). */
const ALPACA_CALENDAR_DAYS_AFTER = 45;

/**
 * The Alpaca venue: keys and endpoint from the environment, Alpaca's calendar, the real clock.
 * Checks everything it can before dynalite starts or any step runs.
 */
async function prepareAlpaca(options: LocalRunOptions): Promise<Venue> {
  const { stateDir } = options;
  const env = options.alpaca?.env ?? process.env;
  const settings = alpacaSettingsFromEnv(env);
  if ((options.faultProfile ?? 'none') !== 'none') {
    throw new LocalRunError('--fault-profile injects faults into the paper broker only; drop it with --broker alpaca');
  }
  if (options.sessions.length !== 1) {
    throw new LocalRunError(
      `--broker alpaca trades one session per run in real time, got ${options.sessions.length}; a range replay (--from/--to) needs the paper broker`,
    );
  }
  const date = options.sessions[0]!;
  const clock = options.alpaca?.clock ?? new WallClock({ print: options.print });
  const today = newYorkDate(clock.now());
  if (date < today) {
    throw new LocalRunError(
      `--date ${date} is in the past (today is ${today} in New York): with --broker alpaca the broker defines the present, so only today's or a later session can be traded`,
    );
  }

  const broker = new AlpacaBroker({
    credentials: new EnvCredentials(env),
    baseUrl: settings.baseUrl,
    live: settings.live,
    ...(options.alpaca?.fetch ? { fetch: options.alpaca.fetch } : {}),
  });
  const calendarPort = new AlpacaCalendar(broker, {
    start: shiftDate(date, -ALPACA_CALENDAR_DAYS_BEFORE),
    end: shiftDate(date, ALPACA_CALENDAR_DAYS_AFTER),
  });
  let calendar: TradingCalendar;
  try {
    calendar = new TradingCalendar(await calendarPort.loadSessions());
  } catch (error) {
    throw new LocalRunError(`cannot read the session calendar from Alpaca at ${settings.endpoint.baseUrl}: ${(error as Error).message}`);
  }
  if (!calendar.covers(date) || !calendar.isSession(date)) {
    const next = calendar.covers(date) ? calendar.nextSession(date) : undefined;
    throw new LocalRunError(`--date ${date} is not a trading session per Alpaca's calendar (weekend or holiday)${next ? `; next session ${next.date}` : ''}`);
  }

  await mkdir(stateDir, { recursive: true });
  if (existsSync(join(stateDir, 'paper-account.json')) || existsSync(join(stateDir, 'sim-clock.json'))) {
    throw new LocalRunError(`${stateDir} holds a paper-broker account; --broker alpaca needs its own --state-dir (its ledger must match the Alpaca account)`);
  }
  const marker = await readBrokerMarker(stateDir);
  if (marker && marker.endpoint !== settings.endpoint.baseUrl) {
    throw new LocalRunError(
      `${stateDir} holds the ledger of the Alpaca account at ${marker.endpoint}, not ${settings.endpoint.baseUrl}; use another --state-dir`,
    );
  }
  if (!marker) await writeBrokerMarker(stateDir, { broker: 'alpaca', endpoint: settings.endpoint.baseUrl, mode: settings.endpoint.mode });

  options.print(
    `Broker: Alpaca ${settings.endpoint.mode === 'live' ? 'LIVE (real money)' : settings.endpoint.mode} at ${settings.endpoint.baseUrl}; ` +
      `now ${clock.now().toISOString()}; session ${date} ${calendar.session(date).openUtc} .. ${calendar.session(date).closeUtc}`,
  );
  return {
    clock,
    broker,
    reportBroker: broker,
    calendarPort,
    calendar,
    sleep: options.alpaca?.sleep ?? realSleep,
    faults: [],
    // Real money is never armed implicitly: a live account starts HALTED until --kill-switch ARMED.
    initialKillSwitch: settings.live ? 'HALTED' : 'ARMED',
    // The broker defines the present: the clock is never moved, only waited on (the Wait state).
    startSession: async () => undefined,
    executionEnded: async () => undefined,
    endSession: async () => undefined,
  };
}

/** `YYYY-MM-DD` plus `days` calendar days. */
function shiftDate(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: 'utc' }).plus({ days }).toISODate()!;
}

/** `broker.json`: which Alpaca account a state directory's ledger belongs to. */
interface BrokerMarker {
  broker: 'alpaca';
  endpoint: string;
  mode: string;
}

async function readBrokerMarker(stateDir: string): Promise<BrokerMarker | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(stateDir, 'broker.json'), 'utf8')) as Partial<BrokerMarker>;
    if (parsed.broker === 'alpaca' && typeof parsed.endpoint === 'string') return parsed as BrokerMarker;
  } catch {
    // no marker: a paper (or new) state directory
  }
  return undefined;
}

async function writeBrokerMarker(stateDir: string, marker: BrokerMarker): Promise<void> {
  await writeFile(join(stateDir, 'broker.json'), `${JSON.stringify(marker, null, 2)}\n`);
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
export function invoke(name: string, handler: (event: unknown, context: Context) => Promise<unknown>): LocalTask {
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
