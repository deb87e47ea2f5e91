import { PostgresAdapter, type Kysely, type Migration } from 'kysely';

/*
 * Addresses Gale hands out on networks it manages (the qemu provider's bridge). The primary key is what keeps two
 * replicas from giving out one address: an allocation is an insert that either wins the (network, address) row or
 * finds it taken and tries the next. instance_id is unique: an instance holds one address at most.
 */
export const vmAddresses: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const ms = db.getExecutor().adapter instanceof PostgresAdapter ? 'bigint' : 'integer';
    await db.schema
      .createTable('vm_addresses')
      .addColumn('network', 'text', (c) => c.notNull())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('instance_id', 'text', (c) => c.notNull().unique())
      .addColumn('allocated_at', ms, (c) => c.notNull())
      .addPrimaryKeyConstraint('vm_addresses_pk', ['network', 'address'])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('vm_addresses').ifExists().execute();
  },
};
