import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelOrder, newPaperState, processSession, submitOrder, type PaperState } from '../../../lambdas/adapters/broker/paper/engine';
import { accountJson, DynamoPaperAccountStore, FilePaperAccountStore, PAPER_HISTORY_SUFFIX } from '../../../lambdas/adapters/broker/paper/stores';
import { TERMINAL_STATUSES } from '../../../lambdas/core/order-status';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';

/** A state with an order in it, so a round trip has something to lose. */
function sampleState(cash = '100000.25'): PaperState {
  const state = newPaperState('paper', '100000.25', '2018-02-05T14:00:00.000Z', '2018-02-02');
  const { state: withOrder } = submitOrder(
    state,
    { clientOrderId: 'c1', symbol: 'AAA', side: 'buy', type: 'limit', timeInForce: 'gtc', orderClass: 'oto', qty: '10', limitPrice: '100.10', stopLoss: { stopPrice: '95.05' } },
    { now: '2018-02-05T14:00:00.000Z', eligibleFrom: '2018-02-05', marketOpen: false, knownSymbol: true, referencePrice: '100' },
  );
  return { ...withOrder, cash }; // cash marks which save a loaded state came from
}

/**
 * The states of an account over two sessions, each derived from the one before as the paper broker
 * does: an OTO entry fills and arms its stop, a second order is sent and canceled, the stop fills.
 */
function accountHistory(): PaperState[] {
  const mon = { date: '2018-02-05', openUtc: '2018-02-05T14:30:00Z', closeUtc: '2018-02-05T21:00:00Z' };
  const tue = { date: '2018-02-06', openUtc: '2018-02-06T14:30:00Z', closeUtc: '2018-02-06T21:00:00Z' };
  const bar = (date: string, low: number) => ({ date, open: 100, high: 101, low, close: 100.5, volume: 1e6 });
  let state = sampleState();
  const states = [state];
  state = processSession(state, mon, (s) => (s === 'AAA' ? bar(mon.date, 99) : undefined));
  states.push(state);
  state = submitOrder(
    state,
    { clientOrderId: 'c2', symbol: 'AAA', side: 'sell', type: 'limit', timeInForce: 'day', orderClass: 'simple', qty: '5', limitPrice: '150' },
    { now: '2018-02-06T14:00:00.000Z', eligibleFrom: tue.date, marketOpen: false, knownSymbol: true, referencePrice: '100' },
  ).state;
  states.push(state);
  state = cancelOrder(state, state.orders.find((o) => o.clientOrderId === 'c2')!.id, '2018-02-06T14:10:00.000Z');
  states.push(state);
  state = processSession(state, tue, (s) => (s === 'AAA' ? bar(tue.date, 90) : undefined)); // the stop leg fills
  states.push(state);
  return states;
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'paper-store-'));

describe('accountJson (the file store\'s serializer)', () => {
  it('is exactly JSON.stringify({ version, state }) for states with shared frozen history, save after save', () => {
    const states = accountHistory();
    const state = states[states.length - 1]!;
    expect(state.orders.some((o) => Object.isFrozen(o))).toBe(true);
    states.forEach((s, i) => {
      expect(accountJson(i + 1, s)).toBe(JSON.stringify({ version: i + 1, state: s }));
      expect(accountJson(i + 1, s)).toBe(JSON.stringify({ version: i + 1, state: s })); // again, from the remembered text
      // With history archived: the state without it, after `archived`.
      const archived = { orders: Math.min(1, s.orders.length), executions: s.executions.length, bytes: 10 };
      expect(accountJson(i + 1, s, archived)).toBe(
        JSON.stringify({ version: i + 1, archived, state: { ...s, orders: s.orders.slice(archived.orders), executions: [] } }),
      );
    });
  });
});

