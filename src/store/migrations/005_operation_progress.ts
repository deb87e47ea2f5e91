import { PostgresAdapter, type Kysely, type Migration } from 'kysely';

/*
 * Operations as the API shows them: started_at is stamped when the reconciler claims the work an operation belongs to
 * (PENDING -> RUNNING). An idempotent answer keeps its headers as well as its body (a 202 carries Location), as JSON.
 */
export const operationProgress: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const ms = db.getExecutor().adapter instanceof PostgresAdapter ? 'bigint' : 'integer';
    await db.schema.alterTable('operations').addColumn('started_at', ms).execute();
    await db.schema.alterTable('idempotency_keys').addColumn('response_headers', 'text', (c) => c.notNull().defaultTo('{}')).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('idempotency_keys').dropColumn('response_headers').execute();
    await db.schema.alterTable('operations').dropColumn('started_at').execute();
  },
};
