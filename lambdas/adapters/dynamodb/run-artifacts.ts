/**
 * Per-run intermediate data in DynamoDB (table RunArtifacts), so Step Functions payloads carry
 * only a runId. Items expire through DynamoDB TTL.
 *
 *   pk = RUN#<runId>, sk = <artifact name> (e.g. UNIVERSE, BARS#AAPL, FEATURES, SCORES, DECISIONS)
 *   data = JSON text (an item must stay under DynamoDB's 400 KB limit)
 */
import { BatchGetCommand, BatchWriteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Artifacts live this long after they are written (DynamoDB TTL), in days. */
export const ARTIFACT_TTL_DAYS = 30;
const MAX_ITEM_BYTES = 390_000;

export class DynamoRunArtifacts {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Stores one artifact (overwriting: a retried step rewrites the same content).
   * @param now the write time; TTL is now + ARTIFACT_TTL_DAYS.
   * @throws Error naming the artifact when its JSON exceeds the item size limit.
   */
  async put(runId: string, name: string, data: unknown, now: Date): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: this.item(runId, name, data, now) }));
  }

  /** Stores many artifacts with BatchWriteItem (25 per request), retrying unprocessed items. */
  async putMany(runId: string, entries: ReadonlyArray<{ name: string; data: unknown }>, now: Date): Promise<void> {
    for (let i = 0; i < entries.length; i += 25) {
      let requests = entries.slice(i, i + 25).map((e) => ({ PutRequest: { Item: this.item(runId, e.name, e.data, now) } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`RunArtifacts: ${requests.length} items still unprocessed after retries`);
        const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
        requests = (out.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
        if (requests.length) await sleep(50 * 2 ** attempt);
      }
    }
  }

  /**
   * Reads one artifact.
   * @throws Error naming the run and artifact when it is missing (a step ran out of order).
   */
  async get<T>(runId: string, name: string): Promise<T> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `RUN#${runId}`, sk: name }, ConsistentRead: true }),
    );
    if (!out.Item) throw new Error(`artifact ${name} of run ${runId} not found`);
    return JSON.parse(out.Item.data as string) as T;
  }

  /** Reads many artifacts (100 per BatchGetItem). Missing names are absent from the map. */
  async getMany<T>(runId: string, names: readonly string[]): Promise<Map<string, T>> {
    const result = new Map<string, T>();
    for (let i = 0; i < names.length; i += 100) {
      let keys = names.slice(i, i + 100).map((name) => ({ pk: `RUN#${runId}`, sk: name }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`RunArtifacts: ${keys.length} keys still unprocessed after retries`);
        const out = await this.db.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) result.set(item.sk as string, JSON.parse(item.data as string) as T);
        keys = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as typeof keys;
        if (keys.length) await sleep(50 * 2 ** attempt);
      }
    }
    return result;
  }

  private item(runId: string, name: string, data: unknown, now: Date): Record<string, unknown> {
    const json = JSON.stringify(data);
    // DynamoDB sizes strings in UTF-8 bytes; json.length counts UTF-16 units and undercounts non-ASCII text.
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > MAX_ITEM_BYTES) throw new Error(`artifact ${name} of run ${runId} is ${bytes} bytes, over the ${MAX_ITEM_BYTES}-byte item limit`);
    return { pk: `RUN#${runId}`, sk: name, data: json, expiresAt: Math.floor(now.getTime() / 1000) + ARTIFACT_TTL_DAYS * 86_400 };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
