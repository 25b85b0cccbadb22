/**
 * `npm run train -- [--data-dir DIR] [--calendar FILE] [--horizon 5] [--folds 5] [--embargo 0.01]
 *   [--retrain-every 21] [--min-train-sessions 126] [--lambda 1000] [--to YYYY-MM-DD]
 *   [--out models/baseline-ridge-fwd5.json] [--name NAME]`
 *
 * Trains the built-in baseline model: a walk-forward bundle of ridge snapshots (core/model/ridge.ts)
 * on the scale-free feature columns (core/model/features.ts), each validated by purged k-fold CV with
 * an embargo, and read out of sample on the sessions after its as-of date (core/model/training.ts).
 *
 * Imperative shell: reads the daily CSVs with the CSV market-data adapter and the same data-quality
 * gate as the pipeline (row checks `validateBarRows`, series checks `checkBarSeries` against the NYSE
 * calendar), aligns the benchmark (SPY) closes by date as the research export does, runs the feature
 * engine over each symbol's full history, trains, prints the fold tables, and writes the bundle as
 * pretty JSON (numbers at 12 significant digits) to a temporary file renamed into place.
 *
 * Exit codes: 0 on success; 2 for a bad argument (the message names the flag and the value) or
 * unusable data (unreadable folder or calendar, too few sample dates); 1 for anything else.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CsvCalendar } from '../lambdas/adapters/calendar/csv-calendar';
import { CsvMarketData } from '../lambdas/adapters/market-data/csv';
import { validateBarRows } from '../lambdas/core/bars';
import { isCalendarDate, TradingCalendar } from '../lambdas/core/calendar';
import { checkBarSeries } from '../lambdas/core/data-quality';
import { FeatureEngine } from '../lambdas/core/feature-engine/engine';
import { engineInputOf } from '../lambdas/core/features';
import { parseModelBundle, type ModelBundle, type ValidationFold } from '../lambdas/core/model/artifact';
import { DEFAULT_MODEL_FEATURES } from '../lambdas/core/model/features';
import { loadRidge } from '../lambdas/core/model/ridge';
import {
  buildDataset,
  DEFAULT_FOLDS,
  DEFAULT_HORIZON,
  DEFAULT_LAMBDA,
  DEFAULT_MIN_TRAIN_SESSIONS,
  DEFAULT_RETRAIN_EVERY,
  embargoDates,
  MIN_EMBARGO_FRACTION,
  trainWalkForward,
  type Dataset,
  type SymbolSeries,
} from '../lambdas/core/model/training';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCHMARK = 'SPY';
/** Significant digits kept for every non-integer number of the written bundle. */
export const WRITTEN_SIGNIFICANT_DIGITS = 12;

const USAGE = `usage: npm run train -- [options]

  --data-dir DIR            daily CSVs SYMBOL.csv / SYMBOL_data.csv (default data/daily); SPY.csv there,
                            else the bundled data/daily/SPY.csv, is the benchmark and is not traded
  --calendar FILE           NYSE sessions, exchange_calendars CSV (default data/calendars/xnys-sessions-1990-2023.csv)
  --horizon N               label horizon in sessions: close_t -> close_t+N, demeaned across symbols (default ${DEFAULT_HORIZON})
  --folds K                 purged k-fold CV folds, >= 2 (default ${DEFAULT_FOLDS})
  --embargo F               CV embargo as a fraction of the dates, 0.01..0.5 (default ${MIN_EMBARGO_FRACTION})
  --retrain-every N         sessions between walk-forward snapshots (default ${DEFAULT_RETRAIN_EVERY})
  --min-train-sessions N    sample dates the first snapshot needs (default ${DEFAULT_MIN_TRAIN_SESSIONS})
  --lambda L                ridge penalty on standardized coefficients, >= 0 (default ${DEFAULT_LAMBDA}; see DEFAULT_LAMBDA in lambdas/core/model/training.ts)
  --to YYYY-MM-DD           as-of date of the last snapshot (default: the last date in the data)
  --out FILE                the bundle to write (default models/baseline-ridge-fwd5.json)
  --name NAME               bundle name; snapshot ids are NAME@ASOF (default baseline-ridge-fwdN)`;

