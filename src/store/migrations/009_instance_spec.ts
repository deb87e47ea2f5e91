import type { Kysely, Migration } from 'kysely';

/*
 * The instance's spec (domain/instance-spec.ts): what providers are to make of it beyond the columns SQL filters and
 * sums on, as one JSON text column, so that a new field of it needs no migration. Text rather than PostgreSQL's jsonb:
 * it is read whole and never queried into, and one row mapping then serves both engines. Existing rows get '{}', the
 * spec of before there were specs (version 0), which readInstanceSpec upgrades when it reads one.
 */
export const instanceSpec: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('instances').addColumn('spec', 'text', (c) => c.notNull().defaultTo('{}')).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('instances').dropColumn('spec').execute();
  },
};
