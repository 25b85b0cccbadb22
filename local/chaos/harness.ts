/**
 * Chaos harness: random schedules of runs, step retries, duplicated and concurrent executions and
 * broker faults, played against dynalite and the paper broker, with the safety invariants checked
 * after every case:
 *
 *   I1  at most one broker order per client_order_id, and at most one entry per symbol and session;
 *   I2  after a final (fault-free) reconciliation the ledger equals the broker: positions derived
 *       from the ledger's fills equal the broker's, and every open broker order is in the ledger;
 *   I3  at the end, no open position lacks a live stop-loss unless an UNPROTECTED_POSITION alert
 *       said so;
 *   I4  no entry is submitted while the effective trading state is not ACTIVE (kill switch not
 *       ARMED, a HALTED/REDUCING latch, or the session's day lock), checked at the moment the broker
 *       receives the order. Exits (risk-reducing sells) are always allowed and not checked.
 *
 * Used by the property test (test/local/chaos.test.ts, 1,000 seeded cases in CI) and by
 * `npm run chaos -- --cases N [--seed S]` (local/chaos/cli.ts).
 *
 * Steps are called in-process the way the state machine chains them (the ASL's Catch semantics:
 * a failure before PlaceOrders ends the execution; a PlaceOrders failure still runs
 * cancel-verify). A "step retry" invokes the same step twice with the same input, as Lambda's
 * at-least-once delivery can.
 */
import fc from 'fast-check';
import { BundledModelSource } from '../../lambdas/adapters/model/model-source';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PaperBroker, type PaperAccountStore } from '../../lambdas/adapters/broker/paper/paper-broker';
import type { PaperState } from '../../lambdas/adapters/broker/paper/engine';
import { createFaultInjectingBroker, FAULT_PROFILES, type FaultProfile } from '../../lambdas/adapters/broker/faults';
import { RetryingBroker } from '../../lambdas/adapters/broker/retrying-broker';
import { SimClock } from '../../lambdas/adapters/clock';
import { DynamoOrderLedger } from '../../lambdas/adapters/dynamodb/order-ledger';
import { DynamoRiskAudit } from '../../lambdas/adapters/dynamodb/risk-audit';
import { DynamoRunArtifacts } from '../../lambdas/adapters/dynamodb/run-artifacts';
import { DynamoTradingStateStore } from '../../lambdas/adapters/dynamodb/trading-state';
import { newYorkTime, type TradingCalendar } from '../../lambdas/core/calendar';
import { DECISION_TIME_NY } from '../runner';
import type { StrategyConfig } from '../../lambdas/core/config';
import { effectiveTradingState, KILL_SWITCH_STATES, type KillSwitchState } from '../../lambdas/core/kill-switch';
import { parseClientOrderId } from '../../lambdas/core/client-order-id';
import { findUnprotectedPositions, parentFilledFromLedger } from '../../lambdas/core/ledger';
import { cancelVerifyStep } from '../../lambdas/handlers/cancel-verify';
import { featuresStep } from '../../lambdas/handlers/features';
import { fetchStep, VERIFY_DELAY_MINUTES } from '../../lambdas/handlers/fetch';
import { ordersStep } from '../../lambdas/handlers/orders';
import { predictStep } from '../../lambdas/handlers/predict';
import { riskCheckStep } from '../../lambdas/handlers/risk-check';
import { readKillSwitch } from '../../lambdas/handlers/shared/kill-switch';
import type { PipelineState } from '../../lambdas/handlers/shared/pipeline-state';
import { reconcileWithBroker, syncOpenOrders } from '../../lambdas/handlers/shared/reconcile';
import type {
  Alert,
  AlertPort,
  BrokerPort,
  CalendarPort,
  KillSwitchPort,
  MarketDataPort,
  RawParameter,
  SubmitOrderRequest,
} from '../../lambdas/ports';
import type { Deps } from '../../lambdas/wiring/deps';

