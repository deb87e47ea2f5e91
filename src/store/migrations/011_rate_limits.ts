import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/*
 * The table the PostgreSQL rate limiter counts in (api/limiter/backends.ts: rate-limiter-flexible's RateLimiterPostgres,
 * told tableCreated). Made here, with the store's other tables, so that it exists before any replica counts a request:
 * the library would otherwise make it from each limiter's constructor, unawaited (a consume made meanwhile is refused
 * "Table is not created yet"), and replicas starting together race on CREATE TABLE IF NOT EXISTS, which PostgreSQL
 * does not make atomic. The migrator's lock serialises them instead.
 *
 * The columns are the library's own (its _getCreateTableStmt), so that its queries find what they expect. UNLOGGED
 * because every request writes here: a logged table would cost a WAL flush per request, for counts that are worthless a
 * minute later anyway; after a PostgreSQL crash (or on a promoted standby) it starts empty, every window afresh.
 * IF NOT EXISTS: installations from before this migration have the table already, made by the limiter itself, in this
 * same shape; it is kept as it is, counts and all.
 *
 * SQLite: nothing. A SQLite store serves one host, whose limiter counts in memory; only a PostgreSQL store's limiter
 * shares its counts through the database.
 */
export const rateLimits: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    await db.schema
      .createTable('gale_rate_limits')
      .modifyFront(sql`unlogged`)
      .ifNotExists()
      .addColumn('key', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('points', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('expire', 'bigint')
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
    await db.schema.dropTable('gale_rate_limits').ifExists().execute();
  },
};
