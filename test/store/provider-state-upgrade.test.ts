// An installation upgraded past migration 010 keeps its simulated machines and its VM addresses: a database migrated
// to 008 with rows in the old tables, then opened by today's store, over every store.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { systemClock } from '../../src/domain/clock.js';
import type { Store } from '../../src/domain/store.js';
import { stateAddressBook } from '../../src/providers/qemu/address-book.js';
import { createSimulatorProvider, SimulatedMachines } from '../../src/providers/simulator/index.js';
import { migrationProvider } from '../../src/store/migrations/index.js';
import { openPostgresStore, openSqliteStore } from '../../src/store/index.js';
import { forEachStore, postgresTestUrl } from '../helpers/stores.js';

const BEFORE = '008_vm_addresses';
const NET = '10.213.0.0/24';

/** A database at BEFORE, reached without Gale's store, and how to open today's store on it. */
interface OldDatabase {
  kysely: Kysely<unknown>;
  /** Migrates to the latest and opens the store, as an upgraded Gale does at start. */
  openStore(): Promise<Store>;
  cleanup(): Promise<void>;
}

async function sqliteAt(migration: string): Promise<OldDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gale-upgrade-'));
  const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(join(dataDir, 'gale.db')) }) });
  await migrate(kysely, migration);
  return {
    kysely,
    openStore: () => openSqliteStore({ dataDir }),
    async cleanup() {
      await kysely.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function postgresAt(migration: string): Promise<OldDatabase> {
  const schema = `gale_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const pool = new pg.Pool({ connectionString: postgresTestUrl(), max: 2 });
  await pool.query(`create schema "${schema}"`);
  const kysely = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool, onCreateConnection: async (connection) => void (await connection.executeQuery(CompiledQuery.raw(`set search_path to "${schema}"`))) }),
  });
  await migrate(kysely, migration, schema);
  return {
    kysely,
    openStore: () => openPostgresStore({ url: postgresTestUrl(), schema, poolSize: 2 }),
    async cleanup() {
      await sql.raw(`drop schema if exists "${schema}" cascade`).execute(kysely);
      await kysely.destroy();
    },
  };
}

async function migrate(kysely: Kysely<unknown>, migration: string, migrationTableSchema?: string): Promise<void> {
  const { error } = await new Migrator({ db: kysely, provider: migrationProvider, migrationTableSchema }).migrateTo(migration);
  if (error) throw error;
}

const machines = [
  { instance_id: 'tw-aaaaaa-00000001', status: 'RUNNING', internal_ip: '10.128.1.2', external_ip: '34.1.2.3', boot_count: 2, started_at: 1_700_000_000_000, updated_at: 1_700_000_000_500 },
  { instance_id: 'tw-aaaaaa-00000002', status: 'TERMINATED', internal_ip: '10.128.1.3', external_ip: '', boot_count: 1, started_at: null, updated_at: 1_700_000_001_000 },
  { instance_id: 'tw-a-b', status: 'SUSPENDED', internal_ip: '10.128.1.4', external_ip: '34.1.2.4', boot_count: 1, started_at: 1_700_000_002_000, updated_at: 1_700_000_002_000 },
];
const addresses = [
  { network: NET, address: '10.213.0.2', instance_id: 'tq-aaaaaa-00000001', allocated_at: 1_700_000_000_000 },
  { network: NET, address: '10.213.0.4', instance_id: 'tq-aaaaaa-00000002', allocated_at: 1_700_000_001_000 },
];

await forEachStore((factory) => {
  test(`an installation at ${BEFORE} keeps its simulated machines and VM addresses when upgraded, and the old tables go`, async (t) => {
    const old = factory.name === 'sqlite' ? await sqliteAt(BEFORE) : await postgresAt(BEFORE);
    const before = old.kysely.withTables<{ simulated_machines: (typeof machines)[number]; vm_addresses: (typeof addresses)[number] }>();
    await before.insertInto('simulated_machines').values(machines).execute();
    await before.insertInto('vm_addresses').values(addresses).execute();

    const store = await old.openStore();
    const closing: Array<() => Promise<void>> = [() => store.close(), () => old.cleanup()];
    t.after(async () => {
      for (const close of closing) await close();
    });
    const installationId = await store.installationId();
    const kept = new SimulatedMachines(store.providerState('simulator'), installationId);
    assert.deepEqual(
      await kept.list(),
      [...machines]
        .sort((a, b) => (a.instance_id < b.instance_id ? -1 : 1))
        .map((m) => ({ instanceId: m.instance_id, status: m.status, internalIp: m.internal_ip, externalIp: m.external_ip, bootCount: m.boot_count, startedAt: m.started_at, updatedAt: m.updated_at })),
      'every machine, as the simulator reads it, by id in byte order',
    );
    assert.deepEqual((await kept.list({ after: 'tw-a-b', through: 'tw-aaaaaa-00000001' })).map((m) => m.instanceId), ['tw-aaaaaa-00000001']);
    // The simulator made on the upgraded store finds its machines where they were, and drives them on.
    const simulator = createSimulatorProvider({ state: store.providerState('simulator'), installationId, clock: systemClock, delayMs: 0 });
    closing.unshift(() => simulator.close());
    assert.deepEqual(await simulator.inspect('tw-aaaaaa-00000001'), { status: 'RUNNING', internalIp: '10.128.1.2', externalIp: '34.1.2.3', startedAt: 1_700_000_000_000 });
    await simulator.start('tw-aaaaaa-00000002');
    assert.equal((await kept.get('tw-aaaaaa-00000002'))?.machine.bootCount, 2);

    const book = stateAddressBook(store.providerState('qemu'));
    const hosts = ['10.213.0.2', '10.213.0.3', '10.213.0.4', '10.213.0.5'];
    assert.equal(await book.allocate(NET, 'tq-aaaaaa-00000002', hosts), '10.213.0.4', 'an instance keeps the address it held');
    assert.equal(await book.allocate(NET, 'tq-new', hosts), '10.213.0.3', 'held addresses are not handed out again');
    assert.equal(await book.allocate(NET, 'tq-newer', hosts), '10.213.0.5');
    await book.release('tq-aaaaaa-00000001');
    assert.equal(await book.allocate(NET, 'tq-newest', hosts), '10.213.0.2', 'a moved address is freed as any other');

    for (const table of ['simulated_machines', 'vm_addresses']) {
      await assert.rejects(sql.raw(`select count(*) from ${table}`).execute(old.kysely), /no such table|does not exist/, `${table} is dropped`);
    }
  });

  test('an installation at 008 with nothing in the old tables upgrades to an empty provider state', async (t) => {
    const old = factory.name === 'sqlite' ? await sqliteAt(BEFORE) : await postgresAt(BEFORE);
    const store = await old.openStore();
    t.after(async () => {
      await store.close();
      await old.cleanup();
    });
    assert.deepEqual(await store.providerState('simulator').list(''), []);
    assert.deepEqual(await store.providerState('qemu').list(''), []);
  });
});
