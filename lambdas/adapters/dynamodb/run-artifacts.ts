/**
 * Per-run intermediate data in DynamoDB (table RunArtifacts), so Step Functions payloads carry
 * only a runId. Items expire through DynamoDB TTL.
 *
 *   pk = RUN#<runId>, sk = <artifact name> (e.g. UNIVERSE, BARS#AAPL, FEATURES, SCORES, DECISIONS)
 *   data = JSON text, or bin = bytes for an artifact written as a Uint8Array (e.g. the binary
 *   BARS#<symbol> columns); an item must stay under DynamoDB's 400 KB limit
 */
import { BatchGetCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchWriteAll, queryAllItems } from './client';

/** Artifacts live this long after they are written (DynamoDB TTL), in days. */
export const ARTIFACT_TTL_DAYS = 30;
const MAX_ITEM_BYTES = 390_000;

/** Options of a DynamoRunArtifacts. */
export interface RunArtifactsOptions {
  /**
   * Keep the JSON text of the artifacts this instance wrote for its latest runs
   * (OWN_WRITES_CACHED_RUNS) and answer reads of them from it, parsed afresh on every read: the same
   * text the table holds, so the same values. Only correct when this instance is the ONLY writer of
   * those runs' artifacts: the local runner, whose steps run in one process with one deps (fetch
   * writes ~1 MB of bars per session that features reads straight back). Reads of other runs, and of
   * names not written here, go to the table. Off by default (Lambda: each step is another function).
   */
  cacheOwnWrites?: boolean;
  /**
   * Artifacts (by name) that are never written to the table: kept only in this instance's own-writes
   * memory (needs `cacheOwnWrites`), so they can be read while their run is one of the last
   * OWN_WRITES_CACHED_RUNS runs written here, and are gone after. For artifacts that only the
   * execution which wrote them reads, in a process that runs the whole execution: the local runner's
   * BARS#<symbol> windows (about 1 MB a session, read by the same execution's features step), which
   * a long replay used to write to disk by the gigabyte and then delete again. Everything else is
   * stored, where a later process can read it (e.g. the report of a duplicate run reads the owning
   * run's decisions).
   */
  transient?: { isTransient: (name: string) => boolean };
}

/** Runs whose own writes are kept with `cacheOwnWrites` (a run and the one before it). */
export const OWN_WRITES_CACHED_RUNS = 2;

export class DynamoRunArtifacts {
  /** runId → artifact name → JSON text or bytes written (cacheOwnWrites), most recent run last. */
  private readonly written = new Map<string, Map<string, string | Uint8Array>>();

