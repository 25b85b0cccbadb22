/**
 * DynamoOrderLedger with `cacheListings` (the local runner's ledger): every listing equals what a
 * plain ledger reads from the table at that moment (same orders and fills, same order, same fields in
 * the same order), whatever writes happened in between; the ledger's own successful writes are
 * applied to the kept listings (no query after them), and so is a write refused by its condition (it
 * wrote nothing); a write that failed otherwise drops them (the next listing queries); records are frozen, so callers cannot corrupt the cache; `get` is answered from the kept
 * listing; a listing that overlapped a write is not kept.
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoOrderLedger, VersionConflictError } from '../../../lambdas/adapters/dynamodb/order-ledger';
import { intentRecord, type LedgerFill, type LedgerOrder } from '../../../lambdas/core/ledger';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import { entryOrder } from '../../support/orders';

let dynamo: TestDynamo;
beforeEach(async () => {
  dynamo = await startTestDynamo();
});
afterEach(async () => {
  await dynamo.stop();
});

const NOW = '2018-02-07T14:00:00.000Z';

function order(id: string, overrides: Partial<LedgerOrder> = {}): LedgerOrder {
  return { ...intentRecord(entryOrder({ stopLossPrice: '150.25' }), 'run-1', NOW), clientOrderId: id, ...overrides };
}

function fill(id: string, cumulativeQty: string, overrides: Partial<LedgerFill> = {}): LedgerFill {
  return {
    clientOrderId: id,
    brokerOrderId: `b-${id}`,
    executionId: `e-${id}-${cumulativeQty}`,
    symbol: 'AAPL',
    side: 'buy',
    purpose: 'entry',
    qty: '5',
    price: '160.4',
    cumulativeQty,
    filledAt: '2018-02-07T14:31:00.000Z',
    sessionDate: '2018-02-07',
    recordedAt: NOW,
    runId: 'run-1',
    ...overrides,
  };
}

/** Set to make the next write fail as a dropped connection would (whether it was applied is unknown). */
const failNextWrite = { value: false };

