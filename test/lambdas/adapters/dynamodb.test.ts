/**
 * The DynamoDB adapters against dynalite (a real DynamoDB API, in memory): the order ledger's
 * conditional writes, the trading-state latch and snapshot, and the run artifacts.
 */
import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { INITIAL_TRADING_STATE } from '../../../lambdas/core/kill-switch';
import { intentRecord, type LedgerFill, type LedgerOrder } from '../../../lambdas/core/ledger';
import type { AccountSnapshot } from '../../../lambdas/core/risk/kernel';
import { DynamoOrderLedger, VersionConflictError } from '../../../lambdas/adapters/dynamodb/order-ledger';
import { ARTIFACT_TTL_DAYS, DynamoRunArtifacts } from '../../../lambdas/adapters/dynamodb/run-artifacts';
import { DynamoTradingStateStore } from '../../../lambdas/adapters/dynamodb/trading-state';
import type { TestDynamo } from '../../support/dynamo';
import { startTestDynamo } from '../../support/dynamo';
import { entryOrder } from '../../support/orders';

let dynamo: TestDynamo;
beforeEach(async () => {
  dynamo = await startTestDynamo();
});
afterEach(async () => {
  await dynamo.stop();
});

const NOW = '2018-02-07T14:00:00.000Z';

/** A pending_submit AAPL entry exactly as the orders step writes it, with overrides. */
function order(overrides: Partial<LedgerOrder> = {}): LedgerOrder {
  return { ...intentRecord(entryOrder({ stopLossPrice: '150.25' }), 'run-1', NOW), ...overrides };
}

function fill(overrides: Partial<LedgerFill> = {}): LedgerFill {
  return {
    clientOrderId: 'momo1-20180207-AAPL-b-en',
    brokerOrderId: 'ord-1',
    executionId: 'exe-1',
    symbol: 'AAPL',
    side: 'buy',
    purpose: 'entry',
    qty: '10',
    price: '160.4',
    cumulativeQty: '10',
    filledAt: '2018-02-07T14:31:00.000Z',
    sessionDate: '2018-02-07',
    recordedAt: NOW,
    runId: 'run-1',
    ...overrides,
  };
}

