import assert from 'node:assert/strict';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely } from 'kysely';
import { migrateToLatest } from '../../src/store/migrate.js';
import { statement } from '../../src/store/precompiled.js';
import type { Database } from '../../src/store/schema.js';
import { GaleSqliteDialect } from '../../src/store/sqlite/dialect.js';

/*
 * A precompiled statement is built once with placeholders and then run with each call's own arguments: every call
 * must bind its own values (never a previous call's, never a placeholder), keep the builder's constants, and run on
 * whatever it is given, the root or a transaction.
 */

async function database(): Promise<Kysely<Database>> {
  const kysely = new Kysely<Database>({ dialect: new GaleSqliteDialect(new BetterSqlite3(':memory:')) });
  await migrateToLatest(kysely);
  return kysely;
}

test('each call binds its own arguments and keeps the constants, on the root and in a transaction', async (t) => {
  const kysely = await database();
  t.after(() => kysely.destroy());
  const insertUser = statement((q, user: { id: string; email: string; createdAt: number }) =>
    q.insertInto('users').values({ id: user.id, email: user.email, tier: 'free', roles: '[]', created_at: user.createdAt }),
  );
  const selectUser = statement((q, { id }: { id: string }) => q.selectFrom('users').select(['id', 'email', 'tier', 'created_at']).where('id', '=', id));

  await insertUser(kysely, { id: 'u1', email: 'one@example.test', createdAt: 1 });
  await kysely.transaction().execute(async (trx) => {
    await insertUser(trx, { id: 'u2', email: 'two@example.test', createdAt: 2 });
    assert.deepEqual((await selectUser(trx, { id: 'u2' })).rows, [{ id: 'u2', email: 'two@example.test', tier: 'free', created_at: 2 }]);
  });
  assert.deepEqual((await selectUser(kysely, { id: 'u1' })).rows, [{ id: 'u1', email: 'one@example.test', tier: 'free', created_at: 1 }]);
  assert.deepEqual((await selectUser(kysely, { id: 'nobody' })).rows, []);
  const placeholders = await kysely.selectFrom('users').select('id').where('email', 'like', '%gale-precompiled%').execute();
  assert.deepEqual(placeholders, [], 'no placeholder reached the database');
});

test('a builder that spreads its arguments is refused instead of silently dropping them', async (t) => {
  const kysely = await database();
  t.after(() => kysely.destroy());
  const spreading = statement((q, user: { id: string; email: string }) =>
    q.insertInto('users').values({ ...user, tier: 'free', roles: '[]', created_at: 0 }),
  );
  await assert.rejects(async () => spreading(kysely, { id: 'u1', email: 'one@example.test' }), /must name each argument/);
});
