import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Store } from '../../src/domain/store.js';
import { machineSpecOf } from '../../src/reconciler/reconcile-instance.js';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { openPostgresStore, openSqliteStore, openStore } from '../../src/store/index.js';
import type { Database as Tables } from '../../src/store/schema.js';
import { GaleSqliteDialect } from '../../src/store/sqlite/dialect.js';
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

  test('009 gives the instances of an older database the first spec, keeping the rest of their data', async (t) => {
    // A database as a Gale from before 009 left it: migrated through 008, with a user and an instance of its own.
    let older: Kysely<Tables>;
    let openMigrated: () => Promise<Store>;
    let migrationTableSchema: string | undefined;
    if (factory.name === 'sqlite') {
      const dataDir = mkdtempSync(join(tmpdir(), 'gale-migrate-009-'));
      t.after(() => rmSync(dataDir, { recursive: true, force: true }));
      older = new Kysely<Tables>({ dialect: new GaleSqliteDialect(new Database(join(dataDir, 'gale.db'))) });
      openMigrated = () => openSqliteStore({ dataDir });
    } else {
      const schema = `gale_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
      const admin = new pg.Client({ connectionString: postgresTestUrl() });
      await admin.connect();
      await admin.query(`create schema "${schema}"`);
      t.after(async () => {
        await admin.query(`drop schema if exists "${schema}" cascade`);
        await admin.end();
      });
      migrationTableSchema = schema;
      const pool = new pg.Pool({ connectionString: postgresTestUrl(), max: 1, options: `-c search_path=${schema}` });
      older = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
      openMigrated = () => openPostgresStore({ url: postgresTestUrl(), schema });
    }
    const through008 = Object.fromEntries(Object.entries(MIGRATIONS).filter(([name]) => name < '009'));
    const { error } = await new Migrator({ db: older, provider: { getMigrations: async () => through008 }, migrationTableSchema }).migrateToLatest();
    assert.equal(error, undefined);
    await older.insertInto('users').values({ id: 'u-old', email: 'old@example.com', tier: 'small', roles: '[]', created_at: 1 }).execute();
    const row = {
      id: 'tw-000000-00000001',
      user_id: 'u-old',
      zone: 'zone-a',
      machine_type: 'e2-small',
      template_id: 'ubuntu-22-standard',
      vcpus: 2,
      memory_mb: 2048,
      disk_gb: 20,
      status: 'RUNNING',
      external_ip: '203.0.113.7',
      internal_ip: '10.0.0.7',
      created_at: 1_000,
      desired: 'RUNNING',
      deleted_at: null,
      generation: 2,
      reconciled_generation: 1,
      reset_requested: 0,
      reset_applied: 0,
      provisioned: 1,
      work_due_at: 2_000,
      lease_owner: null,
      lease_until: null,
      last_error: null,
    };
    await older.insertInto('instances').values(row).execute();
    await older.destroy();

    const store = await openMigrated();
    t.after(() => store.close());
    assert.deepEqual(await store.getInstance(row.id), {
      id: row.id,
      userId: 'u-old',
      customerId: '',
      zone: 'zone-a',
      machineType: 'e2-small',
      templateId: 'ubuntu-22-standard',
      vcpus: 2,
      memoryMb: 2048,
      diskGb: 20,
      spec: { version: 1 },
      status: 'RUNNING',
      externalIp: '203.0.113.7',
      internalIp: '10.0.0.7',
      createdAt: 1_000,
      desired: 'RUNNING',
      deletedAt: null,
      generation: 2,
      reconciledGeneration: 1,
      resetRequested: 0,
      resetApplied: 0,
      provisioned: true,
    });
    const [claimed] = await store.claimDue('r1', 2_000, 1_000, 10);
    assert.equal(claimed?.id, row.id);
    assert.deepEqual(machineSpecOf(claimed!, (templateId) => templateId).spec, { version: 1 }, 'the provider is given the upgraded spec');
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
