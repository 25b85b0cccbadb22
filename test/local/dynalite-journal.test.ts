/**
 * The state directory's DynamoDB data (local/dynalite-journal.ts): in memory, durable through a
 * write-ahead journal. What was answered survives a restart; a journal line cut short by a crash is
 * dropped; unreadable data is refused with the file and line; compaction and a crash in the middle
 * of it lose nothing; one process at a time; an older LevelDB directory is read in and kept aside.
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterEach, describe, expect, it } from 'vitest';
import { createDocumentClient, localTableNames } from '../../lambdas/adapters/dynamodb/client';
import { attachJournal, JOURNAL_FILE, LEGACY_LEVELDB_DIR, openJournal, SNAPSHOT_FILE, type DynaliteDb } from '../../local/dynalite-journal';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalDynamo, type LocalDynamo } from '../../local/dynalite';

const TABLE = localTableNames().tradingState;
const dirs: string[] = [];
const open: Array<{ dynamo: LocalDynamo; db: DynamoDBDocumentClient }> = [];

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tp-journal-'));
  dirs.push(dir);
  return join(dir, 'dynamodb');
}

async function start(path: string): Promise<DynamoDBDocumentClient> {
  const dynamo = await startLocalDynamo(path);
  const db = createDocumentClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, requestHandler: dynamo.requestHandler });
  open.push({ dynamo, db });
  return db;
}

async function stopAll(): Promise<void> {
  for (const { dynamo, db } of open.splice(0)) {
    db.destroy();
    await dynamo.stop();
  }
}

afterEach(async () => {
  await stopAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const get = async (db: DynamoDBDocumentClient, sk: string) => (await db.send(new GetCommand({ TableName: TABLE, Key: { pk: 'P', sk } }))).Item;
const all = async (db: DynamoDBDocumentClient) =>
  (await db.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'P' } }))).Items;

/** Puts, an update, a delete and a batch: the answered writes the next process must see. */
async function writeSome(db: DynamoDBDocumentClient): Promise<void> {
  await db.send(new PutCommand({ TableName: TABLE, Item: { pk: 'P', sk: 'a', n: 1 } }));
  await db.send(new PutCommand({ TableName: TABLE, Item: { pk: 'P', sk: 'b', n: 2 } }));
  await db.send(new UpdateCommand({ TableName: TABLE, Key: { pk: 'P', sk: 'a' }, UpdateExpression: 'SET n = n + :one', ExpressionAttributeValues: { ':one': 10 } }));
  await db.send(new DeleteCommand({ TableName: TABLE, Key: { pk: 'P', sk: 'b' } }));
  await db.send(
    new BatchWriteCommand({ RequestItems: { [TABLE]: [{ PutRequest: { Item: { pk: 'P', sk: 'c', s: 'x' } } }, { PutRequest: { Item: { pk: 'P', sk: 'd', s: 'y' } } }] } }),
  );
}
const EXPECTED = [
  { pk: 'P', sk: 'a', n: 11 },
  { pk: 'P', sk: 'c', s: 'x' },
  { pk: 'P', sk: 'd', s: 'y' },
];

describe('startLocalDynamo over a directory', { timeout: 60_000 }, () => {
  it('keeps every answered write across a restart (and writes nothing else there)', async () => {
    const path = freshDir();
    await writeSome(await start(path));
    await stopAll();
    expect(readdirSync(path).sort()).toEqual([JOURNAL_FILE, 'lock']);
    const db = await start(path);
    expect(await all(db)).toEqual(EXPECTED);
    // A conditional write refused after the restart: the condition sees the journaled item.
    await expect(db.send(new PutCommand({ TableName: TABLE, Item: { pk: 'P', sk: 'a' }, ConditionExpression: 'attribute_not_exists(pk)' }))).rejects.toThrow(
      /conditional request failed/,
    );
  });

  it('refuses a second process while the first holds the directory, and opens once it stopped', async () => {
    const path = freshDir();
    await writeSome(await start(path));
    await expect(startLocalDynamo(path)).rejects.toThrow(`cannot open the local DynamoDB store in ${path}: ${path} is in use by another process (is another run using this --state-dir?)`);
    await stopAll();
    expect(await all(await start(path))).toEqual(EXPECTED);
  });

  it('drops a last journal line cut short by a crash, and goes on appending after the last whole line', async () => {
    const path = freshDir();
    await writeSome(await start(path));
    await stopAll();
    const whole = statSync(join(path, JOURNAL_FILE)).size;
    appendFileSync(join(path, JOURNAL_FILE), '[["p","item-');
    const db = await start(path);
    expect(await all(db)).toEqual(EXPECTED);
    expect(statSync(join(path, JOURNAL_FILE)).size).toBe(whole);
    await db.send(new PutCommand({ TableName: TABLE, Item: { pk: 'P', sk: 'e' } }));
    await stopAll();
    expect((await all(await start(path)))!.map((i) => i.sk)).toEqual(['a', 'c', 'd', 'e']);
  });

  it('refuses unreadable data, naming the file and the line, and changes nothing', async () => {
    const path = freshDir();
    await writeSome(await start(path));
    await stopAll();
    const file = join(path, JOURNAL_FILE);
    const lines = readFileSync(file, 'utf8').split('\n');
    const broken = [lines[0], '{not json', ...lines.slice(1)].join('\n');
    writeFileSync(file, broken);
    await expect(startLocalDynamo(path)).rejects.toThrow(`${file} line 2: not JSON`);
    writeFileSync(file, [lines[0], '[["x","k"]]', ...lines.slice(1)].join('\n'));
    await expect(startLocalDynamo(path)).rejects.toThrow(`${file} line 2: not a write: ["x","k"]`);
    expect(readFileSync(file, 'utf8')).toBe([lines[0], '[["x","k"]]', ...lines.slice(1)].join('\n'));
  });
});