/** A document client that forces small query pages and records every Query it sends. */
function pagingClient(db: DynamoDBDocumentClient, pageSize: number) {
  const queries: Array<Record<string, unknown>> = [];
  const client = {
    send: (command: unknown) => {
      if (command instanceof QueryCommand) {
        command.input.Limit = pageSize;
        queries.push({ ...command.input });
      }
      return db.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, queries };
}

describe('DynamoOrderLedger', () => {
  const ledgerFor = (strategyId = 'momo1') => new DynamoOrderLedger(dynamo.db, dynamo.tables.orderLedger, strategyId);

  test('a second intent with the same client_order_id is refused and returns the first, writing nothing (no double order)', async () => {
    const ledger = ledgerFor();
    const first = order();
    expect(await ledger.putIntent(first)).toEqual({ created: true });

    const second = order({ qty: '99', createdByRunId: 'run-2', limitPrice: '170.00' });
    const result = await ledger.putIntent(second);
    expect(result).toEqual({ created: false, existing: first });
    expect(await ledger.get(first.clientOrderId)).toEqual(first);
    expect(await ledger.listOrders()).toHaveLength(1);
  });

  test('concurrent intents for one client_order_id: exactly one wins', async () => {
    const ledger = ledgerFor();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => ledger.putIntent(order({ createdByRunId: `run-${i}` }))));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const stored = await ledger.get('momo1-20180207-AAPL-b-en');
    for (const r of results) if (!r.created) expect(r.existing).toEqual(stored);
  });

  test('an update with a stale version is refused (VersionConflictError) and writes nothing (no lost update)', async () => {
    const ledger = ledgerFor();
    const v1 = order();
    await ledger.putIntent(v1);
    const v2 = await ledger.update(v1, { status: 'new', brokerOrderId: 'ord-1', updatedAt: '2018-02-07T14:01:00.000Z' });
    expect(v2).toMatchObject({ version: 2, status: 'new', brokerOrderId: 'ord-1' });

    const stale = ledger.update(v1, { status: 'canceled', updatedAt: '2018-02-07T14:02:00.000Z' });
    await expect(stale).rejects.toBeInstanceOf(VersionConflictError);
    await expect(stale).rejects.toThrow(/momo1-20180207-AAPL-b-en.*expected version 1/);
    expect(await ledger.get(v1.clientOrderId)).toEqual(v2);
  });

  test('update cannot change the key or version fields it is given, and bumps the version by one', async () => {
    const ledger = ledgerFor();
    const v1 = order();
    await ledger.putIntent(v1);
    const v2 = await ledger.update(v1, { clientOrderId: 'other', version: 42, status: 'accepted' } as Partial<LedgerOrder>);
    expect(v2.clientOrderId).toBe(v1.clientOrderId);
    expect(v2.version).toBe(2);
    expect(await ledger.get('other')).toBeUndefined();
  });

  test('updating an order that does not exist is a conflict and does not create it', async () => {
    const ledger = ledgerFor();
    await expect(ledger.update(order(), { status: 'new' })).rejects.toBeInstanceOf(VersionConflictError);
    expect(await ledger.get('momo1-20180207-AAPL-b-en')).toBeUndefined();
  });

  test('a replayed fill is a no-op: recorded once per (order, cumulative qty)', async () => {
    const ledger = ledgerFor();
    const partial = fill({ qty: '4', cumulativeQty: '4' });
    expect(await ledger.recordFill(partial)).toBe(true);
    expect(await ledger.recordFill({ ...partial, runId: 'run-2', recordedAt: '2018-02-08T00:00:00.000Z' })).toBe(false);
    expect(await ledger.recordFill(fill({ qty: '6', cumulativeQty: '10' }))).toBe(true);
    expect(await ledger.recordFill(fill({ qty: '6', cumulativeQty: '10' }))).toBe(false);

    const fills = await ledger.listFills();
    expect(fills.map((f) => [f.cumulativeQty, f.qty, f.runId])).toEqual([
      ['10', '6', 'run-1'],
      ['4', '4', 'run-1'],
    ].sort());
  });

  test('listOrders and listFills return only their own kind, only this strategy, straight after the write', async () => {
    const ledger = ledgerFor('momo1');
    const other = ledgerFor('other1');
    await ledger.putIntent(order({ clientOrderId: 'momo1-20180207-MSFT-b-en', symbol: 'MSFT' }));
    await ledger.putIntent(order());
    await ledger.recordFill(fill());
    await other.putIntent(order({ strategyId: 'other1', clientOrderId: 'other1-20180207-AAPL-b-en' }));
    await other.recordFill(fill({ clientOrderId: 'other1-20180207-AAPL-b-en' }));

    const orders = await ledger.listOrders();
    expect(orders.map((o) => o.clientOrderId)).toEqual(['momo1-20180207-AAPL-b-en', 'momo1-20180207-MSFT-b-en']);
    for (const o of orders) expect(o).not.toHaveProperty('pk');
    const fills = await ledger.listFills();
    expect(fills).toEqual([fill()]);
    expect((await other.listOrders()).map((o) => o.clientOrderId)).toEqual(['other1-20180207-AAPL-b-en']);
  });

  test('listOrders and listFills follow every page (nothing silently dropped past the first page) with consistent reads', async () => {
    const base = ledgerFor();
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) {
      const id = `momo1-20180207-S${String(i).padStart(2, '0')}-b-en`;
      ids.push(id);
      await base.putIntent(order({ clientOrderId: id, symbol: `S${String(i).padStart(2, '0')}` }));
      await base.recordFill(fill({ clientOrderId: id, cumulativeQty: '10' }));
      await base.recordFill(fill({ clientOrderId: id, qty: '5', cumulativeQty: '15' }));
    }
    const { client, queries } = pagingClient(dynamo.db, 5);
    const paged = new DynamoOrderLedger(client, dynamo.tables.orderLedger, 'momo1');

    expect((await paged.listOrders()).map((o) => o.clientOrderId)).toEqual(ids);
    expect(queries.length).toBeGreaterThanOrEqual(5);
    const fillQueries = queries.length;
    expect(await paged.listFills()).toHaveLength(46);
    expect(queries.length - fillQueries).toBeGreaterThanOrEqual(10);
    expect(queries.every((q) => q.ConsistentRead === true)).toBe(true);
  });
});

