/**
 * DeduplicatingAlerts over both logs: the in-memory one and DynamoAlertLog on dynalite (a real
 * DynamoDB API, so its conditional writes are exercised for real, including concurrent claims).
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { alertKey } from '../../../../lambdas/core/alert-policy';
import { DeduplicatingAlerts, MemoryAlertLog, type AlertLog } from '../../../../lambdas/adapters/alerts/deduplicating';
import { AlertLogContentionError, DynamoAlertLog } from '../../../../lambdas/adapters/dynamodb/alert-log';
import type { Alert, AlertPort, AlertSeverity } from '../../../../lambdas/ports';
import { startTestDynamo, type TestDynamo } from '../../../support/dynamo';

const T0 = Date.parse('2018-02-07T14:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

/** An AlertPort that records what it was given; `failNext` makes the next publish throw. */
class RecordingSink implements AlertPort {
  readonly published: Alert[] = [];
  failNext = 0;
  async publish(alert: Alert): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('SNS unavailable');
    }
    this.published.push(alert);
  }
}

function alert(severity: AlertSeverity, type: string, overrides: Partial<Alert> = {}): Alert {
  return { severity, type, message: `${type} happened`, at: iso(T0), ...overrides };
}

/** A settable clock. */
function clock(startMs = T0) {
  const c = { ms: startMs, now: () => new Date(c.ms) };
  return c;
}

/**
 * A document client whose first `n` GetCommands are held until all `n` have been issued, so `n`
 * concurrent claims all read the same state before any of them writes (a forced race).
 */
