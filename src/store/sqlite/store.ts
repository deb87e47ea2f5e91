import { statfs } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { accessSync, constants, existsSync, mkdirSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely } from 'kysely';
import { systemClock, type Clock } from '../../domain/clock.js';
import type { Store } from '../../domain/store.js';
import { EventListeners, QueryCounter, type Db } from '../db.js';
import { dependencyFailure } from '../dependency-errors.js';
import { acquireFileMutex } from './file-locks.js';
import { GroupCommitter } from './group-commit.js';
import { createKyselyStore } from '../kysely-store.js';
import { migrateToLatest } from '../migrate.js';
import type { Database } from '../schema.js';
import { GaleSqliteDialect } from './dialect.js';
import { startWalCheckpointer, type WalCheckpointer } from './wal-checkpointer.js';

const BUSY_TIMEOUT_MS = 5000;
const PAGE_CACHE_KIB = 48 * 1024;
const MEMORY = ':memory:';
// Checkpoints run in a worker (wal-checkpointer.ts); the server's own connection only steps in past ~40 MB of log.
const CHECKPOINT_INTERVAL_MS = 250;
const BACKSTOP_AUTOCHECKPOINT_PAGES = 10_000;
// Each time the log starts over, its file is cut back to this: a burst of writes must not keep its space for ever.
const WAL_SIZE_LIMIT_BYTES = 1024 * 1024;
const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

export type SqliteStoreOptions =
  /** The server's and CLI's form: the database is <dataDir>/gale.db, the directory is created if missing. */
  | { dataDir: string; clock?: Clock }
  /** A database file of its own, or ':memory:' for a throwaway database in tests. */
  | { filename: string; clock?: Clock };

export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  let filename: string;
  if ('dataDir' in options) {
    ensureDataDir(options.dataDir);
    filename = join(options.dataDir, 'gale.db');
  } else {
    filename = options.filename;
  }

  // The timeout is SQLite's busy_timeout, set from the start: switching to WAL below may already have to
  // wait for another process.
  const sqlite = new BetterSqlite3(filename, { timeout: BUSY_TIMEOUT_MS });
  let fileMutex: ReturnType<typeof acquireFileMutex>;
  try {
    // WAL: readers never block the writer nor each other. NORMAL skips the fsync per commit: an application
    // crash loses nothing, a power loss or OS crash may lose the last commits but never corrupts the file.
    if (filename !== MEMORY) await enableWal(sqlite);
    sqlite.pragma('synchronous = NORMAL');
    // Up to 48 MiB of pages kept in memory (SQLite's default is 2 MiB): the hot reads are random primary-key lookups,
    // and past the default each missed page is a read system call. Pages are cached only as they are read.
    sqlite.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    sqlite.pragma('foreign_keys = ON');
    // Every write of a group commit runs in a savepoint (group-commit.ts), whose journal of the pages it changes goes to
    // a temporary file by default: a pwrite a page. In memory it is a copy, and it is only ever a few pages a write.
    // The setting covers SQLite's other temporary files too: a sort larger than the sorter's memory (a listing with no
    // index for its order) is kept in memory instead of spilled to a file.
    sqlite.pragma('temp_store = MEMORY');
    fileMutex = acquireFileMutex(filename === MEMORY ? undefined : realpathSync(filename));
  } catch (error) {
    sqlite.close();
    throw error;
  }

  const { mutex, release } = fileMutex;
  const queries = new QueryCounter();
  const dialect = new GaleSqliteDialect(sqlite, () => mutex.commits);
  const kysely = new Kysely<Database>({ dialect, log: queries.log });
  let checkpointer: WalCheckpointer | undefined;
  const teardown = async (): Promise<void> => {
    await checkpointer?.close();
    await kysely.destroy();
    release();
  };
  try {
    await mutex.run(() => migrateToLatest(kysely));
    if (filename !== MEMORY) {
      sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
      checkpointer = startWalCheckpointer(filename, { intervalMs: CHECKPOINT_INTERVAL_MS, busyTimeoutMs: BUSY_TIMEOUT_MS, driver: DRIVER });
    }
  } catch (error) {
    await teardown();
    throw error;
  }

  const writes = new GroupCommitter(kysely, mutex, () => sqlite.inTransaction);
  const disk = new DiskWatch(sqlite, filename, () => dialect.endReadTurn());
  // Every write happens in this process: it tells its own listeners, after the commit.
  const listeners = new EventListeners();
  const db: Db = {
    dialect: 'sqlite',
    kysely,
    clock: options.clock ?? systemClock,
    lockRows: false,
    write: (fn) => disk.watched(() => writes.write(fn)),
    eventsCommitted: () => listeners.notify(),
    subscribeToEvents: (listener) => listeners.add(listener),
    queries,
    readNow: (query) => dialect.readNow(query),
  };
  const store = createKyselyStore(db, teardown);
  if (filename === MEMORY) return store;
  // A write that succeeds says the disk has room again; only while none has, a probe write asks.
  const probe = () => db.write((trx) => trx.updateTable('meta').set((eb) => ({ value: eb.ref('value') })).where('key', '=', 'installation_id').execute());
  return { ...store, diskStatus: () => disk.status(probe) };
}

