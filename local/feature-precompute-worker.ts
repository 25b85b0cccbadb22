/**
 * Worker thread of FeaturePrecomputeWorker (local/feature-precompute.ts): computes the features
 * step's rows for the sessions it is asked for, ahead of the pipeline, from the same CSV files and
 * calendar, with the same functions the fetch and features steps call (symbolsToLoad,
 * loadCheckedBars, decisionWindowBytes, featureRowOutcome). Each row carries the BARS bytes it was
 * computed from, which the features step compares with its own before taking it.
 *
 * workerData: FeaturePrecomputeInit. Messages in: `{ date }` (YYYY-MM-DD). Messages out:
 * `{ date, rows: [symbol, PrecomputedFeatureRow][] }` (the byte strings transferred), or
 * `{ date, error }` when the session could not be computed.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { CsvCalendar } from '../lambdas/adapters/calendar/csv-calendar';
import { CsvMarketData } from '../lambdas/adapters/market-data/csv';
import { TradingCalendar } from '../lambdas/core/calendar';
import { decisionWindowBytes, decodeBarsArtifact, loadCheckedBars, symbolsToLoad } from '../lambdas/handlers/fetch';
import { benchmarkBarsOf, featureRowOutcome, type PrecomputedFeatureRow } from '../lambdas/handlers/features';
import { MarketDataError } from '../lambdas/ports';
import type { FeaturePrecomputeInit, FeaturePrecomputeReply } from './feature-precompute';

// Lowest CPU priority for this thread only (on Linux a nice value is per thread): the main thread's
// LevelDB and garbage-collector helper threads, which share the second core, come first.
if (process.platform === 'linux') setPriority(19);

const init = workerData as FeaturePrecomputeInit;
const port = parentPort;
if (!port) throw new Error('feature-precompute-worker runs only as a worker thread');

const marketData = new CsvMarketData({ dataDir: init.dataDir });
const calendar = new CsvCalendar({ file: init.calendarFile }).loadSessions().then((sessions) => new TradingCalendar(sessions));

/** The rows of session `date`: every symbol the fetch step would load with a usable window. */
async function rowsOf(date: string): Promise<Array<[string, PrecomputedFeatureRow]>> {
  const cal = await calendar;
  if (!cal.covers(date) || !cal.isSession(date)) return [];
  const previous = cal.previousSession(date);
  const { toLoad } = symbolsToLoad(await marketData.listSymbols(), init.symbols, init.config);
  const bytes = new Map<string, Uint8Array>();
  for (const symbol of toLoad) {
    try {
      const window = decisionWindowBytes(symbol, await loadCheckedBars(marketData, symbol, cal, date), date, previous?.date, init.config);
      if (window.ok) bytes.set(symbol, window.bytes);
    } catch (error) {
      if (!(error instanceof MarketDataError)) throw error;
    }
  }
  const benchmarkBytes = bytes.get(init.config.benchmark) ?? null;
  const benchmark = benchmarkBytes ? benchmarkBarsOf(decodeBarsArtifact(benchmarkBytes)) : null;
  const rows: Array<[string, PrecomputedFeatureRow]> = [];
  for (const [symbol, bars] of bytes) {
    const benchmarkBars = symbol !== init.config.benchmark ? benchmarkBytes : null;
    rows.push([symbol, { bars, benchmarkBars, outcome: featureRowOutcome(symbol, decodeBarsArtifact(bars), benchmarkBars ? benchmark : null) }]);
  }
  return rows;
}

// One session at a time, in the order asked.
let queue = Promise.resolve();
port.on('message', (message: { date: string }) => {
  queue = queue.then(async () => {
    let reply: FeaturePrecomputeReply;
    const transfer = new Set<ArrayBuffer>();
    try {
      const rows = await rowsOf(message.date);
      for (const [, row] of rows) transfer.add(row.bars.buffer as ArrayBuffer);
      reply = { date: message.date, rows };
    } catch (error) {
      reply = { date: message.date, error: `${(error as Error).name}: ${(error as Error).message}` };
    }
    port.postMessage(reply, [...transfer]);
  });
});
