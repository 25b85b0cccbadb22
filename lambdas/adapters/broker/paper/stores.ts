/**
 * Where the paper account lives: a JSON file in the local state directory, or one item in the
 * TradingState DynamoDB table when the paper broker runs in AWS. Both refuse a save whose
 * expected version is stale, so two writers cannot silently overwrite each other.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from '../../dynamodb/client';
import { TERMINAL_STATUSES } from '../../../core/order-status';
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

/** The history file next to an account file: `<file>` + this suffix. */
export const PAPER_HISTORY_SUFFIX = '.history.jsonl';

/**
 * How much of the account's history the history file holds: the first `orders` orders and the first
 * `executions` executions of the state, in its first `bytes` bytes.
 */
interface Archived {
  orders: number;
  executions: number;
  bytes: number;
}

const NOTHING_ARCHIVED: Archived = { orders: 0, executions: 0, bytes: 0 };

/**
 * Paper account in two files, so a save costs what changed, not the account's whole history:
 *
 *   <file>                 `{ version, archived, state }` JSON, written atomically (temp file +
 *                          rename): the state without its archived history;
 *   <file>.history.jsonl   append-only: one line per archived order (`["o", order]`) or execution
 *                          (`["e", execution]`), in state order.
 *
 * An order is archived once it and every order before it are in a terminal status
 * (TERMINAL_STATUSES: nothing changes them again; the paper engine freezes them); executions never
 * change, so all are archived. `archived` says how many of each the history holds, in how many of
 * its bytes: a save appends the new lines first (after cutting the file back to `archived.bytes`,
 * dropping what a save that crashed before its rename appended), then renames the new account file
 * into place; a load reads exactly `archived.bytes` bytes. An account file without `archived` (as
 * written before the history file existed) holds the whole state. The loaded state is the same
 * either way: history first, then the rest, in order.
 *
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
  private cached: { key: string; value: { state: PaperState; version: number }; archived: Archived } | undefined;
  private readonly history: string;

  constructor(private readonly file: string) {
    this.history = `${file}${PAPER_HISTORY_SUFFIX}`;
  }

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

  /**
   * The account, or undefined when there is none.
   * @throws Error naming the file when the account file or its history is corrupt.
   */
  async load(): Promise<{ state: PaperState; version: number } | undefined> {
    return (await this.loadWithArchive())?.value;
  }

  private async loadWithArchive(): Promise<{ value: { state: PaperState; version: number }; archived: Archived } | undefined> {
    const key = this.fileKey();
    if (key === undefined) return undefined;
    if (this.cached?.key === key) return this.cached;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let parsed: { version: number; state: PaperState; archived?: Archived };
    try {
      parsed = JSON.parse(text) as typeof parsed;
      if (typeof parsed.version !== 'number' || parsed.state?.schema !== 1) throw new Error('unexpected shape');
    } catch (error) {
      throw new Error(`paper account file ${this.file} is corrupt (${(error as Error).message}); restore it or use a new --state-dir`);
    }
    const archived = parsed.archived ?? NOTHING_ARCHIVED;
    const value = { state: archived.bytes > 0 ? this.withHistory(parsed.state, archived) : parsed.state, version: parsed.version };
    // Only cache what the key still describes (the file may have changed between stat and read).
    const loaded = { key, value, archived };
    if (this.fileKey() === key) this.cached = loaded;
    return loaded;
  }

  /** `state` with the archived orders and executions read back from the history file in front. */
  private withHistory(state: PaperState, archived: Archived): PaperState {
    const corrupt = (why: string) =>
      new Error(`paper account history ${this.history} is corrupt (${why}; ${this.file} expects ${archived.orders} orders and ${archived.executions} executions in its first ${archived.bytes} bytes); restore both files or use a new --state-dir`);
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.history);
    } catch (error) {
      throw corrupt((error as Error).message);
    }
    if (bytes.length < archived.bytes) throw corrupt(`it has only ${bytes.length} bytes`);
    const orders: PaperState['orders'] = [];
    const executions: PaperState['executions'] = [];
    const lines = bytes.subarray(0, archived.bytes).toString('utf8').split('\n');
    if (lines.pop() !== '') throw corrupt('its last line is cut');
    lines.forEach((line, i) => {
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch (error) {
        throw corrupt(`line ${i + 1}: ${(error as Error).message}`);
      }
      const [kind, item] = Array.isArray(entry) ? entry : [];
      if (kind === 'o' && typeof item === 'object' && item !== null) orders.push(item as PaperState['orders'][number]);
      else if (kind === 'e' && typeof item === 'object' && item !== null) executions.push(item as PaperState['executions'][number]);
      else throw corrupt(`line ${i + 1} is neither ["o", order] nor ["e", execution]`);
    });
    if (orders.length !== archived.orders || executions.length !== archived.executions) {
      throw corrupt(`it holds ${orders.length} orders and ${executions.length} executions`);
    }
    return { ...state, orders: [...orders, ...state.orders], executions: [...executions, ...state.executions] };
  }

  /**
   * Saves `state` as version `expectedVersion + 1` (1 for a new account): new settled history is
   * appended to the history file, then the account file is replaced atomically.
   * @returns the new version.
   * @throws Error naming the file when the stored version is not `expectedVersion` (another writer
   *   saved first) or the stored account is corrupt; file-system errors as they are.
   */
  async save(state: PaperState, expectedVersion: number | undefined): Promise<number> {
    return withFileLock(this.file, async () => {
      const current = await this.loadWithArchive();
      if (current?.value.version !== expectedVersion) {
        throw new Error(`paper account ${this.file} changed concurrently (expected version ${expectedVersion}, found ${current?.value.version})`);
      }
      const version = (expectedVersion ?? 0) + 1;
      await mkdir(dirname(this.file), { recursive: true });
      // What the history holds stays (it is history); a state that does not start with it (not
      // derived from this account's last save) is archived anew.
      let archived = current?.archived ?? NOTHING_ARCHIVED;
      if (!startsWithArchived(state, current?.value.state, archived)) archived = NOTHING_ARCHIVED;
      const next = { ...archived };
      while (next.orders < state.orders.length && TERMINAL_STATUSES.has(state.orders[next.orders]!.status)) next.orders++;
      next.executions = state.executions.length;
      if (next.orders > archived.orders || next.executions > archived.executions || next.bytes === 0) {
        const lines: string[] = [];
        for (let i = archived.orders; i < next.orders; i++) lines.push(`["o",${itemJson(state.orders[i])}]\n`);
        for (let i = archived.executions; i < next.executions; i++) lines.push(`["e",${itemJson(state.executions[i])}]\n`);
        const text = lines.join('');
        if (text.length > 0 || existsSync(this.history)) {
          // Appended after cutting back to what the account file says, before the account file
          // itself changes: a crash in between leaves lines that no account file counts.
          const fd = openSync(this.history, 'a');
          try {
            ftruncateSync(fd, archived.bytes);
            if (text.length > 0) writeSync(fd, text);
          } finally {
            closeSync(fd);
          }
          next.bytes = archived.bytes + Buffer.byteLength(text, 'utf8');
        }
      }
      const tmp = `${this.file}.${process.pid}.${randomUUID()}.tmp`;
      try {
        // Compact JSON. Written synchronously (a save is a few hundred microseconds of page-cache
        // writes; the asynchronous calls spent more waiting for the thread pool), then renamed into place.
        writeFileSync(tmp, accountJson(version, state, next));
        renameSync(tmp, this.file);
        this.cached = undefined;
        const key = this.fileKey();
        if (key !== undefined) this.cached = { key, value: { state, version }, archived: next };
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
      return version;
    });
  }
}

