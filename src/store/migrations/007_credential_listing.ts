import type { Kysely, Migration } from 'kysely';

/*
 * Credentials an operator can list (the admin routes and `gale admin keys list`): each key and token keeps the first
 * characters of its value (credentialPrefix in api/auth-failures.ts uses as many to tell credentials apart), enough to
 * recognise one, far too few to matter if seen. Rows made before this migration have '' and are known by id alone.
 * A user's credentials are listed newest first; users are listed newest first.
 */
export const credentialListing: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('api_keys').addColumn('key_prefix', 'text', (c) => c.notNull().defaultTo('')).execute();
    await db.schema.alterTable('tokens').addColumn('token_prefix', 'text', (c) => c.notNull().defaultTo('')).execute();
    await db.schema.createIndex('api_keys_user').on('api_keys').columns(['user_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('tokens_user').on('tokens').columns(['user_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('users_created').on('users').columns(['created_at', 'id']).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('users_created').ifExists().execute();
    await db.schema.dropIndex('tokens_user').ifExists().execute();
    await db.schema.dropIndex('api_keys_user').ifExists().execute();
    await db.schema.alterTable('tokens').dropColumn('token_prefix').execute();
    await db.schema.alterTable('api_keys').dropColumn('key_prefix').execute();
  },
};
