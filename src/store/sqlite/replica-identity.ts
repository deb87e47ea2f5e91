import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { candidateIds, ReplicaIdTakenError, type ReplicaIdentity } from '../../domain/replica-identity.js';

/*
 * On SQLite a replica's id is a file under <dataDir>/replicas/, `<id>.lock`: a small SQLite database this process keeps
 * an EXCLUSIVE transaction open on for its whole life. SQLite takes that lock with fcntl, so the kernel drops it the
 * moment the process dies, however it dies; and SQLite also tells apart two connections of one process, so two servers
 * in one process never share an id either. A PID file could name a live process that is not Gale, or a dead Gale whose
 * PID was reused; this lock cannot.
 *
 * Several processes may serve one data directory (test/store/sqlite-processes.test.ts): each takes the first free id,
 * `local-1`, `local-2`, ... A process started after one died therefore takes the dead one's id (the lowest free) and
 * its leases with it. A configured id (reconciler.replicaId) is that id or nothing: held by another live process, the
 * start is refused.
 */

const LOCAL_BASE = 'local';

export function openSqliteReplicaIdentity(dataDir: string, requested: string | undefined, setting: string): ReplicaIdentity {
  const dir = join(dataDir, 'replicas');
  mkdirSync(dir, { recursive: true });
  for (const id of requested ? [requested] : candidateIds(LOCAL_BASE)) {
    const lock = tryLock(join(dir, `${id}.lock`));
    if (lock) return heldIdentity(id, lock);
  }
  if (requested) {
    throw new ReplicaIdTakenError(
      `replica id "${requested}" (${setting}) is held by another Gale running on the data directory ${dataDir}; give each process its own id, or leave it unset for one to be chosen`,
    );
  }
  throw new Error(`every replica id of the data directory ${dir} is held by a running Gale`);
}

/** The connection holding the file's exclusive lock, or undefined when another connection (of any process) holds it. */
function tryLock(path: string): BetterSqlite3.Database | undefined {
  // timeout 0: a held lock answers SQLITE_BUSY at once instead of being waited for.
  const db = new BetterSqlite3(path, { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE');
    return db;
  } catch (error) {
    db.close();
    if (error instanceof BetterSqlite3.SqliteError && error.code.startsWith('SQLITE_BUSY')) return undefined;
    throw error;
  }
}

function heldIdentity(id: string, lock: BetterSqlite3.Database): ReplicaIdentity {
  return {
    id,
    // Held until close: a kernel lock is not lost while its process lives.
    held: true,
    onChange: () => () => undefined,
    async close() {
      if (!lock.open) return;
      lock.exec('ROLLBACK');
      lock.close();
    },
  };
}
