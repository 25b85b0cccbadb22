/**
 * The research export: the full feature matrix of a folder of daily CSVs, one CSV row per
 * (symbol, session), with the engine's stable column names (docs/FEATURES.md).
 *
 * Imperative shell around the pure feature engine: reads the CSVs through the same adapter and the
 * same data-quality gate as the pipeline's fetch step, aligns the benchmark (SPY) closes by date,
 * runs `FeatureEngine` per symbol and streams the rows to the output file (written to a temporary
 * file first, then renamed, so a failed export never leaves a half-written file under the name).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { validateBarRows, type Bar, type BarDefect } from '../lambdas/core/bars';
import { isCalendarDate, TradingCalendar } from '../lambdas/core/calendar';
import { checkBarSeries } from '../lambdas/core/data-quality';
import { FeatureEngine } from '../lambdas/core/feature-engine/engine';
import { engineInputOf } from '../lambdas/core/features';
import { CsvMarketData } from '../lambdas/adapters/market-data/csv';
import { CsvCalendar } from '../lambdas/adapters/calendar/csv-calendar';
import { MarketDataError } from '../lambdas/ports';

/** What to export. Dates are NYSE session dates `YYYY-MM-DD`. */
export interface FeatureExportOptions {
  /** Folder of `SYMBOL.csv` / `SYMBOL_data.csv` daily files. */
  dataDir: string;
  /** Symbols to export (default: every symbol in `dataDir` except the benchmark). */
  symbols?: readonly string[];
  /** First session written (inclusive). Earlier bars are still used for warm-up. */
  from?: string;
  /** Last session written (inclusive). */
  to?: string;
  /** Output CSV path. */
  out: string;
  /** Benchmark ticker (default `SPY`). */
  benchmark?: string;
  /** Folder to read the benchmark from when `dataDir` has no file for it (e.g. the bundled `data/daily`). */
  benchmarkDir?: string;
  /** NYSE session calendar CSV (exchange_calendars format) for the series checks of the `quality` column. */
  calendarFile: string;
}

/** What an export did, for the console summary. */
export interface FeatureExportSummary {
  out: string;
  /** Symbols written (at least one row). */
  symbols: number;
  /** Data rows written (excluding the header). */
  rows: number;
  /** Feature columns per row (excluding the identity and OHLCV columns). */
  featureColumns: number;
  /** Where the benchmark closes came from, or why there are none (the versus-benchmark columns are then empty). */
  benchmark: string;
  /** Symbols left out entirely, with the reason. */
  skipped: Array<{ symbol: string; reason: string }>;
  /** Rows dropped by the data-quality gate, per symbol (count and the first defect's message). */
  defects: Array<{ symbol: string; rows: number; first: string }>;
  /** Written rows whose `quality` column is not empty (a series defect on that session). */
  flaggedRows: number;
}

/**
 * Identity and bar columns that precede the features in every row. `quality` lists, separated by
 * `|`, the series rules of the data-quality gate (core/data-quality: MISSING_SESSION, EXTREME_WICK,
 * SPLIT_LIKE_JUMP, REPEATED_BAR, …) anchored on that session; empty when the session is clean.
 * A gap (MISSING_SESSION) is anchored on the missing session, so it is flagged on no written row;
 * it shows in the dates.
 */
export const EXPORT_LEADING_COLUMNS = ['symbol', 'date', 'open', 'high', 'low', 'close', 'volume', 'quality'] as const;

/**
 * Writes the feature matrix to `options.out`.
 *
 * Each symbol's rows are its defect-free bars (rows the data-quality gate refuses are left out and
 * counted in `defects`; series defects such as a repeated bar keep the row and name the rule in its
 * `quality` column); features are computed over all of them, so `--from` does not shorten the
 * warm-up. A value that is not defined (warm-up, zero denominator, no benchmark) is an empty cell.
 * Numbers are written in shortest round-trip form (`String(x)`), so a reader gets the exact doubles.
 *
 * @throws Error naming the option and value for a bad date or range, an unknown symbol, or an
 *   unreadable folder; the output file is then not created.
 */
