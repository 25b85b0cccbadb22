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
   * so a listing is queried once and then served from memory. A write refused by its condition
   * (DynamoDB then writes nothing: a replayed fill, an intent that exists, a version conflict) leaves
   * the listings as they are; a write that fails otherwise (it may or may not have been applied)
   * drops both, and a listing whose query overlapped a write is not kept. Only correct when this instance is the ONLY writer of the strategy's ledger: the local
   * runner, whose dynalite lives in its own process (the pipeline lists the whole ledger about 15
   * times per session, and over a long replay the ledger grows to thousands of items). A `get` of an
   * order is then answered from the kept listing of orders too. Off by default (Lambda: other
   * functions write the same table).
   */
  cacheListings?: boolean;
}

/**
 * A prefix's listing as the table holds it, ascending by sort key, kept by `cacheListings`: each
 * item's sort key and its record (frozen, handed out as it is).
 */
type Listing = Array<{ sk: string; record: object }>;

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

  /** Strongly consistent read of one order (frozen). With `cacheListings`, from the kept listing when there is one. */
  async get(clientOrderId: string): Promise<LedgerOrder | undefined> {
    const sk = `ORDER#${clientOrderId}`;
    const listing = this.listings.get('ORDER#');
    if (listing !== undefined && isAsciiKey(sk)) {
      const at = positionOf(listing, sk);
      return at < listing.length && listing[at]!.sk === sk ? (listing[at]!.record as unknown as LedgerOrder) : undefined;
    }
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: this.pk, sk }, ConsistentRead: true }));
    return out.Item ? toOrder(out.Item) : undefined;
  }

  /**
   * Applies `changes` if the stored version is still `record.version`; bumps the version.
   * @returns the updated record (frozen).
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

  /** Every order of the strategy, ascending by client_order_id: a new array of frozen records. */
  async listOrders(): Promise<LedgerOrder[]> {
    return (await this.queryPrefix('ORDER#', toOrder)) as unknown as LedgerOrder[];
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

  /** Every fill of the strategy, ascending by (client_order_id, cumulative qty): a new array of frozen records. */
  async listFills(): Promise<LedgerFill[]> {
    return (await this.queryPrefix('FILL#', toFill)) as unknown as LedgerFill[];
  }

  /**
   * Sends a write. With `cacheListings`, `onSuccess` applies it to the kept listing; a write that
   * failed other than by its condition drops both listings, and any write invalidates a listing
   * query in flight (writeEpoch).
   */
  private async write<T>(command: PutCommand | UpdateCommand, onSuccess: (result: T) => void): Promise<T> {
    this.writeEpoch++;
    this.writesInFlight++;
    try {
      const result = (await this.db.send(command as never)) as T;
      if (this.options.cacheListings) onSuccess(result);
      return result;
    } catch (error) {
      // A refused condition wrote nothing; any other failure may have written.
      if (!isConditionalCheckFailed(error)) this.listings.clear();
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
    if (typeof sk !== 'string' || !isAsciiKey(sk)) {
      this.listings.delete(prefix);
      return;
    }
    const value = written ? unmarshall(marshall(item, { removeUndefinedValues: true })) : item;
    const entry = { sk, record: prefix === 'FILL#' ? toFill(value) : toOrder(value) };
    const at = positionOf(listing, sk);
    if (at < listing.length && listing[at]!.sk === sk) listing[at] = entry;
    else listing.splice(at, 0, entry);
  }

  /**
   * The records (`recordOf` each item) of every item whose sort key starts with `prefix`, ascending,
   * in a new array. With `cacheListings` the kept (frozen) records.
   */
  private async queryPrefix(prefix: string, recordOf: (item: Record<string, unknown>) => object): Promise<object[]> {
    const cached = this.listings.get(prefix);
    if (cached !== undefined) return cached.map((entry) => entry.record);
    const epoch = this.writeEpoch;
    const quiet = this.writesInFlight === 0;
    const items = await this.queryAll(prefix);
    const listing: Listing = items.map((item) => ({ sk: item.sk as string, record: recordOf(item) }));
    if (this.options.cacheListings && quiet && this.writesInFlight === 0 && this.writeEpoch === epoch) this.listings.set(prefix, listing);
    return listing.map((entry) => entry.record);
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

/** Sort keys the kept listings can place: printable ASCII, where JavaScript's string order is DynamoDB's byte order. */
function isAsciiKey(sk: string): boolean {
  return /^[\x20-\x7e]*$/.test(sk);
}

/** Where `sk` is, or would be inserted, in `listing` (binary search over its ascending sort keys). */
function positionOf(listing: Listing, sk: string): number {
  let lo = 0;
  let hi = listing.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (listing[mid]!.sk < sk) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The record of an item: a new object without the key attributes, frozen with everything in it
 * (records are values: a step that wants another one builds it, and a write through `update`).
 */
function recordOf(item: Record<string, unknown>, into: Record<string, unknown>): Record<string, unknown> {
  for (const key in item) {
    if (key === 'pk' || key === 'sk' || key === 'kind') continue;
    const value = item[key];
    into[key] = typeof value === 'object' && value !== null ? deepFreeze(structuredClone(value)) : value;
  }
  return Object.freeze(into);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

function toOrder(item: Record<string, unknown>): LedgerOrder {
  return recordOf(item, {}) as unknown as LedgerOrder;
}

function toFill(item: Record<string, unknown>): LedgerFill {
  // Fills written before execution ids were stored carry none.
  return recordOf(item, { executionId: null }) as unknown as LedgerFill;
}
