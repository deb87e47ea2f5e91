import type { Clock } from '../domain/clock.js';
import type { Store } from '../domain/store.js';
import type { PostgresStoreOptions } from './postgres/store.js';

type PostgresTuning = Omit<PostgresStoreOptions, 'url' | 'schema' | 'clock'>;
import { openSqliteStore } from './sqlite/store.js';

export type { PostgresStoreOptions } from './postgres/store.js';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite/store.js';

/** Loads the PostgreSQL store (and pg) only when one is asked for: a SQLite server never holds it in memory. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const postgres = await import('./postgres/store.js');
  return postgres.openPostgresStore(options);
}

export interface StoreOptions {
  /** Where the SQLite database lives (<dataDir>/gale.db) when no databaseUrl is given. */
  dataDir: string;
  /** A PostgreSQL URL; when set (non-empty) it wins over dataDir. */
  databaseUrl?: string;
  /** PostgreSQL only: the schema to keep Gale's tables in (created if missing); the search_path's first otherwise. */
  schema?: string;
  clock?: Clock;
  /** PostgreSQL: pool size, timeouts, start-up wait and the hooks that report connection trouble. */
  postgres?: PostgresTuning;
}

/** Opens the configured store and brings its schema up to date. */
export function openStore(options: StoreOptions): Promise<Store> {
  if (options.databaseUrl) return openPostgresStore({ ...options.postgres, url: options.databaseUrl, schema: options.schema, clock: options.clock });
  return openSqliteStore({ dataDir: options.dataDir, clock: options.clock });
}