/** A client that counts the Query commands it sends (and fails a write when failNextWrite is set). */
function countingClient(db: DynamoDBDocumentClient) {
  const counter = { queries: 0 };
  const client = {
    send: (command: unknown) => {
      if (command instanceof QueryCommand) counter.queries++;
      else if (failNextWrite.value) {
        failNextWrite.value = false;
        return Promise.reject(new Error('socket hang up'));
      }
      return db.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, counter };
}

describe('DynamoOrderLedger: cacheListings', () => {
  it('lists exactly what the table holds after any sequence of writes, querying again only after a write that may have been applied', async () => {
    const { client, counter } = countingClient(dynamo.db);
    const cached = new DynamoOrderLedger(client, dynamo.tables.orderLedger, 'momo1', { cacheListings: true });
    const plain = new DynamoOrderLedger(dynamo.db, dynamo.tables.orderLedger, 'momo1');
    const same = async (): Promise<void> => {
      // JSON text: the same records, in the same order, with their fields in the same order.
      expect(JSON.stringify(await cached.listOrders())).toBe(JSON.stringify(await plain.listOrders()));
      expect(JSON.stringify(await cached.listFills())).toBe(JSON.stringify(await plain.listFills()));
    };
    await same();
    // Ids out of sort order, so each insertion lands at its place (first, middle, last).
    const ids = ['momo1-20180207-MSFT-b-en', 'momo1-20180207-AAPL-b-en', 'momo1-20180207-AAPL-b-en-sl', 'momo1-20180207-AAPL-b-e'];
    for (const id of ids) {
      expect(await cached.putIntent(order(id))).toEqual({ created: true });
      await same();
    }
    // A refused duplicate, a successful update, a version conflict, new and replayed fills.
    expect((await cached.putIntent(order(ids[0]!))).created).toBe(false);
    await same();
    const [first] = (await cached.listOrders()).filter((o) => o.clientOrderId === ids[1]);
    const updated = await cached.update(first!, { status: 'accepted', brokerOrderId: 'b-1', statusReason: null });
    await same();
    await expect(cached.update(first!, { status: 'canceled' })).rejects.toBeInstanceOf(VersionConflictError);
    await same();
    await cached.update(updated, { status: 'filled', filledQty: '10', filledAvgPrice: '160.4' });
    await same();
    expect(await cached.recordFill(fill(ids[1]!, '5'))).toBe(true);
    await same();
    expect(await cached.recordFill(fill(ids[1]!, '5'))).toBe(false);
    await same();
    expect(await cached.recordFill(fill(ids[1]!, '10', { executionId: null }))).toBe(true);
    await same();

    // With no write in between, listings come from memory.
    const before = counter.queries;
    for (let i = 0; i < 5; i++) {
      await cached.listOrders();
      await cached.listFills();
    }
    expect(counter.queries).toBe(before);
    // A successful write is applied to the kept listings: no query, and the listing shows it.
    await cached.putIntent(order('momo1-20180208-NVDA-b-en'));
    const nvda = (await cached.listOrders()).find((o) => o.clientOrderId === 'momo1-20180208-NVDA-b-en');
    await cached.update(nvda!, { status: 'accepted', brokerOrderId: 'b-nvda' });
    await cached.recordFill(fill('momo1-20180208-NVDA-b-en', '5'));
    await same();
    expect(counter.queries).toBe(before);
    // A write refused by its condition (a version conflict, a replayed fill, an existing intent)
    // wrote nothing: the listings stay.
    await expect(cached.update(nvda!, { status: 'canceled' })).rejects.toBeInstanceOf(VersionConflictError);
    expect(await cached.recordFill(fill('momo1-20180208-NVDA-b-en', '5'))).toBe(false);
    expect((await cached.putIntent(order('momo1-20180208-NVDA-b-en'))).created).toBe(false);
    await same();
    expect(counter.queries).toBe(before);
    // A write that failed otherwise may have been applied: both listings are dropped, the next ones query again.
    failNextWrite.value = true;
    await expect(cached.recordFill(fill('momo1-20180208-NVDA-b-en', '10'))).rejects.toThrow(/socket hang up/);
    await same();
    expect(counter.queries).toBe(before + 2);
  });

  it('hands out frozen records in a new array: a caller can neither change a record nor the next listing', async () => {
    for (const cacheListings of [true, false]) {
      const ledger = new DynamoOrderLedger(dynamo.db, dynamo.tables.orderLedger, 'momo1', { cacheListings });
      const id = cacheListings ? 'momo1-20180207-AAPL-b-en' : 'momo1-20180207-MSFT-b-en';
      await ledger.putIntent(order(id));
      await ledger.recordFill(fill(id, '5'));
      const orders = await ledger.listOrders();
      expect(() => {
        orders[0]!.status = 'canceled';
      }).toThrow(TypeError);
      orders.pop();
      const fills = await ledger.listFills();
      expect(() => {
        fills[0]!.qty = '999';
      }).toThrow(TypeError);
      const got = await ledger.get(id);
      expect(Object.isFrozen(got)).toBe(true);
      const updated = await ledger.update(got!, { status: 'accepted' });
      expect(Object.isFrozen(updated)).toBe(true);
      expect((await ledger.listOrders()).find((o) => o.clientOrderId === id)!.status).toBe('accepted');
      expect((await ledger.listFills()).find((f) => f.clientOrderId === id)!.qty).toBe('5');
    }
  });

  it('answers get from the kept listing: the same record a plain ledger reads, with no request', async () => {
    const requests = { count: 0 };
    const client = {
      send: (command: unknown) => {
        requests.count++;
        return dynamo.db.send(command as never);
      },
    } as unknown as DynamoDBDocumentClient;
    const cached = new DynamoOrderLedger(client, dynamo.tables.orderLedger, 'momo1', { cacheListings: true });
    const plain = new DynamoOrderLedger(dynamo.db, dynamo.tables.orderLedger, 'momo1');
    await cached.putIntent(order('momo1-20180207-AAPL-b-en'));
    await cached.listOrders();
    const written = await cached.update((await cached.get('momo1-20180207-AAPL-b-en'))!, { status: 'accepted', brokerOrderId: 'b-1' });
    const before = requests.count;
    const got = await cached.get('momo1-20180207-AAPL-b-en');
    expect(JSON.stringify(got)).toBe(JSON.stringify(await plain.get('momo1-20180207-AAPL-b-en')));
    expect(got).toEqual(written);
    expect(await cached.get('momo1-20180207-ZZZZ-b-en')).toBeUndefined();
    expect(requests.count).toBe(before);
    // A version conflict keeps the listing; without one, get reads the table.
    await expect(cached.update({ ...got!, version: 1 }, { status: 'canceled' })).rejects.toBeInstanceOf(VersionConflictError);
    expect((await cached.get('momo1-20180207-AAPL-b-en'))!.status).toBe('accepted');
    expect(requests.count).toBe(before + 1);
    const fresh = new DynamoOrderLedger(client, dynamo.tables.orderLedger, 'momo1', { cacheListings: true });
    expect(await fresh.get('momo1-20180207-AAPL-b-en')).toEqual(written);
    expect(requests.count).toBe(before + 2);
  });

  it('does not keep a listing that overlapped a write', async () => {
    const cached = new DynamoOrderLedger(dynamo.db, dynamo.tables.orderLedger, 'momo1', { cacheListings: true });
    await cached.putIntent(order('momo1-20180207-AAPL-b-en'));
    const listing = cached.listOrders();
    const write = cached.putIntent(order('momo1-20180207-MSFT-b-en'));
    await Promise.all([listing, write]);
    expect((await cached.listOrders()).map((o) => o.clientOrderId)).toEqual(['momo1-20180207-AAPL-b-en', 'momo1-20180207-MSFT-b-en']);
  });

  it('is off by default: every listing queries', async () => {
    const { client, counter } = countingClient(dynamo.db);
    const plain = new DynamoOrderLedger(client, dynamo.tables.orderLedger, 'momo1');
    await plain.listOrders();
    await plain.listOrders();
    expect(counter.queries).toBe(2);
  });
});
