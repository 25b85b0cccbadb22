/**
 * The market-data bar cache in DynamoDB (table MarketDataCache), for the fetch Lambda.
 *
 *   pk = <source>#<SYMBOL> (e.g. `alphavantage#AAPL`), sk = `BARS`
 *   source, symbol, fetchedAt, fullLoadAt (ISO-8601 UTC), lastLoad (`full` | `incremental`), rowCount
 *   encoding = `json`  → data: the format-1 cache document as a string (cache.ts), or
 *   encoding = `gzip`  → gz: that document gzip-compressed (node:zlib), binary.
 *
 * Why gzip: a DynamoDB item is at most 400 KB, and 25 years of daily rows are ~6,300 rows of
 * ~45 bytes of JSON, about 300 KB. A document above GZIP_ABOVE_BYTES (64 KB) is stored compressed
 * (daily bars compress about 4–6×); one that is still above MAX_STORED_BYTES compressed is refused
 * with an error naming the entry and its size (the adapter logs it and carries on uncached).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { assertCacheKey, decodeCacheDocument, encodeCacheDocument, type BarCache, type CachedBars } from '../market-data/cache';

/** Sort key of the one item per (source, symbol). */
export const CACHE_SORT_KEY = 'BARS';
/** Documents larger than this (UTF-8 bytes) are stored gzip-compressed. */
export const GZIP_ABOVE_BYTES = 64 * 1024;
/** Largest stored payload (bytes), leaving room for the other attributes under the 400 KB item limit. */
export const MAX_STORED_BYTES = 390_000;

/** BarCache over a DynamoDB table with the pk/sk layout of the module doc. */
export class DynamoBarCache implements BarCache {
  /**
   * @param db document client (dynalite locally, DynamoDB in Lambda).
   * @param tableName physical name of the MarketDataCache table (MARKET_DATA_CACHE_TABLE).
   */
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * The entry, or undefined when there is none.
   * @throws Error naming the item when it has an unknown encoding, cannot be decompressed or does
   *   not hold a format-1 document for this key; DynamoDB errors as they come.
   */
  async get(source: string, symbol: string): Promise<CachedBars | undefined> {
    assertCacheKey(source, symbol);
    const pk = `${source}#${symbol}`;
    const where = `item ${pk} of table ${this.tableName}`;
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk, sk: CACHE_SORT_KEY }, ConsistentRead: true }));
    const item = out.Item;
    if (!item) return undefined;
    let text: string;
    if (item.encoding === 'json' && typeof item.data === 'string') {
      text = item.data;
    } else if (item.encoding === 'gzip' && item.gz instanceof Uint8Array) {
      try {
        text = gunzipSync(item.gz).toString('utf8');
      } catch (error) {
        throw new Error(`market-data cache ${where}: gz is not gzip data: ${(error as Error).message}`);
      }
    } else {
      throw new Error(`market-data cache ${where}: unknown encoding ${JSON.stringify(item.encoding)} (expected json with data, or gzip with gz)`);
    }
    return decodeCacheDocument(text, where, { source, symbol });
  }

  /**
   * Replaces the entry (an unconditional put: the newest load wins).
   * @throws Error naming the entry and its size when even compressed it exceeds MAX_STORED_BYTES.
   */
  async put(entry: CachedBars): Promise<void> {
    const text = encodeCacheDocument(entry);
    const pk = `${entry.source}#${entry.symbol}`;
    const bytes = Buffer.byteLength(text, 'utf8');
    const payload: Record<string, unknown> = bytes > GZIP_ABOVE_BYTES ? { encoding: 'gzip', gz: gzipSync(text) } : { encoding: 'json', data: text };
    const stored = payload.encoding === 'gzip' ? (payload.gz as Buffer).byteLength : bytes;
    if (stored > MAX_STORED_BYTES) {
      throw new Error(
        `market-data cache ${pk}: ${entry.rows.length} rows are ${bytes} bytes (${stored} stored), over the ${MAX_STORED_BYTES}-byte limit of a DynamoDB item`,
      );
    }
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk,
          sk: CACHE_SORT_KEY,
          source: entry.source,
          symbol: entry.symbol,
          fetchedAt: entry.fetchedAt,
          fullLoadAt: entry.fullLoadAt,
          lastLoad: entry.lastLoad,
          rowCount: entry.rows.length,
          ...payload,
        },
      }),
    );
  }
}
