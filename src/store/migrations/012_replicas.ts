import { PostgresAdapter, type Kysely, type Migration } from 'kysely';

/*
 * Which replicas are alive: each running Gale process keeps one row, its id and when it last said so (by the store's
 * clock: on PostgreSQL the database server's, as for leases), every few seconds (src/replica-liveness.ts). A row not
 * renewed within the liveness window is a dead replica's, and the next heartbeat of any replica deletes it. While the
 * shared rate-limit store is down, each replica allows its share of a user's limit: the limit over this count.
 * Nothing else is kept here, and nothing is lost if the rows are: they are all written again within seconds.
 */
export const replicas: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    await db.schema
      .createTable('replicas')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('last_seen_at', postgres ? 'bigint' : 'integer', (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('replicas').ifExists().execute();
  },
};
