/**
 * The local replay, timed: `runLocal` (local/runner.ts) in this process over the last N sessions of
 * the bundled data (default 1,000, ending 2017-12-29), as `npm start -- --from A --to B` runs it:
 * the deployed ASL through aws-local-stepfunctions, the six handlers in-process, dynalite in a fresh
 * temp state directory, the paper broker, the bundled calendar, `data/daily` and the default strategy
 * config (STRATEGY_CONFIG is ignored here, so the figure does not depend on the environment). Nothing
 * is printed per session.
 *
 * The figure is the wall time of the whole `runLocal` call: dynalite start-up, the first read of every
 * CSV, every execution and report, and dynalite shutdown. Only the module imports and the calendar read
 * that picks the sessions happen before the clock starts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** Sessions replayed by default: the target is 1,000 sessions in under 60 s on 2 cores. */
export const REPLAY_SESSIONS = 1000;
/** Last session of the bundled data (`data/daily`). */
export const REPLAY_LAST_SESSION = '2017-12-29';
/** Target of the replay figure, seconds for REPLAY_SESSIONS sessions. */
export const REPLAY_TARGET_S = 60;

export type ReplayMeasure =
  | {
      ok: true;
      sessions: number;
      from: string;
      to: string;
      /** Wall seconds of the whole runLocal call. */
      seconds: number;
      sessionsPerS: number;
      msPerSession: number;
      /** Sessions whose execution failed (should be 0). */
      failedExecutions: number;
      ordersSubmitted: number;
      fills: number;
      endingEquity: number;
      /** Feature rows the features step took precomputed by the second thread, and those it computed (null: none precomputed). */
      featureRows: { precomputed: number; computed: number } | null;
    }
  | { ok: false; reason: string };

export interface ReplayOptions {
  /** Sessions to replay, the last ones ending at REPLAY_LAST_SESSION (default REPLAY_SESSIONS). */
  sessions?: number;
  /** Keep the temp state directory (its path is logged). */
  keep?: boolean;
  log?: (line: string) => void;
}

/** Runs the replay once and returns its figures; never throws (a failure gives `ok: false`). */
export async function measureReplay(repoRoot: string, options: ReplayOptions = {}): Promise<ReplayMeasure> {
  const count = options.sessions ?? REPLAY_SESSIONS;
  // The handlers create their logger at import time: quiet them first, as local/cli.ts does.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_SERVICE_NAME ??= 'trading-pipeline-local';
  const stateDir = mkdtempSync(join(tmpdir(), 'replay-bench-'));
  try {
    const [{ runLocal }, { CsvCalendar }, { TradingCalendar }, { parseStrategyConfig }] = await Promise.all([
      import('../../local/runner'),
      import('../../lambdas/adapters/calendar/csv-calendar'),
      import('../../lambdas/core/calendar'),
      import('../../lambdas/core/config'),
    ]);
    const calendarFile = join(repoRoot, 'data/calendars/xnys-sessions-1990-2023.csv');
    const calendar = new TradingCalendar(await new CsvCalendar({ file: calendarFile }).loadSessions());
    const all = calendar.sessionsBetween(calendar.first.date, REPLAY_LAST_SESSION).map((s) => s.date);
    const sessions = all.slice(-count);
    const from = sessions[0] as string;
    const to = sessions[sessions.length - 1] as string;
    options.log?.(`replay: ${sessions.length} sessions ${from}..${to}, state in ${stateDir} ...`);
    const start = performance.now();
    let featureRows: { precomputed: number; computed: number } | null = null;
    const result = await runLocal({
      onFeatureRows: (counts) => (featureRows = counts),
      sessions,
      dataDir: join(repoRoot, 'data/daily'),
      stateDir,
      calendarFile,
      aslFile: join(repoRoot, 'state-machines/trading-pipeline.asl.json'),
      config: parseStrategyConfig({}),
      initialCash: '100000',
      broker: 'paper',
      print: () => undefined,
    });
    const seconds = (performance.now() - start) / 1000;
    return {
      ok: true,
      sessions: sessions.length,
      from,
      to,
      seconds,
      sessionsPerS: sessions.length / seconds,
      msPerSession: (seconds * 1000) / sessions.length,
      failedExecutions: result.days.filter((d) => d.executionError).length,
      ordersSubmitted: result.summary.ordersSubmitted,
      fills: result.summary.fills,
      endingEquity: result.summary.endingEquity,
      featureRows,
    };
  } catch (error) {
    return { ok: false, reason: `replay failed: ${(error as Error).stack ?? String(error)}` };
  } finally {
    if (options.keep) options.log?.(`replay: state kept in ${stateDir}`);
    else rmSync(stateDir, { recursive: true, force: true });
  }
}
