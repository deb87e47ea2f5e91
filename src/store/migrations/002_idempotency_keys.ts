import { PostgresAdapter, type Kysely, type Migration } from 'kysely';

/*
 * Idempotency keys: one row per (user, key), written in the transaction of the change it answers. The composite
 * primary key is what makes concurrent duplicates safe on both engines: a second insert of the same key fails,
 * rolling back the second change with it, and the loser replays the winner's answer.
 */
export const idempotencyKeys: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const ms = db.getExecutor().adapter instanceof PostgresAdapter ? 'bigint' : 'integer';
    await db.schema
      .createTable('idempotency_keys')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('request_hash', 'text', (c) => c.notNull())
      .addColumn('response_status', 'integer', (c) => c.notNull())
      .addColumn('response_body', 'text', (c) => c.notNull())
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('expires_at', ms, (c) => c.notNull())
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['user_id', 'key'])
      .execute();
    // The purge deletes the oldest expired rows a batch at a time.
    await db.schema.createIndex('idempotency_keys_expiry').on('idempotency_keys').column('expires_at').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('idempotency_keys').ifExists().execute();
  },
};
