import { randomUUID } from 'node:crypto';
import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/*
 * The providers' own state leaves the domain's tables for one keyed table that each provider reaches through its state
 * port (store/provider-state.ts): the simulator's machines (simulated_machines, 001) and QEMU's bridge addresses
 * (vm_addresses, 008) move into it, row for row, and their tables go. The keys and values written here are those the
 * providers read (providers/simulator/machines.ts, providers/qemu/address-book.ts), spelt out rather than imported,
 * as a migration must not change when the code does. Keys order bytewise: "C" collation on PostgreSQL.
 */

type Tables = {
  provider_state: { provider: string; key: string; value: string; version: number; updated_at: number };
  simulated_machines: {
    instance_id: string;
    status: string;
    internal_ip: string;
    external_ip: string;
    boot_count: number;
    started_at: number | null;
    updated_at: number;
  };
  vm_addresses: { network: string; address: string; instance_id: string; allocated_at: number };
  meta: { key: string; value: string };
};

type StateRow = Tables['provider_state'];

const BATCH = 500;
const INSTALLATION_ID_KEY = 'installation_id';

export const providerState: Migration = {
  async up(untyped: Kysely<unknown>): Promise<void> {
    const db = untyped.withTables<Tables>();
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    await db.schema
      .createTable('provider_state')
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('key', postgres ? sql`text collate "C"` : 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('updated_at', postgres ? 'bigint' : 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('provider_state_pk', ['provider', 'key'])
      .execute();
    await moveSimulatedMachines(db);
    await moveVmAddresses(db);
    await db.schema.dropTable('simulated_machines').execute();
    await db.schema.dropTable('vm_addresses').execute();
  },

  async down(untyped: Kysely<unknown>): Promise<void> {
    const db = untyped.withTables<Tables>();
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    const ms = postgres ? 'bigint' : 'integer';
    await db.schema
      .createTable('simulated_machines')
      .addColumn('instance_id', postgres ? sql`text collate "C"` : 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('internal_ip', 'text', (c) => c.notNull())
      .addColumn('external_ip', 'text', (c) => c.notNull())
      .addColumn('boot_count', 'integer', (c) => c.notNull())
      .addColumn('started_at', ms)
      .addColumn('updated_at', ms, (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('vm_addresses')
      .addColumn('network', 'text', (c) => c.notNull())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('instance_id', 'text', (c) => c.notNull().unique())
      .addColumn('allocated_at', ms, (c) => c.notNull())
      .addPrimaryKeyConstraint('vm_addresses_pk', ['network', 'address'])
      .execute();
    const machines = await db.selectFrom('provider_state').selectAll().where('provider', '=', 'simulator').where('key', 'like', 'machine/%').execute();
    await insertInBatches(machines.map((row) => {
      const m = JSON.parse(row.value) as Machine;
      return { instance_id: m.instanceId, status: m.status, internal_ip: m.internalIp, external_ip: m.externalIp, boot_count: m.bootCount, started_at: m.startedAt, updated_at: m.updatedAt };
    }), (batch) => db.insertInto('simulated_machines').values(batch).onConflict((oc) => oc.doNothing()).execute());
    const holders = await db.selectFrom('provider_state').selectAll().where('provider', '=', 'qemu').where('key', 'like', 'instance/%').execute();
    await insertInBatches(holders.map((row) => {
      const held = JSON.parse(row.value) as { network: string; address: string };
      return { network: held.network, address: held.address, instance_id: row.key.slice('instance/'.length), allocated_at: row.updated_at };
    }), (batch) => db.insertInto('vm_addresses').values(batch).onConflict((oc) => oc.doNothing()).execute());
    await db.schema.dropTable('provider_state').execute();
  },
};

/** What the simulator keeps of a machine, under machine/<installation id>/<instance id>. */
interface Machine {
  instanceId: string;
  status: string;
  internalIp: string;
  externalIp: string;
  bootCount: number;
  startedAt: number | null;
  updatedAt: number;
}

async function moveSimulatedMachines(db: Kysely<Tables>): Promise<void> {
  const any = await db.selectFrom('simulated_machines').select('instance_id').limit(1).executeTakeFirst();
  if (!any) return;
  const installationId = await installationIdOf(db);
  for (let after = ''; ; ) {
    const rows = await db.selectFrom('simulated_machines').selectAll().where('instance_id', '>', after).orderBy('instance_id').limit(BATCH).execute();
    if (rows.length === 0) return;
    const moved = rows.map((row): StateRow => {
      const machine: Machine = {
        instanceId: row.instance_id,
        status: row.status,
        internalIp: row.internal_ip,
        externalIp: row.external_ip,
        bootCount: row.boot_count,
        startedAt: row.started_at,
        updatedAt: row.updated_at,
      };
      return { provider: 'simulator', key: `machine/${installationId}/${row.instance_id}`, value: JSON.stringify(machine), version: 1, updated_at: row.updated_at };
    });
    await db.insertInto('provider_state').values(moved).execute();
    after = rows[rows.length - 1]!.instance_id;
  }
}

/**
 * Each address becomes two keys: address/<network>/<address>, the claim that makes it one instance's (its insert is
 * what two replicas race for), and instance/<instance id>, the one address an instance holds.
 */
async function moveVmAddresses(db: Kysely<Tables>): Promise<void> {
  const rows = await db.selectFrom('vm_addresses').selectAll().orderBy('network').orderBy('address').execute();
  await insertInBatches(
    rows.flatMap((row): StateRow[] => [
      { provider: 'qemu', key: `address/${row.network}/${row.address}`, value: JSON.stringify({ instanceId: row.instance_id }), version: 1, updated_at: row.allocated_at },
      { provider: 'qemu', key: `instance/${row.instance_id}`, value: JSON.stringify({ network: row.network, address: row.address }), version: 1, updated_at: row.allocated_at },
    ]),
    (batch) => db.insertInto('provider_state').values(batch).execute(),
  );
}

/** The installation's id, made here as store.installationId() would make it when an old database never asked for it. */
async function installationIdOf(db: Kysely<Tables>): Promise<string> {
  await db.insertInto('meta').values({ key: INSTALLATION_ID_KEY, value: randomUUID() }).onConflict((oc) => oc.column('key').doNothing()).execute();
  const row = await db.selectFrom('meta').select('value').where('key', '=', INSTALLATION_ID_KEY).executeTakeFirstOrThrow();
  return row.value;
}

async function insertInBatches<R>(rows: R[], insert: (batch: R[]) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < rows.length; start += BATCH) await insert(rows.slice(start, start + BATCH));
}