/**
 * The data disk, as the writes find it. A write refused for space marks the disk full (readiness fails, naming it)
 * and empties the write-ahead log at once, so that the space its growth took is the first to come back. The mark is
 * cleared by a write that succeeds with room for a whole log left (the space the log just gave back is not room
 * enough: it would fill again at once); readiness probes with such a write while it is set, so recovery needs no
 * traffic.
 */
class DiskWatch {
  private fullSince: number | undefined;

  constructor(
    private readonly sqlite: BetterSqlite3.Database,
    private readonly filename: string,
    private readonly endReadTurn: () => void,
  ) {
    sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  }

  async watched<T>(write: () => Promise<T>): Promise<T> {
    try {
      const result = await write();
      // Only with room for a whole log: a write that fitted in the space the truncated log gave back proves nothing.
      if (this.fullSince !== undefined && (await this.roomForLog())) this.fullSince = undefined;
      return result;
    } catch (error) {
      if (dependencyFailure(error)?.dependency === 'disk') this.full();
      throw error;
    }
  }

  private async roomForLog(): Promise<boolean> {
    const free = await freeBytes(this.filename);
    return free === undefined || free >= WAL_SIZE_LIMIT_BYTES;
  }

  private full(): void {
    if (this.fullSince !== undefined) return;
    this.fullSince = Date.now();
    setImmediate(() => {
      // Not inside another batch's transaction, nor holding a read snapshot: a checkpoint there cannot truncate.
      this.endReadTurn();
      if (this.sqlite.inTransaction) return;
      try {
        this.sqlite.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // Readers still on the old log, or the disk too full even for this: the next full write tries again.
      }
    });
  }

  async status(probe: () => Promise<unknown>): Promise<string> {
    const free = await freeBytes(this.filename);
    if (this.fullSince !== undefined) {
      const since = new Date(this.fullSince).toISOString();
      const left = free === undefined ? '' : ` (${formatBytes(free)} free)`;
      if (free !== undefined && free < WAL_SIZE_LIMIT_BYTES) throw new Error(`full: writes fail for space since ${since}${left}`);
      await probe().catch((error: unknown) => {
        throw new Error(`full: writes fail for space since ${since}${left}`, { cause: error });
      });
    }
    return free === undefined ? 'ok' : `ok, ${formatBytes(free)} free`;
  }
}

async function freeBytes(filename: string): Promise<number | undefined> {
  try {
    const stats = await statfs(filename);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${Math.round(bytes / 1024)} KB`;
}

/**
 * Makes the data directory (and its missing parents) one level at a time, and checks it can be written. Node's
 * recursive mkdir loops for ever where a parent refuses children without saying so (/proc), and a directory that
 * cannot be written would only fail later, less clearly.
 */
function ensureDataDir(dataDir: string): void {
  const wanted = resolve(dataDir);
  const missing: string[] = [];
  for (let dir = wanted; !existsSync(dir); dir = dirname(dir)) {
    missing.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  try {
    for (const dir of missing) mkdirSync(dir);
    accessSync(wanted, constants.W_OK);
  } catch (error) {
    throw new Error(`the data directory ${wanted} (dataDir, GALE_DATA_DIR) cannot be used: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Switching a new database to WAL needs an exclusive lock, and when another process is opening the same new
 * database at that moment SQLite reports SQLITE_BUSY at once instead of waiting out busy_timeout. So we wait
 * here, yielding to the event loop, until the other process is done (the mode is persistent: it then is WAL).
 */
async function enableWal(sqlite: BetterSqlite3.Database): Promise<void> {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      sqlite.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const busy = error instanceof BetterSqlite3.SqliteError && error.code.startsWith('SQLITE_BUSY');
      if (!busy || Date.now() > deadline) throw error;
      await sleep(10 + Math.random() * 40);
    }
  }
}