describe('openJournal: compaction', () => {
  it('writes the state as a snapshot and starts an empty journal; a crash before the journal was replaced loses nothing', async () => {
    const path = freshDir();
    const first = await openJournal(path);
    first.append([['p', 'k1', { v: 1 }]]);
    first.append([['p', 'k2', { v: 2 }], ['d', 'k1']]);
    first.append([['p', 'k3', 'three']]);
    await first.close();
    const journal = readFileSync(join(path, JOURNAL_FILE));

    const compacted = await openJournal(path, { compactJournalBytes: 0 });
    expect([...compacted.state]).toEqual([
      ['k2', { v: 2 }],
      ['k3', 'three'],
    ]);
    await compacted.close();
    expect(statSync(join(path, JOURNAL_FILE)).size).toBe(0);
    expect(readFileSync(join(path, SNAPSHOT_FILE), 'utf8')).toBe('"dynalite-snapshot-v1"\n["p","k2",{"v":2}]\n["p","k3","three"]\n');

    // The process died after the snapshot's rename, before the journal's: both are read, in order.
    writeFileSync(join(path, JOURNAL_FILE), journal);
    const again = await openJournal(path);
    expect([...again.state].sort()).toEqual([
      ['k2', { v: 2 }],
      ['k3', 'three'],
    ]);
    await again.close();
  });

  it('refuses a snapshot without its header or cut short', async () => {
    const path = freshDir();
    await (await openJournal(path)).close();
    writeFileSync(join(path, SNAPSHOT_FILE), '["p","k",1]\n');
    await expect(openJournal(path)).rejects.toThrow(`${join(path, SNAPSHOT_FILE)} line 1: expected the header "dynalite-snapshot-v1"`);
    writeFileSync(join(path, SNAPSHOT_FILE), '"dynalite-snapshot-v1"\n["p","k",1]');
    await expect(openJournal(path)).rejects.toThrow(`${join(path, SNAPSHOT_FILE)} line 2: cut short`);
  });
});

describe('attachJournal: write-ahead', () => {
  it('applies nothing and answers the error when the journal cannot take a write', async () => {
    const applied: string[] = [];
    const db: DynaliteDb = {
      put: (key, _value, cb) => (applied.push(`put ${key}`), cb(null)),
      del: (key, cb) => (applied.push(`del ${key}`), cb(null)),
      batch: (ops, cb) => (applied.push(`batch ${ops.length}`), cb(null)),
    };
    const full = new Error('ENOSPC: no space left on device');
    await attachJournal(db, { state: new Map(), append: () => { throw full; }, close: async () => undefined });
    const answer = (write: (cb: (error?: Error | null) => void) => void) => new Promise((resolve) => write((error) => resolve(error)));
    expect(await answer((cb) => db.put('k', 1, cb))).toBe(full);
    expect(await answer((cb) => db.del('k', cb))).toBe(full);
    expect(await answer((cb) => db.batch([{ type: 'put', key: 'k', value: 1 }], cb))).toBe(full);
    expect(applied).toEqual([]);
  });
});

describe('a directory of an older version (dynalite on LevelDB)', { timeout: 60_000 }, () => {
  it('is read in once, and its LevelDB files are kept aside unchanged', async () => {
    const path = freshDir();
    // dynalite's own LevelDB store, as the state directory held it before the journal.
    const legacy = dynalite({ path, createTableMs: 0 });
    await new Promise<void>((resolve) => legacy.listen(0, '127.0.0.1', () => resolve()));
    const endpoint = `http://127.0.0.1:${(legacy.address() as { port: number }).port}`;
    const raw = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    await raw.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const doc = createDocumentClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    await writeSome(doc);
    doc.destroy();
    raw.destroy();
    await new Promise<void>((resolve) => legacy.close(() => resolve()));
    expect(existsSync(join(path, 'CURRENT'))).toBe(true);

    const db = await start(path);
    expect(await all(db)).toEqual(EXPECTED);
    expect(await get(db, 'b')).toBeUndefined();
    expect(existsSync(join(path, 'CURRENT'))).toBe(false);
    expect(readdirSync(join(path, LEGACY_LEVELDB_DIR))).toContain('CURRENT');
    await db.send(new PutCommand({ TableName: TABLE, Item: { pk: 'P', sk: 'e' } }));
    await stopAll();
    expect((await all(await start(path)))!.map((i) => i.sk)).toEqual(['a', 'c', 'd', 'e']);
  });
});
