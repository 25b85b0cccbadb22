/**
 * A read cache of single items for a DynamoDB client that is the ONLY writer of the tables it
 * touches: the local runner, whose dynalite lives in its own process (its state directory is locked
 * while it runs). The pipeline's steps read the same few trading-state items (latch, day lock,
 * snapshot, risk memory, run lock, alert log) over and over, each a strongly consistent GetItem; with
 * every write going through this client, the last value written or read is the value stored, so a
 * GetItem of a known key is answered from memory.
 *
 * What the cache holds, per key (table, pk, sk), in the client's marshalled form (AttributeValues):
 *   - a GetItem's answer (the item, or "absent"), unless a write to that key was in flight, started
 *     or ended while it ran;
 *   - a successful PutItem's item; a successful DeleteItem's absence;
 *   - a successful UpdateItem's ALL_NEW attributes (any other UpdateItem forgets the key);
 *   each only when no other write to the key overlapped it.
 * A write forgets its key when it starts, so a failed write (a conditional check or any other error)
 * leaves it unknown; a BatchWriteItem forgets every key it names. Queries, scans and batch reads
 * always go to the table.
 * Every hit is unmarshalled afresh, so callers get new objects, exactly as from the table.
 *
 * Never for Lambda: there other functions write the same tables.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { PARTITION_KEY, SORT_KEY } from './tables';

/** Hit and miss counts of an item cache (for tests and benchmarks). */
export interface ItemCacheStats {
  hits: number;
  misses: number;
}

type Marshalled = Record<string, AttributeValue>;

/** Marshalling as the document client does it (createDocumentClient: undefined attributes dropped). */
const MARSHALL = { removeUndefinedValues: true, convertClassInstanceToMap: false } as const;

/**
 * Installs the item cache on `db` (see module doc).
 * @returns live hit/miss counts.
 */
export function cacheItemReads(db: DynamoDBDocumentClient): ItemCacheStats {
  const stats: ItemCacheStats = { hits: 0, misses: 0 };
  /** key → the stored item (marshalled), or null when absent. */
  const items = new Map<string, Marshalled | null>();
  /** key → writes started or ended on it so far: a read that saw this number change is not kept. */
  const epochs = new Map<string, number>();
  /** key → writes in flight on it: no read is kept while one is. */
  const inFlight = new Map<string, number>();
  const bump = (key: string, flight: 1 | -1): number => {
    items.delete(key);
    const n = (inFlight.get(key) ?? 0) + flight;
    if (n === 0) inFlight.delete(key);
    else inFlight.set(key, n);
    const epoch = (epochs.get(key) ?? 0) + 1;
    epochs.set(key, epoch);
    return epoch;
  };
  /** Runs a write on `key`; keeps `after(result)` unless another write on the key overlapped it. */
  const write = async <R>(key: string, send: () => Promise<R>, after: (result: R) => Marshalled | null | undefined): Promise<R> => {
    const mine = bump(key, 1);
    let result: R;
    try {
      result = await send();
    } catch (error) {
      bump(key, -1);
      throw error;
    }
    const alone = epochs.get(key) === mine;
    bump(key, -1);
    if (alone && !inFlight.has(key)) {
      const value = after(result);
      if (value !== undefined) items.set(key, value);
    }
    return result;
  };

  db.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      const table = input.TableName as string | undefined;
      switch (context.commandName) {
        case 'GetItemCommand': {
          const key = keyOf(table, input.Key);
          if (key === undefined || input.ProjectionExpression !== undefined || input.AttributesToGet !== undefined) return next(args);
          const cached = items.get(key);
          if (cached !== undefined) {
            stats.hits++;
            return { output: { ...(cached ? { Item: unmarshall(cached) } : {}), $metadata: {} }, response: {} } as never;
          }
          stats.misses++;
          const before = epochs.get(key) ?? 0;
          const result = await next(args);
          const item = (result.output as { Item?: Record<string, unknown> }).Item;
          const known = item ? tryMarshall(item) : null;
          if ((epochs.get(key) ?? 0) === before && !inFlight.has(key) && known !== undefined) items.set(key, known);
          return result;
        }
        case 'PutItemCommand': {
          const key = keyOf(table, input.Item);
          if (key === undefined) return next(args);
          // Marshalled before the call: the item as sent is the item as stored. (What the document
          // client cannot marshall either is left to it to refuse.)
          const stored = tryMarshall(input.Item);
          return write(key, () => next(args), () => stored);
        }
        case 'DeleteItemCommand': {
          const key = keyOf(table, input.Key);
          if (key === undefined) return next(args);
          return write(key, () => next(args), () => null);
        }
        case 'UpdateItemCommand': {
          const key = keyOf(table, input.Key);
          if (key === undefined) return next(args);
          return write(
            key,
            () => next(args),
            (result) => {
              const attributes = (result.output as { Attributes?: Record<string, unknown> }).Attributes;
              return input.ReturnValues === 'ALL_NEW' && attributes ? tryMarshall(attributes) : undefined;
            },
          );
        }
        case 'BatchWriteItemCommand': {
          // Every key it names is forgotten, and counted in flight until the batch returns.
          const keys: string[] = [];
          const requests = (input.RequestItems ?? {}) as Record<string, Array<{ PutRequest?: { Item: unknown }; DeleteRequest?: { Key: unknown } }>>;
          for (const [name, list] of Object.entries(requests)) {
            for (const r of list) {
              const key = keyOf(name, r.PutRequest ? r.PutRequest.Item : r.DeleteRequest?.Key);
              if (key !== undefined) keys.push(key);
            }
          }
          for (const key of keys) bump(key, 1);
          try {
            return await next(args);
          } finally {
            for (const key of keys) bump(key, -1);
          }
        }
        default:
          return next(args);
      }
    },
    { step: 'initialize', name: 'singleWriterItemCache' },
  );
  return stats;
}

/** The item marshalled as the document client sends it, or undefined when it cannot be. */
function tryMarshall(item: unknown): Marshalled | undefined {
  try {
    return marshall(item as Record<string, unknown>, MARSHALL);
  } catch {
    return undefined;
  }
}

/** `table␟pk␟sk`, or undefined for a key this cache does not handle (not string pk/sk). */
function keyOf(table: string | undefined, item: unknown): string | undefined {
  if (table === undefined || typeof item !== 'object' || item === null) return undefined;
  const pk = (item as Record<string, unknown>)[PARTITION_KEY];
  const sk = (item as Record<string, unknown>)[SORT_KEY];
  if (typeof pk !== 'string' || typeof sk !== 'string') return undefined;
  return `${table}\u241f${pk}\u241f${sk}`;
}
