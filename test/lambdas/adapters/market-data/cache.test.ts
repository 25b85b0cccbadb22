/**
 * The bar cache: the merge rule of incremental loads, the local JSON-file cache (atomic writes,
 * refusing corrupt files), the DynamoDB cache on dynalite (plain and gzip items), and how
 * loadThroughCache reacts to a cache it cannot read or write.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoBarCache, GZIP_ABOVE_BYTES } from '../../../../lambdas/adapters/dynamodb/market-data-cache';
import {
  FileBarCache,
  loadThroughCache,
  MemoryBarCache,
  mergeIncremental,
  type BarCache,
  type CachedBarRow,
  type CachedBars,
} from '../../../../lambdas/adapters/market-data/cache';
import type { MarketDataWarning } from '../../../../lambdas/adapters/market-data/http';
import { startTestDynamo, type TestDynamo } from '../../../support/dynamo';

const row = (date: string, close = '10', volume = '100'): CachedBarRow => ({ date, open: '9', high: '11', low: '8', close, volume });

function entry(rows: CachedBarRow[], extra: Partial<CachedBars> = {}): CachedBars {
  return {
    source: 'alphavantage',
    symbol: 'BRK.B',
    rows,
    fetchedAt: '2024-03-05T22:00:00.000Z',
    fullLoadAt: '2024-03-01T22:00:00.000Z',
    lastLoad: 'incremental',
    ...extra,
  };
}

/** Consecutive weekday-ish dates from 1990 on, enough for a long history. */
function history(n: number, field: (i: number) => string = (i) => (100 + i / 100).toFixed(4)): CachedBarRow[] {
  const start = Date.UTC(1990, 0, 1);
  return Array.from({ length: n }, (_, i) => ({
    date: new Date(start + i * 86_400_000).toISOString().slice(0, 10),
    open: field(i),
    high: field(i + 1),
    low: field(i + 2),
    close: field(i + 3),
    volume: String(1_000_000 + i),
  }));
}

describe('mergeIncremental', () => {
  const cached = [row('2024-03-01'), row('2024-03-04'), row('2024-03-05')];

  it('appends the fresh rows after the cached ones before the first fresh date', () => {
    expect(mergeIncremental(cached, [row('2024-03-04'), row('2024-03-05'), row('2024-03-06', '12')])).toEqual({
      kind: 'merged',
      rows: [row('2024-03-01'), row('2024-03-04'), row('2024-03-05'), row('2024-03-06', '12')],
    });
  });

  it('needs the fresh rows to reach back into the cache', () => {
    expect(mergeIncremental(cached, [row('2024-03-06')])).toEqual({ kind: 'no-overlap' });
    expect(mergeIncremental(cached, [])).toEqual({ kind: 'no-overlap' });
    expect(mergeIncremental([], [row('2024-03-06')])).toEqual({ kind: 'no-overlap' });
  });

  it('reports the first disagreement: a field, a date only one side has', () => {
    expect(mergeIncremental(cached, [row('2024-03-04', '10', '101'), row('2024-03-05')])).toEqual({
      kind: 'changed',
      date: '2024-03-04',
      field: 'volume',
      cached: '100',
      fresh: '101',
    });
    expect(mergeIncremental(cached, [row('2024-03-01'), row('2024-03-05')])).toEqual({
      kind: 'changed',
      date: '2024-03-04',
      field: 'date',
      cached: '2024-03-04',
      fresh: '2024-03-05',
    });
    expect(mergeIncremental(cached, [row('2024-03-04')])).toMatchObject({ kind: 'changed', date: '2024-03-05', cached: '2024-03-05', fresh: '' });
  });
});

describe('FileBarCache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-bar-cache-'));
  const cache = new FileBarCache({ dir });

  it('round-trips an entry through <dir>/<source>/<SYMBOL>.json and leaves no temp file', async () => {
    expect(await cache.get('alphavantage', 'BRK.B')).toBeUndefined();
    const stored = entry([row('2024-03-04'), row('2024-03-05', '10.5')]);
    await cache.put(stored);
    expect(await cache.get('alphavantage', 'BRK.B')).toEqual(stored);
    expect(readdirSync(join(dir, 'alphavantage'))).toEqual(['BRK.B.json']);
    const document = JSON.parse(readFileSync(join(dir, 'alphavantage', 'BRK.B.json'), 'utf8'));
    expect(document).toMatchObject({ format: 1, lastLoad: 'incremental', rows: [['2024-03-04', '9', '11', '8', '10', '100'], expect.any(Array)] });
    await cache.put({ ...stored, rows: [row('2024-03-06')], lastLoad: 'full' });
    expect((await cache.get('alphavantage', 'BRK.B'))!.rows).toEqual([row('2024-03-06')]);
    expect(readdirSync(join(dir, 'alphavantage'))).toEqual(['BRK.B.json']);
  });

  it('refuses a corrupt file or a document for another key, naming the file', async () => {
    await mkdir(join(dir, 'alpaca'), { recursive: true });
    writeFileSync(join(dir, 'alpaca', 'AAPL.json'), '{"format":1,"source":"alpaca"');
    await expect(cache.get('alpaca', 'AAPL')).rejects.toThrow(`market-data cache ${join(dir, 'alpaca', 'AAPL.json')} is not JSON`);
    writeFileSync(join(dir, 'alpaca', 'AAPL.json'), JSON.stringify({ format: 1, source: 'alpaca', symbol: 'AAPL', rows: [] }));
    await expect(cache.get('alpaca', 'AAPL')).rejects.toThrow('is not a format-1 document: fetchedAt');
    writeFileSync(join(dir, 'alpaca', 'AAPL.json'), readFileSync(join(dir, 'alphavantage', 'BRK.B.json')));
    await expect(cache.get('alpaca', 'AAPL')).rejects.toThrow('holds alphavantage/BRK.B, expected alpaca/AAPL');
  });

  it('refuses keys that could escape the folder', async () => {
    await expect(cache.get('../x', 'AAPL')).rejects.toThrow('cache source must be');
    await expect(cache.get('alpaca', '../AAPL')).rejects.toThrow('cache symbol must be a ticker');
  });
});

