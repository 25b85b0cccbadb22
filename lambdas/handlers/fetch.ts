/**
 * Step 1, fetch: decides which session this run trades and takes the session slot's run lock
 * (a conditional put: of N concurrent or duplicated executions of one schedule slot exactly one
 * trades; the others end successfully without trading), then loads every universe symbol's bars dated
 * strictly before it, validates them (row checks `validateBarRows`, then series checks
 * `withSeriesChecks`: NYSE calendar gaps, a stale last bar, zero volume, extreme wicks, split-like
 * jumps) and quarantines any symbol whose decision window holds a defect (with a reason naming the
 * date, field and value). The run goes on with the rest.
 *
 * Input: FetchInput (execution request + runId + start time). Output: the PipelineState every
 * later step receives. Artifacts: UNIVERSE, BARS#<symbol> (bytes, encodeBarsArtifact), BENCHMARK_CLOSES.
 */
import { hasValidatedBars, selectDecisionWindow, validateBarRows, type Bar, type ValidatedBars } from '../core/bars';
import { newYorkDate, type TradingCalendar } from '../core/calendar';
import { prepareSeriesChecks, QUARANTINING_SERIES_RULES, withSeriesChecks, type PreparedSeriesChecks } from '../core/data-quality';
import type { StrategyConfig } from '../core/config';
import { MarketDataError, type MarketDataPort } from '../ports';
import { loadCalendar, type Deps } from '../wiring/deps';
import { lambdaDeps, makeStepHandler } from './shared/middleware';
import { ARTIFACTS, FetchInputSchema, type FetchInput, type PipelineState } from './shared/pipeline-state';

/** Minutes after the close at which cancel-verify runs (lets the broker settle end-of-day statuses). */
export const VERIFY_DELAY_MINUTES = 15;

/** A symbol left out of this run, and why (`CODE: detail`). */
export interface Quarantine {
  symbol: string;
  reason: string;
}

/** Artifact UNIVERSE. */
export interface UniverseArtifact {
  /** Tradable symbols requested for this run (before quarantine). */
  universe: string[];
  benchmark: string;
  /** Symbols (tradable or benchmark) with usable bars. */
  usable: string[];
  quarantined: Quarantine[];
}

/**
 * Artifact BARS#<symbol>: the decision window, columnar. Prices USD, volume shares. Stored as the
 * bytes of encodeBarsArtifact.
 */
