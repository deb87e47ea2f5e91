import { Migrator, type Kysely, type MigrationResult } from 'kysely';
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
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (error === undefined) return;
    // Kysely's setup reads the tables of every schema of the database; another schema dropped meanwhile (another
    // installation, a test's cleanup) fails that read with "schema ... does not exist". Nothing was done: read again.
    if (attempt < SETUP_ATTEMPTS && results === undefined && codeOf(error) === INVALID_SCHEMA_NAME) {
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      continue;
    }
    failed(error, results);
  }
}

const SETUP_ATTEMPTS = 10;
const INVALID_SCHEMA_NAME = '3F000';

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

function failed(error: unknown, results: MigrationResult[] | undefined): never {
  const migration = results?.find((result) => result.status === 'Error')?.migrationName;
  const reason = error instanceof Error ? error.message : String(error);
  throw new Error(`database migration ${migration ?? '(setup)'} failed: ${reason}`, { cause: error });
}
