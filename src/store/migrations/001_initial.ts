import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/*
 * One migration list serves both engines. Types differ only for epoch-millisecond timestamps:
 * SQLite's INTEGER is already 64-bit, PostgreSQL needs BIGINT.
 */

function epochMsType(db: Kysely<unknown>): 'bigint' | 'integer' {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'bigint' : 'integer';
}

export const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const ms = epochMsType(db);

    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('tier', 'text', (c) => c.notNull())
      .addColumn('roles', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('created_at', ms, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('users_email_unique').unique().on('users').column('email').execute();

    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('key_hash', 'text', (c) => c.notNull())
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('revoked_at', ms)
      .execute();
    await db.schema.createIndex('api_keys_key_hash_unique').unique().on('api_keys').column('key_hash').execute();

    await db.schema
      .createTable('tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('token_hash', 'text', (c) => c.notNull())
      .addColumn('expires_at', ms, (c) => c.notNull())
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('revoked_at', ms)
      .execute();
    await db.schema.createIndex('tokens_token_hash_unique').unique().on('tokens').column('token_hash').execute();

    await db.schema
      .createTable('instances')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('zone', 'text', (c) => c.notNull())
      .addColumn('machine_type', 'text', (c) => c.notNull())
      .addColumn('template_id', 'text', (c) => c.notNull())
      .addColumn('vcpus', 'integer', (c) => c.notNull())
      .addColumn('memory_mb', 'integer', (c) => c.notNull())
      .addColumn('disk_gb', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('external_ip', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('internal_ip', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('desired', 'text', (c) => c.notNull())
      .addColumn('deleted_at', ms)
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('reconciled_generation', 'integer', (c) => c.notNull())
      .addColumn('reset_requested', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('reset_applied', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('provisioned', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('work_due_at', ms)
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', ms)
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .execute();
    // Partial on live rows: listUserInstances, getUsage and the quota check never look at deleted ones.
    // id is the tie-break of "newest first", so the index alone yields the order.
    await db.schema
      .createIndex('instances_user_live')
      .on('instances')
      .columns(['user_id', 'created_at', 'id'])
      .where(sql.ref('deleted_at'), 'is', null)
      .execute();
    // The admin listing without a user filter pages through all live instances newest first.
    await db.schema
      .createIndex('instances_live_created')
      .on('instances')
      .columns(['created_at', 'id'])
      .where(sql.ref('deleted_at'), 'is', null)
      .execute();
    // Only rows with work are indexed: the reconciler's queue stays small however many instances exist.
    await db.schema
      .createIndex('instances_work_due')
      .on('instances')
      .column('work_due_at')
      .where(sql.ref('work_due_at'), 'is not', null)
      .execute();

    await db.schema
      .createTable('operations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('instance_id', 'text', (c) => c.notNull())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('created_at', ms, (c) => c.notNull())
      .addColumn('finished_at', ms)
      .addColumn('error', 'text')
      .execute();
    await db.schema.createIndex('operations_instance').on('operations').columns(['instance_id', 'generation']).execute();

    await db.schema
      .createTable('simulated_machines')
      .addColumn('instance_id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('internal_ip', 'text', (c) => c.notNull())
      .addColumn('external_ip', 'text', (c) => c.notNull())
      .addColumn('boot_count', 'integer', (c) => c.notNull())
      .addColumn('started_at', ms)
      .addColumn('updated_at', ms, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('meta')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['meta', 'simulated_machines', 'operations', 'instances', 'tokens', 'api_keys', 'users']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
