/**
 * local/dynalite.ts: the in-process request handler (with the placeholder signer the runner gives its
 * client) answers exactly as dynalite over HTTP with SigV4 (the endpoint): the same items, pages,
 * conditional-check failures and errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchGetCommand, BatchWriteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../lambdas/adapters/dynamodb/client';
import { IN_PROCESS_SIGNER, LOCAL_CREDENTIALS, LOCAL_REGION, startLocalDynamo, type LocalDynamo } from '../../local/dynalite';

let dir: string;
let dynamo: LocalDynamo;
let http: DynamoDBDocumentClient;
let inProcess: DynamoDBDocumentClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tp-dynalite-'));
  dynamo = await startLocalDynamo(join(dir, 'dynamodb'));
  const options = { endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  http = createDocumentClient(options);
  // As the runner builds it: the in-process handler and its placeholder signer.
  inProcess = createDocumentClient({ ...options, requestHandler: dynamo.requestHandler, signer: IN_PROCESS_SIGNER });
}, 60_000);

afterAll(async () => {
  http?.destroy();
  inProcess?.destroy();
  await dynamo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The answer without the per-request metadata (request id, attempts, timing). */
async function answer(client: DynamoDBDocumentClient, command: object): Promise<unknown> {
  try {
    const { $metadata: _metadata, ...rest } = (await client.send(command as never)) as Record<string, unknown>;
    // BatchGetItem answers in no particular order (dynalite: as its reads complete): compare sorted.
    const responses = rest.Responses as Record<string, Array<{ sk: string }>> | undefined;
    for (const items of Object.values(responses ?? {})) items.sort((x, y) => (x.sk < y.sk ? -1 : x.sk > y.sk ? 1 : 0));
    return { ok: rest };
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { error: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
}

/** Sends `make(tag)` through both clients (HTTP first), each on its own keys, and returns both answers. */
async function both(make: (tag: string) => object): Promise<[unknown, unknown]> {
  const viaHttp = await answer(http, make('A'));
  const viaInProcess = await answer(inProcess, make('B'));
  return [JSON.parse(JSON.stringify(viaHttp).replaceAll('#A', '#X')), JSON.parse(JSON.stringify(viaInProcess).replaceAll('#B', '#X'))];
}

describe('startLocalDynamo: the in-process request handler', () => {
  it('answers writes, reads, pages, conditional failures and errors exactly as HTTP', async () => {
    const table = 'order-ledger';
    const pk = (tag: string) => `STRATEGY#${tag}`;
    // Items with every attribute type the adapters write.
    for (let i = 0; i < 30; i++) {
      const [a, b] = await both((tag) => new PutCommand({
        TableName: table,
        Item: { pk: pk(tag), sk: `ORDER#${String(i).padStart(3, '0')}`, n: i, s: `é ${'x'.repeat(i * 50)}`, nil: null, list: [1, 'two', { three: 3 }], flag: i % 2 === 0 },
        ConditionExpression: 'attribute_not_exists(sk)',
      }));
      expect(b).toEqual(a);
    }
    const checks: Array<(tag: string) => object> = [
      // A conditional put that fails.
      (tag) => new PutCommand({ TableName: table, Item: { pk: pk(tag), sk: 'ORDER#001' }, ConditionExpression: 'attribute_not_exists(sk)' }),
      (tag) => new GetCommand({ TableName: table, Key: { pk: pk(tag), sk: 'ORDER#007' }, ConsistentRead: true }),
      (tag) => new GetCommand({ TableName: table, Key: { pk: pk(tag), sk: 'ORDER#999' }, ConsistentRead: true }),
      (tag) => new UpdateCommand({
        TableName: table,
        Key: { pk: pk(tag), sk: 'ORDER#003' },
        UpdateExpression: 'SET #n = :next',
        ConditionExpression: '#n = :expected',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':expected': 3, ':next': 4 },
        ReturnValues: 'ALL_NEW',
      }),
      (tag) => new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)', ExpressionAttributeValues: { ':pk': pk(tag), ':p': 'ORDER#' }, ConsistentRead: true }),
      (tag) => new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk(tag) }, Limit: 7, ScanIndexForward: false }),
      (tag) => new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk(tag) }, Limit: 7, ExclusiveStartKey: { pk: pk(tag), sk: 'ORDER#010' } }),
      (tag) => new BatchWriteCommand({ RequestItems: { 'run-artifacts': Array.from({ length: 25 }, (_, k) => ({ PutRequest: { Item: { pk: `RUN#${tag}`, sk: `BARS#${k}`, data: JSON.stringify({ close: Array(300).fill(k + 0.25) }) } } })) } }),
      (tag) => new BatchGetCommand({ RequestItems: { 'run-artifacts': { Keys: [0, 5, 24, 99].map((k) => ({ pk: `RUN#${tag}`, sk: `BARS#${k}` })), ConsistentRead: true } } }),
      // A malformed request and a missing table.
      (tag) => new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk AND', ExpressionAttributeValues: { ':pk': pk(tag) } }),
      (tag) => new GetCommand({ TableName: `no-such-table`, Key: { pk: pk(tag), sk: 'x' } }),
    ];
    for (const make of checks) {
      const [a, b] = await both(make);
      expect(b).toEqual(a);
    }
    // Sanity: the answers carry what was asked for.
    const [page] = await both((tag) => new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk(tag) }, Limit: 7 }));
    expect((page as { ok: { Items: unknown[]; LastEvaluatedKey: unknown } }).ok.Items).toHaveLength(7);
    expect((page as { ok: { LastEvaluatedKey: unknown } }).ok.LastEvaluatedKey).toEqual({ pk: 'STRATEGY#X', sk: 'ORDER#006' });
  });
});