export interface BarsArtifact {
  symbol: string;
  date: string[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  volume: number[];
}

export interface FetchSummary {
  universe: number;
  usable: number;
  quarantined: number;
}

/**
 * Runs fetch for one execution.
 * @returns the PipelineState for the later steps (session times in UTC, counts).
 * @throws Error when the session date is outside the calendar (the execution fails and alerts).
 */
/** Slot used when the execution input names none (the scheduled run). */
export const DEFAULT_SLOT = 'open';

export async function fetchStep(input: FetchInput, deps: Deps): Promise<PipelineState & { fetch: FetchSummary }> {
  const { config } = deps;
  const calendar = await loadCalendar(deps.calendar);
  const tradingDate = input.request.tradingDate ?? newYorkDate(new Date(input.startedAt));
  if (!calendar.covers(tradingDate)) {
    throw new Error(
      `trading calendar covers ${calendar.first.date}..${calendar.last.date}; session ${tradingDate} is outside it (extend data/calendars)`,
    );
  }
  const action = input.request.action ?? 'trade';
  const base = { runId: input.runId, strategyId: config.strategyId, tradingDate, action };
  if (!calendar.isSession(tradingDate)) {
    return { ...base, session: { isSession: false, date: tradingDate }, fetch: { universe: 0, usable: 0, quarantined: 0 } };
  }
  const session = calendar.session(tradingDate);
  const previous = calendar.previousSession(tradingDate);
  const verifyAfter = new Date(Date.parse(session.closeUtc) + VERIFY_DELAY_MINUTES * 60_000);
  const sessionInfo = {
    isSession: true,
    date: tradingDate,
    openUtc: session.openUtc,
    closeUtc: session.closeUtc,
    verifyAfterUtc: verifyAfter.toISOString(),
    ...(previous ? { previousSession: previous.date } : {}),
    ...(config.endOfDayFlatten && action === 'trade'
      ? { endOfDayUtc: new Date(Date.parse(session.closeUtc) - config.endOfDayMinutesBeforeClose * 60_000).toISOString() }
      : {}),
  };

  // The run lock first: a duplicated delivery or a concurrent execution does nothing else.
  const slot = input.request.slot ?? (action === 'trade' ? DEFAULT_SLOT : action === 'flatten' ? 'flatten' : 'eod');
  const lock = await deps.tradingState.acquireRunLock(tradingDate, slot, input.runId, deps.clock.now().toISOString());
  const runLock = { slot, acquired: lock.acquired, heldBy: lock.heldBy };
  if (!lock.acquired) {
    await deps.alerts.publish({
      severity: 'INFO',
      type: 'DUPLICATE_RUN',
      message: `session ${tradingDate} slot ${slot} is already owned by execution ${lock.heldBy} (since ${lock.since}); this execution ends without trading`,
      runId: input.runId,
      tradingDate,
      at: deps.clock.now().toISOString(),
    });
    return { ...base, session: sessionInfo, runLock, fetch: { universe: 0, usable: 0, quarantined: 0 } };
  }

  const { universe, toLoad } = symbolsToLoad(await deps.marketData.listSymbols(), input.request.symbols, config);

  const quarantined: Quarantine[] = [];
  const usable: string[] = [];
  const bars: Array<{ name: string; data: unknown }> = [];
  for (const symbol of toLoad) {
    let validated: ValidatedBars;
    try {
      // Row checks, then the series checks (calendar gaps, stale tail, zero volume, extreme wicks,
      // split-like jumps): every defect carries its anchor date, so the symbol is quarantined only for
      // the sessions whose window holds one.
      validated = await loadCheckedBars(deps.marketData, symbol, calendar, tradingDate);
    } catch (error) {
      if (!(error instanceof MarketDataError)) throw error;
      quarantined.push({ symbol, reason: `NO_DATA: ${error.message}` });
      continue;
    }
    if (symbol === config.benchmark) {
      // The regime filter needs only closes: it reads the benchmark's defect-free bars before the
      // session even when a defect elsewhere in a row (e.g. an open outside [low, high]) quarantines
      // the benchmark's bars. Rows with a row defect are left out; series defects remove no bar, so
      // e.g. a split-like jump in the benchmark would still reach these closes (none in the bundled
      // SPY); staleness is judged by the kernel.
      const before = validated.bars.filter((b) => b.date < tradingDate).slice(-config.lookbackBars);
      bars.push({
        name: ARTIFACTS.benchmarkCloses,
        data: { symbol, date: before.map((b) => b.date), close: before.map((b) => b.close) } satisfies BenchmarkClosesArtifact,
      });
    }
    const window = decisionWindowBytes(symbol, validated, tradingDate, previous?.date, config);
    if (!window.ok) {
      quarantined.push({ symbol, reason: window.reason });
      continue;
    }
    usable.push(symbol);
    bars.push({ name: ARTIFACTS.bars(symbol), data: window.bytes });
  }

  const now = deps.clock.now();
  const artifact: UniverseArtifact = {
    universe,
    benchmark: config.benchmark,
    usable,
    quarantined,
  };
  await deps.artifacts.putMany(input.runId, [{ name: ARTIFACTS.universe, data: artifact }, ...bars], now);

  const tradableQuarantined = quarantined.filter((q) => q.symbol !== config.benchmark);
  if (quarantined.length > 0) {
    await deps.alerts.publish({
      // Only the benchmark out is informational: nothing tradable was lost.
      severity: tradableQuarantined.length > 0 ? 'MEDIUM' : 'INFO',
      type: 'DATA_QUARANTINE',
      message: `${tradableQuarantined.length} of ${universe.length} tradable symbols quarantined${quarantined.length > tradableQuarantined.length ? ` (and benchmark ${config.benchmark})` : ''}: ${quarantined.map((q) => `${q.symbol} (${q.reason})`).join('; ')}`,
      runId: input.runId,
      tradingDate,
      at: now.toISOString(),
      details: { quarantined },
    });
  }

  return {
    ...base,
    session: sessionInfo,
    runLock,
    fetch: { universe: universe.length, usable: artifact.usable.length, quarantined: quarantined.length },
  };
}

/**
 * The symbols a fetch loads: the tradable universe (the requested symbols, else the strategy's
 * `universe`, else every symbol the source lists), without the benchmark, sorted; `toLoad` adds
 * the benchmark when the source lists it.
 */
export function symbolsToLoad(
  available: readonly string[],
  requested: readonly string[] | undefined,
  config: Pick<StrategyConfig, 'universe' | 'benchmark'>,
): { universe: string[]; toLoad: string[] } {
  const universe = [...new Set(requested ?? config.universe ?? available)].filter((s) => s !== config.benchmark).sort();
  return { universe, toLoad: available.includes(config.benchmark) ? [...universe, config.benchmark] : universe };
}

/**
 * One symbol's decision window for session `tradingDate` (`selectDecisionWindow`: at most
 * `config.lookbackBars` checked bars dated before it, at least `config.minBars`, the last one on
 * `previousSession`), as the bytes of its BARS#<symbol> artifact (encodeBarsArtifact: exact, and
 * far cheaper to write and read than JSON numbers); else the quarantine reason.
 * @throws Error naming the symbol and index when a bar's date is not YYYY-MM-DD (encodeBarsArtifact).
 */
export function decisionWindowBytes(
  symbol: string,
  validated: ValidatedBars,
  tradingDate: string,
  previousSession: string | undefined,
  config: Pick<StrategyConfig, 'lookbackBars' | 'minBars'>,
): { ok: true; bytes: Uint8Array } | { ok: false; reason: string } {
  const window = selectDecisionWindow(validated, {
    asOf: tradingDate,
    lookbackBars: config.lookbackBars,
    minBars: config.minBars,
    ...(previousSession ? { previousSession } : {}),
  });
  if (!window.ok) return { ok: false, reason: window.reason };
  return { ok: true, bytes: encodeBarsArtifact(toColumns(symbol, window.bars)) };
}

/**
 * Series checks prepared once per cached validation (and calendar): an adapter with
 * `loadValidatedBars` hands out the same frozen object while its file is unchanged, so a warm Lambda
 * or a local replay checks each series once and only adds each session's STALE_LAST_BAR.
 */
const preparedChecks = new WeakMap<ValidatedBars, WeakMap<TradingCalendar, PreparedSeriesChecks>>();

/**
 * `withSeriesChecks(validateBarRows(await marketData.loadDailyRows(symbol)), calendar, { asOf,
 * rules: QUARANTINING_SERIES_RULES })`, from the adapter's cached validation when it has one.
 * @throws MarketDataError as `loadDailyRows`.
 */
export async function loadCheckedBars(marketData: MarketDataPort, symbol: string, calendar: TradingCalendar, asOf: string): Promise<ValidatedBars> {
  if (!hasValidatedBars(marketData)) {
    const rows = await marketData.loadDailyRows(symbol);
    return withSeriesChecks(validateBarRows(rows), calendar, { asOf, rules: QUARANTINING_SERIES_RULES });
  }
  const validated = await marketData.loadValidatedBars(symbol);
  let byCalendar = preparedChecks.get(validated);
  if (byCalendar === undefined) {
    byCalendar = new WeakMap();
    preparedChecks.set(validated, byCalendar);
  }
  let prepared = byCalendar.get(calendar);
  if (prepared === undefined) {
    prepared = prepareSeriesChecks(validated, calendar, { rules: QUARANTINING_SERIES_RULES });
    byCalendar.set(calendar, prepared);
  }
  return prepared.withAsOf(asOf);
}

/** Artifact BENCHMARK_CLOSES: the benchmark's defect-free closes dated before the session, USD. */
export interface BenchmarkClosesArtifact {
  symbol: string;
  date: string[];
  close: number[];
}

function toColumns(symbol: string, bars: readonly Bar[]): BarsArtifact {
  return {
    symbol,
    date: bars.map((b) => b.date),
    open: bars.map((b) => b.open),
    high: bars.map((b) => b.high),
    low: bars.map((b) => b.low),
    close: bars.map((b) => b.close),
    volume: bars.map((b) => b.volume),
  };
}

/** Rebuilds bars from a BARS#<symbol> artifact. */
export function fromColumns(artifact: BarsArtifact): Bar[] {
  return artifact.date.map((date, i) => ({
    date,
    open: artifact.open[i]!,
    high: artifact.high[i]!,
    low: artifact.low[i]!,
    close: artifact.close[i]!,
    volume: artifact.volume[i]!,
  }));
}

/** The step as a middy Lambda handler running with the given deps (the local runner passes its own). */
export const createHandler = (getDeps: () => Deps) => makeStepHandler('fetch', FetchInputSchema, fetchStep, getDeps);
/** Lambda entry point: deps from the function's environment. */
export const handler = createHandler(lambdaDeps());

/** First four bytes of an encoded BARS artifact (format version 1). */
const BARS_MAGIC = 'BRS1';
const BARS_DATE_BYTES = 10;
const BARS_COLUMNS = ['open', 'high', 'low', 'close', 'volume'] as const;

/**
 * The bytes of a BARS#<symbol> artifact, format BRS1 (all integers and floats little-endian):
 *   0  'BRS1'                 4 ASCII bytes
 *   4  n                      uint32, the number of bars
 *   8  L                      uint32, the UTF-8 length of the symbol
 *   12 symbol                 L bytes
 *   .. dates                  n × 10 ASCII bytes, YYYY-MM-DD
 *   .. zero padding to a multiple of 8 bytes
 *   .. open, high, low, close, volume: n float64 each, in that order
 * Every number keeps its exact IEEE-754 value (JSON text would format and re-parse 90,000 of them a
 * session). About 44 bytes a bar: 300 bars are 13 KB, far under the 400 KB item limit.
 * @throws Error naming the field when the columns' lengths differ or a date is not YYYY-MM-DD.
 */
export function encodeBarsArtifact(artifact: BarsArtifact): Uint8Array {
  const n = artifact.date.length;
  for (const column of BARS_COLUMNS) {
    if (artifact[column].length !== n) throw new Error(`BARS#${artifact.symbol}: ${column} has ${artifact[column].length} values for ${n} dates`);
  }
  const symbol = new TextEncoder().encode(artifact.symbol);
  const datesAt = 12 + symbol.length;
  const valuesAt = Math.ceil((datesAt + n * BARS_DATE_BYTES) / 8) * 8;
  const bytes = new Uint8Array(valuesAt + BARS_COLUMNS.length * n * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 4; i++) bytes[i] = BARS_MAGIC.charCodeAt(i);
  view.setUint32(4, n, true);
  view.setUint32(8, symbol.length, true);
  bytes.set(symbol, 12);
  for (let i = 0; i < n; i++) {
    const date = artifact.date[i]!;
    if (date.length !== BARS_DATE_BYTES || !/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`BARS#${artifact.symbol}: date[${i}] must be YYYY-MM-DD, got ${JSON.stringify(date)}`);
    for (let k = 0; k < BARS_DATE_BYTES; k++) bytes[datesAt + i * BARS_DATE_BYTES + k] = date.charCodeAt(k);
  }
  BARS_COLUMNS.forEach((column, c) => {
    const values = artifact[column];
    const at = valuesAt + c * n * 8;
    for (let i = 0; i < n; i++) view.setFloat64(at + i * 8, values[i]!, true);
  });
  return bytes;
}

/**
 * The artifact encodeBarsArtifact encoded (exactly the same values).
 * @throws Error when the bytes are not a complete BRS1 artifact (wrong tag, or a length that does not
 *   match the counts in the header).
 */
export function decodeBarsArtifact(bytes: Uint8Array): BarsArtifact {
  const fail = (why: string): never => {
    throw new Error(`not a BARS artifact (format ${BARS_MAGIC}): ${why}`);
  };
  if (bytes.byteLength < 12) fail(`${bytes.byteLength} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  if (magic !== BARS_MAGIC) fail(`tag ${JSON.stringify(magic)}`);
  const n = view.getUint32(4, true);
  const symbolLength = view.getUint32(8, true);
  const datesAt = 12 + symbolLength;
  const valuesAt = Math.ceil((datesAt + n * BARS_DATE_BYTES) / 8) * 8;
  const expected = valuesAt + BARS_COLUMNS.length * n * 8;
  if (bytes.byteLength !== expected) fail(`${bytes.byteLength} bytes for ${n} bars (expected ${expected})`);
  const symbol = new TextDecoder().decode(bytes.subarray(12, datesAt));
  const dateText = new TextDecoder('ascii').decode(bytes.subarray(datesAt, datesAt + n * BARS_DATE_BYTES));
  const date = new Array<string>(n);
  for (let i = 0; i < n; i++) date[i] = dateText.slice(i * BARS_DATE_BYTES, (i + 1) * BARS_DATE_BYTES);
  const column = (c: number): number[] => {
    const values = new Array<number>(n);
    const at = valuesAt + c * n * 8;
    for (let i = 0; i < n; i++) values[i] = view.getFloat64(at + i * 8, true);
    return values;
  };
  return { symbol, date, open: column(0), high: column(1), low: column(2), close: column(3), volume: column(4) };
}
