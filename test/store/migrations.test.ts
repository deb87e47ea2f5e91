import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { openPostgresStore, openSqliteStore, openStore } from '../../src/store/index.js';
import { forEachStore, postgresTestUrl } from '../helpers/stores.js';
import { addUser, create } from './fixtures.js';

/*
 * Opening migrates, and replicas starting together must not race: on PostgreSQL Kysely's Migrator takes
 * an advisory lock; on SQLite the migrations run in a BEGIN IMMEDIATE transaction (processes: see
 * sqlite-processes.test.ts).
 */

const migrationCount = Object.keys(MIGRATIONS).length;

await forEachStore((factory) => {
  test('stores opened together on a fresh database all come up, and migrate it once', async (t) => {
    if (factory.name === 'sqlite') {
      const dataDir = mkdtempSync(join(tmpdir(), 'gale-migrate-'));
      t.after(() => rmSync(dataDir, { recursive: true, force: true }));
      const stores = await Promise.all(Array.from({ length: 4 }, () => openSqliteStore({ dataDir })));
      t.after(() => Promise.all(stores.map((s) => s.close())));
      const ids = await Promise.all(stores.map((s) => s.installationId()));
      assert.equal(new Set(ids).size, 1);
      const raw = new Database(join(dataDir, 'gale.db'), { readonly: true });
      t.after(() => raw.close());
      assert.deepEqual(raw.prepare('select count(*) as n from kysely_migration').get(), { n: migrationCount });
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    } else {
      const schema = `gale_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
      const admin = new pg.Client({ connectionString: postgresTestUrl() });
      await admin.connect();
      t.after(async () => {
        await admin.query(`drop schema if exists "${schema}" cascade`);
        await admin.end();
      });
      const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore({ url: postgresTestUrl(), schema, poolSize: 2 })));
      t.after(() => Promise.all(stores.map((s) => s.close())));
      const ids = await Promise.all(stores.map((s) => s.installationId()));
      assert.equal(new Set(ids).size, 1);
      const { rows } = await admin.query<{ n: string }>(`select count(*) as n from "${schema}".kysely_migration`);
      assert.equal(Number(rows[0]?.n), migrationCount);
      // Everything lives in the schema asked for, nothing leaks into public.
      const tables = await admin.query<{ table_schema: string }>(
        `select distinct table_schema from information_schema.tables where table_name in ('instances', 'kysely_migration') and table_schema = $1`,
        [schema],
      );
      assert.deepEqual(tables.rows, [{ table_schema: schema }]);
    }
  });

  test('reopening keeps the data and runs nothing again', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    const made = await create(store, user.id);
    await store.close();
    const again = await store.openAnother();
    assert.deepEqual(await again.getInstance(made.id), made);
    assert.deepEqual(await again.getUser(user.id), user);
  });
});

test('openStore picks SQLite under dataDir unless a database URL is given', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gale-openstore-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const store = await openStore({ dataDir: join(dataDir, 'nested'), databaseUrl: '' });
  t.after(() => store.close());
  assert.equal(store.dialect, 'sqlite');
  await store.ping();
});

test("openSqliteStore({ filename: ':memory:' }) is a private throwaway database", async () => {
  const first = await openSqliteStore({ filename: ':memory:' });
  const second = await openSqliteStore({ filename: ':memory:' });
  await addUser(first);
  assert.equal(await first.countUsers(), 1);
  assert.equal(await second.countUsers(), 0);
  await Promise.all([first.close(), second.close()]);
});

test('openPostgresStore refuses a schema name it would have to quote', async () => {
  await assert.rejects(openPostgresStore({ url: postgresTestUrl(), schema: 'x"; drop table users; --' }), /invalid PostgreSQL schema name/);
});

test('a store opens while other schemas of the database are created and dropped (other installations, cleanups)', async (t) => {
  const url = postgresTestUrl();
  const tag = randomUUID().replace(/-/g, '').slice(0, 12);
  const admin = new pg.Client(url);
  await admin.connect();
  let churning = true;
  const churn = (async () => {
    for (let i = 0; churning; i++) {
      const other = `churn_${tag}_${i}`;
      await admin.query(`create schema "${other}"`);
      await admin.query(`create table "${other}".t (id int primary key)`);
      await admin.query(`drop schema "${other}" cascade`);
      // Dropped again and again with a breath between: often enough that a store opening meanwhile meets one.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  const schemas = Array.from({ length: 6 }, (_, i) => `opened_${tag}_${i}`);
  t.after(async () => {
    for (const schema of schemas) await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  });
  try {
    for (const schema of schemas) {
      const store = await openPostgresStore({ url, schema });
      await store.close();
    }
  } finally {
    churning = false;
    await churn;
  }
});

test('SQLite serves the hot reads and the work queue from indexes', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gale-plans-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const store = await openSqliteStore({ dataDir });
  await store.close();
  const raw = new Database(join(dataDir, 'gale.db'), { readonly: true });
  t.after(() => raw.close());
  const plan = (sql: string, ...params: unknown[]) =>
    (raw.prepare(`explain query plan ${sql}`).all(...params) as Array<{ detail: string }>).map((row) => row.detail).join(' | ');

  assert.match(plan('select * from instances where id = ? and deleted_at is null', 'x'), /USING INDEX sqlite_autoindex_instances_1 \(id=\?\)/);
  const byUser = plan('select * from instances where user_id = ? and deleted_at is null order by created_at desc, id desc', 'u');
  assert.match(byUser, /USING INDEX instances_user_live \(user_id=\?\)/);
  assert.doesNotMatch(byUser, /TEMP B-TREE/, 'the index yields the order');
  assert.match(plan('select count(*), sum(vcpus) from instances where user_id = ? and deleted_at is null', 'u'), /instances_user_live/);
  assert.match(plan('select id from instances where deleted_at is null order by created_at desc, id desc limit 10'), /instances_live_created/);
  assert.match(
    plan('select id from instances where work_due_at <= ? and (lease_until is null or lease_until < ?) order by work_due_at limit 5', 1, 1),
    /USING INDEX instances_work_due/,
  );
  assert.match(plan('select count(*) from instances where work_due_at is not null'), /instances_work_due/);
  assert.match(plan('select * from api_keys join users on users.id = api_keys.user_id where key_hash = ?', 'k'), /api_keys_key_hash_unique \(key_hash=\?\)/);
  assert.match(plan('select * from tokens join users on users.id = tokens.user_id where token_hash = ?', 't'), /tokens_token_hash_unique \(token_hash=\?\)/);
});
