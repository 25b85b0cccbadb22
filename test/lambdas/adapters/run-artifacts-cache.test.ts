/**
 * DynamoRunArtifacts with `cacheOwnWrites` (the local runner's artifacts): reads of what this instance
 * wrote for its latest runs are answered from the JSON text it wrote, so they equal what the table
 * returns; everything is still written to the table, except transient artifacts, which live only in
 * that memory; other runs and names are read from the table.
 */
import { BatchGetCommand, GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoRunArtifacts, OWN_WRITES_CACHED_RUNS } from '../../../lambdas/adapters/dynamodb/run-artifacts';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';

let dynamo: TestDynamo;
beforeEach(async () => {
  dynamo = await startTestDynamo();
});
afterEach(async () => {
  await dynamo.stop();
});

const NOW = new Date('2018-02-07T14:00:00.000Z');

/** A client that counts the reads it sends. */
function countingClient(db: DynamoDBDocumentClient) {
  const counter = { reads: 0 };
  const client = {
    send: (command: unknown) => {
      if (command instanceof GetCommand || command instanceof BatchGetCommand) counter.reads++;
      return db.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, counter };
}

const bars = (k: number) => ({ symbol: `S${k}`, date: ['2018-02-06', '2018-02-07'], close: [k + 0.1, k + 0.2], note: 'é \u2028 "quoted"', nested: { a: [1, null, -0] } });

describe('DynamoRunArtifacts: cacheOwnWrites', () => {
  it('answers reads of its own writes from memory with exactly what the table holds, and still writes everything', async () => {
    const { client, counter } = countingClient(dynamo.db);
    const cached = new DynamoRunArtifacts(client, dynamo.tables.runArtifacts, { cacheOwnWrites: true });
    const plain = new DynamoRunArtifacts(dynamo.db, dynamo.tables.runArtifacts);
    const names = Array.from({ length: 60 }, (_, k) => `BARS#S${k}`);
    await cached.putMany('run-1', names.map((name, k) => ({ name, data: bars(k) })), NOW);
    await cached.put('run-1', 'FEATURES', { rows: [[1.5, null]], skipped: [] }, NOW);

    const fromMemory = await cached.getMany<unknown>('run-1', names);
    const fromTable = await plain.getMany<unknown>('run-1', names);
    expect(counter.reads).toBe(0);
    expect(JSON.stringify(names.map((n) => fromMemory.get(n)))).toBe(JSON.stringify(names.map((n) => fromTable.get(n))));
    expect(await cached.get('run-1', 'FEATURES')).toEqual(await plain.get('run-1', 'FEATURES'));
    expect(counter.reads).toBe(0);

    // Fresh values on every read: a caller changing one does not change the next.
    const first = await cached.get<{ close: number[] }>('run-1', 'BARS#S1');
    first.close.push(999);
    expect((await cached.get<{ close: number[] }>('run-1', 'BARS#S1')).close).toEqual([1.1, 1.2]);

    // An overwrite replaces it (the table too).
    await cached.put('run-1', 'FEATURES', { rows: [], skipped: ['X'] }, NOW);
    expect(await cached.get('run-1', 'FEATURES')).toEqual({ rows: [], skipped: ['X'] });
    expect(await plain.get('run-1', 'FEATURES')).toEqual({ rows: [], skipped: ['X'] });
  });

  it('answers bytes from memory as copies equal to what the table holds', async () => {
    const { client, counter } = countingClient(dynamo.db);
    const cached = new DynamoRunArtifacts(client, dynamo.tables.runArtifacts, { cacheOwnWrites: true });
    const plain = new DynamoRunArtifacts(dynamo.db, dynamo.tables.runArtifacts);
    const bytes = Uint8Array.from([1, 2, 3, 250]);
    await cached.putMany('run-1', [{ name: 'BARS#A', data: bytes }], NOW);
    bytes[0] = 99; // the caller's buffer is not what was stored
    const readsBefore = counter.reads;
    const first = await cached.get<Uint8Array>('run-1', 'BARS#A');
    expect(first).toEqual(Uint8Array.from([1, 2, 3, 250]));
    expect(await plain.get<Uint8Array>('run-1', 'BARS#A')).toEqual(first);
    first[1] = 77; // nor can a reader change the next read
    expect((await cached.getMany<Uint8Array>('run-1', ['BARS#A'])).get('BARS#A')).toEqual(Uint8Array.from([1, 2, 3, 250]));
    expect(counter.reads).toBe(readsBefore);
  });

  it('reads names it did not write, and other runs, from the table; a missing artifact is still an error', async () => {
    const { client, counter } = countingClient(dynamo.db);
    const cached = new DynamoRunArtifacts(client, dynamo.tables.runArtifacts, { cacheOwnWrites: true });
    const other = new DynamoRunArtifacts(dynamo.db, dynamo.tables.runArtifacts);
    await other.put('run-0', 'UNIVERSE', { usable: ['A'] }, NOW);
    await other.put('run-1', 'SCORES', [{ symbol: 'A', score: 1 }], NOW);
    await cached.put('run-1', 'UNIVERSE', { usable: ['B'] }, NOW);

    expect(await cached.get('run-0', 'UNIVERSE')).toEqual({ usable: ['A'] });
    const many = await cached.getMany<unknown>('run-1', ['UNIVERSE', 'SCORES', 'NOPE']);
    expect([...many.keys()].sort()).toEqual(['SCORES', 'UNIVERSE']);
    expect(many.get('SCORES')).toEqual([{ symbol: 'A', score: 1 }]);
    expect(many.get('UNIVERSE')).toEqual({ usable: ['B'] });
    await expect(cached.get('run-1', 'NOPE')).rejects.toThrow('artifact NOPE of run run-1 not found');
    expect(counter.reads).toBe(3);
  });

  it(`keeps only the last ${OWN_WRITES_CACHED_RUNS} runs in memory; older ones are read from the table`, async () => {
    const { client, counter } = countingClient(dynamo.db);
    const cached = new DynamoRunArtifacts(client, dynamo.tables.runArtifacts, { cacheOwnWrites: true });
    for (let run = 1; run <= 4; run++) await cached.put(`run-${run}`, 'UNIVERSE', { run }, NOW);
    for (let run = 1; run <= 4; run++) expect(await cached.get(`run-${run}`, 'UNIVERSE')).toEqual({ run });
    expect(counter.reads).toBe(4 - OWN_WRITES_CACHED_RUNS);
  });

  it('keeps transient artifacts in memory only, for its latest runs, and never sends them', async () => {
    const sent: unknown[] = [];
    const client = {
      send: (command: unknown) => {
        sent.push(command);
        return dynamo.db.send(command as never);
      },
    } as unknown as DynamoDBDocumentClient;
    const isTransient = (name: string) => name.startsWith('BARS#');
    expect(() => new DynamoRunArtifacts(client, dynamo.tables.runArtifacts, { transient: { isTransient } })).toThrow(/cacheOwnWrites/);
    const artifacts = new DynamoRunArtifacts(client, dynamo.tables.runArtifacts, { cacheOwnWrites: true, transient: { isTransient } });
    const bytes = new Uint8Array([1, 2, 3]);
    await artifacts.put('run-1', 'BARS#S0', bytes, NOW);
    await artifacts.putMany('run-1', [{ name: 'BARS#S1', data: new Uint8Array([4]) }, { name: 'UNIVERSE', data: { usable: ['S0', 'S1'] } }], NOW);
    await artifacts.putMany('run-1', [{ name: 'BARS#S2', data: new Uint8Array([5]) }], NOW);
    // Only UNIVERSE reached the table.
    expect(sent).toHaveLength(1);
    const plain = new DynamoRunArtifacts(dynamo.db, dynamo.tables.runArtifacts);
    expect(await plain.getMany('run-1', ['BARS#S0', 'BARS#S1', 'BARS#S2', 'UNIVERSE'])).toEqual(new Map([['UNIVERSE', { usable: ['S0', 'S1'] }]]));
    // Readable here, as copies, with no request.
    sent.length = 0;
    expect(await artifacts.get('run-1', 'BARS#S0')).toEqual(bytes);
    expect([...(await artifacts.getMany<Uint8Array>('run-1', ['BARS#S1', 'BARS#S2', 'BARS#S9'])).keys()]).toEqual(['BARS#S1', 'BARS#S2']);
    expect(sent).toHaveLength(0);
    // Too size-checked as if stored.
    await expect(artifacts.put('run-1', 'BARS#BIG', new Uint8Array(400_000), NOW)).rejects.toThrow(/BARS#BIG of run run-1 is 400000 bytes/);
    // Once the run is no longer among the latest, its transient artifacts are gone (not looked up).
    for (let run = 2; run <= 1 + OWN_WRITES_CACHED_RUNS; run++) await artifacts.put(`run-${run}`, 'UNIVERSE', { usable: [] }, NOW);
    sent.length = 0;
    await expect(artifacts.get('run-1', 'BARS#S0')).rejects.toThrow(/BARS#S0 of run run-1 not found/);
    expect((await artifacts.getMany('run-1', ['BARS#S0', 'UNIVERSE'])).size).toBe(1);
    expect(sent).toHaveLength(1); // the UNIVERSE read
  });

  it('is off by default: every read goes to the table', async () => {
    const { client, counter } = countingClient(dynamo.db);
    const plain = new DynamoRunArtifacts(client, dynamo.tables.runArtifacts);
    await plain.put('run-1', 'UNIVERSE', { usable: [] }, NOW);
    await plain.get('run-1', 'UNIVERSE');
    await plain.getMany('run-1', ['UNIVERSE']);
    expect(counter.reads).toBe(2);
  });
});