describe('DynamoTradingStateStore', () => {
  const store = (strategyId = 'momo1') => new DynamoTradingStateStore(dynamo.db, dynamo.tables.tradingState, strategyId);
  const halted = { state: 'HALTED' as const, cause: 'RECONCILIATION_MISMATCH: AAPL ledger 10 vs broker 0', since: '2018-02-07T21:10:00.000Z' };

  test('the latch defaults to ACTIVE when nothing was ever written', async () => {
    expect(await store().getLatch()).toEqual(INITIAL_TRADING_STATE);
  });

  test('a HALTED latch is not silently overwritten by ACTIVE (a concurrent run cannot undo a halt)', async () => {
    const s = store();
    await s.setLatch(halted);
    await s.setLatch({ state: 'ACTIVE', cause: 'some run', since: '2018-02-08T14:00:00.000Z' });
    expect(await s.getLatch()).toEqual(halted);
  });

  test('allowClear (the re-arm path) does clear a HALTED latch', async () => {
    const s = store();
    await s.setLatch(halted);
    const rearmed = { state: 'ACTIVE' as const, cause: 'REARMED: ...', since: '2018-02-08T14:00:00.000Z' };
    await s.setLatch(rearmed, { allowClear: true });
    expect(await s.getLatch()).toEqual(rearmed);
  });

  test('ACTIVE over ACTIVE and HALTED over anything are written', async () => {
    const s = store();
    const active = { state: 'ACTIVE' as const, cause: 'x', since: '2018-02-06T00:00:00.000Z' };
    await s.setLatch(active);
    expect(await s.getLatch()).toEqual(active);
    await s.setLatch(halted);
    expect(await s.getLatch()).toEqual(halted);
    const haltedAgain = { ...halted, cause: 'RECONCILIATION_MISMATCH: MSFT ledger 0 vs broker 5', since: '2018-02-08T21:10:00.000Z' };
    await s.setLatch(haltedAgain);
    expect(await s.getLatch()).toEqual(haltedAgain);
    expect(await store('other1').getLatch()).toEqual(INITIAL_TRADING_STATE);
  });

  test('the session snapshot is frozen by the first writer; later executions decide against the same account', async () => {
    const s = store();
    const snap = (cash: string): AccountSnapshot => ({ asOf: NOW, cash, equity: cash, positions: [], openOrders: [] });
    expect(await s.getSnapshot('2018-02-07')).toBeUndefined();
    expect(await s.freezeSnapshot('2018-02-07', snap('100000'))).toEqual({ snapshot: snap('100000'), frozenNow: true });
    expect(await s.freezeSnapshot('2018-02-07', snap('5'))).toEqual({ snapshot: snap('100000'), frozenNow: false });
    expect(await s.getSnapshot('2018-02-07')).toEqual(snap('100000'));
    expect(await s.freezeSnapshot('2018-02-08', snap('7'))).toEqual({ snapshot: snap('7'), frozenNow: true });
  });

  test('concurrent freezes of one session agree on a single snapshot', async () => {
    const s = store();
    const results = await Promise.all(
      ['1', '2', '3', '4', '5'].map((cash) => s.freezeSnapshot('2018-02-07', { asOf: NOW, cash, equity: cash, positions: [], openOrders: [] })),
    );
    expect(results.filter((r) => r.frozenNow)).toHaveLength(1);
    const winner = results.find((r) => r.frozenNow)!.snapshot;
    for (const r of results) expect(r.snapshot).toEqual(winner);
  });
});

