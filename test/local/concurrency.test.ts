/**
 * Concurrency: N ≥ 8 executions of the same schedule slot, started at once against one dynalite
 * through the deployed state machine definition (the ASL file, executed in-process), produce
 * exactly one order set. The run lock in Fetch lets one execution trade; the others end in the
 * DuplicateRun Succeed state without touching the broker. This is also what EventBridge
 * Scheduler's duplicate deliveries look like.
 */
import { randomUUID } from 'node:crypto';
import { BundledModelSource } from '../../lambdas/adapters/model/model-source';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaperBroker } from '../../lambdas/adapters/broker/paper/paper-broker';
import { CsvCalendar } from '../../lambdas/adapters/calendar/csv-calendar';
import { SimClock } from '../../lambdas/adapters/clock';
import { createDocumentClient, localTableNames } from '../../lambdas/adapters/dynamodb/client';
import { DynamoOrderLedger } from '../../lambdas/adapters/dynamodb/order-ledger';
import { DynamoRiskAudit } from '../../lambdas/adapters/dynamodb/risk-audit';
import { DynamoRunArtifacts } from '../../lambdas/adapters/dynamodb/run-artifacts';
import { DynamoTradingStateStore } from '../../lambdas/adapters/dynamodb/trading-state';
import { CsvMarketData } from '../../lambdas/adapters/market-data/csv';
import { newYorkTime } from '../../lambdas/core/calendar';
import { parseStrategyConfig } from '../../lambdas/core/config';
import * as cancelVerify from '../../lambdas/handlers/cancel-verify';
import * as features from '../../lambdas/handlers/features';
import * as fetch from '../../lambdas/handlers/fetch';
import * as orders from '../../lambdas/handlers/orders';
import * as predict from '../../lambdas/handlers/predict';
import * as riskCheck from '../../lambdas/handlers/risk-check';
import type { BrokerPort, SubmitOrderRequest } from '../../lambdas/ports';
import type { Deps } from '../../lambdas/wiring/deps';
import { executeLocally, loadAsl, type LocalTask } from '../../local/asl';
import { MemoryAlerts, MemoryKillSwitch, MemoryPaperAccountStore } from '../../local/chaos/harness';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalDynamo, type LocalDynamo } from '../../local/dynalite';
import { DECISION_TIME_NY, invoke } from '../../local/runner';

const ROOT = resolve(__dirname, '../..');
const DATE = '2018-02-07';
const N = 8;

describe(`${N} concurrent executions of one schedule slot`, { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-concurrency-'));
  let dynamo: LocalDynamo;
  let deps: Deps;
  const submitted: SubmitOrderRequest[] = [];
  let outputs: Array<{ name: string; output: unknown }>;
  const failureNotices: unknown[] = [];

  beforeAll(async () => {
    dynamo = await startLocalDynamo(join(dir, 'dynamodb'));
    const db = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const tables = localTableNames();
    // Regime filter off: the bundled SPY ends 2017-12-29, so on 2018-02-07 it would refuse every entry
    // as stale and there would be no orders whose uniqueness this test checks.
    const config = parseStrategyConfig({ regimeFilter: false });
    const clock = new SimClock(newYorkTime(DATE, DECISION_TIME_NY.hour, DECISION_TIME_NY.minute)); // the scheduled slot: 09:45 New York
    const marketData = new CsvMarketData({ dataDir: join(ROOT, 'data/daily') });
    const calendar = new CsvCalendar({ file: join(ROOT, 'data/calendars/xnys-sessions-1990-2023.csv') });
    const paper = new PaperBroker({ store: new MemoryPaperAccountStore(), marketData, calendar, clock, initialCash: '100000' });
    const recording: BrokerPort = Object.assign(Object.create(paper) as BrokerPort, {
      submitOrder: async (request: SubmitOrderRequest) => {
        submitted.push(request);
        return paper.submitOrder(request);
      },
    });
    deps = {
      config,
      clock,
      model: new BundledModelSource(),
      marketData,
      calendar,
      broker: recording,
      killSwitch: new MemoryKillSwitch(clock),
      alerts: new MemoryAlerts(),
      secrets: { getCredentials: async () => ({}) },
      ledger: new DynamoOrderLedger(db, tables.orderLedger, config.strategyId),
      tradingState: new DynamoTradingStateStore(db, tables.tradingState, config.strategyId),
      artifacts: new DynamoRunArtifacts(db, tables.runArtifacts),
      riskAudit: new DynamoRiskAudit(db, tables.riskAudit, config.strategyId),
      sleep: async () => undefined,
    };
    const getDeps = () => deps;
    const functions: Record<string, LocalTask> = {
      FetchFunctionArn: invoke('fetch', fetch.createHandler(getDeps)),
      FeaturesFunctionArn: invoke('features', features.createHandler(getDeps)),
      PredictFunctionArn: invoke('predict', predict.createHandler(getDeps)),
      RiskCheckFunctionArn: invoke('riskCheck', riskCheck.createHandler(getDeps)),
      OrdersFunctionArn: invoke('orders', orders.createHandler(getDeps)),
      CancelVerifyFunctionArn: invoke('cancelVerify', cancelVerify.createHandler(getDeps)),
    };
    const { text } = await loadAsl(join(ROOT, 'state-machines/trading-pipeline.asl.json'));
    const names = Array.from({ length: N }, (_, i) => `sched-${DATE}-${i}-${randomUUID().slice(0, 6)}`);
    const startTime = clock.now().toISOString();
    // All N started together: the scheduler delivered the same slot N times.
    outputs = await Promise.all(
      names.map(async (name) => ({
        name,
        output: await executeLocally(text, { tradingDate: DATE }, { functions, integrations: { 'arn:aws:states:::sns:publish': async (p) => (failureNotices.push(p), { MessageId: 'local' }) }, clock }, { name, startTime }),
      })),
    );
  });
  afterAll(async () => {
    await dynamo.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exactly one execution holds the run lock and trades; the others end without trading', () => {
    const winners = outputs.filter((o) => (o.output as { runLock?: { acquired: boolean } }).runLock?.acquired === true);
    const losers = outputs.filter((o) => (o.output as { runLock?: { acquired: boolean } }).runLock?.acquired === false);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(N - 1);
    for (const l of losers) expect((l.output as { runLock: { heldBy: string } }).runLock.heldBy).toBe(winners[0]!.name);
    // Only the winner went past Fetch: its output carries the later steps' summaries.
    expect(Object.keys(winners[0]!.output as object)).toEqual(expect.arrayContaining(['orders', 'cancelVerify']));
    expect(failureNotices).toEqual([]);
    for (const l of losers) expect(Object.keys(l.output as object)).not.toContain('orders');
  });

  it('produces exactly one order set: one submission per client_order_id, one ledger intent each', async () => {
    expect(submitted.length).toBeGreaterThan(0);
    const ids = submitted.map((r) => r.clientOrderId);
    expect(new Set(ids).size).toBe(ids.length);
    const entries = (await deps.ledger.listOrders()).filter((o) => o.purpose === 'entry');
    expect(entries.map((o) => o.clientOrderId).sort()).toEqual([...ids].sort());
    expect(new Set(entries.map((o) => o.submittedByRunId)).size).toBe(1);
  });
});