describe('FilePaperAccountStore', () => {
  it('answers undefined when the file (or its folder) does not exist', async () => {
    expect(await new FilePaperAccountStore(join(tempDir(), 'paper.json')).load()).toBeUndefined();
    expect(await new FilePaperAccountStore(join(tempDir(), 'no', 'such', 'dir', 'paper.json')).load()).toBeUndefined();
  });

  it('round-trips the state with increasing versions, creating the folder', async () => {
    const file = join(tempDir(), 'state', 'paper.json');
    const store = new FilePaperAccountStore(file);
    const state = sampleState();
    expect(await store.save(state, undefined)).toBe(1);
    expect(await store.load()).toEqual({ state, version: 1 });
    const next = { ...state, cash: '5.1' };
    expect(await store.save(next, 1)).toBe(2);
    expect(await store.load()).toEqual({ state: next, version: 2 });
    // Another store object on the same file sees the same account.
    expect((await new FilePaperAccountStore(file).load())?.version).toBe(2);
  });

  it('refuses a stale expected version and leaves the file untouched', async () => {
    const file = join(tempDir(), 'paper.json');
    const store = new FilePaperAccountStore(file);
    await store.save(sampleState('1'), undefined);
    await store.save(sampleState('2'), 1);
    const before = await readFile(file, 'utf8');
    await expect(store.save(sampleState('3'), 1)).rejects.toThrow(`paper account ${file} changed concurrently (expected version 1, found 2)`);
    await expect(store.save(sampleState('3'), undefined)).rejects.toThrow('changed concurrently (expected version undefined, found 2)');
    await expect(store.save(sampleState('3'), 3)).rejects.toThrow('changed concurrently');
    expect(await readFile(file, 'utf8')).toBe(before);
    // A first save over an account that does not exist must not claim a version.
    await expect(new FilePaperAccountStore(join(tempDir(), 'paper.json')).save(sampleState(), 1)).rejects.toThrow('found undefined');
  });

  it.each([1, 2, 3, 4, 5])('lets exactly one of two concurrent saves with the same expected version win (round %i)', async () => {
    const file = join(tempDir(), 'paper.json');
    const store = new FilePaperAccountStore(file);
    await store.save(sampleState('1'), undefined);
    const results = await Promise.allSettled([store.save(sampleState('2'), 1), new FilePaperAccountStore(file).save(sampleState('3'), 1)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(String(loser.reason)).toContain('changed concurrently (expected version 1, found 2)');
    // The file holds the state of the save that reported success.
    const loaded = await store.load();
    expect(loaded?.version).toBe(2);
    expect(loaded?.state.cash).toBe(results[0]!.status === 'fulfilled' ? '2' : '3');
    expect(await readdir(dirname(file))).toEqual(['paper.json']);
  });

  it('saves atomically: a new file replaces the old one and no temporary file is left', async () => {
    const dir = tempDir();
    const file = join(dir, 'paper.json');
    const store = new FilePaperAccountStore(file);
    await store.save(sampleState('1'), undefined);
    const first = await stat(file);
    await store.save(sampleState('2'), 1);
    const second = await stat(file);
    // Written elsewhere then renamed over, never rewritten in place (a crash mid-write cannot truncate it).
    expect(second.ino).not.toBe(first.ino);
    expect(await readdir(dir)).toEqual(['paper.json']);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ version: 2, state: { cash: '2' } });
  });

  it('ignores a temporary file left by a writer that crashed before renaming', async () => {
    const dir = tempDir();
    const file = join(dir, 'paper.json');
    const store = new FilePaperAccountStore(file);
    await store.save(sampleState('1'), undefined);
    await writeFile(join(dir, `paper.json.${process.pid}.tmp`), '{"version": 9, "sta');
    expect((await store.load())?.version).toBe(1);
    expect(await store.save(sampleState('2'), 1)).toBe(2);
  });

  it.each([
    ['truncated JSON', '{"version": 1, "state": {"schema": 1'],
    ['not JSON at all', 'hello'],
    ['no version', '{"state": {"schema": 1}}'],
    ['an unknown schema', '{"version": 1, "state": {"schema": 2}}'],
    ['no state', '{"version": 1}'],
    ['an empty file', ''],
  ])('refuses a corrupt file (%s) with an error naming the file', async (_name, content) => {
    const file = join(tempDir(), 'paper.json');
    await writeFile(file, content);
    const store = new FilePaperAccountStore(file);
    await expect(store.load()).rejects.toThrow(`paper account file ${file} is corrupt`);
    // And never overwrites it.
    await expect(store.save(sampleState(), undefined)).rejects.toThrow(file);
    expect(await readFile(file, 'utf8')).toBe(content);
  });

  it('reports an unreadable path as it is, not as a missing account', async () => {
    const dir = tempDir();
    const file = join(dir, 'paper.json');
    await mkdir(file); // a directory where the file should be
    await expect(new FilePaperAccountStore(file).load()).rejects.toThrow(/EISDIR/);
  });
});

