/**
 * The state directory's DynamoDB data for dynalite: held in memory, made durable by a write-ahead
 * journal, compacted into a snapshot.
 *
 * dynalite keeps its tables in one key-value store (level). On LevelDB every read and write was a
 * round trip to a libuv thread, about 60 a replayed session, and the thread shared the second core;
 * in memory they cost no wait. Durability is the journal's:
 *
 * - every write dynalite makes (put, del, batch) is appended to `journal.jsonl` as one line, with a
 *   synchronous write, before it is applied in memory and so before dynalite answers the request
 *   (no fsync: like LevelDB's default, a write survives the process crashing, not the machine);
 * - on open, `snapshot.jsonl` and then the journal are read back in order; a last line cut short by
 *   a crash is dropped (its request was never answered); any other unreadable line refuses the open;
 * - once the journal holds more than COMPACT_JOURNAL_BYTES and more than the snapshot, the open
 *   writes the loaded state as a new snapshot (temp file, fsync, rename) and starts an empty
 *   journal. Replaying a journal over a snapshot that already holds it gives the same state (every
 *   record sets or removes whole keys, in order), so a crash between the two renames loses nothing.
 *
 * One process at a time: the directory is locked by LevelDB's own lock (an fcntl lock, released by
 * the system when the process ends) on an empty LevelDB in `lock/`.
 *
 * A directory written by an older version (dynalite's LevelDB files directly in it) is read once
 * into a snapshot; the LevelDB files are then moved to `leveldb-before-journal/`, unchanged.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';

/** A journal larger than this (and than the snapshot) is compacted into the snapshot on open. */
export const COMPACT_JOURNAL_BYTES = 32 * 1024 * 1024;
export const SNAPSHOT_FILE = 'snapshot.jsonl';
export const JOURNAL_FILE = 'journal.jsonl';
export const LEGACY_LEVELDB_DIR = 'leveldb-before-journal';
const SNAPSHOT_HEADER = 'dynalite-snapshot-v1';

/** One write: set `key` to `value` (JSON), or remove it. */
type Op = ['p', string, unknown] | ['d', string];

/** The callback-style methods of dynalite's store.db (db/index.js wrapWithCallbacks) that write. */
export interface DynaliteDb {
  put(key: string, value: unknown, callback: (error?: Error | null) => void): void;
  del(key: string, callback: (error?: Error | null) => void): void;
  batch(operations: Array<{ type: 'put' | 'del'; key: string; value?: unknown }>, callback: (error?: Error | null) => void): void;
}

/** Thrown when the directory cannot be opened: locked by another process, or unreadable data. */
export class StoreOpenError extends Error {
  override name = 'StoreOpenError';
  /** @param inUse true when another process (or another open in this one) holds the directory. */
  constructor(message: string, readonly inUse = false) {
    super(message);
  }
}

/** The loaded state and the open journal of a directory. */
export interface OpenJournal {
  /** Every key and its value, as of the last write before this open. */
  state: Map<string, unknown>;
  /** Appends one write to the journal (synchronously). @throws the file system's error. */
  append(ops: readonly Op[]): void;
  /** Closes the journal and releases the lock. */
  close(): Promise<void>;
}

/**
 * Locks `dir`, reads snapshot and journal (migrating an older LevelDB directory first), compacts
 * when due (a journal over `compactJournalBytes`, default COMPACT_JOURNAL_BYTES, and larger than
 * the snapshot), and opens the journal for appending.
 * @throws StoreOpenError naming the directory when another process holds it, or naming the file
 *   and line of unreadable data.
 */
export async function openJournal(dir: string, options: { compactJournalBytes?: number } = {}): Promise<OpenJournal> {
  const compactAbove = options.compactJournalBytes ?? COMPACT_JOURNAL_BYTES;
  mkdirSync(dir, { recursive: true });
  const lock = new ClassicLevel(join(dir, 'lock'));
  try {
    await lock.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const locked = (error as { code?: string }).code === 'LEVEL_LOCKED' || cause?.code === 'LEVEL_LOCKED';
    throw new StoreOpenError(locked ? `${dir} is in use by another process` : `cannot lock ${dir}: ${(error as Error).message}`, locked);
  }
  try {
    if (existsSync(join(dir, 'CURRENT'))) await migrateLevelDb(dir);
    const state = new Map<string, unknown>();
    const snapshotPath = join(dir, SNAPSHOT_FILE);
    const journalPath = join(dir, JOURNAL_FILE);
    const snapshotBytes = existsSync(snapshotPath) ? readInto(state, snapshotPath, true) : 0;
    const journalBytes = existsSync(journalPath) ? readInto(state, journalPath, false) : 0;
    if (journalBytes > compactAbove && journalBytes > snapshotBytes) {
      writeSnapshot(dir, state);
      replaceFile(journalPath, '');
    } else if (journalBytes > 0 && statSync(journalPath).size !== journalBytes) {
      // Drop a last line cut short by a crash, so the next record starts on a line of its own.
      replaceFile(journalPath, readFileSync(journalPath).subarray(0, journalBytes));
    }
    const fd = openSync(journalPath, 'a');
    return {
      state,
      append(ops) {
        writeSync(fd, `${JSON.stringify(ops)}\n`);
      },
      async close() {
        closeSync(fd);
        await lock.close();
      },
    };
  } catch (error) {
    await lock.close();
    throw error;
  }
}

