/**
 * DynamoDB document client factory and table-name resolution. The same repository classes run
 * in Lambda (real DynamoDB) and locally (dynalite on loopback): only the endpoint differs.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { TABLES, type TableKey } from './tables';

/** Physical table name per logical table. */
export type TableNames = Record<TableKey, string>;

export interface DynamoClientOptions {
  /** e.g. http://127.0.0.1:PORT for dynalite; omit in Lambda. */
  endpoint?: string;
  region?: string;
  /** Static credentials (dynalite accepts any); omit in Lambda to use the execution role. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * The SDK's HTTP handler; omit for the default (HTTP). Local runs pass dynalite's in-process
   * handler (local/dynalite.ts), which serves the same requests without a socket.
   */
  requestHandler?: DynamoDBClientConfig['requestHandler'];
  /** Replaces the SigV4 signer (the local runner's in-process dynalite checks no signature). Default: SigV4. */
  signer?: DynamoDBClientConfig['signer'];
}

/** A document client that drops undefined attributes and keeps numbers as JS numbers. */
export function createDocumentClient(options: DynamoClientOptions = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.requestHandler ? { requestHandler: options.requestHandler } : {}),
    ...(options.signer ? { signer: options.signer } : {}),
    maxAttempts: 5,
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * Table names from the Lambda environment (variables named in TABLES[*].envVar).
 * Only the tables in `needed` are required.
 * @throws Error naming the missing variable.
 */
export function tableNamesFromEnv(env: NodeJS.ProcessEnv, needed: readonly TableKey[]): Partial<TableNames> {
  const names: Partial<TableNames> = {};
  for (const key of needed) {
    const value = env[TABLES[key].envVar];
    if (!value) throw new Error(`environment variable ${TABLES[key].envVar} (table ${TABLES[key].id}) is not set`);
    names[key] = value;
  }
  return names;
}

/** Table names used in dynalite. */
export function localTableNames(): TableNames {
  return Object.fromEntries(Object.entries(TABLES).map(([k, spec]) => [k, spec.localName])) as TableNames;
}

/** True for DynamoDB's conditional-check failure, whichever client layer raised it. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
}

/**
 * Every item a Query returns, following LastEvaluatedKey through all its pages (a page stops at
 * 1 MB), in key order.
 * @param input the Query's parameters (without ExclusiveStartKey).
 */
export async function queryAllItems(db: DynamoDBDocumentClient, input: Omit<QueryCommandInput, 'ExclusiveStartKey'>): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(new QueryCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) }));
    for (const item of out.Items ?? []) items.push(item as Record<string, unknown>);
    start = out.LastEvaluatedKey as Record<string, unknown> | undefined;
  } while (start);
  return items;
}

/** One put or delete of a BatchWriteItem. */
export type WriteRequest = { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } };

/**
 * Sends `requests` to `tableName` with BatchWriteItem, 25 per call (DynamoDB's limit), resending
 * unprocessed ones with exponential backoff (50 ms × 2^attempt).
 * @param what names the writer in the error (e.g. `RunArtifacts`).
 * @throws Error naming `what` when requests are still unprocessed after 9 attempts; any SDK error.
 */
export async function batchWriteAll(db: DynamoDBDocumentClient, tableName: string, requests: readonly WriteRequest[], what: string): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending = requests.slice(i, i + 25);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`${what}: ${pending.length} items still unprocessed after retries`);
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as WriteRequest[] } }));
      pending = (out.UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
      if (pending.length) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}
