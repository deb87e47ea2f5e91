import { hostname } from 'node:os';
import pg from 'pg';
import { candidateIds, ReplicaIdTakenError, type ReplicaIdentity } from '../../domain/replica-identity.js';

/*
 * On PostgreSQL a replica's id is guarded by a session-level advisory lock on a connection of its own, held for the
 * life of the process: PostgreSQL drops it when the session ends, so a dead replica's id is free at once, and a second
 * live process asking for the same id is refused. The key is the id within the schema (several installations may
 * share one database, each in its own schema).
 *
 * The session can be lost while the process lives (a database restart, a failover, a hung connection found by the
 * probe). Another process may then take the id, so the replica stops working under it at once (listeners are told,
 * the reconciler is paused) and takes the lock again with backoff; it works again only once it holds it. A lock
 * another process took meanwhile keeps it paused, saying so in the log, until that process is gone.
 */

const PROBE_INTERVAL_MS = 2_000;
const PROBE_TIMEOUT_MS = 5_000;
const RETRY_MAX_MS = 5_000;

export interface PostgresIdentityOptions {
  url: string;
  /** Gale's schema; the session's current schema when absent. */
  schema?: string;
  /** The configured id; absent: the first free of `<host name>-1`, `<host name>-2`, ... */
  requested?: string;
  /** How the setting is named in the refusal: reconciler.replicaId (GALE_REPLICA_ID). */
  setting: string;
  onLost: (error: Error | undefined) => void;
  onHeldByAnother: (id: string) => void;
}

export async function openPostgresReplicaIdentity(options: PostgresIdentityOptions): Promise<ReplicaIdentity> {
  const client = await connect(options.url);
  try {
    const schema = options.schema ?? (await client.query<{ schema: string }>('select current_schema() as schema')).rows[0]!.schema;
    for (const id of options.requested ? [options.requested] : candidateIds(hostname())) {
      if (await tryLock(client, schema, id)) return new GuardedIdentity(id, schema, client, options);
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  await client.end().catch(() => undefined);
  if (options.requested) {
    throw new ReplicaIdTakenError(
      `replica id "${options.requested}" (${options.setting}) is held by another running Gale on this database; give each replica its own id (a StatefulSet ordinal, a host name), or leave it unset for the host name`,
    );
  }
  throw new Error(`every replica id of this host (${hostname()}-N) is held by a running Gale on this database`);
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS, query_timeout: PROBE_TIMEOUT_MS, application_name: 'gale-replica-identity' });
  // Until a GuardedIdentity takes it over, an error is answered by the failing query; this only keeps it from crashing.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function tryLock(client: pg.Client, schema: string, id: string): Promise<boolean> {
  // 64 bits of the md5 of the key: distinct ids never share a lock in practice (hashtext's 32 bits might).
  const result = await client.query<{ locked: boolean }>(
    `select pg_try_advisory_lock(('x' || left(md5($1), 16))::bit(64)::bigint) as locked`,
    [`gale-replica:${schema}:${id}`],
  );
  return result.rows[0]!.locked;
}

class GuardedIdentity implements ReplicaIdentity {
  held = true;
  private readonly listeners = new Set<(held: boolean) => void>();
  private client: pg.Client | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private closed = false;

  constructor(
    readonly id: string,
    private readonly schema: string,
    client: pg.Client,
    private readonly options: PostgresIdentityOptions,
  ) {
    this.watch(client);
  }

  onChange(listener: (held: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The session now holding the lock: its end, or a probe it cannot answer in time, is the lock's loss. */
  private watch(client: pg.Client): void {
    this.client = client;
    client.removeAllListeners('error');
    client.on('error', (error: Error) => this.lost(client, error));
    client.on('end', () => this.lost(client, undefined));
    this.probeTimer = setInterval(() => {
      client.query('select 1').catch((error: Error) => this.lost(client, error));
    }, PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  private lost(client: pg.Client, error: Error | undefined): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    clearInterval(this.probeTimer);
    client.end().catch(() => undefined);
    this.setHeld(false);
    this.options.onLost(error);
    this.retry();
  }

  private retry(): void {
    if (this.closed || this.retryTimer) return;
    const waitMs = Math.min(RETRY_MAX_MS, 100 * 2 ** this.attempts++);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.reacquire();
    }, waitMs);
    this.retryTimer.unref();
  }

  private async reacquire(): Promise<void> {
    let client: pg.Client | undefined;
    try {
      client = await connect(this.options.url);
      const locked = await tryLock(client, this.schema, this.id);
      if (this.closed || !locked) {
        await client.end().catch(() => undefined);
        if (!this.closed && !locked) this.options.onHeldByAnother(this.id);
        this.retry();
        return;
      }
      this.attempts = 0;
      this.watch(client);
      this.setHeld(true);
    } catch {
      await client?.end().catch(() => undefined);
      this.retry();
    }
  }

  private setHeld(held: boolean): void {
    this.held = held;
    for (const listener of this.listeners) listener(held);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    clearInterval(this.probeTimer);
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    // Ending the session releases the advisory lock.
    await client?.end().catch(() => undefined);
  }
}
