import { setTimeout as sleep } from 'node:timers/promises';
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { systemClock, type Clock } from '../../domain/clock.js';
import type { Store } from '../../domain/store.js';
import { isRetryableTransactionError, isUniqueViolation, QueryCounter, type Db } from '../db.js';
import { databaseClock } from './database-clock.js';
import { PostgresEventListener } from './event-listener.js';
import { eventChannelOf } from '../events.js';
import { dependencyFailure } from '../dependency-errors.js';
import { createKyselyStore } from '../kysely-store.js';
import { migrateToLatest } from '../migrate.js';
import type { Database } from '../schema.js';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Keep Gale's tables in this schema (created if missing), e.g. one per test or per installation. */
  schema?: string;
  clock?: Clock;
  /** Connections in the pool; pg's default is 10. */
  poolSize?: number;
  /** statement_timeout on the server; the client gives up on an answer a second after it. Default 5000. */
  queryTimeoutMs?: number;
  /** The longest wait for a connection, from the pool or newly opened. Default 2000. */
  connectTimeoutMs?: number;
  /** How long opening waits for the database to answer, retrying with backoff; 0 tries once. Default 0. */
  startupTimeoutMs?: number;
  /** Told of each failed attempt while start-up waits for the database. */
  onWaiting?: (reason: string, retryInMs: number) => void;
  /** Told of connections that fail while idle or in use; they are dropped and replaced. */
  onConnectionError?: (error: Error) => void;
}

// Unquoted-identifier form only: the name is spliced into SET search_path and must need no escaping.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;
const MAX_TRANSACTION_ATTEMPTS = 5;

/*
 * Epoch-millisecond timestamps and count(*) come back as int8, which pg hands over as strings to be safe
 * beyond 2^53. Ours stay far below it, so this pool (and only this pool: pg's global parser table is left
 * alone for other users of pg in the process) parses them into numbers.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid PostgreSQL schema name "${schema}": use lower-case letters, digits and underscores`);
  }
  const queryTimeoutMs = options.queryTimeoutMs ?? 5_000;
  // Migrations may take longer than any request should: they run on a pool of their own, without the timeouts.
  await untilReachable(options, async () => {
    const migrating = connect(options, { max: 1 });
    try {
      if (schema) await createSchema(migrating, schema);
      await migrateToLatest(migrating, schema ?? (await currentSchema(migrating)));
    } finally {
      await migrating.destroy();
    }
  });
  const queries = new QueryCounter();
  const kysely = connect(options, {
    max: options.poolSize ?? 10,
    // The server cancels a statement that runs too long (57014); a server that does not answer at all (hung, or a
    // network gone) is given up on by the client a second later. Either way the request is answered, 503.
    options: `-c statement_timeout=${queryTimeoutMs} -c idle_in_transaction_session_timeout=${queryTimeoutMs * 2}`,
    query_timeout: queryTimeoutMs + 1_000,
  }, queries);

  // The database server's clock, which every replica shares, unless a test injects one of its own.
  let serverClock: Awaited<ReturnType<typeof databaseClock>> | undefined;
  try {
    serverClock = options.clock ? undefined : await databaseClock(kysely);
  } catch (error) {
    await kysely.destroy();
    throw error;
  }
  const clock = options.clock ?? serverClock ?? systemClock;
  const eventChannel = eventChannelOf(schema);
  const listener = new PostgresEventListener(options.url, eventChannel, (error) => options.onConnectionError?.(error));
  const db: Db = {
    dialect: 'postgres',
    kysely,
    clock,
    lockRows: true,
    write: (fn) => retrying(() => kysely.transaction().execute(fn)),
    eventChannel,
    // Every replica, this one included, hears of the commit through NOTIFY.
    eventsCommitted: () => undefined,
    subscribeToEvents: (notify) => listener.subscribe(notify),
    queries,
  };
  const store = createKyselyStore(db, async () => {
    serverClock?.close();
    await listener.close();
    await kysely.destroy();
  });
  return { ...store, clock };
}

/** A Kysely on a pool of its own, every connection of which survives its server going away (see onError). */
function connect(options: PostgresStoreOptions, pool: pg.PoolConfig, queries?: QueryCounter): Kysely<Database> {
  const connections = new pg.Pool({ connectionString: options.url, types, connectionTimeoutMillis: options.connectTimeoutMs ?? 2_000, ...pool });
  const onError = (error: Error): void => options.onConnectionError?.(error);
  // A connection the server ends (a restart, pg_terminate_backend, a failover) emits 'error': on the pool while it is
  // idle, on the client itself while it is lent out. Unheard, either kills the process. The statement under way fails
  // (and is answered 503); the pool drops the connection and opens a new one for the next.
  connections.on('error', onError);
  connections.on('connect', (client) => client.on('error', onError));
  const { schema } = options;
  return new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: connections,
      // Every pooled connection, however late it is opened, must resolve names in our schema.
      onCreateConnection: schema
        ? async (connection) => {
            await connection.executeQuery(CompiledQuery.raw(`set search_path to "${schema}"`));
          }
        : undefined,
    }),
    log: queries?.log,
  });
}

/**
 * Runs the first contact with the database again while the database is down or starting (a fleet started with its
 * database, a failover under way), with backoff, until startupTimeoutMs. A refusal that waiting cannot mend (a wrong
 * password, no such database) fails at once.
 */
async function untilReachable(options: PostgresStoreOptions, attempt: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + (options.startupTimeoutMs ?? 0);
  for (let tries = 0; ; tries++) {
    try {
      await attempt();
      return;
    } catch (error) {
      const waitMs = Math.min(5_000, 250 * 2 ** tries);
      const transient = dependencyFailure(error, 'starting') !== undefined;
      if (!transient || Date.now() + waitMs > deadline) throw new Error(`cannot use PostgreSQL at ${describeUrl(options.url)} (GALE_DATABASE_URL): ${(error as Error).message}`, { cause: error });
      options.onWaiting?.((error as Error).message, waitMs);
      await sleep(waitMs);
    }
  }
}

/** The URL without its password, for messages. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(an unparseable URL)';
  }
}

async function createSchema(kysely: Kysely<Database>, schema: string): Promise<void> {
  try {
    await kysely.schema.createSchema(schema).ifNotExists().execute();
  } catch (error) {
    // Two processes creating it at once: IF NOT EXISTS does not stop the loser's catalog insert from clashing.
    if (!isUniqueViolation(error)) throw error;
  }
}

async function currentSchema(kysely: Kysely<Database>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(kysely);
  const name = rows[0]?.schema;
  if (!name) throw new Error('PostgreSQL search_path names no existing schema: set one, or pass a schema to use');
  return name;
}

/** Runs a transaction again after a serialization failure or deadlock, with a short random pause. */
async function retrying<T>(transaction: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (!isRetryableTransactionError(error) || attempt >= MAX_TRANSACTION_ATTEMPTS) throw error;
      await sleep(Math.random() * 10 * attempt);
    }
  }
}
