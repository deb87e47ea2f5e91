import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/*
 * Events: every change a client may want to hear of (an instance's status, an operation's state, a deletion), written
 * in the transaction of the change. seq orders them as they committed (store/events.ts keeps it so on PostgreSQL), so
 * a stream resumed from a Last-Event-ID misses nothing and repeats nothing. Kept for retention.eventsMs.
 * Operations also say who asked for them: the owner, or a compute admin acting on the owner's instance.
 */
export const events: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    const ms = postgres ? 'bigint' : 'integer';
    let table = db.schema.createTable('events');
    table = postgres
      ? table.addColumn('seq', 'bigserial', (c) => c.primaryKey())
      : table.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement());
    await table
      .addColumn('at', ms, (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('instance_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .execute();
    // A user's stream resumed from a Last-Event-ID reads their events after it. The janitor prunes the oldest by seq.
    await db.schema.createIndex('events_user_seq').on('events').columns(['user_id', 'seq']).execute();
    await db.schema.alterTable('operations').addColumn('requested_by', 'text').execute();
    // GET /operations: a user's operations newest first (ids are time-ordered).
    await db.schema.createIndex('operations_user').on('operations').columns(['user_id', 'id']).execute();
    await sql`update operations set requested_by = user_id`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('operations_user').ifExists().execute();
    await db.schema.alterTable('operations').dropColumn('requested_by').execute();
    await db.schema.dropTable('events').ifExists().execute();
  },
};
