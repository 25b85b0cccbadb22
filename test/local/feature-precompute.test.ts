/**
 * Feature rows computed ahead on a second thread (local/feature-precompute.ts): the features step
 * takes a row only when it was computed from exactly the BARS bytes the step read, so a replay
 * decides the same with or without the worker; the worker's rows are the step's own (every row of a
 * replay over the bundled data is taken); a worker that fails only costs speed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvCalendar } from '../../lambdas/adapters/calendar/csv-calendar';
import { CsvMarketData } from '../../lambdas/adapters/market-data/csv';
import type { Session } from '../../lambdas/core/calendar';
import { parseStrategyConfig } from '../../lambdas/core/config';
import { TradingCalendar } from '../../lambdas/core/calendar';
import { fetchStep, type UniverseArtifact } from '../../lambdas/handlers/fetch';
import { featuresStep, type FeatureRowPrecompute, type FeaturesArtifact, type PrecomputedFeatureRow } from '../../lambdas/handlers/features';
import { ARTIFACTS, type PipelineState } from '../../lambdas/handlers/shared/pipeline-state';
import { FeaturePrecomputeWorker } from '../../local/feature-precompute';
import type { RangeReport } from '../../local/report';
import { runLocal } from '../../local/runner';
import { startHandlerHarness, type HandlerHarness } from '../support/fake-broker';
import { bundledRun, ROOT } from '../support/local-run';

const CALENDAR_FILE = join(ROOT, 'data/calendars/xnys-sessions-1990-2023.csv');
const DATA_DIR = join(ROOT, 'data/daily');

async function sessionsBetween(from: string, to: string): Promise<Session[]> {
  const calendar = new TradingCalendar(await new CsvCalendar({ file: CALENDAR_FILE }).loadSessions());
  return calendar.sessionsBetween(from, to);
}

/** The report of a session without its random run id. */
const scrub = (r: RangeReport) => JSON.parse(JSON.stringify(r.days).replace(/local-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}/g, 'RUNID'));

describe('a replay with and without the precompute worker', { timeout: 300_000 }, () => {
  const dirs = { worker: mkdtempSync(join(tmpdir(), 'tp-precompute-on-')), step: mkdtempSync(join(tmpdir(), 'tp-precompute-off-')) };
  let withWorker: RangeReport;
  let inStep: RangeReport;
  let counts: { precomputed: number; computed: number } | null | undefined;
  let offCounts: { precomputed: number; computed: number } | null | undefined;
  const printed: string[] = [];

  beforeAll(async () => {
    const sessions = (await sessionsBetween('2016-06-01', '2016-06-14')).map((s) => s.date);
    withWorker = await runLocal(
      bundledRun(sessions, {}, dirs.worker, { onFeatureRows: (c) => (counts = c), print: (line) => printed.push(line) }),
    );
    inStep = await runLocal(bundledRun(sessions, {}, dirs.step, { precomputeFeatures: false, onFeatureRows: (c) => (offCounts = c) }));
  });
  afterAll(() => {
    for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
  });

  it('decides, orders and fills the same', () => {
    expect(withWorker.days).toHaveLength(10);
    expect(withWorker.days.every((d) => d.executionError === null)).toBe(true);
    expect(withWorker.summary.ordersSubmitted).toBeGreaterThan(0);
    expect(scrub(withWorker)).toEqual(scrub(inStep));
    expect(withWorker.summary).toEqual(inStep.summary);
  });

  it('took every row of every session from the worker, and warned of nothing', () => {
    // 60 tradable symbols of the default universe and the benchmark, for 10 sessions (one symbol
    // has no usable window on some of them).
    expect(counts).not.toBeNull();
    expect(counts!.computed).toBe(0);
    expect(counts!.precomputed).toBeGreaterThan(590);
    expect(printed.filter((line) => line.includes('precompute'))).toEqual([]);
    expect(offCounts).toBeNull();
  });
});

