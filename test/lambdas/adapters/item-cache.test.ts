/**
 * cacheItemReads (the local runner's single-writer item cache): every GetItem answers exactly what
 * the table holds at that moment (compared with a second, uncached client on the same dynalite),
 * whatever writes happened before; known keys are answered without a request; a failed write, an
 * update without ALL_NEW and a batch write make the next read go to the table; a read that
 * overlapped a write is not kept; hits are fresh objects.
 */
import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient, localTableNames } from '../../../lambdas/adapters/dynamodb/client';
import { cacheItemReads, type ItemCacheStats } from '../../../lambdas/adapters/dynamodb/item-cache';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalDynamo, type LocalDynamo } from '../../../local/dynalite';

const TABLE = localTableNames().tradingState;
let dynamo: LocalDynamo;
let cached: ReturnType<typeof createDocumentClient>;
let plain: ReturnType<typeof createDocumentClient>;
let stats: ItemCacheStats;
/** Requests the cached client actually sent to dynalite. */
let sent: string[];

beforeEach(async () => {
  dynamo = await startLocalDynamo(null);
  const options = { endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, requestHandler: dynamo.requestHandler };
  cached = createDocumentClient(options);
  plain = createDocumentClient(options);
  stats = cacheItemReads(cached);
  sent = [];
  cached.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(context.commandName as string);
      return next(args);
    },
    { step: 'build', name: 'countSent' },
  );
});
afterEach(async () => {
  cached.destroy();
  plain.destroy();
  await dynamo.stop();
});

const key = (sk: string) => ({ pk: 'STRATEGY#s1', sk });
const get = (client: typeof cached, sk: string) => client.send(new GetCommand({ TableName: TABLE, Key: key(sk), ConsistentRead: true })).then((o) => o.Item);

/** The cached client's answer equals the table's, and how many requests it took. */
async function same(sk: string): Promise<number> {
  const before = sent.length;
  const mine = await get(cached, sk);
  expect(mine).toEqual(await get(plain, sk));
  return sent.length - before;
}

describe('cacheItemReads', () => {
  it('answers a key it wrote or read from memory, exactly as the table would', async () => {
    expect(await same('A')).toBe(1); // absent: read once…
    expect(await same('A')).toBe(0); // …then known to be absent
    await cached.send(new PutCommand({ TableName: TABLE, Item: { ...key('A'), n: 1.5, big: 2 ** 52 + 1, small: 1e-7, s: 'x', list: [1, 'two', { three: 3 }], bytes: new Uint8Array([1, 2]), gone: undefined } }));
    expect(await same('A')).toBe(0);
    await cached.send(
      new UpdateCommand({ TableName: TABLE, Key: key('A'), UpdateExpression: 'SET n = n + :one', ExpressionAttributeValues: { ':one': 1 }, ReturnValues: 'ALL_NEW' }),
    );
    expect(await same('A')).toBe(0);
    expect((await get(cached, 'A'))!.n).toBe(2.5);
    await cached.send(new DeleteCommand({ TableName: TABLE, Key: key('A') }));
    expect(await same('A')).toBe(0);
    expect(await get(cached, 'A')).toBeUndefined();
    expect(stats.hits).toBeGreaterThanOrEqual(5);
  });

  it('goes back to the table after a failed write, an update without ALL_NEW, or a batch write', async () => {
    await cached.send(new PutCommand({ TableName: TABLE, Item: { ...key('B'), v: 1 } }));
    const refused = cached.send(new PutCommand({ TableName: TABLE, Item: { ...key('B'), v: 2 }, ConditionExpression: 'attribute_not_exists(sk)' }));
    await expect(refused).rejects.toThrow();
    expect(await same('B')).toBe(1);
    expect((await get(cached, 'B'))!.v).toBe(1);

    await cached.send(new UpdateCommand({ TableName: TABLE, Key: key('B'), UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': 3 } }));
    expect(await same('B')).toBe(1);
    expect(await same('B')).toBe(0);

    await cached.send(new BatchWriteCommand({ RequestItems: { [TABLE]: [{ PutRequest: { Item: { ...key('B'), v: 4 } } }, { DeleteRequest: { Key: key('C') } }] } }));
    expect(await same('B')).toBe(1);
    expect((await get(cached, 'B'))!.v).toBe(4);
    expect(await same('C')).toBe(1);
  });

  it('does not keep a read that overlapped a write to the same key', async () => {
    await cached.send(new PutCommand({ TableName: TABLE, Item: { ...key('D'), v: 1 } }));
    await cached.send(new DeleteCommand({ TableName: TABLE, Key: key('X') })); // unrelated key
    // Forget D (an update without ALL_NEW), then read it while writing it.
    await cached.send(new UpdateCommand({ TableName: TABLE, Key: key('D'), UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': 2 } }));
    await Promise.all([get(cached, 'D'), cached.send(new UpdateCommand({ TableName: TABLE, Key: key('D'), UpdateExpression: 'SET v = :v', ExpressionAttributeValues: { ':v': 5 } }))]);
    expect(await same('D')).toBe(1);
    expect((await get(cached, 'D'))!.v).toBe(5);
  });

  it('does not keep a read made while a write to the key is in flight', async () => {
    await cached.send(new PutCommand({ TableName: TABLE, Item: { ...key('F'), v: 1 } }));
    // Hold the write back until the read has come and gone.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    cached.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutItemCommand') await gate;
        return next(args);
      },
      { step: 'finalizeRequest', name: 'holdPut' },
    );
    const slowWrite = cached.send(new PutCommand({ TableName: TABLE, Item: { ...key('F'), v: 2 } }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await get(cached, 'F'))!.v).toBe(1); // the table still holds 1: the write is not sent
    release();
    await slowWrite;
    expect(await same('F')).toBe(0); // the write's own value, not the read's
    expect((await get(cached, 'F'))!.v).toBe(2);
  });

  it('hands out a new object on every hit', async () => {
    await cached.send(new PutCommand({ TableName: TABLE, Item: { ...key('E'), nested: { a: [1] } } }));
    const first = (await get(cached, 'E'))!;
    (first.nested as { a: number[] }).a.push(2);
    first.extra = true;
    expect(await get(cached, 'E')).toEqual({ ...key('E'), nested: { a: [1] } });
    expect(await same('E')).toBe(0);
  });
});
