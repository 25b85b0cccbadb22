/**
 * Market data from a folder of daily CSV files (the bundled `data/daily/` or the full Kaggle set).
 *
 * One file per symbol, named `SYMBOL.csv` or `SYMBOL_data.csv` (SYMBOL upper-case, e.g. `BRK.B`).
 * Each file has a header row naming at least `date,open,high,low,close,volume` (any case, any order;
 * extra columns such as `Name` or `Adj Close` are ignored). Rows come back as raw text; validation
 * happens in the core (`validateBarRows`). `loadValidatedBars` also serves the validated bars, computed
 * once per file version (see `CsvMarketData`).
 */
import { statSync, type BigIntStats } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { validateBarRows, type RawBarRow, type ValidatedBars, type ValidatedBarsSource } from '../../core/bars';
import { MarketDataError, type MarketDataPort } from '../../ports';

/** Options for `CsvMarketData`. */
export interface CsvMarketDataOptions {
  /** Folder holding the `SYMBOL.csv` / `SYMBOL_data.csv` files (absolute, or relative to the cwd). */
  dataDir: string;
}

/** Columns every file must have (matched case-insensitively after trimming). */
export const REQUIRED_COLUMNS = ['date', 'open', 'high', 'low', 'close', 'volume'] as const;
type Column = (typeof REQUIRED_COLUMNS)[number];

/** Ticker spelling accepted in file names (same rule as the strategy config's SymbolSchema). */
const SYMBOL = /^[A-Z][A-Z0-9.]{0,9}$/;
/** `SYMBOL.csv` or `SYMBOL_data.csv`; the symbol is group 1. */
const FILE_NAME = /^([A-Z][A-Z0-9.]{0,9}?)(_data)?\.csv$/;

/** Symbol used in a MarketDataError that concerns the whole folder rather than one symbol. */
export const ALL_SYMBOLS = '*';

/** The folder's data files by symbol, and the symbols that have two files (with the error text). */
interface DirectoryIndex {
  files: ReadonlyMap<string, string>;
  conflicts: ReadonlyMap<string, string>;
}

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

/** One version of a symbol's file as read: its rows, and its validation once asked for. */
interface CachedFile {
  file: string;
  /** The file's identity when it was read (stat taken before the read): a change means a re-read. */
  version: FileVersion;
  /** Frozen rows in source order. */
  rows: readonly RawBarRow[];
  /** `validateBarRows(rows)`, deep-frozen, computed on the first `loadValidatedBars`. */
  validated?: ValidatedBars;
}

/** What tells two versions of a file apart: modification time (ns), size and inode. */
interface FileVersion {
  mtimeNs: bigint;
  size: bigint;
  ino: bigint;
}

/**
 * `MarketDataPort` over a folder of CSV files. The folder is listed once per instance. Each symbol's
 * file is parsed once per version: every later call checks (one `stat`) that the file still has the
 * modification time, size and inode it had when read, and reads it again when one of them changed.
 * `loadDailyRows` returns fresh copies, so callers cannot corrupt the cache; `loadValidatedBars`
 * returns the cached validation itself, deep-frozen (the same object while the file is unchanged).
 */
export class CsvMarketData implements MarketDataPort, ValidatedBarsSource {
  private readonly dataDir: string;
  private index: Promise<DirectoryIndex> | undefined;
  private readonly filesCache = new Map<string, Promise<CachedFile>>();

  /** @param options.dataDir the folder to read; it is not touched until the first call. */
  constructor(options: CsvMarketDataOptions) {
    if (typeof options?.dataDir !== 'string' || options.dataDir.trim() === '') {
      throw new Error(`dataDir must be a non-empty path, got ${JSON.stringify(options?.dataDir)}`);
    }
    this.dataDir = options.dataDir;
  }