/** Where the CLI writes its lines (the console by default; tests capture them). */
export interface TrainCliIo {
  log(line: string): void;
  error(line: string): void;
  /** Transient progress text (default: rewritten on stderr when it is a terminal, else dropped). */
  progress?(text: string): void;
}

/** A bad flag value or unusable input: exit code 2. */
class UsageError extends Error {}

/** Parsed and checked options. */
interface TrainOptions {
  dataDir: string;
  calendar: string;
  horizon: number;
  folds: number;
  embargo: number;
  retrainEvery: number;
  minTrainSessions: number;
  lambda: number;
  to: string | undefined;
  out: string;
  name: string;
}

function integerFlag(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  return value;
}

function numberFlag(flag: string, text: string | undefined, fallback: number, min: number, max: number, why = ''): number {
  if (text === undefined) return fallback;
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new UsageError(`--${flag} must be a number ${range}${why}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function parseOptions(argv: readonly string[]): TrainOptions | 'help' {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        'data-dir': { type: 'string' },
        calendar: { type: 'string' },
        horizon: { type: 'string' },
        folds: { type: 'string' },
        embargo: { type: 'string' },
        'retrain-every': { type: 'string' },
        'min-train-sessions': { type: 'string' },
        lambda: { type: 'string' },
        to: { type: 'string' },
        out: { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const horizon = integerFlag('horizon', values.horizon, DEFAULT_HORIZON, 1);
  const to = values.to;
  if (to !== undefined && !isCalendarDate(to)) throw new UsageError(`--to must be a date YYYY-MM-DD, got ${JSON.stringify(to)}`);
  const name = values.name ?? `baseline-ridge-fwd${horizon}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UsageError(`--name must be letters, digits, '.', '_' or '-' (no '@'), got ${JSON.stringify(name)}`);
  for (const flag of ['data-dir', 'calendar', 'out'] as const) {
    if (values[flag] !== undefined && values[flag].trim() === '') throw new UsageError(`--${flag} must be a path, got ""`);
  }
  return {
    dataDir: resolve(values['data-dir'] ?? resolve(ROOT, 'data/daily')),
    calendar: resolve(values.calendar ?? resolve(ROOT, 'data/calendars/xnys-sessions-1990-2023.csv')),
    horizon,
    folds: integerFlag('folds', values.folds, DEFAULT_FOLDS, 2),
    embargo: numberFlag('embargo', values.embargo, MIN_EMBARGO_FRACTION, MIN_EMBARGO_FRACTION, 0.5, ' (an embargo of at least 1% of the dates)'),
    retrainEvery: integerFlag('retrain-every', values['retrain-every'], DEFAULT_RETRAIN_EVERY, 1),
    minTrainSessions: integerFlag('min-train-sessions', values['min-train-sessions'], DEFAULT_MIN_TRAIN_SESSIONS, 1),
    lambda: numberFlag('lambda', values.lambda, DEFAULT_LAMBDA, 0, Number.POSITIVE_INFINITY),
    to,
    out: resolve(values.out ?? resolve(ROOT, 'models/baseline-ridge-fwd5.json')),
    name,
  };
}

/** A path as typed in `createdBy`: relative to the repository when inside it. */
function shown(path: string): string {
  const rel = relative(ROOT, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The benchmark's closes by date: defect-free bars, plus rows refused only for OPEN_OUTSIDE_RANGE (their close is sound), as the research export does. */
async function loadBenchmark(market: CsvMarketData, available: readonly string[]): Promise<{ closes: Map<string, number> | null; source: string }> {
  let source: CsvMarketData | undefined;
  let where = '';
  if (available.includes(BENCHMARK)) {
    source = market;
    where = 'the data folder';
  } else {
    const bundled = new CsvMarketData({ dataDir: resolve(ROOT, 'data/daily') });
    if ((await bundled.listSymbols().catch(() => [] as string[])).includes(BENCHMARK)) {
      source = bundled;
      where = 'data/daily';
    }
  }
  if (source === undefined) return { closes: null, source: `no ${BENCHMARK} file found; the versus-benchmark engine columns are NaN (the default model features do not read them)` };
  const rows = await source.loadDailyRows(BENCHMARK);
  const { bars, defects } = validateBarRows(rows);
  const closes = new Map(bars.map((b) => [b.date, b.close]));
  const openOnly = new Map<number, boolean>();
  for (const d of defects) openOnly.set(d.line, (openOnly.get(d.line) ?? true) && d.rule === 'OPEN_OUTSIDE_RANGE');
  for (const row of rows) if (openOnly.get(row.line) === true) closes.set(row.date.trim(), Number(row.close));
  const dates = [...closes.keys()].sort();
  return { closes, source: `${BENCHMARK} from ${where} (${dates[0] ?? '-'}..${dates.at(-1) ?? '-'})` };
}

/** Reads every symbol, computes the model's feature columns over its full history, and builds the dataset. */
async function loadDataset(options: TrainOptions, io: TrainCliIo): Promise<Dataset> {
  let calendar: TradingCalendar;
  try {
    calendar = new TradingCalendar(await new CsvCalendar({ file: options.calendar }).loadSessions());
  } catch (error) {
    throw new UsageError(`--calendar ${options.calendar}: ${(error as Error).message}`);
  }
  const market = new CsvMarketData({ dataDir: options.dataDir });
  let available: string[];
  try {
    available = await market.listSymbols();
  } catch (error) {
    throw new UsageError(`--data-dir ${options.dataDir}: ${(error as Error).message}`);
  }
  const symbols = available.filter((s) => s !== BENCHMARK);
  if (symbols.length === 0) throw new UsageError(`--data-dir ${options.dataDir}: no symbol besides ${BENCHMARK}`);
  const bench = await loadBenchmark(market, available);
  io.log(`benchmark: ${bench.source}`);

  const engine = new FeatureEngine();
  const columns = DEFAULT_MODEL_FEATURES.map((name) => {
    const c = engine.names.indexOf(name);
    if (c < 0) throw new Error(`DEFAULT_MODEL_FEATURES names ${name}, which the feature engine does not compute`);
    return c;
  });
  const series: SymbolSeries[] = [];
  let defectCount = 0;
  for (const symbol of symbols) {
    let validated;
    try {
      validated = validateBarRows(await market.loadDailyRows(symbol));
    } catch (error) {
      throw new UsageError(`--data-dir ${options.dataDir}: ${(error as Error).message}`);
    }
    const { bars } = validated;
    if (bars.length === 0) {
      io.log(`skipped ${symbol}: no valid bars`);
      continue;
    }
    const defects = [...validated.defects, ...checkBarSeries(validated, calendar)];
    defectCount += defects.length;
    const n = bars.length;
    const result = engine.compute(engineInputOf(bars, bench.closes), n);
    series.push({
      symbol,
      dates: bars.map((b) => b.date),
      close: Float64Array.from(bars, (b) => b.close),
      names: DEFAULT_MODEL_FEATURES,
      // Copies: the engine's buffers are reused by the next symbol.
      values: columns.map((c) => Float64Array.from(result.values[c] as Float64Array)),
      defects,
    });
  }
  const dataset = buildDataset(series, { features: DEFAULT_MODEL_FEATURES, horizon: options.horizon });
  const sampleDates = new Set(dataset.dateIndex).size;
  const first = dataset.rows > 0 ? dataset.dates[dataset.dateIndex[0] as number] : '-';
  const last = dataset.rows > 0 ? dataset.dates[dataset.dateIndex[dataset.rows - 1] as number] : '-';
  io.log(`data: ${series.length} symbols, ${dataset.dates.length} sessions ${dataset.dates[0] ?? '-'}..${dataset.dates.at(-1) ?? '-'}, ${defectCount} data-quality defects`);
  io.log(
    `samples: ${dataset.rows} over ${sampleDates} dates ${first}..${last} (${dataset.features.length} features, label ${options.horizon}-session forward return demeaned by date); ` +
      `rows without a sample: ${dataset.dropped.noLabel} no label yet, ${dataset.dropped.defect} near a data-quality defect, ${dataset.dropped.missingFeature} with a NaN feature (warm-up, zero denominator)`,
  );
  return dataset;
}

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const ic = (v: number): string => (v >= 0 ? ' ' : '') + v.toFixed(4);
const pad = (text: string | number, width: number): string => String(text).padStart(width);

/** Prints the purged k-fold table of the last snapshot and the walk-forward table, with their means. */
function printTables(bundle: ModelBundle, dataset: Dataset, io: TrainCliIo): void {
  const final = bundle.snapshots[bundle.snapshots.length - 1];
  if (final === undefined) return;
  const asOfIndex = dataset.dates.indexOf(final.trainingWindow.asOf);
  const v = final.validation;
  const trainingDates = new Set<number>();
  for (let i = 0; i < dataset.rows; i++) if ((dataset.labelEndIndex[i] as number) <= asOfIndex) trainingDates.add(dataset.dateIndex[i] as number);
  const datesIn = (from: string, to: string): number => {
    let n = 0;
    for (const d of trainingDates) {
      const date = dataset.dates[d] as string;
      if (date >= from && date <= to) n++;
    }
    return n;
  };
  io.log('');
  io.log(
    `purged ${v.folds.length}-fold CV of the last snapshot ${final.id} (training ${final.trainingWindow.from}..${final.trainingWindow.to}, ${trainingDates.size} dates; ` +
      `purge ${v.purgeSessions} sessions, embargo ${embargoDates(v.embargoFraction, trainingDates.size)} dates = ${pct(v.embargoFraction)} of the dates):`,
  );
  io.log(`${pad('fold', 4)}  ${'test dates'.padEnd(22)} ${pad('dates', 5)} ${pad('train', 7)} ${pad('test', 6)} ${pad('purged', 6)} ${pad('embargoed', 9)} ${pad('IC', 7)} ${pad('hit rate', 8)}`);
  for (const f of v.folds) {
    io.log(`${pad(f.fold, 4)}  ${`${f.testFrom}..${f.testTo}`.padEnd(22)} ${pad(datesIn(f.testFrom, f.testTo), 5)} ${pad(f.trainSamples, 7)} ${pad(f.testSamples, 6)} ${pad(f.purged, 6)} ${pad(f.embargoed, 9)} ${pad(ic(f.ic), 7)} ${pad(pct(f.hitRate), 8)}`);
  }
  io.log(`${'mean'.padEnd(4)}  ${''.padEnd(22)} ${''.padEnd(5)} ${''.padEnd(7)} ${''.padEnd(6)} ${''.padEnd(6)} ${''.padEnd(9)} ${pad(ic(v.meanIc), 7)} ${pad(pct(v.meanHitRate), 8)}`);

  io.log('');
  io.log(`walk-forward: ${bundle.snapshots.length} snapshots (${bundle.snapshots[0]?.trainingWindow.asOf}..${final.trainingWindow.asOf}), each read on the sessions after its as-of until the next retraining:`);
  io.log(`${pad('fold', 4)}  ${'as-of'.padEnd(10)}  ${'test dates'.padEnd(22)} ${pad('train', 7)} ${pad('test', 6)} ${pad('purged', 6)} ${pad('IC', 7)} ${pad('hit rate', 8)}`);
  const asOfOf = (f: ValidationFold): string => {
    let chosen = '';
    for (const s of bundle.snapshots) if (s.trainingWindow.asOf < f.testFrom) chosen = s.trainingWindow.asOf;
    return chosen;
  };
  for (const f of bundle.walkForward) {
    io.log(`${pad(f.fold, 4)}  ${asOfOf(f).padEnd(10)}  ${`${f.testFrom}..${f.testTo}`.padEnd(22)} ${pad(f.trainSamples, 7)} ${pad(f.testSamples, 6)} ${pad(f.purged, 6)} ${pad(ic(f.ic), 7)} ${pad(pct(f.hitRate), 8)}`);
  }
  const wf = bundle.walkForward;
  if (wf.length === 0) {
    io.log('(no walk-forward fold: no sample after the first snapshot)');
    return;
  }
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  const positive = wf.filter((f) => f.ic > 0).length;
  io.log(`${'mean'.padEnd(4)}  ${''.padEnd(10)}  ${''.padEnd(22)} ${''.padEnd(7)} ${pad(wf.reduce((a, f) => a + f.testSamples, 0), 6)} ${''.padEnd(6)} ${pad(ic(mean(wf.map((f) => f.ic))), 7)} ${pad(pct(mean(wf.map((f) => f.hitRate))), 8)}`);
  const ics = wf.map((f) => f.ic);
  const sd = Math.sqrt(ics.reduce((a, x) => a + (x - mean(ics)) ** 2, 0) / Math.max(1, ics.length - 1));
  io.log(`walk-forward IC: mean ${ic(mean(ics)).trim()}, stdev ${sd.toFixed(4)} over ${wf.length} folds, positive in ${positive} (t = ${(mean(ics) / (sd / Math.sqrt(wf.length))).toFixed(2)}, folds treated as independent)`);
}

/** JSON text of the bundle, 2-space indented, every non-integer number at 12 significant digits. */
export function bundleJson(bundle: ModelBundle): string {
  return `${JSON.stringify(bundle, (_key, value: unknown) => (typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(WRITTEN_SIGNIFICANT_DIGITS)) : value), 2)}\n`;
}

/**
 * Runs the CLI.
 * @param argv the arguments after the script name.
 * @param io where lines go (default the console).
 * @returns the exit code: 0 success, 2 bad argument or unusable data, 1 anything else.
 */
export async function main(argv: readonly string[], io: TrainCliIo = defaultIo()): Promise<number> {
  let options: TrainOptions | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    io.error(`train: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    io.log(USAGE);
    return 0;
  }
  const started = performance.now();
  try {
    const dataset = await loadDataset(options, io);
    if (dataset.rows === 0) throw new UsageError(`--data-dir ${options.dataDir}: no sample survives (the features need 253 bars of history)`);
    const createdBy = [
      'npm run train --',
      `--data-dir ${shown(options.dataDir)}`,
      `--calendar ${shown(options.calendar)}`,
      `--horizon ${options.horizon}`,
      `--folds ${options.folds}`,
      `--embargo ${options.embargo}`,
      `--retrain-every ${options.retrainEvery}`,
      `--min-train-sessions ${options.minTrainSessions}`,
      `--lambda ${options.lambda}`,
      ...(options.to ? [`--to ${options.to}`] : []),
      `--name ${options.name}`,
    ].join(' ');
    let bundle: ModelBundle;
    try {
      bundle = trainWalkForward(dataset, {
        name: options.name,
        horizon: options.horizon,
        retrainEvery: options.retrainEvery,
        minTrainSessions: options.minTrainSessions,
        lambda: options.lambda,
        folds: options.folds,
        embargoFraction: options.embargo,
        ...(options.to ? { to: options.to } : {}),
        createdBy,
        onProgress: (done, total, asOf) => io.progress?.(`training snapshot ${done}/${total} (as of ${asOf})`),
      });
    } catch (error) {
      // Everything trainWalkForward refuses comes from the flags (too few dates for
      // --min-train-sessions, --to before the data, --folds above the dates).
      throw new UsageError((error as Error).message);
    } finally {
      io.progress?.('');
    }
    if (options.to !== undefined && bundle.snapshots.at(-1)?.trainingWindow.asOf !== options.to) {
      io.log(`note: --to ${options.to} is not a session of the data; the last snapshot is as of ${bundle.snapshots.at(-1)?.trainingWindow.asOf}`);
    }
    printTables(bundle, dataset, io);

    const text = bundleJson(bundle);
    // What is written must load: the envelope and every snapshot's ridge body.
    const written = parseModelBundle(JSON.parse(text), options.out);
    for (const snapshot of written.snapshots) loadRidge(snapshot);
    await mkdir(dirname(options.out), { recursive: true });
    const temp = `${options.out}.${process.pid}.tmp`;
    try {
      await writeFile(temp, text);
      await rename(temp, options.out);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    io.log('');
    io.log(`wrote ${bundle.snapshots.length} snapshots (${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB) to ${options.out} in ${seconds}s`);
    return 0;
  } catch (error) {
    io.error(`train: ${(error as Error).message}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

function defaultIo(): TrainCliIo {
  const tty = process.stderr.isTTY === true;
  return {
    log: (line) => console.log(line),
    error: (line) => console.error(line),
    progress: (text) => {
      if (tty) process.stderr.write(`\r\x1b[2K${text}`);
    },
  };
}

// Run when executed as a script (`tsx local/train-cli.ts`), not when imported by a test.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
