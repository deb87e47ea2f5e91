import Database from 'better-sqlite3';
import { join } from 'node:path';
import { createApiKey, createToken, createUser } from '../../src/admin/accounts.js';
import { systemClock } from '../../src/domain/clock.js';
import { newInstanceId } from '../../src/domain/ids.js';
import type { Tiers } from '../../src/domain/tiers.js';
import type { SimulatedMachine } from '../../src/providers/simulator/index.js';
import { openSqliteStore } from '../../src/store/index.js';

export interface SeededUser {
  userId: string;
  token: string;
  apiKey: string;
  apiSecret: string;
  instanceIds: string[];
}

export interface Seed {
  users: SeededUser[];
  admin: SeededUser;
}

/**
 * Users go through the same code as `gale admin`; their instances are written straight into the SQLite file
 * as already-running machines (one transaction, about a second for 100,000), because creating them through the
 * API would leave the reconciler busy booting them during the measurement.
 */
export async function seed(dataDir: string, tiers: Tiers, users: number, instancesPerUser: number): Promise<Seed> {
  const store = await openSqliteStore({ dataDir });
  const seeded: SeededUser[] = [];
  const make = async (admin: boolean): Promise<SeededUser> => {
    const user = await createUser(store, systemClock, tiers, { email: `bench-${seeded.length}-${admin ? 'admin' : 'user'}@bench.local`, tier: 'bench', admin });
    const { apiKey, apiSecret } = await createApiKey(store, systemClock, user.id);
    const { token } = await createToken(store, systemClock, user.id, 86_400_000);
    return { userId: user.id, token, apiKey, apiSecret, instanceIds: [] };
  };
  for (let i = 0; i < users; i++) seeded.push(await make(false));
  const admin = await make(true);
  // The simulator keeps its machines under its installation (providers/simulator/machines.ts).
  const installationId = await store.installationId();
  await store.close();

  const db = new Database(join(dataDir, 'gale.db'));
  const insertInstance = db.prepare(`INSERT INTO instances (id, user_id, zone, machine_type, template_id, vcpus, memory_mb, disk_gb,
    status, external_ip, internal_ip, created_at, desired, deleted_at, generation, reconciled_generation, reset_requested,
    reset_applied, provisioned, work_due_at, lease_owner, lease_until, attempts, last_error)
    VALUES (?, ?, 'us-central1-a', 'e2-micro', 'debian-12-micro', 2, 1024, 10, 'RUNNING', ?, ?, ?, 'RUNNING', NULL, 1, 1, 0, 0, 1,
    NULL, NULL, NULL, 0, NULL)`);
  const insertMachine = db.prepare(`INSERT INTO provider_state (provider, key, value, version, updated_at) VALUES ('simulator', ?, ?, 1, ?)`);
  const machine = (instanceId: string, internalIp: string, externalIp: string, at: number): SimulatedMachine =>
    ({ instanceId, status: 'RUNNING', internalIp, externalIp, bootCount: 1, startedAt: at, updatedAt: at });
  const start = Date.now() - instancesPerUser * users * 1000;
  let n = 0;
  db.transaction(() => {
    for (const user of seeded) {
      for (let i = 0; i < instancesPerUser; i++) {
        const id = newInstanceId(user.userId);
        const internal = `10.128.${(n >> 8) & 255}.${n & 255}`;
        const external = `34.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
        const at = start + n * 1000;
        insertInstance.run(id, user.userId, external, internal, at);
        insertMachine.run(`machine/${installationId}/${id}`, JSON.stringify(machine(id, internal, external, at)), at);
        user.instanceIds.push(id);
        n += 1;
      }
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { users: seeded, admin };
}
