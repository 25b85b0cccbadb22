/**
 * Where the paper account lives: a JSON file in the local state directory, or one item in the
 * TradingState DynamoDB table when the paper broker runs in AWS. Both refuse a save whose
 * expected version is stale, so two writers cannot silently overwrite each other.
 */
import { randomUUID } from 'node:crypto';
import { renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../../dynamodb/client';
import type { PaperState } from './engine';
import type { PaperAccountStore } from './paper-broker';

/** Saves in flight per resolved file path: the version check and the rename must not interleave. */
const fileLocks = new Map<string, Promise<void>>();

/** Runs `fn` after every earlier `withFileLock` call on the same file has settled (this process only). */
async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const key = resolve(file);
  const run = (fileLocks.get(key) ?? Promise.resolve()).then(fn);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  fileLocks.set(key, settled);
  try {
    return await run;
  } finally {
    if (fileLocks.get(key) === settled) fileLocks.delete(key);
  }
}

/**
 * Paper account as `{ version, state }` JSON in one file; writes are atomic (temp file + rename).
 * Saves are serialized per file within a process, so of two saves expecting the same version exactly
 * one succeeds; writers in separate processes are not coordinated.
 */
export class FilePaperAccountStore implements PaperAccountStore {
  /**
   * The last file version read or written, keyed by its inode, size and mtime (ns): a replay reads
   * the account some 30 times a session, and re-parsing a file that grows past a megabyte dominated
   * it. Any change to the file by another writer (every save renames a new file into place) misses
   * the cache. After a save the cache holds the state just written, as the next load would parse it:
   * the engine's states are plain JSON data (strings, numbers, booleans, null, arrays and objects,
   * no undefined fields), so the text written parses back to an equal state. The state is shared
   * with the caller, which must not mutate it (the paper engine copies before any change).
   */
  private cached: { key: string; value: { state: PaperState; version: number } } | undefined;

  constructor(private readonly file: string) {}

  /**
   * The file's version key. A synchronous stat: the account is read some 70 times a session, and a
   * stat is microseconds, less than the thread-pool round trip of an asynchronous one.
   */
  private fileKey(): string | undefined {
    try {
      const st = statSync(this.file, { bigint: true });
      return `${st.ino}:${st.size}:${st.mtimeNs}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async load(): Promise<{ state: PaperState; version: number } | undefined> {
    const key = this.fileKey();
    if (key === undefined) return undefined;
    if (this.cached?.key === key) return this.cached.value;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as { version: number; state: PaperState };
      if (typeof parsed.version !== 'number' || parsed.state?.schema !== 1) throw new Error('unexpected shape');
      // Only cache what the key still describes (the file may have changed between stat and read).
      if (this.fileKey() === key) this.cached = { key, value: parsed };
      return parsed;
    } catch (error) {
      throw new Error(`paper account file ${this.file} is corrupt (${(error as Error).message}); restore it or use a new --state-dir`);
    }
  }

  async save(state: PaperState, expectedVersion: number | undefined): Promise<number> {
    return withFileLock(this.file, async () => {
      const current = await this.load();
      if (current?.version !== expectedVersion) {
        throw new Error(`paper account ${this.file} changed concurrently (expected version ${expectedVersion}, found ${current?.version})`);
      }
      const version = (expectedVersion ?? 0) + 1;
      await mkdir(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.${randomUUID()}.tmp`;
      try {
        // Compact JSON: the file holds the account's whole history, rewritten on every save.
        // Written synchronously (a save is a few hundred microseconds of page-cache writes; the
        // asynchronous calls spent more waiting for the thread pool), then renamed into place.
        writeFileSync(tmp, accountJson(version, state));
        renameSync(tmp, this.file);
        this.cached = undefined;
        const key = this.fileKey();
        if (key !== undefined) this.cached = { key, value: { state, version } };
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
      return version;
    });
  }
}

/** JSON text of frozen orders and executions (never changed again: engine copyForChange), by object. */
const frozenJson = new WeakMap<object, string>();

/** `JSON.stringify(value)`, remembered for a frozen object. */
function itemJson(value: unknown): string {
  if (typeof value !== 'object' || value === null || !Object.isFrozen(value)) return JSON.stringify(value) ?? 'null';
  let text = frozenJson.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    frozenJson.set(value, text);
  }
  return text;
}

/**
 * Exactly `JSON.stringify({ version, state })`, with the text of each frozen order and execution
 * serialized once and reused: the account keeps its whole history and is saved several times a
 * session, and serializing thousands of unchanged orders again on every save dominated long replays.
 */
export function accountJson(version: number, state: PaperState): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(state)) {
    if (value === undefined) continue;
    const text = (key === 'orders' || key === 'executions') && Array.isArray(value) ? `[${value.map((item: unknown) => itemJson(item)).join(',')}]` : JSON.stringify(value);
    parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{"version":${JSON.stringify(version)},"state":{${parts.join(',')}}}`;
}

/** Paper account as one DynamoDB item (pk PAPER, sk ACCOUNT#<id>); must stay under 400 KB. */
export class DynamoPaperAccountStore implements PaperAccountStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly accountId = 'paper',
  ) {}

  async load(): Promise<{ state: PaperState; version: number } | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: 'PAPER', sk: `ACCOUNT#${this.accountId}` }, ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    return { state: JSON.parse(out.Item.data as string) as PaperState, version: out.Item.version as number };
  }

  async save(state: PaperState, expectedVersion: number | undefined): Promise<number> {
    const version = (expectedVersion ?? 0) + 1;
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: 'PAPER', sk: `ACCOUNT#${this.accountId}`, data: JSON.stringify(state), version },
          ConditionExpression: expectedVersion === undefined ? 'attribute_not_exists(sk)' : 'version = :expected',
          ...(expectedVersion === undefined ? {} : { ExpressionAttributeValues: { ':expected': expectedVersion } }),
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new Error(`paper account ${this.accountId} changed concurrently (expected version ${expectedVersion})`);
      throw error;
    }
    return version;
  }
}
