/**
 * The full feature set over the bundled S&P 500 history (505 symbols, 2013-02-08 .. 2018-02-07):
 * loaded through CsvMarketData + validateBarRows (rows with a defect are dropped), SPY closes from
 * data/daily/SPY.csv aligned by date as `benchClose` (NaN where SPY has no bar). Loading and parsing
 * happen before any timing; only `FeatureEngine.compute` is timed, one engine instance for all symbols.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { CsvMarketData } from '../../lambdas/adapters/market-data/csv';
import { validateBarRows, type Bar } from '../../lambdas/core/bars';
import type { EngineInput } from '../../lambdas/core/feature-engine/types';
import { median, seconds } from './timing';

export interface LoadedSymbol {
  symbol: string;
  input: EngineInput;
  length: number;
  defects: number;
}

export interface FullSetData {
  symbols: LoadedSymbol[];
  /** Longest series (sessions of a symbol present over the whole period). */
  sessions: number;
  totalBars: number;
  droppedRows: number;
  loadS: number;
}

function columns(bars: readonly Bar[], bench: ReadonlyMap<string, number> | null): EngineInput {
  const n = bars.length;
  const input: EngineInput = {
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
    benchClose: bench === null ? null : new Float64Array(n),
  };
  bars.forEach((bar, i) => {
    input.open[i] = bar.open;
    input.high[i] = bar.high;
    input.low[i] = bar.low;
    input.close[i] = bar.close;
    input.volume[i] = bar.volume;
    if (input.benchClose !== null) input.benchClose[i] = bench?.get(bar.date) ?? Number.NaN;
  });
  return input;
}

export async function loadFullSet(repoRoot: string): Promise<FullSetData> {
  const start = performance.now();
  const spyRows = await new CsvMarketData({ dataDir: join(repoRoot, 'data/daily') }).loadDailyRows('SPY');
  const bench = new Map(validateBarRows(spyRows).bars.map((bar) => [bar.date, bar.close] as const));
  const market = new CsvMarketData({ dataDir: join(repoRoot, 'data/sp500-daily-2013-2018') });
  const symbols: LoadedSymbol[] = [];
  let droppedRows = 0;
  for (const symbol of await market.listSymbols()) {
    const { bars, defects } = validateBarRows(await market.loadDailyRows(symbol));
    droppedRows += new Set(defects.map((d) => d.line)).size;
    symbols.push({ symbol, input: columns(bars, bench), length: bars.length, defects: defects.length });
  }
  return {
    symbols,
    sessions: Math.max(...symbols.map((s) => s.length)),
    totalBars: symbols.reduce((sum, s) => sum + s.length, 0),
    droppedRows,
    loadS: (performance.now() - start) / 1000,
  };
}

/** The part of lambdas/core/feature-engine/engine.ts used here. */
interface FeatureEngineLike {
  compute(input: EngineInput, length: number): { names: readonly string[]; values: readonly ArrayLike<number>[]; states: unknown };
  resume(input: EngineInput, from: number, length: number, states: never): { names: readonly string[]; values: readonly ArrayLike<number>[]; states: unknown };
}
type FeatureEngineClass = new () => FeatureEngineLike;

export type FullSetMeasure =
  | {
      ok: true;
      columns: number;
      coldS: number;
      warmS: number;
      passesS: number[];
      checksum: number;
      /** Median seconds to add one session to every symbol with `resume` from cached (JSON) states. */
      incrementalS: number;
      /** Symbols whose resumed last row differs from the full computation (expected 0: bit-identical). */
      incrementalMismatches: number;
    }
  | { ok: false; reason: string };

export async function measureFullSet(enginePath: string, data: FullSetData, passes: number): Promise<FullSetMeasure> {
  let FeatureEngine: FeatureEngineClass;
  try {
    const mod = (await import(pathToFileURL(enginePath).href)) as { FeatureEngine?: unknown };
    if (typeof mod.FeatureEngine !== 'function') return { ok: false, reason: `${enginePath} does not export a FeatureEngine class` };
    FeatureEngine = mod.FeatureEngine as FeatureEngineClass;
  } catch (error) {
    return { ok: false, reason: `cannot import ${enginePath}: ${(error as Error).message}` };
  }
  try {
    const engine = new FeatureEngine();
    let columnCount = 0;
    let checksum = 0;
    const pass = (): number => {
      let check = 0;
      for (const { input, length } of data.symbols) {
        const { names, values } = engine.compute(input, length);
        columnCount = names.length;
        const first = values[0];
        if (first !== undefined && length > 0) check += Number(first[length - 1]) || 0;
      }
      checksum = check;
      return check;
    };
    const coldS = seconds(pass);
    const passesS: number[] = [];
    for (let p = 0; p < passes; p++) passesS.push(seconds(pass));

    // Incremental: the states after all but the last session, through JSON as a cache would keep
    // them (untimed); then only the last session is computed for every symbol (timed).
    const cached = data.symbols.map(({ input, length }) => JSON.parse(JSON.stringify(engine.compute(input, length - 1).states)) as never);
    const lastRows = data.symbols.map(({ input, length }) => engine.compute(input, length).values.map((v) => Number(v[length - 1])));
    let incrementalMismatches = 0;
    const resumePass = (check: boolean): void => {
      data.symbols.forEach(({ input, length }, i) => {
        const { values } = engine.resume(input, length - 1, length, cached[i] as never);
        if (check && values.some((v, c) => !Object.is(Number(v[length - 1]), lastRows[i]?.[c]))) incrementalMismatches++;
      });
    };
    resumePass(true);
    const incrementalPasses: number[] = [];
    for (let p = 0; p < passes; p++) incrementalPasses.push(seconds(() => { resumePass(false); return 0; }));
    return { ok: true, columns: columnCount, coldS, warmS: median(passesS), passesS, checksum, incrementalS: median(incrementalPasses), incrementalMismatches };
  } catch (error) {
    return { ok: false, reason: `FeatureEngine.compute failed: ${(error as Error).stack ?? String(error)}` };
  }
}
