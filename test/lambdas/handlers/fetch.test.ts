/**
 * Fetch's data-quality gate on real DynamoDB adapters: row checks (validateBarRows) then series checks
 * (withSeriesChecks) decide which symbols are quarantined for the session, and why.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvCalendar } from '../../../lambdas/adapters/calendar/csv-calendar';
import type { RawBarRow } from '../../../lambdas/core/bars';
import type { Session } from '../../../lambdas/core/calendar';
import { fetchStep, type UniverseArtifact } from '../../../lambdas/handlers/fetch';
import { ARTIFACTS } from '../../../lambdas/handlers/shared/pipeline-state';
import { MarketDataError, type MarketDataPort } from '../../../lambdas/ports';
import { startHandlerHarness, type HandlerHarness } from '../../support/fake-broker';

const CALENDAR_FILE = fileURLToPath(new URL('../../../data/calendars/xnys-sessions-1990-2023.csv', import.meta.url));
const TRADING_DATE = '2018-02-07';

/** Clean, distinct rows on `dates` (lines 2…), around `level` USD. */
function rows(dates: readonly string[], level = 50): RawBarRow[] {
  return dates.map((date, i) => {
    const p = (offset: number): string => (level + offset + (i % 37) / 10 + i / 1000).toFixed(3);
    return { line: i + 2, date, open: p(0), high: p(0.5), low: p(-0.5), close: p(0.2), volume: String(1000 + i) };
  });
}

class MemoryMarketData implements MarketDataPort {
  constructor(private readonly data: Record<string, RawBarRow[]>) {}
  async listSymbols(): Promise<string[]> {
    return Object.keys(this.data).sort();
  }
  async loadDailyRows(symbol: string): Promise<RawBarRow[]> {
    const found = this.data[symbol];
    if (found === undefined) throw new MarketDataError(symbol, `no data for ${symbol}`);
    return found.map((r) => ({ ...r }));
  }
}

let h: HandlerHarness;
let universe: UniverseArtifact;

beforeAll(async () => {
  const all = await new CsvCalendar({ file: CALENDAR_FILE }).loadSessions();
  const sessions: Session[] = all.filter((s) => s.date >= '2017-01-03' && s.date <= '2018-02-12');
  const dates = sessions.map((s) => s.date).filter((d) => d < TRADING_DATE); // … 2018-02-06
  const without = (...gone: string[]) => dates.filter((d) => !gone.includes(d));

  const splitRows = rows(dates);
  // From 2018-01-25 on, FFF's bars are at a third of their level (an unadjusted 3-for-1 split).
  for (const r of splitRows) {
    if (r.date >= '2018-01-25') {
      for (const field of ['open', 'high', 'low', 'close'] as const) r[field] = (Number(r[field]) / 3).toFixed(3);
    }
  }
  const repeated = rows(dates);
  const at = (d: string) => repeated.findIndex((r) => r.date === d);
  repeated[at('2018-01-30')] = { ...repeated[at('2018-01-29')]!, line: repeated[at('2018-01-30')]!.line, date: '2018-01-30' };
  // The same copy 21+ bars before the session: older than REPEATED_BAR_HORIZON, so it no longer quarantines.
  const oldRepeat = rows(dates);
  const atOld = (d: string) => oldRepeat.findIndex((r) => r.date === d);
  oldRepeat[atOld('2017-12-28')] = { ...oldRepeat[atOld('2017-12-27')]!, line: oldRepeat[atOld('2017-12-28')]!.line, date: '2017-12-28' };

  const data = {
    AAA: rows(dates),
    BBB: rows(without('2018-01-17')), // a missing session inside the 60-bar window
    CCC: rows(without('2017-06-15')), // a missing session long before the window
    DDD: rows(dates.filter((d) => d <= '2018-01-31')), // stale: ends four sessions early
    EEE: repeated, // a repeated bar among the last 20 bars: quarantined
    FFF: splitRows,
    GGG: oldRepeat, // a repeated bar older than the last 20 bars: usable
    SPY: rows(dates, 260),
  };
  h = await startHandlerHarness({
    now: '2018-02-07T14:35:00.000Z',
    sessions,
    config: { universe: ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG'], benchmark: 'SPY', regimeFilter: false, lookbackBars: 60, minBars: 51 },
  });
  h.deps.marketData = new MemoryMarketData(data);
  await fetchStep({ request: { tradingDate: TRADING_DATE }, runId: 'run-dq', startedAt: '2018-02-07T14:30:00.000Z' }, h.deps);
  universe = await h.artifacts.get<UniverseArtifact>('run-dq', ARTIFACTS.universe);
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

describe('fetch: the data-quality gate', () => {
  it('quarantines only the symbols whose decision window holds a defect', () => {
    expect(universe.usable).toEqual(['AAA', 'CCC', 'GGG', 'SPY']);
    expect(universe.quarantined.map((q) => q.symbol)).toEqual(['BBB', 'DDD', 'EEE', 'FFF']);
  });

  it('quarantines a repeated bar among the last 20 bars, naming both dates', () => {
    const eee = universe.quarantined.find((q) => q.symbol === 'EEE');
    expect(eee?.reason).toMatch(/^BAD_BARS: 2018-01-29 open\/high\/low\/close .* are identical to the bar of 2018-01-30 \(line \d+\): one of them is a copy of another date's bar \(line \d+\) \(\+1 more\)$/);
  });

  it('names the missing session (anchored at its date) in the reason', () => {
    const bbb = universe.quarantined.find((q) => q.symbol === 'BBB');
    expect(bbb?.reason).toMatch(
      /^BAD_BARS: 2018-01-17 row is missing: an NYSE session between the bars of 2018-01-16 and 2018-01-18 has no row \(line \d+\)$/,
    );
  });

  it('reports a stale symbol as STALE_DATA, naming its last bar and the first session without one', () => {
    const ddd = universe.quarantined.find((q) => q.symbol === 'DDD');
    expect(ddd?.reason).toMatch(
      /^STALE_DATA: 2018-02-01 row is missing: the last bar before session 2018-02-07 is 2018-01-31, expected 2018-02-06 \(4 session\(s\) without a bar\) \(line \d+\)$/,
    );
  });

  it('names a split-like jump at the jump date', () => {
    const fff = universe.quarantined.find((q) => q.symbol === 'FFF');
    expect(fff?.reason).toMatch(/^BAD_BARS: 2018-01-25 close [\d.]+ is 0\.3\d*× the previous close [\d.]+ \(2018-01-24\) .*unadjusted 3-for-1 split \(line \d+\)$/);
  });

  it('alerts once with every quarantined symbol and its reason', () => {
    const alerts = h.alerts.published.filter((a) => a.type === 'DATA_QUARANTINE');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.message).toMatch(/^4 of 7 tradable symbols quarantined: BBB \(BAD_BARS: 2018-01-17 .*\); DDD \(STALE_DATA: .*\); EEE \(BAD_BARS: 2018-01-29 .*\); FFF \(BAD_BARS: 2018-01-25 .*\)$/);
  });
});