describe('DynamoRunArtifacts', () => {
  const artifacts = () => new DynamoRunArtifacts(dynamo.db, dynamo.tables.runArtifacts);
  const now = new Date(NOW);

  test('put then get round-trips the data; a retried step overwrites', async () => {
    const a = artifacts();
    const data = { decisions: [{ symbol: 'AAPL', allowed: true, plan: { qty: 10, limitPrice: '160.50' } }], note: 'ünïcødé' };
    await a.put('run-1', 'DECISIONS', data, now);
    expect(await a.get('run-1', 'DECISIONS')).toEqual(data);
    await a.put('run-1', 'DECISIONS', { decisions: [] }, now);
    expect(await a.get('run-1', 'DECISIONS')).toEqual({ decisions: [] });
  });

  test(`artifacts carry a TTL ${ARTIFACT_TTL_DAYS} days after the write`, async () => {
    await artifacts().put('run-1', 'SCORES', [1, 2], now);
    const raw = await dynamo.db.send(new GetCommand({ TableName: dynamo.tables.runArtifacts, Key: { pk: 'RUN#run-1', sk: 'SCORES' } }));
    expect(raw.Item?.expiresAt).toBe(Math.floor(now.getTime() / 1000) + ARTIFACT_TTL_DAYS * 86_400);
  });

  test('a missing artifact fails loudly naming the run and the artifact (a step ran out of order)', async () => {
    await expect(artifacts().get('run-9', 'DECISIONS')).rejects.toThrow(/DECISIONS.*run-9|run-9.*DECISIONS/);
  });

  test('putMany over 25 items and getMany over 100 names lose nothing; missing names are absent', async () => {
    const a = artifacts();
    const entries = Array.from({ length: 137 }, (_, i) => ({ name: `BARS#S${i}`, data: { i, rows: [i, i + 1] } }));
    await a.putMany('run-1', entries, now);
    const names = [...entries.map((e) => e.name), 'BARS#MISSING1', 'BARS#MISSING2'];
    const got = await a.getMany<{ i: number }>('run-1', names);
    expect(got.size).toBe(137);
    for (const e of entries) expect(got.get(e.name)).toEqual(e.data);
    expect(got.has('BARS#MISSING1')).toBe(false);
    expect((await a.getMany('run-2', ['BARS#S1'])).size).toBe(0);
  });

  test('an artifact over the item size limit is refused with its name, and nothing is written', async () => {
    const a = artifacts();
    const big = 'x'.repeat(400_000);
    await expect(a.put('run-1', 'FEATURES', big, now)).rejects.toThrow(/FEATURES.*run-1.*over/);
    await expect(a.get('run-1', 'FEATURES')).rejects.toThrow(/not found/);
    await expect(a.putMany('run-1', [{ name: 'BARS#BIG', data: big }], now)).rejects.toThrow(/BARS#BIG.*run-1/);
  });

  test('an artifact written as bytes is stored as a binary attribute and read back as the same bytes', async () => {
    const a = artifacts();
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) % 256);
    await a.put('run-1', 'BARS#AAPL', bytes, now);
    await a.putMany('run-1', [{ name: 'BARS#MSFT', data: bytes.subarray(10, 20) }, { name: 'UNIVERSE', data: { usable: ['AAPL'] } }], now);
    const raw = await dynamo.db.send(new GetCommand({ TableName: dynamo.tables.runArtifacts, Key: { pk: 'RUN#run-1', sk: 'BARS#AAPL' } }));
    expect(raw.Item?.bin).toBeInstanceOf(Uint8Array);
    expect(raw.Item?.data).toBeUndefined();
    expect(await a.get<Uint8Array>('run-1', 'BARS#AAPL')).toEqual(bytes);
    const many = await a.getMany<unknown>('run-1', ['BARS#AAPL', 'BARS#MSFT', 'UNIVERSE']);
    expect(many.get('BARS#MSFT')).toEqual(bytes.subarray(10, 20));
    expect(many.get('UNIVERSE')).toEqual({ usable: ['AAPL'] });
    await expect(a.put('run-1', 'BARS#BIG', new Uint8Array(400_000), now)).rejects.toThrow('artifact BARS#BIG of run run-1 is 400000 bytes, over the 390000-byte item limit');
  });

  test('deleteExpired deletes a run\'s artifacts whose TTL has passed, as DynamoDB TTL would, and only those', async () => {
    const a = artifacts();
    const later = new Date(now.getTime() + 3_600_000);
    await a.putMany('run-1', Array.from({ length: 30 }, (_, i) => ({ name: `BARS#S${i}`, data: { i } })), now);
    await a.put('run-1', 'VERIFICATION', { ok: true }, later);
    await a.put('run-2', 'UNIVERSE', { usable: [] }, now);
    const ttl = ARTIFACT_TTL_DAYS * 86_400_000;
    expect(await a.deleteExpired('run-1', new Date(now.getTime() + ttl - 1000))).toEqual({ deleted: 0, remaining: 31 });
    expect(await a.deleteExpired('run-1', new Date(now.getTime() + ttl))).toEqual({ deleted: 30, remaining: 1 });
    expect((await a.getMany('run-1', ['BARS#S0', 'BARS#S29', 'VERIFICATION'])).size).toBe(1);
    expect(await a.deleteExpired('run-1', new Date(later.getTime() + ttl))).toEqual({ deleted: 1, remaining: 0 });
    await expect(a.get('run-1', 'VERIFICATION')).rejects.toThrow(/not found/);
    // Other runs are untouched.
    expect(await a.get('run-2', 'UNIVERSE')).toEqual({ usable: [] });
    expect(await a.deleteExpired('run-9', later)).toEqual({ deleted: 0, remaining: 0 });
  });

  test('the size limit counts bytes, not characters (multi-byte text cannot slip past the guard)', async () => {
    // 150,000 euro signs: 150,002 JSON characters but 450,002 UTF-8 bytes, over DynamoDB's 400 KB.
    const wide = '€'.repeat(150_000);
    await expect(artifacts().put('run-1', 'SCORES', wide, now)).rejects.toThrow(/SCORES.*run-1.*450002 bytes/);
  });
});