function barrierClient(db: DynamoDBDocumentClient, n: number): DynamoDBDocumentClient {
  let waiting: Array<() => void> = [];
  let gets = 0;
  return {
    send: async (command: unknown) => {
      if (command instanceof GetCommand && gets < n) {
        gets += 1;
        const result = await db.send(command);
        if (gets < n) await new Promise<void>((resolve) => waiting.push(resolve));
        else {
          waiting.forEach((resolve) => resolve());
          waiting = [];
        }
        return result;
      }
      return db.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
}

interface LogHarness {
  /** A log view; views made by the same harness share state (like two Lambdas on one table). */
  makeLog(): AlertLog;
  /** `n` log views whose first reads are forced to race (all read before any writes). */
  makeRacingLogs(n: number): AlertLog[];
  stop(): Promise<void>;
}

const harnesses: Array<[string, () => Promise<LogHarness>]> = [
  [
    'MemoryAlertLog',
    async () => {
      const shared = new MemoryAlertLog();
      return { makeLog: () => shared, makeRacingLogs: (n) => Array.from({ length: n }, () => shared), stop: async () => {} };
    },
  ],
  [
    'DynamoAlertLog',
    async () => {
      const dynamo = await startTestDynamo();
      return {
        makeLog: () => new DynamoAlertLog(dynamo.db, dynamo.tables.tradingState, 'momo1'),
        makeRacingLogs: (n) => {
          const racing = barrierClient(dynamo.db, n);
          return Array.from({ length: n }, () => new DynamoAlertLog(racing, dynamo.tables.tradingState, 'momo1'));
        },
        stop: () => dynamo.stop(),
      };
    },
  ],
];

describe.each(harnesses)('DeduplicatingAlerts with %s', (_name, start) => {
  let harness: LogHarness;
  beforeEach(async () => {
    harness = await start();
  });
  afterEach(async () => {
    await harness.stop();
  });

  test('suppresses repeats inside the cooldown, then reports their count and the last send on the next send', async () => {
    const sink = new RecordingSink();
    const c = clock();
    const alerts = new DeduplicatingAlerts(sink, harness.makeLog(), { now: c.now });
    const slippage = alert('HIGH', 'SLIPPAGE', { details: { symbol: 'AAPL' } });

    await alerts.publish(slippage);
    c.ms = T0 + 10_000;
    await alerts.publish(slippage);
    c.ms = T0 + 299_999;
    await alerts.publish(slippage);
    expect(sink.published).toHaveLength(1);
    expect(sink.published[0]).toEqual(slippage); // the first send is untouched
    expect(alerts.suppressedCount).toBe(2);

    c.ms = T0 + 300_000; // exactly at the cooldown
    await alerts.publish(slippage);
    expect(sink.published).toHaveLength(2);
    expect(sink.published[1]!.message).toBe(`SLIPPAGE happened (2 similar alerts suppressed since ${iso(T0)})`);
    expect(sink.published[1]!.details).toEqual({ symbol: 'AAPL', suppressed: 2 });

    c.ms = T0 + 600_000; // the counter was reset by that send
    await alerts.publish(slippage);
    expect(sink.published[2]).toEqual(slippage);
    expect(alerts.sentCount).toBe(3);
  });

  test('keys are per (severity, type); the cooldown option is honoured', async () => {
    const sink = new RecordingSink();
    const c = clock();
    const alerts = new DeduplicatingAlerts(sink, harness.makeLog(), { now: c.now, cooldownSeconds: 60 });
    await alerts.publish(alert('MEDIUM', 'ORDER_REJECTED'));
    await alerts.publish(alert('MEDIUM', 'RATE_LIMITED'));
    await alerts.publish(alert('HIGH', 'ORDER_REJECTED'));
    await alerts.publish(alert('MEDIUM', 'ORDER_REJECTED'));
    expect(sink.published.map((a) => alertKey(a.severity, a.type))).toEqual(['MEDIUM#ORDER_REJECTED', 'MEDIUM#RATE_LIMITED', 'HIGH#ORDER_REJECTED']);
    c.ms = T0 + 60_000;
    await alerts.publish(alert('MEDIUM', 'ORDER_REJECTED'));
    expect(sink.published).toHaveLength(4);
    expect(sink.published[3]!.details).toEqual({ suppressed: 1 });
  });

  test('a CRITICAL is sent the first time in each run, even inside the cooldown, and once per run', async () => {
    const sink = new RecordingSink();
    const c = clock();
    const alerts = new DeduplicatingAlerts(sink, harness.makeLog(), { now: c.now });
    const halt = (runId: string) => alert('CRITICAL', 'RECONCILIATION_MISMATCH', { runId });
    await alerts.publish(halt('run-1'));
    c.ms += 1000;
    await alerts.publish(halt('run-1'));
    c.ms += 1000;
    await alerts.publish(halt('run-2'));
    c.ms += 1000;
    await alerts.publish(halt('run-2'));
    expect(sink.published.map((a) => a.runId)).toEqual(['run-1', 'run-2']);
    expect(sink.published[1]!.message).toContain(`(1 similar alerts suppressed since ${iso(T0)})`);
  });

  test('a failing log fails open: the alert is sent, with the log error in its details', async () => {
    const sink = new RecordingSink();
    const broken: AlertLog = {
      claim: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    };
    const alerts = new DeduplicatingAlerts(sink, broken, { now: clock().now });
    await alerts.publish(alert('CRITICAL', 'BROKER_AUTH_FAILED', { details: { status: 401 } }));
    await alerts.publish(alert('CRITICAL', 'BROKER_AUTH_FAILED', { details: { status: 401 } }));
    expect(sink.published).toHaveLength(2);
    expect(sink.published[0]!.details).toMatchObject({ status: 401, dedupError: expect.stringContaining('ProvisionedThroughputExceededException') });
    expect(alerts.logFailureCount).toBe(2);
  });

  test('when delivery fails the claim is released: the error propagates and the retry is sent, keeping the suppression count', async () => {
    const sink = new RecordingSink();
    const c = clock();
    const log = harness.makeLog();
    const alerts = new DeduplicatingAlerts(sink, log, { now: c.now });
    const lost = alert('HIGH', 'DAILY_LOSS_HALF_LIMIT');

    await alerts.publish(lost); // sent at T0
    c.ms = T0 + 1000;
    await alerts.publish(lost); // suppressed (1)
    c.ms = T0 + 400_000;
    sink.failNext = 1;
    await expect(alerts.publish(lost)).rejects.toThrow('SNS unavailable');
    c.ms = T0 + 401_000;
    await alerts.publish(lost); // not silenced by the failed attempt
    expect(sink.published).toHaveLength(2);
    expect(sink.published[1]!.message).toBe(`DAILY_LOSS_HALF_LIMIT happened (1 similar alerts suppressed since ${iso(T0)})`);
  });

  test('a failed first-ever send is released too, and the next alert is sent', async () => {
    const sink = new RecordingSink();
    const alerts = new DeduplicatingAlerts(sink, harness.makeLog(), { now: clock().now });
    sink.failNext = 1;
    await expect(alerts.publish(alert('CRITICAL', 'CONNECTION_LOST'))).rejects.toThrow('SNS unavailable');
    await alerts.publish(alert('CRITICAL', 'CONNECTION_LOST'));
    expect(sink.published).toHaveLength(1);
    expect(sink.published[0]!.details).toBeUndefined();
  });

  test('the same alert published concurrently from several wrappers is sent once; the others are counted', async () => {
    const sink = new RecordingSink();
    const n = 4;
    const wrappers = harness.makeRacingLogs(n).map((log) => new DeduplicatingAlerts(sink, log, { now: clock().now }));
    await Promise.all(wrappers.map((w) => w.publish(alert('CRITICAL', 'RECONCILIATION_MISMATCH', { runId: 'run-1' }))));
    expect(sink.published).toHaveLength(1);
    expect(wrappers.reduce((sum, w) => sum + w.suppressedCount, 0)).toBe(n - 1);

    const c = clock(T0 + 300_000);
    await new DeduplicatingAlerts(sink, harness.makeLog(), { now: c.now }).publish(alert('CRITICAL', 'RECONCILIATION_MISMATCH', { runId: 'run-1' }));
    expect(sink.published[1]!.details).toEqual({ suppressed: n - 1 });
  });

  test('concurrent CRITICALs of two different runs are both sent (each is first in its run)', async () => {
    const sink = new RecordingSink();
    const logs = harness.makeRacingLogs(2);
    const wrappers = ['run-1', 'run-2'].map((runId, i) => ({ runId, w: new DeduplicatingAlerts(sink, logs[i]!, { now: clock().now }) }));
    await Promise.all(wrappers.map(({ runId, w }) => w.publish(alert('CRITICAL', 'RISK_LIMIT_HALT', { runId }))));
    expect(sink.published.map((a) => a.runId).sort()).toEqual(['run-1', 'run-2']);
    expect(sink.published.every((a) => a.details?.dedupError === undefined)).toBe(true);
  });
});

describe('DynamoAlertLog specifics', () => {
  let dynamo: TestDynamo;
  beforeEach(async () => {
    dynamo = await startTestDynamo();
  });
  afterEach(async () => {
    await dynamo.stop();
  });

  test('stores one item per key under STRATEGY#<id> / ALERT#<severity>#<type>', async () => {
    const log = new DynamoAlertLog(dynamo.db, dynamo.tables.tradingState, 'momo1');
    await log.claim({ severity: 'CRITICAL', type: 'CONNECTION_LOST', runId: 'run-1' }, new Date(T0), 300);
    await log.claim({ severity: 'CRITICAL', type: 'CONNECTION_LOST', runId: 'run-1' }, new Date(T0 + 1), 300);
    const out = await dynamo.db.send(
      new GetCommand({ TableName: dynamo.tables.tradingState, Key: { pk: 'STRATEGY#momo1', sk: 'ALERT#CRITICAL#CONNECTION_LOST' } }),
    );
    expect(out.Item).toMatchObject({
      severity: 'CRITICAL',
      type: 'CONNECTION_LOST',
      lastSentAt: iso(T0),
      lastRunId: 'run-1',
      criticalRunIds: ['run-1'],
      suppressed: 1,
      version: 2,
      sentVersion: 1,
    });
    // another strategy has its own log
    const other = new DynamoAlertLog(dynamo.db, dynamo.tables.tradingState, 'other');
    expect(await other.getEntry({ severity: 'CRITICAL', type: 'CONNECTION_LOST' })).toBeUndefined();
  });

  test('an unreachable table fails open through the wrapper', async () => {
    const sink = new RecordingSink();
    const alerts = new DeduplicatingAlerts(sink, new DynamoAlertLog(dynamo.db, 'no-such-table', 'momo1'), { now: clock().now });
    await alerts.publish(alert('CRITICAL', 'CONNECTION_LOST'));
    expect(sink.published).toHaveLength(1);
    expect(sink.published[0]!.details?.dedupError).toMatch(/ResourceNotFound/);
  });

  test('when every attempt to record a send loses a race, the claim throws and the wrapper sends anyway', async () => {
    const racing = barrierClient(dynamo.db, 2);
    const logs = [0, 1].map(() => new DynamoAlertLog(racing, dynamo.tables.tradingState, 'momo1', { maxAttempts: 1 }));
    const results = await Promise.allSettled(logs.map((log) => log.claim({ severity: 'HIGH', type: 'FILL_RATE_LOW' }, new Date(T0), 300)));
    expect(results.filter((r) => r.status === 'fulfilled' && r.value.send)).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    expect(rejected?.reason).toBeInstanceOf(AlertLogContentionError);
  });

  test('when every attempt to record a suppression loses a race, the suppression is still counted', async () => {
    const key = { severity: 'HIGH' as const, type: 'FILL_RATE_LOW' };
    await new DynamoAlertLog(dynamo.db, dynamo.tables.tradingState, 'momo1').claim(key, new Date(T0), 300);
    const racing = barrierClient(dynamo.db, 2);
    const logs = [0, 1].map(() => new DynamoAlertLog(racing, dynamo.tables.tradingState, 'momo1', { maxAttempts: 1 }));
    const claims = await Promise.all(logs.map((log) => log.claim(key, new Date(T0 + 1000), 300)));
    expect(claims.map((c) => c.send)).toEqual([false, false]);
    expect(claims.map((c) => c.suppressed).sort()).toEqual([1, 2]);
    expect(await logs[0]!.getEntry(key)).toMatchObject({ lastSentAt: iso(T0), suppressed: 2 });
  });
});