describe('DynamoBarCache (dynalite)', { timeout: 60_000 }, () => {
  let dynamo: TestDynamo;
  let cache: DynamoBarCache;
  beforeAll(async () => {
    dynamo = await startTestDynamo();
    cache = new DynamoBarCache(dynamo.db, dynamo.tables.marketDataCache);
  });
  afterAll(async () => {
    await dynamo.stop();
  });
  const rawItem = async (pk: string) =>
    (await dynamo.db.send(new GetCommand({ TableName: dynamo.tables.marketDataCache, Key: { pk, sk: 'BARS' } }))).Item!;

  it('round-trips a small entry as JSON text, with fetchedAt and lastLoad as attributes', async () => {
    expect(await cache.get('alpaca', 'AAPL')).toBeUndefined();
    const stored = entry([row('2024-03-04'), row('2024-03-05')], { source: 'alpaca', symbol: 'AAPL', lastLoad: 'full' });
    await cache.put(stored);
    expect(await cache.get('alpaca', 'AAPL')).toEqual(stored);
    expect(await rawItem('alpaca#AAPL')).toMatchObject({ encoding: 'json', lastLoad: 'full', fetchedAt: stored.fetchedAt, rowCount: 2 });
  });

  it('gzips a long history (35 years of rows, far over 400 KB as JSON) and reads it back', async () => {
    const rows = history(9_000);
    expect(Buffer.byteLength(JSON.stringify(rows))).toBeGreaterThan(400_000);
    const stored = entry(rows, { symbol: 'SPY', lastLoad: 'full' });
    await cache.put(stored);
    const item = await rawItem('alphavantage#SPY');
    expect(item.encoding).toBe('gzip');
    expect(item.data).toBeUndefined();
    expect(item.gz).toBeInstanceOf(Uint8Array);
    expect((item.gz as Uint8Array).byteLength).toBeGreaterThan(GZIP_ABOVE_BYTES / 10);
    expect((item.gz as Uint8Array).byteLength).toBeLessThan(390_000);
    expect(await cache.get('alphavantage', 'SPY')).toEqual(stored);
  });

  it('refuses an entry that would not fit in an item even compressed, naming it and its size', async () => {
    const noise = history(8_000, () => randomBytes(16).toString('hex'));
    await expect(cache.put(entry(noise, { symbol: 'NOISE' }))).rejects.toThrow(/^market-data cache alphavantage#NOISE: 8000 rows are \d+ bytes \(\d+ stored\), over the 390000-byte limit/);
    expect(await cache.get('alphavantage', 'NOISE')).toBeUndefined();
  });
});

describe('loadThroughCache', () => {
  const base = (cache: BarCache | undefined, warnings: MarketDataWarning[], calls: string[]) => ({
    source: 'alpaca',
    symbol: 'AAPL',
    cache,
    now: new Date('2024-03-06T15:00:00Z'),
    full: async () => (calls.push('full'), [row('2024-03-06'), row('2024-03-04'), row('2024-03-05')]),
    recent: async () => (calls.push('recent'), [row('2024-03-05'), row('2024-03-06')]),
    warn: (w: MarketDataWarning) => warnings.push(w),
  });

  it('a cache it cannot read: warning, full load, and the entry is rewritten', async () => {
    const cache = new MemoryBarCache();
    cache.documents.set('alpaca#AAPL', 'not json');
    const warnings: MarketDataWarning[] = [];
    const calls: string[] = [];
    const rows = await loadThroughCache(base(cache, warnings, calls));
    expect(rows.map((r) => r.date)).toEqual(['2024-03-04', '2024-03-05', '2024-03-06']);
    expect(calls).toEqual(['full']);
    expect(warnings.map((w) => w.code)).toEqual(['CACHE_READ_FAILED']);
    // 2024-03-06 is the session in progress (10:00 New York): not cached.
    expect((await cache.get('alpaca', 'AAPL'))!.rows.map((r) => r.date)).toEqual(['2024-03-04', '2024-03-05']);
  });

  it('a cache it cannot write: warning, the rows all the same', async () => {
    const failing: BarCache = { get: async () => undefined, put: async () => Promise.reject(new Error('disk full')) };
    const warnings: MarketDataWarning[] = [];
    const rows = await loadThroughCache(base(failing, warnings, []));
    expect(rows).toHaveLength(3);
    expect(warnings).toEqual([expect.objectContaining({ code: 'CACHE_WRITE_FAILED', message: 'disk full' })]);
  });

  it('without a cache every load is a full load', async () => {
    const calls: string[] = [];
    await loadThroughCache(base(undefined, [], calls));
    await loadThroughCache(base(undefined, [], calls));
    expect(calls).toEqual(['full', 'full']);
  });

  it('recent rows that do not reach back into the cache force a full load', async () => {
    const cache = new MemoryBarCache();
    await cache.put(entry([row('2024-02-01')], { source: 'alpaca', symbol: 'AAPL' }));
    const warnings: MarketDataWarning[] = [];
    const calls: string[] = [];
    await loadThroughCache(base(cache, warnings, calls));
    expect(calls).toEqual(['recent', 'full']);
    expect(warnings[0]!.message).toContain('do not reach back to the last cached date 2024-02-01');
  });
});
