/**
 * The order ledger in DynamoDB. Single-item conditional writes only (dynalite has no
 * TransactWriteItems), all reads strongly consistent.
 *
 * Layout (table OrderLedger), one partition per strategy so every query is consistent:
 *   pk = STRATEGY#<strategyId>
 *   sk = ORDER#<clientOrderId>                 one item per order (entries and their legs)
 *   sk = FILL#<clientOrderId>#<cumulativeQty>  one item per fill increment, carrying the broker's
 *                                              execution id; a replayed execution maps to the same
 *                                              key, so recording it again is a no-op
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandOutput } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { LedgerFill, LedgerOrder } from '../../core/ledger';
import { isConditionalCheckFailed, queryAllItems } from './client';

/** Thrown when a conditional update lost a race (the record's version moved on). */
export class VersionConflictError extends Error {
  constructor(readonly clientOrderId: string, readonly expectedVersion: number) {
    super(`order ${clientOrderId} changed concurrently (expected version ${expectedVersion})`);
    this.name = 'VersionConflictError';
  }
}

/** Options of a DynamoOrderLedger. */
export interface OrderLedgerOptions {
  /**
   * Keep the listings of `listOrders`/`listFills` in memory and keep them current through this
   * instance's own writes: a successful put or update is applied to the kept listing (as the table
   * stores it: the item after the client's marshalling round trip, an update's ALL_NEW attributes),
   * so a listing is queried once and then served from memory. A write that fails (a conditional check
   * or any other error) drops both listings, and a listing whose query overlapped a write is not
   * kept. Only correct when this instance is the ONLY writer of the strategy's ledger: the local
   * runner, whose dynalite lives in its own process (the pipeline lists the whole ledger about 15
   * times per session, and over a long replay the ledger grows to thousands of items). Off by default
   * (Lambda: other functions write the same table).
   */
  cacheListings?: boolean;
}

/** A prefix's listing as the table holds it (raw items, ascending by sort key), kept by `cacheListings`. */
type Listing = Record<string, unknown>[];