describe('featuresStep with rows offered ahead', { timeout: 120_000 }, () => {
  const DATE = '2016-06-15';
  let h: HandlerHarness;
  let state: PipelineState;
  let universe: UniverseArtifact;
  let reference: FeaturesArtifact;
  let worker: FeaturePrecomputeWorker;
  let workerRows: ReadonlyMap<string, PrecomputedFeatureRow>;

  const offering = (rows: ReadonlyMap<string, PrecomputedFeatureRow> | undefined) => {
    const told: Array<{ precomputed: number; computed: number }> = [];
    const precompute: FeatureRowPrecompute = {
      session: async (date) => (date === DATE ? rows : undefined),
      used: (_date, c) => told.push(c),
    };
    return { precompute, told };
  };
  const run = async (precompute?: FeatureRowPrecompute) => {
    await featuresStep(state, h.deps, precompute);
    return h.deps.artifacts.get<FeaturesArtifact>(state.runId, ARTIFACTS.features);
  };

  beforeAll(async () => {
    const sessions = await sessionsBetween('2015-01-02', '2016-06-30');
    h = await startHandlerHarness({ now: `${DATE}T13:35:00.000Z`, sessions, config: { universe: ['AAPL', 'MSFT', 'XOM', 'JPM'] } });
    h.deps.marketData = new CsvMarketData({ dataDir: DATA_DIR });
    state = await fetchStep({ request: { tradingDate: DATE }, runId: 'run-precompute', startedAt: `${DATE}T13:35:00.000Z` }, h.deps);
    universe = await h.deps.artifacts.get<UniverseArtifact>(state.runId, ARTIFACTS.universe);
    reference = await run();
    worker = new FeaturePrecomputeWorker([DATE], { dataDir: DATA_DIR, calendarFile: CALENDAR_FILE, config: h.config, symbols: undefined }, () => undefined);
    workerRows = (await worker.session(DATE))!;
  });
  afterAll(async () => {
    await worker?.close();
    await h?.stop();
  });

  it('computes every row in the step without an offer (the reference)', () => {
    expect(universe.usable).toEqual(['AAPL', 'JPM', 'MSFT', 'XOM', 'SPY']);
    expect(reference.features.map((f) => f.symbol)).toEqual(universe.usable);
    expect(reference.skipped).toEqual([]);
  });

  it("takes the worker's rows, and the artifact is the same", async () => {
    expect([...workerRows.keys()].sort()).toEqual([...universe.usable].sort());
    const { precompute, told } = offering(workerRows);
    expect(await run(precompute)).toEqual(reference);
    expect(told).toEqual([{ precomputed: 5, computed: 0 }]);
  });

  it('takes a row offered for the same bytes (shown by a planted row)', async () => {
    const aapl = workerRows.get('AAPL')!;
    const planted = { ...aapl, outcome: { ok: false as const, reason: 'FEATURE_ERROR: planted' } };
    const { precompute, told } = offering(new Map([...workerRows, ['AAPL', planted]]));
    const artifact = await run(precompute);
    expect(artifact.skipped).toEqual([{ symbol: 'AAPL', reason: 'FEATURE_ERROR: planted' }]);
    expect(told).toEqual([{ precomputed: 5, computed: 0 }]);
  });

  it('computes in the step a row offered for other bars or another benchmark window', async () => {
    const planted = (row: PrecomputedFeatureRow, change: Partial<PrecomputedFeatureRow>): PrecomputedFeatureRow => ({
      ...row,
      ...change,
      outcome: { ok: false, reason: 'FEATURE_ERROR: planted' },
    });
    const otherBars = workerRows.get('AAPL')!.bars.slice();
    otherBars[otherBars.length - 1]! ^= 1; // the last bar's volume, one bit
    const shorterBench = workerRows.get('SPY')!.bars.slice(0, -1);
    const rows = new Map(workerRows);
    rows.set('AAPL', planted(workerRows.get('AAPL')!, { bars: otherBars }));
    rows.set('MSFT', planted(workerRows.get('MSFT')!, { benchmarkBars: shorterBench }));
    rows.set('XOM', planted(workerRows.get('XOM')!, { benchmarkBars: null }));
    rows.set('SPY', planted(workerRows.get('SPY')!, { benchmarkBars: workerRows.get('SPY')!.bars }));
    rows.delete('JPM');
    const { precompute, told } = offering(rows);
    expect(await run(precompute)).toEqual(reference);
    expect(told).toEqual([{ precomputed: 0, computed: 5 }]);
  });

  it('computes every row when nothing is offered for the session', async () => {
    const { precompute, told } = offering(undefined);
    expect(await run(precompute)).toEqual(reference);
    expect(told).toEqual([{ precomputed: 0, computed: 5 }]);
  });
});

describe('FeaturePrecomputeWorker failures', { timeout: 60_000 }, () => {
  it('a session the worker cannot compute resolves to none, with a warning', async () => {
    const warnings: string[] = [];
    const worker = new FeaturePrecomputeWorker(
      ['2016-06-15', '2016-06-16'],
      { dataDir: join(tmpdir(), 'no-such-data-dir-precompute'), calendarFile: CALENDAR_FILE, config: parseStrategyConfig({}), symbols: undefined },
      (line) => warnings.push(line),
    );
    try {
      expect(await worker.session('2016-06-15')).toBeUndefined();
      expect(warnings[0]).toMatch(/^feature precompute: session 2016-06-15 not precomputed \(MarketDataError: .*no-such-data-dir-precompute/);
      // A date outside the replay has none either.
      expect(await worker.session('2016-07-01')).toBeUndefined();
    } finally {
      await worker.close();
    }
  });

  it('after close every session resolves to none, without a warning', async () => {
    const warnings: string[] = [];
    const worker = new FeaturePrecomputeWorker(['2016-06-15'], { dataDir: DATA_DIR, calendarFile: CALENDAR_FILE, config: parseStrategyConfig({}), symbols: ['AAPL'] }, (line) => warnings.push(line));
    await worker.close();
    expect(await worker.session('2016-06-15')).toBeUndefined();
    expect(warnings).toEqual([]);
  });
});
