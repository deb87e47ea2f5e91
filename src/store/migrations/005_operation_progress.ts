import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/*
 * Operations as the API shows them: started_at is stamped when the reconciler claims the work an operation belongs to
 * (PENDING -> RUNNING). An idempotent answer keeps its headers as well as its body (a 202 carries Location), as JSON.
 * The reconciler finds an instance's pending operations on every claim and every result: a partial index on them
 * keeps that a lookup of a few rows however long the instance's history grows.
 */
export const operationProgress: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const ms = db.getExecutor().adapter instanceof PostgresAdapter ? 'bigint' : 'integer';
    await db.schema.alterTable('operations').addColumn('started_at', ms).execute();
    await db.schema.createIndex('operations_pending').on('operations').column('instance_id').where(sql.ref('state'), '=', 'pending').execute();
    // The janitor prunes the oldest finished operations a batch at a time (config retention.operationsMs).
    await db.schema.createIndex('operations_finished').on('operations').column('finished_at').where(sql.ref('finished_at'), 'is not', null).execute();
    await db.schema.alterTable('idempotency_keys').addColumn('response_headers', 'text', (c) => c.notNull().defaultTo('{}')).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('idempotency_keys').dropColumn('response_headers').execute();
    await db.schema.dropIndex('operations_finished').ifExists().execute();
    await db.schema.dropIndex('operations_pending').ifExists().execute();
    await db.schema.alterTable('operations').dropColumn('started_at').execute();
  },
};
