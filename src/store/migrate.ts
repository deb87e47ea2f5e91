import { Migrator, type Kysely } from 'kysely';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';

/**
 * Brings the schema up to date at open time. Concurrent starts are safe: on PostgreSQL Kysely holds an
 * advisory lock and runs the pending migrations in one transaction after re-reading which ran; on SQLite
 * our dialect runs them in a BEGIN IMMEDIATE transaction (see sqlite-dialect.ts), which excludes every
 * other process's writer for the same effect.
 *
 * migrationTableSchema must be given on PostgreSQL: without it Kysely looks for its bookkeeping tables in
 * every schema of the database and would take another schema's for ours.
 */
export async function migrateToLatest(db: Kysely<Database>, migrationTableSchema?: string): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableSchema });
  const { error, results } = await migrator.migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((result) => result.status === 'Error')?.migrationName;
  const reason = error instanceof Error ? error.message : String(error);
  throw new Error(`database migration ${failed ?? '(setup)'} failed: ${reason}`, { cause: error });
}
