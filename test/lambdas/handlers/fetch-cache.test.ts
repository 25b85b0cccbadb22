/**
 * Fetch with an adapter that caches its validation (CsvMarketData.loadValidatedBars, series checks
 * prepared once per series) decides exactly as with a plain MarketDataPort (validateBarRows and
 * withSeriesChecks every session): same quarantines and reasons, same BARS and BENCHMARK_CLOSES
 * artifacts, on the bundled data across many sessions (gaps, row defects, repeated bars, the end of SPY,
 * the first sessions with too little history).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvCalendar } from '../../../lambdas/adapters/calendar/csv-calendar';
import { CsvMarketData } from '../../../lambdas/adapters/market-data/csv';
import { hasValidatedBars } from '../../../lambdas/core/bars';
import type { Session } from '../../../lambdas/core/calendar';
import { fetchStep, type UniverseArtifact } from '../../../lambdas/handlers/fetch';
import { ARTIFACTS } from '../../../lambdas/handlers/shared/pipeline-state';
import type { MarketDataPort } from '../../../lambdas/ports';
import { startHandlerHarness, type HandlerHarness } from '../../support/fake-broker';

const CALENDAR_FILE = fileURLToPath(new URL('../../../data/calendars/xnys-sessions-1990-2023.csv', import.meta.url));
const DAILY_DIR = fileURLToPath(new URL('../../../data/daily', import.meta.url));

let h: HandlerHarness;
let sessions: Session[];

beforeAll(async () => {
  const all = await new CsvCalendar({ file: CALENDAR_FILE }).loadSessions();
  sessions = all.filter((s) => s.date >= '2013-01-02' && s.date <= '2018-03-29');
  h = await startHandlerHarness({ now: '2013-01-02T14:35:00.000Z', sessions });
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

/** Runs fetch for `date` with `marketData` (its own schedule slot `slot`) and returns what it decided and wrote. */
async function decide(marketData: MarketDataPort, date: string, slot: string): Promise<unknown> {
  h.deps.marketData = marketData;
  const runId = `${slot}-${date}`;
  const output = await fetchStep({ request: { tradingDate: date, slot }, runId, startedAt: `${date}T14:35:00.000Z` }, h.deps);
  expect(output.runLock?.acquired).toBe(true);
  const universe = await h.artifacts.get<UniverseArtifact>(runId, ARTIFACTS.universe);
  const names = [ARTIFACTS.benchmarkCloses, ...universe.usable.map((symbol) => ARTIFACTS.bars(symbol))];
  const artifacts = await h.artifacts.getMany(runId, names);
  return { output: { ...output, runId: undefined, runLock: undefined }, universe, artifacts: names.map((n) => [n, artifacts.get(n)]) };
}

describe('fetch: cached validation decides exactly as validating every session', () => {
  it('same quarantines, reasons and artifacts on the bundled data across many sessions', async () => {
    const cached = new CsvMarketData({ dataDir: DAILY_DIR });
    expect(hasValidatedBars(cached)).toBe(true);
    const inner = new CsvMarketData({ dataDir: DAILY_DIR });
    // A plain port: fetch validates the rows and runs the series checks itself.
    const plain: MarketDataPort = { listSymbols: () => inner.listSymbols(), loadDailyRows: (symbol) => inner.loadDailyRows(symbol) };
    expect(hasValidatedBars(plain)).toBe(false);

    const dates = sessions.map((s) => s.date);
    const picked = new Set<string>([
      '2013-02-08', // no bar before the first one: NO_DATA
      '2013-02-11',
      '2013-05-06', // under minBars: INSUFFICIENT_HISTORY
      '2013-04-29', // BMY misses 2013-04-26: stale tail and missing session on the same date
      '2013-06-10',
      '2013-07-16', // ORCL misses 2013-07-15/16
      '2013-07-17',
      '2015-03-06', // SPY's 2015-03-05 row defect
      '2017-09-15', // MRK 2017-09-14 repeats 2017-12-19 (horizon 20)
      '2017-10-12',
      '2017-10-13',
      '2018-01-02', // SPY ends 2017-12-29
      '2018-02-07',
      '2018-02-08', // the stocks end 2018-02-07
      ...dates.filter((d, i) => d >= '2013-02-08' && i % 90 === 0),
    ]);
    let compared = 0;
    let quarantines = 0;
    for (const date of [...picked].sort()) {
      const withCache = await decide(cached, date, 'cached');
      const without = await decide(plain, date, 'plain');
      expect(withCache, date).toEqual(without);
      quarantines += (withCache as { universe: UniverseArtifact }).universe.quarantined.length;
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(25);
    expect(quarantines).toBeGreaterThan(0);
  }, 120_000);
});