  /**
   * Every symbol with a data file, sorted ascending (code-unit order, e.g. `BA` < `BAC` < `BRK.B`).
   * Files not named like `SYMBOL.csv`/`SYMBOL_data.csv` are ignored.
   * @throws MarketDataError (symbol `*`) when the folder does not exist or cannot be read, or holds no
   *   matching CSV file; MarketDataError (that symbol) when it holds both `SYMBOL.csv` and
   *   `SYMBOL_data.csv` for one symbol (the message names both files).
   */
  async listSymbols(): Promise<string[]> {
    const { files, conflicts } = await this.loadIndex();
    const [first] = conflicts;
    if (first !== undefined) {
      const more = conflicts.size > 1 ? ` (and ${conflicts.size - 1} more symbol(s) with two files)` : '';
      throw new MarketDataError(first[0], `${first[1]}${more}`);
    }
    return [...files.keys()].sort();
  }

  /**
   * All rows of `symbol`'s file in source order, every field as trimmed raw text. A row with fewer
   * columns than the header gets '' for the missing fields; extra cells are ignored; blank lines are
   * skipped. `line` is the 1-based source line where the row starts (the header is line 1).
   * @throws MarketDataError(symbol, ...) when the symbol is not a valid ticker, has no file
   *   (`no data file for SYMBOL in DIR ...`) or two files (naming both), the folder is unreadable, the file cannot be read, is empty, is not parseable CSV
   *   (the parser's message and the file), or lacks required columns (the file and the missing columns).
   */
  async loadDailyRows(symbol: string): Promise<RawBarRow[]> {
    const { rows } = await this.load(symbol);
    return rows.map((row) => ({ ...row }));
  }

  /**
   * `validateBarRows(await this.loadDailyRows(symbol))`, validated once per version of the file and
   * deep-frozen (bars, lines, defects): the same object is returned until the file changes.
   * @throws as `loadDailyRows`.
   */
  async loadValidatedBars(symbol: string): Promise<ValidatedBars> {
    const cached = await this.load(symbol);
    cached.validated ??= deepFreezeValidated(validateBarRows(cached.rows));
    return cached.validated;
  }

  /** The cached version of the symbol's file, read again when the file changed (or was never read). */
  private async load(symbol: string): Promise<CachedFile> {
    const pending = this.filesCache.get(symbol);
    if (pending !== undefined) {
      const cached = await pending;
      if (sameVersion(cached.version, fileVersion(cached.file))) return cached;
      if (this.filesCache.get(symbol) !== pending) return this.load(symbol); // another call re-read it meanwhile
    }
    const reading = this.readRows(symbol);
    this.filesCache.set(symbol, reading);
    // A failed read is not cached: the next call tries again.
    reading.catch(() => {
      if (this.filesCache.get(symbol) === reading) this.filesCache.delete(symbol);
    });
    return reading;
  }

  private loadIndex(): Promise<DirectoryIndex> {
    if (this.index === undefined) {
      const pending = this.buildIndex();
      this.index = pending;
      pending.catch(() => {
        if (this.index === pending) this.index = undefined;
      });
    }
    return this.index;
  }