export class DynamoOrderLedger {
  private readonly listings = new Map<string, Listing>();
  /** Bumped when a write starts and when it ends: a listing is kept only if it saw no write. */
  private writeEpoch = 0;
  private writesInFlight = 0;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly strategyId: string,
    private readonly options: OrderLedgerOptions = {},
  ) {}

  private get pk(): string {
    return `STRATEGY#${this.strategyId}`;
  }

  /**
   * Writes an order intent only if no order with that client_order_id exists
   * (`attribute_not_exists(sk)`). This is the idempotency gate that runs BEFORE any broker call.
   * @returns `{ created: true }`, or `{ created: false, existing }` with the record already there.
   */
  async putIntent(record: LedgerOrder): Promise<{ created: true } | { created: false; existing: LedgerOrder }> {
    const item = { pk: this.pk, sk: `ORDER#${record.clientOrderId}`, kind: 'order', ...record };
    try {
      await this.write(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(sk)' }), () => this.stored('ORDER#', item));
      return { created: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await this.get(record.clientOrderId);
      if (!existing) throw new Error(`order ${record.clientOrderId} reported as existing but cannot be read`);
      return { created: false, existing };
    }
  }

  /** Strongly consistent read of one order. */
  async get(clientOrderId: string): Promise<LedgerOrder | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: this.pk, sk: `ORDER#${clientOrderId}` }, ConsistentRead: true }),
    );
    return out.Item ? toOrder(out.Item) : undefined;
  }

  /**
   * Applies `changes` if the stored version is still `record.version`; bumps the version.
   * @returns the updated record.
   * @throws VersionConflictError when another writer updated it first.
   */
  async update(record: LedgerOrder, changes: Partial<LedgerOrder>): Promise<LedgerOrder> {
    const fields = Object.entries(changes).filter(([k, v]) => v !== undefined && !['clientOrderId', 'version'].includes(k));
    const names: Record<string, string> = { '#version': 'version' };
    const values: Record<string, unknown> = { ':expected': record.version, ':next': record.version + 1 };
    const sets = ['#version = :next'];
    fields.forEach(([key, value], i) => {
      names[`#f${i}`] = key;
      values[`:v${i}`] = value;
      sets.push(`#f${i} = :v${i}`);
    });
    try {
      const out = await this.write<UpdateCommandOutput>(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: this.pk, sk: `ORDER#${record.clientOrderId}` },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
        (result) => this.stored('ORDER#', result.Attributes!, false),
      );
      return toOrder(out.Attributes!);
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new VersionConflictError(record.clientOrderId, record.version);
      throw error;
    }
  }

  /** Every order of the strategy, ascending by client_order_id. */
  async listOrders(): Promise<LedgerOrder[]> {
    return (await this.queryPrefix('ORDER#')).map(toOrder);
  }

  /**
   * Records a fill increment once. Keyed by (clientOrderId, cumulativeQty), so a replayed
   * broker update writes nothing.
   * @returns true when written, false when it was already recorded.
   */
  async recordFill(fill: LedgerFill): Promise<boolean> {
    const item = { pk: this.pk, sk: `FILL#${fill.clientOrderId}#${fill.cumulativeQty}`, kind: 'fill', ...fill };
    try {
      await this.write(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(sk)' }), () => this.stored('FILL#', item));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Every fill of the strategy. */
  async listFills(): Promise<LedgerFill[]> {
    return (await this.queryPrefix('FILL#')).map(toFill);
  }

  /**
   * Sends a write. With `cacheListings`, `onSuccess` applies it to the kept listing; a failed write
   * drops both listings, and any write invalidates a listing query in flight (writeEpoch).
   */
  private async write<T>(command: PutCommand | UpdateCommand, onSuccess: (result: T) => void): Promise<T> {
    this.writeEpoch++;
    this.writesInFlight++;
    try {
      const result = (await this.db.send(command as never)) as T;
      if (this.options.cacheListings) onSuccess(result);
      return result;
    } catch (error) {
      this.listings.clear();
      throw error;
    } finally {
      this.writesInFlight--;
      this.writeEpoch++;
    }
  }

  /**
   * Puts `item` (as written, or as returned when `written` is false) into the kept listing of
   * `prefix`, replacing the item with its sort key, at its place in sort-key order. A written item
   * goes through the client's marshalling round trip first, so it is what a query would return.
   */
  private stored(prefix: string, item: Record<string, unknown>, written = true): void {
    const listing = this.listings.get(prefix);
    if (listing === undefined) return;
    const sk = item.sk;
    // Sort keys are compared as JavaScript strings; DynamoDB orders them by UTF-8 bytes, the same
    // order for the ASCII keys the pipeline writes. Anything else: query again next time.
    if (typeof sk !== 'string' || !/^[\x20-\x7e]*$/.test(sk)) {
      this.listings.delete(prefix);
      return;
    }
    const value = written ? unmarshall(marshall(item, { removeUndefinedValues: true })) : copyItem(item);
    let lo = 0;
    let hi = listing.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((listing[mid]!.sk as string) < sk) lo = mid + 1;
      else hi = mid;
    }
    if (lo < listing.length && listing[lo]!.sk === sk) listing[lo] = value;
    else listing.splice(lo, 0, value);
  }

  /**
   * Every item whose sort key starts with `prefix`, ascending. With `cacheListings` the kept items
   * themselves: callers must copy before handing them out (toOrder/toFill do).
   */
  private async queryPrefix(prefix: string): Promise<Record<string, unknown>[]> {
    if (!this.options.cacheListings) return this.queryAll(prefix);
    const cached = this.listings.get(prefix);
    // Kept items are handed out as they are: listOrders/listFills copy them (toOrder/toFill).
    if (cached !== undefined) return cached;
    const epoch = this.writeEpoch;
    const quiet = this.writesInFlight === 0;
    const items = await this.queryAll(prefix);
    if (quiet && this.writesInFlight === 0 && this.writeEpoch === epoch) this.listings.set(prefix, items.map(copyItem));
    return items;
  }

  private queryAll(prefix: string): Promise<Record<string, unknown>[]> {
    return queryAllItems(this.db, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': this.pk, ':prefix': prefix },
      ConsistentRead: true,
    });
  }
}

/** A copy of an item that shares nothing mutable with it (attribute values are mostly primitives). */
function copyItem(item: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...item };
  for (const key in copy) {
    const value = copy[key];
    if (typeof value === 'object' && value !== null) copy[key] = structuredClone(value);
  }
  return copy;
}

/** The record of an item: a fresh object (nested values copied too) without the key attributes. */
function recordOf(item: Record<string, unknown>, into: Record<string, unknown>): Record<string, unknown> {
  for (const key in item) {
    if (key === 'pk' || key === 'sk' || key === 'kind') continue;
    const value = item[key];
    into[key] = typeof value === 'object' && value !== null ? structuredClone(value) : value;
  }
  return into;
}

function toOrder(item: Record<string, unknown>): LedgerOrder {
  return recordOf(item, {}) as unknown as LedgerOrder;
}

function toFill(item: Record<string, unknown>): LedgerFill {
  // Fills written before execution ids were stored carry none.
  return recordOf(item, { executionId: null }) as unknown as LedgerFill;
}
