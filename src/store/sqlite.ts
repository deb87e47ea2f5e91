import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely } from 'kysely';
import { systemClock, type Clock } from '../domain/clock.js';
import type { Store } from '../domain/store.js';
import type { Db } from './db.js';
import { acquireFileMutex } from './file-locks.js';
import { GroupCommitter } from './group-commit.js';
import { createKyselyStore } from './kysely-store.js';
import { migrateToLatest } from './migrate.js';
import type { Database } from './schema.js';
import { GaleSqliteDialect } from './sqlite-dialect.js';
import { startWalCheckpointer, type WalCheckpointer } from './wal-checkpointer.js';

const BUSY_TIMEOUT_MS = 5000;
const MEMORY = ':memory:';
// Checkpoints run in a worker (wal-checkpointer.ts); the server's own connection only steps in past ~40 MB of log.
const CHECKPOINT_INTERVAL_MS = 250;
const BACKSTOP_AUTOCHECKPOINT_PAGES = 10_000;
const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

export type SqliteStoreOptions =
  /** The server's and CLI's form: the database is <dataDir>/gale.db, the directory is created if missing. */
  | { dataDir: string; clock?: Clock }
  /** A database file of its own, or ':memory:' for a throwaway database in tests. */
  | { filename: string; clock?: Clock };

export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  let filename: string;
  if ('dataDir' in options) {
    await mkdir(options.dataDir, { recursive: true });
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
    sqlite.pragma('foreign_keys = ON');
    fileMutex = acquireFileMutex(filename === MEMORY ? undefined : realpathSync(filename));
  } catch (error) {
    sqlite.close();
    throw error;
  }

  const { mutex, release } = fileMutex;
  const kysely = new Kysely<Database>({ dialect: new GaleSqliteDialect(sqlite) });
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
  const db: Db = {
    dialect: 'sqlite',
    kysely,
    clock: options.clock ?? systemClock,
    lockRows: false,
    write: (fn) => writes.write(fn),
  };
  return createKyselyStore(db, teardown);
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
