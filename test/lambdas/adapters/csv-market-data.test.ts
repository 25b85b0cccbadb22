import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CsvMarketData } from '../../../lambdas/adapters/market-data/csv';
import { validateBarRows } from '../../../lambdas/core/bars';
import { MarketDataError } from '../../../lambdas/ports';

const fixture = (dir: string): string => fileURLToPath(new URL(`../../fixtures/market-data/${dir}`, import.meta.url));
const BUNDLED_DIR = fileURLToPath(new URL('../../../data/daily', import.meta.url));

/** Awaits `promise`, expecting a MarketDataError; returns it. */
async function marketDataError(promise: Promise<unknown>): Promise<MarketDataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MarketDataError);
  return error as MarketDataError;
}

describe('CsvMarketData: symbols', () => {
  it('reads both SYMBOL.csv and SYMBOL_data.csv, sorted, ignoring other files', async () => {
    const source = new CsvMarketData({ dataDir: fixture('naming') });
    expect(await source.listSymbols()).toEqual(['BRK.B', 'SPY']);
  });

  it('refuses a folder with both SYMBOL.csv and SYMBOL_data.csv, naming both files', async () => {
    const source = new CsvMarketData({ dataDir: fixture('duplicate') });
    const error = await marketDataError(source.listSymbols());
    expect(error.symbol).toBe('SPY');
    expect(error.message).toBe(`two data files for SPY in ${fixture('duplicate')}: SPY.csv and SPY_data.csv; keep only one`);
    expect((await marketDataError(source.loadDailyRows('SPY'))).message).toContain('SPY.csv and SPY_data.csv');
    // The other symbols of the folder still load.
    expect(await source.loadDailyRows('AAPL')).toHaveLength(2);
  });

  it('refuses a folder that does not exist or holds no data files, naming it', async () => {
    const missing = fixture('no-such-dir');
    const error = await marketDataError(new CsvMarketData({ dataDir: missing }).listSymbols());
    expect(error.message).toBe(`market data directory ${missing} does not exist`);
    const empty = fixture('.');
    expect((await marketDataError(new CsvMarketData({ dataDir: empty }).listSymbols())).message).toBe(
      `market data directory ${empty} holds no SYMBOL.csv or SYMBOL_data.csv files`,
    );
    const viaLoad = await marketDataError(new CsvMarketData({ dataDir: missing }).loadDailyRows('AAPL'));
    expect(viaLoad.symbol).toBe('AAPL');
    expect(viaLoad.message).toContain(missing);
  });

  it('refuses a missing dataDir option', () => {
    expect(() => new CsvMarketData({ dataDir: '' })).toThrow('dataDir must be a non-empty path, got ""');
  });
});

describe('CsvMarketData: rows', () => {
  it('returns raw text rows with 1-based source lines (header is line 1)', async () => {
    const rows = await new CsvMarketData({ dataDir: fixture('naming') }).loadDailyRows('BRK.B');
    expect(rows).toEqual([
      { line: 2, date: '2013-02-08', open: '97.25', high: '97.33', low: '96.73', close: '97.25', volume: '2996000' },
      { line: 3, date: '2013-02-11', open: '97.46', high: '97.5', low: '97.04', close: '97.13', volume: '1765300' },
    ]);
  });

  it('matches the header case-insensitively and ignores extra columns (Yahoo-style SPY.csv)', async () => {
    const rows = await new CsvMarketData({ dataDir: fixture('naming') }).loadDailyRows('SPY');
    expect(rows[0]).toEqual({
      line: 2,
      date: '2007-12-31',
      open: '147.100006',
      high: '147.610001',
      low: '146.059998',
      close: '146.210007',
      volume: '108126800',
    });
  });

  it('finds columns in any order, case and padding', async () => {
    const rows = await new CsvMarketData({ dataDir: fixture('broken') }).loadDailyRows('MIXED');
    expect(rows).toEqual([{ line: 2, date: '2018-01-02', open: '10', high: '11', low: '9', close: '10.5', volume: '100' }]);
  });

  it('keeps empty fields, short and long rows as rows, trims, skips blank lines and counts CRLF lines', async () => {
    const rows = await new CsvMarketData({ dataDir: fixture('broken') }).loadDailyRows('RAGGED');
    expect(rows).toEqual([
      { line: 2, date: '2018-01-02', open: '10', high: '11', low: '9', close: '10.5', volume: '100' },
      { line: 3, date: '2018-01-03', open: '', high: '11', low: '9', close: '10.5', volume: '100' },
      // line 4 is blank
      { line: 5, date: '2018-01-04', open: '10', high: '11', low: '', close: '', volume: '' },
      { line: 6, date: '2018-01-05', open: '10', high: '11', low: '9', close: '10.5', volume: '100' },
      { line: 7, date: '', open: '', high: '', low: '', close: '', volume: '' },
      { line: 8, date: '2018-01-08', open: '10', high: '11', low: '9', close: '10.5', volume: '100' },
    ]);
    const { bars, defects } = validateBarRows(rows);
    expect(bars.map((b) => b.date)).toEqual(['2018-01-02', '2018-01-05', '2018-01-08']);
    expect(defects.map((d) => `${d.line}:${d.rule}:${d.field}`)).toEqual([
      '3:MISSING_FIELD:open',
      '5:MISSING_FIELD:low',
      '5:MISSING_FIELD:close',
      '5:MISSING_FIELD:volume',
      '7:MISSING_FIELD:date',
      '7:MISSING_FIELD:open',
      '7:MISSING_FIELD:high',
      '7:MISSING_FIELD:low',
      '7:MISSING_FIELD:close',
      '7:MISSING_FIELD:volume',
    ]);
  });

  it('keeps the real empty-field row of BHF 2017-07-26', async () => {
    const rows = await new CsvMarketData({ dataDir: fixture('dirty') }).loadDailyRows('BHF');
    expect(rows[2]).toEqual({ line: 4, date: '2017-07-26', open: '', high: '', low: '', close: '69.0842', volume: '3' });
  });

  it('serves copies from its cache, so callers cannot corrupt it', async () => {
    const source = new CsvMarketData({ dataDir: fixture('naming') });
    const first = await source.loadDailyRows('BRK.B');
    first[0]!.close = '0';
    first.pop();
    const second = await source.loadDailyRows('BRK.B');
    expect(second).toHaveLength(2);
    expect(second[0]!.close).toBe('97.25');
  });
});

