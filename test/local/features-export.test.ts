import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_COLUMNS_ALL, FeatureEngine } from '../../lambdas/core/feature-engine/engine';
import { validateBarRows } from '../../lambdas/core/bars';
import { CsvMarketData } from '../../lambdas/adapters/market-data/csv';
import { EXPORT_LEADING_COLUMNS, exportFeatures } from '../../local/features-export';

const ROOT = resolve(import.meta.dirname, '../..');
const DAILY = join(ROOT, 'data/daily');
const CALENDAR_FILE = join(ROOT, 'data/calendars/xnys-sessions-1990-2023.csv');

describe('npm run features: the research export', () => {
  let dir: string;
  let out: string;
  let rows: string[][];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'features-'));
    await mkdir(join(dir, 'data'));
    for (const name of ['AAPL_data.csv', 'MSFT_data.csv', 'SPY.csv']) await copyFile(join(DAILY, name), join(dir, 'data', name));
    out = join(dir, 'out', 'features.csv');
    const summary = await exportFeatures({ dataDir: join(dir, 'data'), from: '2017-06-01', to: '2017-06-30', out, calendarFile: CALENDAR_FILE });
    expect(summary.symbols).toBe(2);
    expect(summary.featureColumns).toBe(FEATURE_COLUMNS_ALL.length);
    rows = parse(readFileSync(out, 'utf8')) as string[][];
  });

  it('writes the documented header: identity and bar columns, then every feature in docs order', () => {
    expect(rows[0]).toEqual([...EXPORT_LEADING_COLUMNS, ...FEATURE_COLUMNS_ALL.map((c) => c.name)]);
    expect(rows[0]).toContain('rsi_14');
    expect(rows[0]).toContain('bb_upper_20_2');
    expect(rows[0]).toContain('macd_12_26_9');
  });

  it('writes one row per (symbol, session) inside --from/--to, benchmark excluded', () => {
    const body = rows.slice(1);
    // June 2017 has 22 NYSE sessions.
    expect(body.filter((r) => r[0] === 'AAPL')).toHaveLength(22);
    expect(body.filter((r) => r[0] === 'MSFT')).toHaveLength(22);
    expect(body.some((r) => r[0] === 'SPY')).toBe(false);
    expect(body.every((r) => r[1]! >= '2017-06-01' && r[1]! <= '2017-06-30')).toBe(true);
  });

  it('writes exactly the engine values over the full history (warm-up before --from is kept)', async () => {
    const market = new CsvMarketData({ dataDir: DAILY });
    const bars = validateBarRows(await market.loadDailyRows('AAPL')).bars;
    const spy = new Map(validateBarRows(await market.loadDailyRows('SPY')).bars.map((b) => [b.date, b.close]));
    const col = (k: 'open' | 'high' | 'low' | 'close' | 'volume') => Float64Array.from(bars, (b) => b[k]);
    const engine = new FeatureEngine();
    const result = engine.compute(
      { open: col('open'), high: col('high'), low: col('low'), close: col('close'), volume: col('volume'), benchClose: Float64Array.from(bars, (b) => spy.get(b.date) ?? Number.NaN) },
      bars.length,
    );
    const i = bars.findIndex((b) => b.date === '2017-06-15');
    const row = rows.find((r) => r[0] === 'AAPL' && r[1] === '2017-06-15')!;
    const header = rows[0]!;
    for (const name of ['sma_200', 'ema_200', 'rsi_14', 'beta_63', 'vol_252', 'obv']) {
      const value = result.values[engine.names.indexOf(name)]![i]!;
      expect(Number.isFinite(value), name).toBe(true);
      // Shortest round-trip text: parsing it gives back the exact double.
      expect(Number(row[header.indexOf(name)]), name).toBe(value);
    }
  });

  it('refuses a bad range and an unknown symbol, naming them, without creating the file', async () => {
    const target = join(dir, 'bad.csv');
    await expect(exportFeatures({ dataDir: join(dir, 'data'), from: '2017-13-01', out: target, calendarFile: CALENDAR_FILE })).rejects.toThrow('--from must be a date YYYY-MM-DD, got "2017-13-01"');
    await expect(exportFeatures({ dataDir: join(dir, 'data'), from: '2017-06-02', to: '2017-06-01', out: target, calendarFile: CALENDAR_FILE })).rejects.toThrow('--from 2017-06-02 is after --to 2017-06-01');
    await expect(exportFeatures({ dataDir: join(dir, 'data'), symbols: ['ZZZZ'], out: target, calendarFile: CALENDAR_FILE })).rejects.toThrow('--symbols: no data file for ZZZZ');
    expect(existsSync(target)).toBe(false);
  });

  it('leaves a bad row out and reports it, and the rest of the symbol is exported', async () => {
    const data = join(dir, 'dirty');
    await mkdir(data);
    const lines = readFileSync(join(DAILY, 'AAPL_data.csv'), 'utf8').trim().split('\n');
    const bad = lines.findIndex((l) => l.startsWith('2017-06-15'));
    lines[bad] = '2017-06-15,,,,,,AAPL';
    writeFileSync(join(data, 'AAPL_data.csv'), `${lines.join('\n')}\n`);
    const target = join(dir, 'dirty.csv');
    const summary = await exportFeatures({ dataDir: data, from: '2017-06-01', to: '2017-06-30', out: target, benchmarkDir: DAILY, calendarFile: CALENDAR_FILE });
    expect(summary.defects).toEqual([{ symbol: 'AAPL', rows: 1, first: expect.stringContaining('open is missing') }]);
    expect(summary.benchmark).toContain(`SPY from ${DAILY}`);
    const body = (parse(readFileSync(target, 'utf8')) as string[][]).slice(1);
    expect(body).toHaveLength(21);
    expect(body.some((r) => r[1] === '2017-06-15')).toBe(false);
  });

  it('flags a series defect in the quality column and keeps the row', async () => {
    const data = join(dir, 'repeated');
    await mkdir(data);
    const lines = readFileSync(join(DAILY, 'MSFT_data.csv'), 'utf8').trim().split('\n');
    const i = lines.findIndex((l) => l.startsWith('2017-06-15'));
    // 2017-06-15 becomes a copy of 2017-06-14's bar (same prices and volume, its own date).
    lines[i] = `2017-06-15,${lines[i - 1]!.split(',').slice(1).join(',')}`;
    writeFileSync(join(data, 'MSFT_data.csv'), `${lines.join('\n')}\n`);
    const target = join(dir, 'repeated.csv');
    const summary = await exportFeatures({ dataDir: data, from: '2017-06-01', to: '2017-06-30', out: target, benchmarkDir: DAILY, calendarFile: CALENDAR_FILE });
    expect(summary.flaggedRows).toBe(2);
    const out = parse(readFileSync(target, 'utf8')) as string[][];
    const q = out[0]!.indexOf('quality');
    const flagged = out.slice(1).filter((r) => r[q] !== '').map((r) => [r[1], r[q]]);
    expect(flagged).toEqual([['2017-06-14', 'REPEATED_BAR'], ['2017-06-15', 'REPEATED_BAR']]);
  });
});
