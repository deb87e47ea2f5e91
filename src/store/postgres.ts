import { setTimeout as sleep } from 'node:timers/promises';
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { systemClock, type Clock } from '../domain/clock.js';
import type { Store } from '../domain/store.js';
import { isRetryableTransactionError, isUniqueViolation, type Db } from './db.js';
import { createKyselyStore } from './kysely-store.js';
import { migrateToLatest } from './migrate.js';
import type { Database } from './schema.js';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Keep Gale's tables in this schema (created if missing), e.g. one per test or per installation. */
  schema?: string;
  clock?: Clock;
  /** Connections in the pool; pg's default is 10. */
  poolSize?: number;
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
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, types });
  // An idle connection that breaks (server restart) is reported here; without a listener it would crash
  // the process. The pool drops it and the next query opens a new one, or fails where it can be handled.
  pool.on('error', () => {});
  const kysely = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool,
      // Every pooled connection, however late it is opened, must resolve names in our schema.
      onCreateConnection: schema
        ? async (connection) => {
            await connection.executeQuery(CompiledQuery.raw(`set search_path to "${schema}"`));
          }
        : undefined,
    }),
  });

  try {
    if (schema) await createSchema(kysely, schema);
    await migrateToLatest(kysely, schema ?? (await currentSchema(kysely)));
  } catch (error) {
    await kysely.destroy();
    throw error;
  }

  const db: Db = {
    dialect: 'postgres',
    kysely,
    clock: options.clock ?? systemClock,
    lockRows: true,
    write: (fn) => retrying(() => kysely.transaction().execute(fn)),
  };
  return createKyselyStore(db, () => kysely.destroy());
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