export async function exportFeatures(options: FeatureExportOptions): Promise<FeatureExportSummary> {
  const benchmark = options.benchmark ?? 'SPY';
  for (const key of ['from', 'to'] as const) {
    const value = options[key];
    if (value !== undefined && !isCalendarDate(value)) throw new Error(`--${key} must be a date YYYY-MM-DD, got ${JSON.stringify(value)}`);
  }
  if (options.from !== undefined && options.to !== undefined && options.from > options.to) {
    throw new Error(`--from ${options.from} is after --to ${options.to}`);
  }
  const market = new CsvMarketData({ dataDir: options.dataDir });
  const available = await market.listSymbols();
  const symbols = options.symbols ? [...new Set(options.symbols)] : available.filter((s) => s !== benchmark);
  const missing = symbols.filter((s) => !available.includes(s));
  if (missing.length > 0) throw new Error(`--symbols: no data file for ${missing.join(', ')} in ${options.dataDir}`);
  if (symbols.length === 0) throw new Error(`no symbols to export in ${options.dataDir}`);

  const bench = await loadBenchmark(benchmark, market, available, options.benchmarkDir);
  const calendar = new TradingCalendar(await new CsvCalendar({ file: options.calendarFile }).loadSessions());
  const engine = new FeatureEngine();
  const summary: FeatureExportSummary = {
    out: options.out,
    symbols: 0,
    rows: 0,
    featureColumns: 0,
    benchmark: bench.source,
    skipped: [],
    defects: [],
    flaggedRows: 0,
  };

  await mkdir(dirname(options.out), { recursive: true });
  const temp = `${options.out}.${process.pid}.tmp`;
  const file = createWriteStream(temp);
  const csv = stringify();
  csv.pipe(file);
  let headerWritten = false;
  try {
    for (const symbol of symbols) {
      let bars: Bar[];
      const flags = new Map<string, string>();
      try {
        const validated = validateBarRows(await market.loadDailyRows(symbol));
        bars = validated.bars;
        if (validated.defects.length > 0) summary.defects.push(defectSummary(symbol, validated.defects));
        for (const defect of checkBarSeries(validated, calendar)) {
          const known = flags.get(defect.date);
          if (known === undefined) flags.set(defect.date, defect.rule);
          else if (!known.split('|').includes(defect.rule)) flags.set(defect.date, `${known}|${defect.rule}`);
        }
      } catch (error) {
        if (!(error instanceof MarketDataError)) throw error;
        summary.skipped.push({ symbol, reason: error.message });
        continue;
      }
      const n = bars.length;
      if (n === 0) {
        summary.skipped.push({ symbol, reason: 'no valid bars' });
        continue;
      }
      const { names, values } = engine.compute(engineInputOf(bars, bench.closes), n);
      if (!headerWritten) {
        summary.featureColumns = names.length;
        await write(csv, [...EXPORT_LEADING_COLUMNS, ...names]);
        headerWritten = true;
      }
      let wrote = 0;
      for (let i = 0; i < n; i++) {
        const bar = bars[i] as Bar;
        if ((options.from !== undefined && bar.date < options.from) || (options.to !== undefined && bar.date > options.to)) continue;
        const quality = flags.get(bar.date) ?? '';
        if (quality !== '') summary.flaggedRows++;
        const row: string[] = [symbol, bar.date, String(bar.open), String(bar.high), String(bar.low), String(bar.close), String(bar.volume), quality];
        for (const column of values) {
          const v = column[i] as number;
          row.push(Number.isFinite(v) ? String(v) : '');
        }
        await write(csv, row);
        wrote++;
      }
      if (wrote > 0) summary.symbols++;
      summary.rows += wrote;
    }
    if (!headerWritten) throw new Error(`no symbol of ${symbols.join(', ')} has valid bars; nothing to export`);
    csv.end();
    await finished(file);
    await rename(temp, options.out);
  } catch (error) {
    csv.destroy();
    file.destroy();
    await rm(temp, { force: true });
    throw error;
  }
  return summary;
}

/** Writes one record, waiting for the stream to drain when its buffer is full. */
async function write(csv: ReturnType<typeof stringify>, record: readonly string[]): Promise<void> {
  if (!csv.write(record)) await new Promise<void>((resolve) => csv.once('drain', resolve));
}

function defectSummary(symbol: string, defects: readonly BarDefect[]): { symbol: string; rows: number; first: string } {
  return { symbol, rows: new Set(defects.map((d) => d.line)).size, first: (defects[0] as BarDefect).message };
}

/** The benchmark's defect-free closes by date, from `dataDir` or else `benchmarkDir`. */
async function loadBenchmark(
  benchmark: string,
  market: CsvMarketData,
  available: readonly string[],
  benchmarkDir: string | undefined,
): Promise<{ closes: Map<string, number> | null; source: string }> {
  let source: CsvMarketData | undefined;
  let where = '';
  if (available.includes(benchmark)) {
    source = market;
    where = 'the data folder';
  } else if (benchmarkDir !== undefined) {
    const other = new CsvMarketData({ dataDir: benchmarkDir });
    if ((await other.listSymbols().catch(() => [] as string[])).includes(benchmark)) {
      source = other;
      where = benchmarkDir;
    }
  }
  if (source === undefined) return { closes: null, source: `no ${benchmark} file found; versus-benchmark columns are empty` };
  const rows = await source.loadDailyRows(benchmark);
  const { bars, defects } = validateBarRows(rows);
  const closes = new Map(bars.map((b) => [b.date, b.close]));
  // Only closes matter here: a row refused solely because its OPEN lies outside [low, high] (SPY has
  // such Yahoo rows, e.g. 2015-03-05) still has a trustworthy close, so it is kept.
  const openOnly = new Map<number, boolean>();
  for (const d of defects) openOnly.set(d.line, (openOnly.get(d.line) ?? true) && d.rule === 'OPEN_OUTSIDE_RANGE');
  for (const row of rows) {
    if (openOnly.get(row.line) === true) closes.set(row.date.trim(), Number(row.close));
  }
  const dates = [...closes.keys()].sort();
  return { closes, source: `${benchmark} from ${where} (${dates[0] ?? '-'}..${dates.at(-1) ?? '-'})` };
}