describe('DynamoPaperAccountStore', () => {
  let dynamo: TestDynamo;
  beforeAll(async () => {
    dynamo = await startTestDynamo();
  });
  afterAll(async () => {
    await dynamo?.stop();
  });

  it('answers undefined before the first save', async () => {
    expect(await new DynamoPaperAccountStore(dynamo.db, dynamo.tables.tradingState, 'empty').load()).toBeUndefined();
  });

  it('round-trips the state as one item (pk PAPER, sk ACCOUNT#<id>) with increasing versions', async () => {
    const store = new DynamoPaperAccountStore(dynamo.db, dynamo.tables.tradingState, 'roundtrip');
    const state = sampleState();
    expect(await store.save(state, undefined)).toBe(1);
    expect(await store.load()).toEqual({ state, version: 1 });
    const next = { ...state, cash: '0.3' };
    expect(await store.save(next, 1)).toBe(2);
    expect(await store.load()).toEqual({ state: next, version: 2 });
    const item = await dynamo.db.send(new GetCommand({ TableName: dynamo.tables.tradingState, Key: { pk: 'PAPER', sk: 'ACCOUNT#roundtrip' } }));
    expect(item.Item).toMatchObject({ pk: 'PAPER', sk: 'ACCOUNT#roundtrip', version: 2 });
    expect(JSON.parse(item.Item!.data as string)).toEqual(next);
  });

  it('requires no item for the first save, and refuses a stale version', async () => {
    const store = new DynamoPaperAccountStore(dynamo.db, dynamo.tables.tradingState, 'stale');
    await store.save(sampleState('1'), undefined);
    await expect(store.save(sampleState('2'), undefined)).rejects.toThrow('paper account stale changed concurrently (expected version undefined)');
    await store.save(sampleState('2'), 1);
    await expect(store.save(sampleState('3'), 1)).rejects.toThrow('paper account stale changed concurrently (expected version 1)');
    await expect(store.save(sampleState('3'), 5)).rejects.toThrow('changed concurrently');
    expect(await store.load()).toMatchObject({ version: 2, state: { cash: '2' } });
    // Expecting a version of an account that does not exist fails too.
    await expect(new DynamoPaperAccountStore(dynamo.db, dynamo.tables.tradingState, 'never').save(sampleState(), 1)).rejects.toThrow('changed concurrently');
  });

  it('lets exactly one of two concurrent saves with the same expected version win', async () => {
    const a = new DynamoPaperAccountStore(dynamo.db, dynamo.tables.tradingState, 'race');
    const b = new DynamoPaperAccountStore(dynamo.db, dynamo.tables.tradingState, 'race');
    await a.save(sampleState('1'), undefined);
    const results = await Promise.allSettled([a.save(sampleState('2'), 1), b.save(sampleState('3'), 1)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((await a.load())?.version).toBe(2);
  });

  it('keeps accounts with different ids apart', async () => {
    const one = new DynamoPaperAccountStore(dynamo.db, dynamo.tables.tradingState, 'one');
    const two = new DynamoPaperAccountStore(dynamo.db, dynamo.tables.tradingState, 'two');
    await one.save(sampleState('1'), undefined);
    expect(await two.load()).toBeUndefined();
    await two.save(sampleState('2'), undefined);
    expect((await one.load())?.state.cash).toBe('1');
    expect((await two.load())?.state.cash).toBe('2');
  });

  it('defaults the account id to "paper"', async () => {
    const store = new DynamoPaperAccountStore(dynamo.db, dynamo.tables.tradingState);
    await store.save(sampleState('7'), undefined);
    const item = await dynamo.db.send(new GetCommand({ TableName: dynamo.tables.tradingState, Key: { pk: 'PAPER', sk: 'ACCOUNT#paper' } }));
    expect(item.Item?.version).toBe(1);
  });
});

describe('FilePaperAccountStore: the history file', () => {
  it('keeps terminal orders and executions in an append-only history; a new store loads exactly the state saved', async () => {
    const dir = tempDir();
    const file = join(dir, 'paper.json');
    const history = `${file}${PAPER_HISTORY_SUFFIX}`;
    const states = accountHistory();
    const store = new FilePaperAccountStore(file);
    let previous = '';
    for (const [i, state] of states.entries()) {
      await store.save(state, i === 0 ? undefined : i);
      const loaded = await new FilePaperAccountStore(file).load();
      expect(JSON.stringify(loaded)).toBe(JSON.stringify({ state, version: i + 1 }));
      // Only appended to: what was there stays, byte for byte.
      const now = existsSync(history) ? readFileSync(history, 'utf8') : '';
      expect(now.startsWith(previous)).toBe(true);
      previous = now;
    }
    const last = states[states.length - 1]!;
    expect(last.orders.every((o) => TERMINAL_STATUSES.has(o.status))).toBe(true);
    expect(previous.split('\n').filter(Boolean)).toHaveLength(last.orders.length + last.executions.length);
    // The account file holds the rest: here nothing of the history.
    const head = JSON.parse(readFileSync(file, 'utf8')) as { archived: { orders: number; executions: number; bytes: number }; state: PaperState };
    expect(head.archived).toEqual({ orders: last.orders.length, executions: last.executions.length, bytes: Buffer.byteLength(previous) });
    expect(head.state.orders).toEqual([]);
    expect(head.state.executions).toEqual([]);
  });

  it('keeps an open order and every order after it in the account file', async () => {
    const file = join(tempDir(), 'paper.json');
    const states = accountHistory();
    const afterMonday = states[1]!; // the entry filled, its stop leg open
    const store = new FilePaperAccountStore(file);
    await store.save(afterMonday, undefined);
    const head = JSON.parse(readFileSync(file, 'utf8')) as { archived: { orders: number }; state: PaperState };
    const firstOpen = afterMonday.orders.findIndex((o) => !TERMINAL_STATUSES.has(o.status));
    expect(firstOpen).toBeGreaterThanOrEqual(0);
    expect(head.archived.orders).toBe(firstOpen);
    expect(head.state.orders.map((o) => o.id)).toEqual(afterMonday.orders.slice(firstOpen).map((o) => o.id));
    expect(JSON.stringify((await new FilePaperAccountStore(file).load())!.state)).toBe(JSON.stringify(afterMonday));
  });

  it('ignores what a save that crashed before its rename appended, and cuts it off on the next save', async () => {
    const file = join(tempDir(), 'paper.json');
    const history = `${file}${PAPER_HISTORY_SUFFIX}`;
    const states = accountHistory();
    const store = new FilePaperAccountStore(file);
    for (const [i, state] of states.slice(0, 3).entries()) await store.save(state, i === 0 ? undefined : i);
    const good = readFileSync(history, 'utf8');
    appendFileSync(history, '["o",{"id":"half-writ');
    expect(JSON.stringify((await new FilePaperAccountStore(file).load())!.state)).toBe(JSON.stringify(states[2]));
    // The next save that archives something cuts the file back first.
    const fresh = new FilePaperAccountStore(file);
    await fresh.save(states[3]!, 3);
    await fresh.save(states[4]!, 4);
    const now = readFileSync(history, 'utf8');
    expect(now.startsWith(good)).toBe(true);
    expect(now).not.toContain('half-writ');
    expect(JSON.stringify((await new FilePaperAccountStore(file).load())!.state)).toBe(JSON.stringify(states[4]));
  });

  it('reads an account file written before the history file existed, and archives on its next save', async () => {
    const file = join(tempDir(), 'paper.json');
    const states = accountHistory();
    const last = states[states.length - 1]!;
    await writeFile(file, JSON.stringify({ version: 7, state: last }));
    const store = new FilePaperAccountStore(file);
    expect(JSON.stringify(await store.load())).toBe(JSON.stringify({ state: last, version: 7 }));
    await store.save(last, 7);
    expect(existsSync(`${file}${PAPER_HISTORY_SUFFIX}`)).toBe(true);
    expect(JSON.stringify(await new FilePaperAccountStore(file).load())).toBe(JSON.stringify({ state: last, version: 8 }));
  });

  it('archives anew a state that does not start with the archived history', async () => {
    const file = join(tempDir(), 'paper.json');
    const states = accountHistory();
    const store = new FilePaperAccountStore(file);
    await store.save(states[states.length - 1]!, undefined);
    const other = sampleState('5'); // one open order, none of the archived ones
    await store.save(other, 1);
    expect(readFileSync(`${file}${PAPER_HISTORY_SUFFIX}`, 'utf8')).toBe('');
    expect(JSON.stringify(await new FilePaperAccountStore(file).load())).toBe(JSON.stringify({ state: other, version: 2 }));
  });

  it.each([
    ['cut short', (text: string) => text.slice(0, -5)],
    ['a line that is not JSON', (text: string) => text.replace(/^\["o",/, '["o",{')],
    ['a line of another kind', (text: string) => text.replace(/^\["o",/, '["x",')],
    ['missing', () => null],
  ])('refuses a corrupt history (%s) with an error naming both files', async (_name, corrupt) => {
    const file = join(tempDir(), 'paper.json');
    const history = `${file}${PAPER_HISTORY_SUFFIX}`;
    const states = accountHistory();
    await new FilePaperAccountStore(file).save(states[states.length - 1]!, undefined);
    const text = corrupt(readFileSync(history, 'utf8'));
    if (text === null) rmSync(history);
    else writeFileSync(history, text);
    const store = new FilePaperAccountStore(file);
    await expect(store.load()).rejects.toThrow(`paper account history ${history} is corrupt`);
    await expect(store.load()).rejects.toThrow(file);
    await expect(store.save(states[0]!, 1)).rejects.toThrow(history);
  });
});
