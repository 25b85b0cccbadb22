/**
 * The local run expires its run artifacts as DynamoDB's TTL would, on the run's clock: a session's
 * artifacts can be read while it ends and for ARTIFACT_TTL_DAYS after, then they are gone, so a long
 * replay holds about a month of them. The bulky BARS#<symbol> windows (and FEATURES, BENCHMARK_CLOSES)
 * live only in the runner's memory, for the latest two runs, and never reach the state directory (a 1,000-session replay used to
 * leave 7.5 GB there); the other artifacts are persisted there, so a later process can read them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient, localTableNames } from '../../lambdas/adapters/dynamodb/client';
import { ARTIFACT_TTL_DAYS } from '../../lambdas/adapters/dynamodb/run-artifacts';
import { ARTIFACTS } from '../../lambdas/handlers/shared/pipeline-state';
import { CsvCalendar } from '../../lambdas/adapters/calendar/csv-calendar';
import { TradingCalendar } from '../../lambdas/core/calendar';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalDynamo } from '../../local/dynalite';
import type { RangeReport } from '../../local/report';
import { runLocal } from '../../local/runner';
import { bundledRun, ROOT } from '../support/local-run';

describe('local run artifacts: persisted (bar windows in memory), expired on the run clock', { timeout: 300_000 }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'tp-expiry-'));
  /** For each session as it ends: which earlier runs' UNIVERSE artifacts can still be read. */
  const readable: Array<{ date: string; runs: string[]; barsRuns: string[] }> = [];
  const runIds: Array<{ date: string; runId: string }> = [];
  let result: RangeReport;

  beforeAll(async () => {
    const calendar = new TradingCalendar(await new CsvCalendar({ file: join(ROOT, 'data/calendars/xnys-sessions-1990-2023.csv') }).loadSessions());
    const sessions = calendar.sessionsBetween('2016-06-01', '2016-07-12').map((s) => s.date);
    result = await runLocal(
      bundledRun(sessions, {}, stateDir, {
        onSession: async (report, { artifacts }) => {
          runIds.push({ date: report.tradingDate, runId: report.runId });
          const runs: string[] = [];
          const barsRuns: string[] = [];
          for (const { date, runId } of runIds) {
            if (await artifacts.get(runId, ARTIFACTS.universe).then(() => true, () => false)) runs.push(date);
            if (await artifacts.get(runId, ARTIFACTS.bars('AAPL')).then(() => true, () => false)) barsRuns.push(date);
          }
          readable.push({ date: report.tradingDate, runs, barsRuns });
        },
      }),
    );
  });
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it('ran every session', () => {
    expect(result.days.every((d) => d.executionError === null)).toBe(true);
    expect(readable).toHaveLength(29);
  });

  it(`keeps a run's artifacts for ${ARTIFACT_TTL_DAYS} days on the run clock, then deletes them`, () => {
    const at = (date: string) => readable.find((r) => r.date === date)!.runs;
    // 2016-06-01's artifacts were written from 09:45 New York on; they expire 30 days later, on
    // 2016-07-01, and are deleted once that session has ended.
    expect(at('2016-06-01')).toEqual(['2016-06-01']);
    expect(at('2016-07-01')[0]).toBe('2016-06-01');
    expect(at('2016-07-05')[0]).toBe('2016-06-02');
    // At the end: exactly the runs of the last 30 days (2016-06-13 onwards) are left.
    const last = readable[readable.length - 1]!;
    expect(last.date).toBe('2016-07-12');
    expect(last.runs[0]).toBe('2016-06-13');
    expect(last.runs).toEqual(runIds.map((r) => r.date).filter((d) => d >= '2016-06-13'));
    // The bar windows are kept in memory for the latest two runs only.
    expect(readable.map((r) => r.barsRuns)).toEqual(readable.map((r) => r.runs.slice(-2)));
  });

  it('persists the other artifacts of unexpired runs in the state directory, never a bar window, the features or the benchmark closes', async () => {
    const dynamo = await startLocalDynamo(join(stateDir, 'dynamodb'));
    const db = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const names = async (runId: string) => {
      const out = await db.send(new QueryCommand({ TableName: localTableNames().runArtifacts, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `RUN#${runId}` } }));
      return (out.Items ?? []).map((item) => item.sk as string);
    };
    try {
      expect(await names(runIds[0]!.runId)).toEqual([]); // expired and deleted
      for (const { runId } of runIds.slice(-3)) {
        const stored = await names(runId);
        expect(stored).toEqual(expect.arrayContaining([ARTIFACTS.universe, ARTIFACTS.scores, ARTIFACTS.decisions, ARTIFACTS.orders, ARTIFACTS.verification, ARTIFACTS.drift]));
        // What only the execution itself reads stays in memory.
        expect(stored.filter((name) => name.startsWith('BARS#') || name === ARTIFACTS.features || name === ARTIFACTS.benchmarkCloses)).toEqual([]);
      }
    } finally {
      db.destroy();
      await dynamo.stop();
    }
  });
});