describe('CsvMarketData: errors', () => {
  const broken = new CsvMarketData({ dataDir: fixture('broken') });

  it('no data file for the symbol', async () => {
    const error = await marketDataError(broken.loadDailyRows('AAPL'));
    expect(error.symbol).toBe('AAPL');
    expect(error.message).toBe(
      `no data file for AAPL in ${fixture('broken')} (looked for AAPL.csv and AAPL_data.csv)`,
    );
  });

  it('a symbol that is not a ticker (no path tricks)', async () => {
    expect((await marketDataError(broken.loadDailyRows('../naming/SPY'))).message).toBe(
      `"../naming/SPY" is not a valid symbol (upper-case A-Z, 0-9, '.')`,
    );
    expect((await marketDataError(broken.loadDailyRows('aapl'))).symbol).toBe('aapl');
  });

  it('missing required columns, naming the file and the columns', async () => {
    const error = await marketDataError(broken.loadDailyRows('NOCLOSE'));
    expect(error.symbol).toBe('NOCLOSE');
    expect(error.message).toBe(
      `${fixture('broken')}/NOCLOSE.csv is missing required column(s) close, volume ` +
        '(header: date,open,high,low,Name; need date,open,high,low,close,volume)',
    );
  });

  it("garbled CSV, with the parser's message and the file", async () => {
    const error = await marketDataError(broken.loadDailyRows('GARBLED'));
    expect(error.message).toMatch(new RegExp(`^unreadable CSV ${fixture('broken')}/GARBLED\\.csv: .*[Qq]uote`));
  });

  it('an empty file', async () => {
    expect((await marketDataError(broken.loadDailyRows('EMPTY'))).message).toBe(
      `${fixture('broken')}/EMPTY.csv is empty: expected a header row with date,open,high,low,close,volume`,
    );
  });

  it('does not cache a failure', async () => {
    await marketDataError(broken.loadDailyRows('NOCLOSE'));
    await marketDataError(broken.loadDailyRows('NOCLOSE'));
  });
});

describe('the bundled data/daily folder', () => {
  it('has 60 stocks plus SPY, every file validating cleanly except two known SPY rows', async () => {
    const source = new CsvMarketData({ dataDir: BUNDLED_DIR });
    const symbols = await source.listSymbols();
    expect(symbols).toHaveLength(61);
    expect(symbols).toContain('BRK.B');
    expect(symbols).toContain('SPY');

    const defects: string[] = [];
    for (const symbol of symbols) {
      const rows = await source.loadDailyRows(symbol);
      // Lines are consecutive from 2: no blank or multi-line rows in the bundle.
      expect(rows.every((r, i) => r.line === i + 2)).toBe(true);
      const validated = validateBarRows(rows);
      for (const d of validated.defects) defects.push(`${symbol} ${d.rule} ${d.message}`);
      if (symbol === 'SPY') {
        expect(validated.bars[0]?.date).toBe('2007-12-31');
        expect(validated.bars.at(-1)?.date).toBe('2017-12-29');
      } else {
        expect(validated.bars[0]?.date).toBe('2013-02-08');
        expect(validated.bars.at(-1)?.date).toBe('2018-02-07');
        expect(validated.bars.length).toBeGreaterThanOrEqual(1200);
      }
    }
    // ORCL and BMY missing days (data/README.md) are gaps, not defects. The two SPY rows below are
    // Yahoo rows whose open lies outside [low, high] (the open repeats the previous close); they are
    // real, left in the bundle, and quarantine SPY for windows containing 2015-03-05 or 2015-03-30.
    expect(defects).toEqual([
      'SPY OPEN_OUTSIDE_RANGE 2015-03-05 open 209.419998 is outside [low 209.850006, high 210.800003] (line 1808)',
      'SPY OPEN_OUTSIDE_RANGE 2015-03-30 open 205.740005 is outside [low 206.960007, high 208.610001] (line 1825)',
    ]);
  });
});