  private async buildIndex(): Promise<DirectoryIndex> {
    let names: string[];
    try {
      names = await readdir(this.dataDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'does not exist'
          : code === 'ENOTDIR'
            ? 'is not a directory'
            : `cannot be read: ${(error as Error).message}`;
      throw new MarketDataError(ALL_SYMBOLS, `market data directory ${this.dataDir} ${why}`);
    }
    const files = new Map<string, string>();
    const conflicts = new Map<string, string>();
    for (const name of names.sort()) {
      const match = FILE_NAME.exec(name);
      if (!match) continue;
      const symbol = match[1] as string;
      const other = files.get(symbol);
      if (other !== undefined) {
        conflicts.set(symbol, `two data files for ${symbol} in ${this.dataDir}: ${other} and ${name}; keep only one`);
      }
      files.set(symbol, name);
    }
    if (files.size === 0) {
      throw new MarketDataError(
        ALL_SYMBOLS,
        `market data directory ${this.dataDir} holds no SYMBOL.csv or SYMBOL_data.csv files`,
      );
    }
    return { files, conflicts };
  }

  private async readRows(symbol: string): Promise<CachedFile> {
    if (typeof symbol !== 'string' || !SYMBOL.test(symbol)) {
      throw new MarketDataError(String(symbol), `${JSON.stringify(symbol)} is not a valid symbol (upper-case A-Z, 0-9, '.')`);
    }
    const index = await this.loadIndex().catch((error: unknown) => {
      // Keep the folder's message but attribute it to the symbol asked for.
      throw new MarketDataError(symbol, (error as Error).message);
    });
    const conflict = index.conflicts.get(symbol);
    if (conflict !== undefined) throw new MarketDataError(symbol, conflict);
    const name = index.files.get(symbol);
    if (name === undefined) {
      throw new MarketDataError(
        symbol,
        `no data file for ${symbol} in ${this.dataDir} (looked for ${symbol}.csv and ${symbol}_data.csv)`,
      );
    }
    const file = join(this.dataDir, name);
    // The version is taken before the read: a change during the read shows at the next call.
    const version = fileVersion(file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new MarketDataError(symbol, `cannot read ${file}: ${(error as Error).message}`);
    }
    return { file, version: version ?? { mtimeNs: -1n, size: -1n, ino: -1n }, rows: parseDailyCsv(symbol, file, text) };
  }
}

/** The file's version now, or undefined when it cannot be stat'ed (gone: the next read says why). */
function fileVersion(file: string): FileVersion | undefined {
  let stats: BigIntStats | undefined;
  try {
    stats = statSync(file, { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  return stats === undefined ? undefined : { mtimeNs: stats.mtimeNs, size: stats.size, ino: stats.ino };
}

function sameVersion(cached: FileVersion, now: FileVersion | undefined): boolean {
  return now !== undefined && cached.mtimeNs === now.mtimeNs && cached.size === now.size && cached.ino === now.ino;
}

/** Freezes the validation and everything in it, so one cached object can be handed to every caller. */
function deepFreezeValidated(validated: ValidatedBars): ValidatedBars {
  for (const bar of validated.bars) Object.freeze(bar);
  for (const defect of validated.defects) Object.freeze(defect);
  Object.freeze(validated.bars);
  Object.freeze(validated.defects);
  if (validated.barLines) Object.freeze(validated.barLines);
  return Object.freeze(validated);
}

/** Line where a parsed record starts: csv-parse reports the line where it ends. */
function startLine(entry: CsvRecord): number {
  const breaks = entry.record.reduce((sum, field) => sum + (field.match(/\r\n|\r|\n/g)?.length ?? 0), 0);
  return entry.info.lines - breaks;
}

function parseDailyCsv(symbol: string, file: string, text: string): readonly RawBarRow[] {
  let records: CsvRecord[];
  try {
    records = parse(text, {
      bom: true,
      trim: true,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as CsvRecord[];
  } catch (error) {
    throw new MarketDataError(symbol, `unreadable CSV ${file}: ${(error as Error).message}`);
  }
  const [header, ...body] = records;
  if (header === undefined) {
    throw new MarketDataError(symbol, `${file} is empty: expected a header row with ${REQUIRED_COLUMNS.join(',')}`);
  }
  const names = header.record.map((name) => name.trim().toLowerCase());
  const position = {} as Record<Column, number>;
  const missing: string[] = [];
  for (const column of REQUIRED_COLUMNS) {
    const first = names.indexOf(column);
    if (first === -1) {
      missing.push(column);
      continue;
    }
    if (names.indexOf(column, first + 1) !== -1) {
      throw new MarketDataError(symbol, `${file} header has column "${column}" twice: ${header.record.join(',')}`);
    }
    position[column] = first;
  }
  if (missing.length > 0) {
    throw new MarketDataError(
      symbol,
      `${file} is missing required column(s) ${missing.join(', ')} (header: ${header.record.join(',')}; need ${REQUIRED_COLUMNS.join(',')})`,
    );
  }
  return Object.freeze(
    body.map((entry) => {
      const cell = (column: Column): string => entry.record[position[column]] ?? '';
      return Object.freeze({
        line: startLine(entry),
        date: cell('date'),
        open: cell('open'),
        high: cell('high'),
        low: cell('low'),
        close: cell('close'),
        volume: cell('volume'),
      });
    }),
  );
}