/** Whether `state` starts with the archived orders and executions of `saved` (the same objects, or equal JSON). */
function startsWithArchived(state: PaperState, saved: PaperState | undefined, archived: Archived): boolean {
  if (archived.orders === 0 && archived.executions === 0) return true;
  if (!saved || state.orders.length < archived.orders || state.executions.length < archived.executions) return false;
  const same = (a: unknown, b: unknown) => a === b || itemJson(a) === itemJson(b);
  for (let i = 0; i < archived.orders; i++) if (!same(state.orders[i], saved.orders[i])) return false;
  for (let i = 0; i < archived.executions; i++) if (!same(state.executions[i], saved.executions[i])) return false;
  return true;
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
 * The account file's text: exactly `JSON.stringify({ version, state })` without `archived` (or with
 * nothing archived), else `JSON.stringify({ version, archived, state })` with the first
 * `archived.orders` orders and `archived.executions` executions left out of the state. The text of
 * each frozen order and execution is serialized once and reused: the account is saved several times
 * a session, and serializing thousands of unchanged orders again on every save dominated long replays.
 */
export function accountJson(version: number, state: PaperState, archived: Archived = NOTHING_ARCHIVED): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(state)) {
    if (value === undefined) continue;
    const skip = key === 'orders' ? archived.orders : key === 'executions' ? archived.executions : 0;
    const text =
      (key === 'orders' || key === 'executions') && Array.isArray(value)
        ? `[${value
            .slice(skip)
            .map((item: unknown) => itemJson(item))
            .join(',')}]`
        : JSON.stringify(value);
    parts.push(`${JSON.stringify(key)}:${text}`);
  }
  const head = archived.bytes > 0 ? `"version":${JSON.stringify(version)},"archived":${JSON.stringify(archived)}` : `"version":${JSON.stringify(version)}`;
  return `{${head},"state":{${parts.join(',')}}}`;
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
