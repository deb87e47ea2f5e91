import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/*
 * The resync walks instances and machines in pages of ids, and providers outside the database (Docker) pick the
 * machines of a page by comparing ids in JavaScript. Both sides must order ids the same way: byte order. SQLite
 * compares text bytewise already; PostgreSQL uses the database's collation, where en_US ignores the dashes in an id
 * at first. Ids are ASCII, so the "C" collation is exact, and the primary-key indexes are rebuilt to serve it.
 */
export const byteOrderIds: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    await sql`alter table instances alter column id type text collate "C"`.execute(db);
    await sql`alter table simulated_machines alter column instance_id type text collate "C"`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    await sql`alter table instances alter column id type text collate "default"`.execute(db);
    await sql`alter table simulated_machines alter column instance_id type text collate "default"`.execute(db);
  },
};