/**
 * Applies the records of `path` to `state` in order.
 * @returns the bytes read up to the end of the last complete line.
 * @throws StoreOpenError naming the file and line of a record that cannot be read (other than a
 *   journal's last line cut short), or a snapshot without its header.
 */
function readInto(state: Map<string, unknown>, path: string, snapshot: boolean): number {
  const bytes = readFileSync(path);
  let at = 0;
  let line = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf(0x0a, at);
    line += 1;
    if (end === -1) {
      if (snapshot) throw new StoreOpenError(`${path} line ${line}: cut short (no newline at the end of the snapshot)`);
      break; // a journal's last line cut short by a crash: its write was never answered
    }
    const record = bytes.toString('utf8', at, end);
    at = end + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(record);
    } catch (error) {
      throw new StoreOpenError(`${path} line ${line}: not JSON (${(error as Error).message})`);
    }
    if (snapshot && line === 1) {
      if (parsed !== SNAPSHOT_HEADER) throw new StoreOpenError(`${path} line 1: expected the header ${JSON.stringify(SNAPSHOT_HEADER)}`);
      continue;
    }
    const ops = snapshot ? [parsed] : parsed;
    if (!Array.isArray(ops)) throw new StoreOpenError(`${path} line ${line}: expected a list of writes`);
    for (const op of ops) {
      if (Array.isArray(op) && op[0] === 'p' && typeof op[1] === 'string' && op.length === 3) state.set(op[1], op[2]);
      else if (Array.isArray(op) && op[0] === 'd' && typeof op[1] === 'string' && op.length === 2) state.delete(op[1]);
      else throw new StoreOpenError(`${path} line ${line}: not a write: ${JSON.stringify(op).slice(0, 200)}`);
    }
  }
  if (snapshot && line === 0) throw new StoreOpenError(`${path} is empty (expected the header ${JSON.stringify(SNAPSHOT_HEADER)})`);
  return at;
}

/** Writes `state` as the snapshot: temp file, fsync, rename. */
function writeSnapshot(dir: string, state: ReadonlyMap<string, unknown>): void {
  const lines = [JSON.stringify(SNAPSHOT_HEADER)];
  for (const [key, value] of state) lines.push(JSON.stringify(['p', key, value]));
  replaceFile(join(dir, SNAPSHOT_FILE), `${lines.join('\n')}\n`);
}

/** Replaces `path` atomically with `content` (temp file, fsync, rename). */
function replaceFile(path: string, content: string | Uint8Array): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, content);
  const fd = openSync(temp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/**
 * Reads an older directory's LevelDB (dynalite's own, JSON values) into a snapshot, then moves its
 * files (CURRENT first) into LEGACY_LEVELDB_DIR.
 */
async function migrateLevelDb(dir: string): Promise<void> {
  const legacy = new ClassicLevel<string, unknown>(dir, { valueEncoding: 'json' });
  const state = new Map<string, unknown>();
  try {
    for await (const [key, value] of legacy.iterator()) state.set(key, value);
  } catch (error) {
    throw new StoreOpenError(`${dir}: cannot read the LevelDB data of an older version: ${(error as Error).message}`);
  } finally {
    await legacy.close();
  }
  writeSnapshot(dir, state);
  replaceFile(join(dir, JOURNAL_FILE), '');
  const to = join(dir, LEGACY_LEVELDB_DIR);
  mkdirSync(to, { recursive: true });
  const files = readdirSync(dir).filter((f) => f === 'CURRENT' || f === 'LOCK' || f.startsWith('LOG') || f.startsWith('MANIFEST-') || /^\d+\.(log|ldb|sst)$/.test(f));
  for (const file of ['CURRENT', ...files.filter((f) => f !== 'CURRENT')]) renameSync(join(dir, file), join(to, file));
}

/**
 * Makes dynalite's store durable through `journal`: loads `journal.state` into `db` (the in-memory
 * store dynalite created), then appends each later write to the journal before it is applied.
 * @throws the store's error when loading fails.
 */
export async function attachJournal(db: DynaliteDb, journal: OpenJournal): Promise<void> {
  const batch = db.batch.bind(db);
  const all = [...journal.state];
  for (let i = 0; i < all.length; i += 1000) {
    const chunk = all.slice(i, i + 1000).map(([key, value]) => ({ type: 'put' as const, key, value }));
    await new Promise<void>((resolve, reject) => batch(chunk, (error) => (error ? reject(error) : resolve())));
  }
  journal.state.clear();
  const put = db.put.bind(db);
  const del = db.del.bind(db);
  // Write-ahead: a write the journal did not take is not applied, and dynalite answers an error.
  const logged = (ops: Op[], callback: (error?: Error | null) => void, apply: () => void): void => {
    try {
      journal.append(ops);
    } catch (error) {
      setImmediate(callback, error as Error);
      return;
    }
    apply();
  };
  db.put = (key, value, callback) => logged([['p', key, value]], callback, () => put(key, value, callback));
  db.del = (key, callback) => logged([['d', key]], callback, () => del(key, callback));
  db.batch = (operations, callback) =>
    logged(
      operations.map((op): Op => (op.type === 'del' ? ['d', op.key] : ['p', op.key, op.value])),
      callback,
      () => batch(operations, callback),
    );
}