describe('CsvMarketData: cache keyed by file version', () => {
  const HEADER = 'date,open,high,low,close,volume\n';
  const folders: string[] = [];
  afterAll(async () => {
    const { rm } = await import('node:fs/promises');
    for (const dir of folders) await rm(dir, { recursive: true, force: true });
  });
  async function folder(files: Record<string, string>): Promise<string> {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'csv-cache-'));
    folders.push(dir);
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  }

  it('serves validateBarRows(loadDailyRows) from loadValidatedBars, frozen, the same object while the file is unchanged', async () => {
    const source = new CsvMarketData({ dataDir: fixture('dirty') });
    const validated = await source.loadValidatedBars('BHF');
    expect(validated).toEqual(validateBarRows(await source.loadDailyRows('BHF')));
    expect(await source.loadValidatedBars('BHF')).toBe(validated);
    expect(Object.isFrozen(validated)).toBe(true);
    expect(Object.isFrozen(validated.bars)).toBe(true);
    expect(Object.isFrozen(validated.bars[0])).toBe(true);
    expect(Object.isFrozen(validated.defects[0])).toBe(true);
    expect(Object.isFrozen(validated.barLines)).toBe(true);
  });

  it('re-reads a file whose content changed (rows and validated bars), and only then', async () => {
    const { writeFile, utimes } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const dir = await folder({ 'AAA.csv': `${HEADER}2018-02-05,10,11,9,10.5,100\n2018-02-06,10,11,9,10.5,100\n` });
    const source = new CsvMarketData({ dataDir: dir });
    expect((await source.loadDailyRows('AAA')).map((r) => r.close)).toEqual(['10.5', '10.5']);
    const before = await source.loadValidatedBars('AAA');
    expect(before.bars.map((b) => b.close)).toEqual([10.5, 10.5]);

    // Same size, another modification time: re-read.
    await writeFile(join(dir, 'AAA.csv'), `${HEADER}2018-02-05,10,11,9,10.7,100\n2018-02-06,10,11,9,10.5,100\n`);
    await utimes(join(dir, 'AAA.csv'), new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    expect((await source.loadDailyRows('AAA')).map((r) => r.close)).toEqual(['10.7', '10.5']);
    const after = await source.loadValidatedBars('AAA');
    expect(after).not.toBe(before);
    expect(after.bars.map((b) => b.close)).toEqual([10.7, 10.5]);
    expect(await source.loadValidatedBars('AAA')).toBe(after);

    // Another size (a row more), even with the same modification time: re-read.
    await writeFile(join(dir, 'AAA.csv'), `${HEADER}2018-02-05,10,11,9,10.7,100\n2018-02-06,10,11,9,10.5,100\n2018-02-07,10,11,9,abc,100\n`);
    await utimes(join(dir, 'AAA.csv'), new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    const third = await source.loadValidatedBars('AAA');
    expect(third.bars).toHaveLength(2);
    expect(third.defects.map((d) => `${d.line}:${d.rule}:${d.field}`)).toEqual(['4:NON_NUMERIC:close']);
  });

  it('a file that disappears after being read fails like a missing read, and is served again once back', async () => {
    const { readFile, rm, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const dir = await folder({ 'AAA.csv': `${HEADER}2018-02-05,10,11,9,10.5,100\n` });
    const source = new CsvMarketData({ dataDir: dir });
    expect(await source.loadDailyRows('AAA')).toHaveLength(1);
    const text = await readFile(join(dir, 'AAA.csv'), 'utf8');
    await rm(join(dir, 'AAA.csv'));
    const error = await marketDataError(source.loadValidatedBars('AAA'));
    expect(error.message).toMatch(new RegExp(`^cannot read ${dir}/AAA\\.csv: .*ENOENT`));
    await writeFile(join(dir, 'AAA.csv'), text);
    expect((await source.loadValidatedBars('AAA')).bars).toHaveLength(1);
  });

  it('validates every bundled file exactly as validateBarRows does', async () => {
    const source = new CsvMarketData({ dataDir: BUNDLED_DIR });
    for (const symbol of await source.listSymbols()) {
      expect(await source.loadValidatedBars(symbol)).toEqual(validateBarRows(await source.loadDailyRows(symbol)));
    }
  });
});
