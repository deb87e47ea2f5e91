import { sql, type Kysely, type Migration } from 'kysely';

/*
 * Customers: the organisation a user belongs to, as the family's clients know it (customerID). Empty means none.
 * Instances carry their owner's customer so that the admin list filters by it on an index of its own, without a join;
 * users.ts moves a user's live instances along when the user's customer changes.
 */
export const customers: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('users').addColumn('customer_id', 'text', (c) => c.notNull().defaultTo('')).execute();
    await db.schema.alterTable('instances').addColumn('customer_id', 'text', (c) => c.notNull().defaultTo('')).execute();
    await db.schema
      .createIndex('instances_customer_live')
      .on('instances')
      .columns(['customer_id', 'created_at', 'id'])
      .where(sql.ref('deleted_at'), 'is', null)
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('instances_customer_live').ifExists().execute();
    await db.schema.alterTable('instances').dropColumn('customer_id').execute();
    await db.schema.alterTable('users').dropColumn('customer_id').execute();
  },
};