  /**
   * @throws Error when `transient` is given without `cacheOwnWrites` (its artifacts would be lost).
   */
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly options: RunArtifactsOptions = {},
  ) {
    if (options.transient && !options.cacheOwnWrites) throw new Error('RunArtifacts: transient artifacts need cacheOwnWrites (they live only in its memory)');
  }

  /**
   * Stores one artifact (overwriting: a retried step rewrites the same content).
   * @param data JSON-serializable data, or a Uint8Array stored as bytes (read back as a Uint8Array).
   * @param now the write time; TTL is now + ARTIFACT_TTL_DAYS.
   * @throws Error naming the artifact when its JSON (or bytes) exceed the item size limit.
   */
  async put(runId: string, name: string, data: unknown, now: Date): Promise<void> {
    const item = this.item(runId, name, data, now);
    this.forget(runId, [name]);
    if (!this.isTransient(name)) await this.db.send(new PutCommand({ TableName: this.tableName, Item: item }));
    this.remember(runId, [item]);
  }

  /** Stores many artifacts with BatchWriteItem (25 per request), retrying unprocessed items. */
  async putMany(runId: string, entries: ReadonlyArray<{ name: string; data: unknown }>, now: Date): Promise<void> {
    for (let i = 0; i < entries.length; i += 25) {
      const items = entries.slice(i, i + 25).map((e) => this.item(runId, e.name, e.data, now));
      this.forget(runId, items.map((item) => item.sk as string));
      const stored = items.filter((item) => !this.isTransient(item.sk as string));
      await batchWriteAll(this.db, this.tableName, stored.map((item) => ({ PutRequest: { Item: item } })), 'RunArtifacts');
      this.remember(runId, items);
    }
  }

  /**
   * Reads one artifact.
   * @throws Error naming the run and artifact when it is missing (a step ran out of order, or a
   *   transient artifact of a run no longer kept).
   */
  async get<T>(runId: string, name: string): Promise<T> {
    const own = this.written.get(runId)?.get(name);
    if (own !== undefined) return fromStored(own) as T;
    if (this.isTransient(name)) throw new Error(`artifact ${name} of run ${runId} not found (transient: kept only for the latest runs)`);
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `RUN#${runId}`, sk: name }, ConsistentRead: true }),
    );
    if (!out.Item) throw new Error(`artifact ${name} of run ${runId} not found`);
    return fromItem(out.Item) as T;
  }

  /** Reads many artifacts (100 per BatchGetItem). Missing names (and transient ones no longer kept) are absent from the map. */
  async getMany<T>(runId: string, names: readonly string[]): Promise<Map<string, T>> {
    const result = new Map<string, T>();
    const own = this.written.get(runId);
    if (own !== undefined) {
      for (const name of names) {
        const stored = own.get(name);
        if (stored !== undefined) result.set(name, fromStored(stored) as T);
      }
      names = names.filter((name) => !result.has(name));
    }
    names = names.filter((name) => !this.isTransient(name));
    for (let i = 0; i < names.length; i += 100) {
      let keys = names.slice(i, i + 100).map((name) => ({ pk: `RUN#${runId}`, sk: name }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`RunArtifacts: ${keys.length} keys still unprocessed after retries`);
        const out = await this.db.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }));
        for (const item of out.Responses?.[this.tableName] ?? []) result.set(item.sk as string, fromItem(item) as T);
        keys = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as typeof keys;
        if (keys.length) await sleep(50 * 2 ** attempt);
      }
    }
    return result;
  }

  /**
   * Deletes the artifacts of `runId` whose TTL (`expiresAt`, epoch seconds) has passed at `now`, as
   * DynamoDB's TTL would: for a store without TTL (the local runner's dynalite).
   * @returns how many were deleted, and how many of the run's artifacts remain (not expired yet).
   */
  async deleteExpired(runId: string, now: Date): Promise<{ deleted: number; remaining: number }> {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const items = await queryAllItems(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `RUN#${runId}` },
      ProjectionExpression: 'sk, expiresAt',
      ConsistentRead: true,
    });
    const expired = items.filter((item) => typeof item.expiresAt === 'number' && item.expiresAt <= nowSeconds).map((item) => item.sk as string);
    this.forget(runId, expired);
    await batchWriteAll(this.db, this.tableName, expired.map((sk) => ({ DeleteRequest: { Key: { pk: `RUN#${runId}`, sk } } })), 'RunArtifacts');
    return { deleted: expired.length, remaining: items.length - expired.length };
  }

  /** Whether artifact `name` is transient (see RunArtifactsOptions.transient). */
  private isTransient(name: string): boolean {
    return this.options.transient?.isTransient(name) ?? false;
  }

  /** Drops what this instance remembers of `names` of `runId` (before a write whose outcome is not known yet). */
  private forget(runId: string, names: readonly string[]): void {
    const own = this.written.get(runId);
    if (own !== undefined) for (const name of names) own.delete(name);
  }

  /** Remembers artifacts of `runId` now stored (cacheOwnWrites), forgetting runs older than the last OWN_WRITES_CACHED_RUNS. */
  private remember(runId: string, items: ReadonlyArray<Record<string, unknown>>): void {
    if (!this.options.cacheOwnWrites) return;
    let own = this.written.get(runId);
    if (own === undefined) {
      own = new Map();
      this.written.set(runId, own);
      while (this.written.size > OWN_WRITES_CACHED_RUNS) this.written.delete(this.written.keys().next().value as string);
    }
    for (const item of items) own.set(item.sk as string, item.bin instanceof Uint8Array ? item.bin.slice() : (item.data as string));
  }

  private item(runId: string, name: string, data: unknown, now: Date): Record<string, unknown> {
    const expiresAt = Math.floor(now.getTime() / 1000) + ARTIFACT_TTL_DAYS * 86_400;
    if (data instanceof Uint8Array) {
      if (data.byteLength > MAX_ITEM_BYTES) throw new Error(`artifact ${name} of run ${runId} is ${data.byteLength} bytes, over the ${MAX_ITEM_BYTES}-byte item limit`);
      return { pk: `RUN#${runId}`, sk: name, bin: data.slice(), expiresAt };
    }
    const json = JSON.stringify(data);
    // DynamoDB sizes strings in UTF-8 bytes; json.length counts UTF-16 units and undercounts non-ASCII text.
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > MAX_ITEM_BYTES) throw new Error(`artifact ${name} of run ${runId} is ${bytes} bytes, over the ${MAX_ITEM_BYTES}-byte item limit`);
    return { pk: `RUN#${runId}`, sk: name, data: json, expiresAt };
  }
}

/** An artifact as this instance wrote it: JSON text parsed afresh, or a copy of the bytes. */
function fromStored(stored: string | Uint8Array): unknown {
  return typeof stored === 'string' ? JSON.parse(stored) : stored.slice();
}

/** An artifact from its item: the bytes of `bin`, else the JSON of `data`. */
function fromItem(item: Record<string, unknown>): unknown {
  if (item.bin instanceof Uint8Array) return item.bin;
  return JSON.parse(item.data as string);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