/** Pipeline steps a scenario may invoke twice. */
export const RETRYABLE_STEPS = ['fetch', 'risk-check', 'orders', 'cancel-verify'] as const;
export type RetryableStep = (typeof RETRYABLE_STEPS)[number];

/** One session of a scenario. */
export interface ChaosSession {
  /** Executions of the same schedule slot (duplicated deliveries), 1..3. */
  executions: number;
  /** Run them concurrently (interleaved at every await) rather than one after the other. */
  concurrent: boolean;
  /** Steps each execution invokes twice. */
  retried: RetryableStep[];
  /** Kill switch set before the session. */
  killSwitch: KillSwitchState;
}

/** One chaos case. */
export interface ChaosScenario {
  profile: FaultProfile;
  /** Seed of the fault injector. */
  faultSeed: number;
  /** Index of the first session in the harness's window. */
  startOffset: number;
  sessions: ChaosSession[];
}

/** fast-check arbitrary of scenarios. Kill switch ARMED most of the time, so orders do flow. */
export const scenarioArbitrary: fc.Arbitrary<ChaosScenario> = fc.record({
  profile: fc.constantFrom(...FAULT_PROFILES),
  faultSeed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  startOffset: fc.integer({ min: 0, max: 5 }),
  sessions: fc.array(
    fc.record({
      executions: fc.integer({ min: 1, max: 3 }),
      concurrent: fc.boolean(),
      retried: fc.subarray([...RETRYABLE_STEPS]),
      killSwitch: fc.oneof({ weight: 6, arbitrary: fc.constant<KillSwitchState>('ARMED') }, { weight: 1, arbitrary: fc.constantFrom(...KILL_SWITCH_STATES) }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

/** What the harness shares across cases: one dynalite, cached market data, the calendar. */
export interface ChaosEnvironment {
  db: DynamoDBDocumentClient;
  tables: { orderLedger: string; tradingState: string; runArtifacts: string; riskAudit: string };
  marketData: MarketDataPort;
  calendar: CalendarPort;
  tradingCalendar: TradingCalendar;
  /** Sessions the scenarios start in (consecutive NYSE sessions). */
  window: string[];
  /** Universe traded. */
  symbols: string[];
  config: StrategyConfig;
}

/** Result of one case. */
export interface ChaosResult {
  violations: string[];
  /** Orders that reached the broker (parents). */
  ordersAtBroker: number;
  faults: number;
}

let caseCounter = 0;

/**
 * Plays one scenario and checks the invariants (see module doc).
 * @returns the violations (empty when every invariant held).
 */
export async function runChaosCase(env: ChaosEnvironment, scenario: ChaosScenario): Promise<ChaosResult> {
  caseCounter += 1;
  const strategyId = `c${caseCounter.toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`.slice(0, 12);
  const config: StrategyConfig = { ...env.config, strategyId };
  const first = env.window[scenario.startOffset % env.window.length]!;
  const clock = new SimClock(newYorkTime(first, 8, 0));
  const store = new MemoryPaperAccountStore();
  const paper = new PaperBroker({ store, marketData: env.marketData, calendar: env.calendar, clock, initialCash: '100000' });
  const noWait = async () => undefined;
  let faults = 0;
  const faulty = createFaultInjectingBroker(paper, { profile: scenario.profile, seed: scenario.faultSeed, sleep: noWait, onFault: () => void (faults += 1) });
  const killSwitch = new MemoryKillSwitch(clock);
  const alerts = new MemoryAlerts();
  const tradingState = new DynamoTradingStateStore(env.db, env.tables.tradingState, strategyId);
  const violations: string[] = [];

  // I4 is checked where the order reaches the broker (after the fault injector let it through).
  const monitored = new SubmitMonitor(faulty, async (request) => {
    const parts = parseClientOrderId(request.clientOrderId);
    if (parts?.purpose !== 'entry') return; // exits are risk-reducing: always allowed
    const gate = effectiveTradingState(await readKillSwitch(killSwitch), await tradingState.getLatch());
    const lock = await tradingState.getDayLock(parts.sessionDate);
    if (gate.state !== 'ACTIVE') violations.push(`I4 submitted ${request.clientOrderId} while ${gate.state} (${gate.cause})`);
    else if (lock) violations.push(`I4 submitted ${request.clientOrderId} while the day is locked (${lock.cause})`);
  });
  const deps: Deps = {
    config,
    clock,
    model: new BundledModelSource(),
    marketData: env.marketData,
    calendar: env.calendar,
    broker: new RetryingBroker(monitored, { sleep: noWait }),
    killSwitch,
    alerts,
    secrets: { getCredentials: async () => ({}) },
    ledger: new DynamoOrderLedger(env.db, env.tables.orderLedger, strategyId),
    tradingState,
    artifacts: new DynamoRunArtifacts(env.db, env.tables.runArtifacts),
    riskAudit: new DynamoRiskAudit(env.db, env.tables.riskAudit, strategyId),
    sleep: noWait,
  };

  const startIndex = env.tradingCalendar.sessionsBetween(first, env.tradingCalendar.last.date).map((s) => s.date);
  let lastVerifyAlerts: Alert[] = [];
  for (const [i, plan] of scenario.sessions.entries()) {
    const date = startIndex[i]!;
    const session = env.tradingCalendar.session(date);
    clock.advanceTo(newYorkTime(date, DECISION_TIME_NY.hour, DECISION_TIME_NY.minute));
    await killSwitch.write(plan.killSwitch);
    const runIds = Array.from({ length: plan.executions }, (_, n) => `${strategyId}-${date}-${n}`);
    const trade = (runId: string) => tradeUntilClose(deps, env, plan, runId, date);
    const traded = plan.concurrent ? await Promise.all(runIds.map(trade)) : await sequential(runIds, trade);

    clock.advanceTo(new Date(Date.parse(session.closeUtc) + VERIFY_DELAY_MINUTES * 60_000));
    const before = alerts.published.length;
    const verify = async (state: PipelineState | undefined) => {
      if (!state) return;
      await twice(plan.retried.includes('cancel-verify'), () => cancelVerifyStep(state, deps)).catch(() => undefined);
    };
    if (plan.concurrent) await Promise.all(traded.map(verify));
    else for (const state of traded) await verify(state);
    lastVerifyAlerts = alerts.published.slice(before);
  }

  // The final word goes to the honest broker: a fault-free sync and reconciliation.
  const honest: Deps = { ...deps, broker: paper };
  const base = { runId: `${strategyId}-final`, tradingDate: env.tradingCalendar.session(startIndex[scenario.sessions.length - 1]!).date };
  await syncOpenOrders(honest, base);
  const reconciled = await reconcileWithBroker(honest, base);
  // I2
  for (const d of reconciled.discrepancies) violations.push(`I2 ledger != broker after reconciliation: ${JSON.stringify(d)}`);

  // I1
  const state = (await store.load())?.state;
  const orders = state?.orders ?? [];
  const perId = new Map<string, number>();
  for (const o of orders) perId.set(o.clientOrderId, (perId.get(o.clientOrderId) ?? 0) + 1);
  for (const [id, n] of perId) if (n > 1) violations.push(`I1 ${n} broker orders share client_order_id ${id}`);
  const entries = new Map<string, number>();
  for (const o of orders.filter((x) => x.parentId === null)) {
    const parts = parseClientOrderId(o.clientOrderId);
    const key = parts ? `${parts.symbol}@${parts.sessionDate}/${parts.purpose}` : `unparsed:${o.clientOrderId}`;
    entries.set(key, (entries.get(key) ?? 0) + 1);
  }
  for (const [key, n] of entries) if (n > 1) violations.push(`I1 ${n} entries at the broker for ${key}`);

  // I3
  const unprotected = findUnprotectedPositions(
    reconciled.brokerPositions,
    await paper.listOrders({ status: 'open' }),
    parentFilledFromLedger(await deps.ledger.listOrders()),
  );
  if (unprotected.length > 0) {
    const reported = [...lastVerifyAlerts, ...alerts.published].some((a) => a.type === 'UNPROTECTED_POSITION');
    if (!reported) violations.push(`I3 unprotected and unreported: ${unprotected.map((u) => `${u.symbol} ${u.qty}`).join(', ')}`);
  }
  return { violations, ordersAtBroker: orders.filter((o) => o.parentId === null).length, faults };
}

/** fetch → features → predict → risk-check → orders for one execution; undefined when it ended early. */
async function tradeUntilClose(deps: Deps, env: ChaosEnvironment, plan: ChaosSession, runId: string, date: string): Promise<PipelineState | undefined> {
  let state: PipelineState;
  try {
    state = await twice(plan.retried.includes('fetch'), () =>
      fetchStep({ request: { tradingDate: date, symbols: env.symbols }, runId, startedAt: deps.clock.now().toISOString() }, deps),
    );
    if (!state.session.isSession || state.runLock?.acquired === false) return undefined; // DuplicateRun
    await featuresStep(state, deps);
    await predictStep(state, deps);
    await twice(plan.retried.includes('risk-check'), () => riskCheckStep(state, deps));
  } catch {
    return undefined; // the execution fails before PlaceOrders: nothing more runs
  }
  await twice(plan.retried.includes('orders'), () => ordersStep(state, deps)).catch(() => undefined); // Catch → still verify
  return state;
}

/** Runs `fn`, and when `again`, runs it a second time with the same input (a retried Lambda). */
async function twice<T>(again: boolean, fn: () => Promise<T>): Promise<T> {
  if (!again) return fn();
  try {
    await fn();
  } catch {
    // the retry below is what the caller sees
  }
  return fn();
}

async function sequential<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}

// ---------------------------------------------------------------------------------------------
// In-memory ports for the harness
// ---------------------------------------------------------------------------------------------

/** The paper account in memory, with the same optimistic versioning as the file/DynamoDB stores. */
export class MemoryPaperAccountStore implements PaperAccountStore {
  private current: { state: PaperState; version: number } | undefined;
  async load(): Promise<{ state: PaperState; version: number } | undefined> {
    return this.current ? { state: structuredClone(this.current.state), version: this.current.version } : undefined;
  }
  async save(state: PaperState, expectedVersion: number | undefined): Promise<number> {
    if (this.current?.version !== expectedVersion) {
      throw new Error(`paper account changed concurrently (expected version ${expectedVersion}, found ${this.current?.version})`);
    }
    const version = (expectedVersion ?? 0) + 1;
    this.current = { state: structuredClone(state), version };
    return version;
  }
}

/** Kill switch in memory; lastModified is the (simulated) time of the last write. */
export class MemoryKillSwitch implements KillSwitchPort {
  private value: RawParameter = { value: 'ARMED' };
  constructor(private readonly clock: { now(): Date }) {}
  async read(): Promise<RawParameter> {
    return { ...this.value };
  }
  async write(value: string): Promise<void> {
    if (value !== this.value.value) this.value = { value, lastModified: this.clock.now().toISOString() };
  }
}

/** Alerts kept in memory. */
export class MemoryAlerts implements AlertPort {
  readonly published: Alert[] = [];
  async publish(alert: Alert): Promise<void> {
    this.published.push(alert);
  }
}

/** Calls `check` with every submission before passing it on. */
class SubmitMonitor implements BrokerPort {
  constructor(
    private readonly inner: BrokerPort,
    private readonly check: (request: SubmitOrderRequest) => Promise<void>,
  ) {}
  getAccount = () => this.inner.getAccount();
  listPositions = () => this.inner.listPositions();
  listOrders = (filter: { status: 'open' | 'closed' | 'all' }) => this.inner.listOrders(filter);
  getOrderByClientOrderId = (id: string) => this.inner.getOrderByClientOrderId(id);
  getOrder = (id: string) => this.inner.getOrder(id);
  listExecutions = (filter: { after?: string }) => this.inner.listExecutions(filter);
  cancelOrder = (id: string) => this.inner.cancelOrder(id);
  async submitOrder(request: SubmitOrderRequest) {
    await this.check(request);
    return this.inner.submitOrder(request);
  }
}

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

/** Market data read once per symbol and kept in memory (every case reads the same files). */
class CachedMarketData implements MarketDataPort {
  private readonly rows = new Map<string, ReturnType<MarketDataPort['loadDailyRows']>>();
  private symbols: Promise<string[]> | undefined;
  constructor(private readonly inner: MarketDataPort) {}
  listSymbols(): Promise<string[]> {
    this.symbols ??= this.inner.listSymbols();
    return this.symbols;
  }
  loadDailyRows(symbol: string): ReturnType<MarketDataPort['loadDailyRows']> {
    let cached = this.rows.get(symbol);
    if (!cached) {
      cached = this.inner.loadDailyRows(symbol);
      this.rows.set(symbol, cached);
    }
    return cached.then((rows) => rows.map((r) => ({ ...r })));
  }
}

/** Where the harness's data lives (the project's bundled copy). */
export interface ChaosEnvironmentOptions {
  dataDir: string;
  calendarFile: string;
  /** A fresh directory for dynalite's store. */
  dynamoDir: string;
  /** Universe traded (default: eight liquid names of the bundled data). */
  symbols?: string[];
  /** Sessions the scenarios may start in (default: 2018-01-22 .. 2018-01-29, inside the bundled data). */
  windowFrom?: string;
  windowTo?: string;
}

/**
 * Starts dynalite and loads what every case shares.
 * @returns the environment and a `stop` that shuts dynalite down.
 */
export async function startChaosEnvironment(options: ChaosEnvironmentOptions): Promise<{ env: ChaosEnvironment; stop: () => Promise<void> }> {
  const [{ startLocalDynamo, LOCAL_CREDENTIALS, LOCAL_REGION }, { createDocumentClient, localTableNames }, { CsvMarketData }, { CsvCalendar }, { TradingCalendar }, { parseStrategyConfig }] =
    await Promise.all([
      import('../dynalite'),
      import('../../lambdas/adapters/dynamodb/client'),
      import('../../lambdas/adapters/market-data/csv'),
      import('../../lambdas/adapters/calendar/csv-calendar'),
      import('../../lambdas/core/calendar'),
      import('../../lambdas/core/config'),
    ]);
  const dynamo = await startLocalDynamo(options.dynamoDir);
  const db = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const calendar = new CsvCalendar({ file: options.calendarFile });
  const tradingCalendar = new TradingCalendar(await calendar.loadSessions());
  const window = tradingCalendar.sessionsBetween(options.windowFrom ?? '2018-01-22', options.windowTo ?? '2018-01-29').map((s) => s.date);
  const env: ChaosEnvironment = {
    db,
    tables: localTableNames(),
    marketData: new CachedMarketData(new CsvMarketData({ dataDir: options.dataDir })),
    calendar,
    tradingCalendar,
    window,
    symbols: options.symbols ?? ['AAPL', 'AMZN', 'BA', 'INTC', 'MSFT', 'NVDA', 'UNH', 'V'],
    // A compact book so a few sessions see entries, fills, stop-outs and stale cancels. The regime
    // filter is off: the bundled SPY ends 2017-12-29, so in this January 2018 window it would refuse
    // every entry as stale and leave the order-safety invariants nothing to check.
    config: parseStrategyConfig({ maxCandidates: 4, maxOpenPositions: 4, regimeFilter: false }),
  };
  return {
    env,
    stop: async () => {
      db.destroy();
      await dynamo.stop();
    },
  };
}
