import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKey, createToken, createUser } from '../../src/admin/accounts.js';
import { defaultConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/domain/clock.js';
import type { Store } from '../../src/domain/store.js';
import { openStore } from '../../src/store/index.js';
import { eventually, type Credentials } from '../helpers/http.js';
import { startReplicaProcess, type ReplicaProcess } from '../replicas/processes.js';
import type { Accepted } from './workload.js';
import { machinesIn } from '../helpers/simulated-machines.js';

/*
 * `gale serve` processes for the fault suite, as an operator runs them, on a store the test reaches too (to make
 * users, and to see afterwards what was carried out).
 */

export interface FaultFleet {
  replicas: ReplicaProcess[];
  store: Store;
  users: Credentials[];
  /** Starts one more replica with the same configuration (and extra environment, e.g. faketime). */
  add(env?: Record<string, string>): Promise<ReplicaProcess>;
  close(): Promise<void>;
}

export interface FaultFleetOptions {
  /** GALE_DATABASE_URL; SQLite under a data directory of the fleet's own when absent. */
  databaseUrl?: string;
  dataDir?: string;
  replicas: number;
  users: number;
  /** Settings for the config file (merged over the defaults section by section, as Gale does). */
  config?: Record<string, unknown>;
  env?: Record<string, string>;
}

export async function startFaultFleet(options: FaultFleetOptions): Promise<FaultFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'gale-faults-'));
  const dataDir = options.dataDir ?? join(dir, 'data');
  const configFile = join(dir, 'gale.json');
  // A tier of their own, with requests to spare: the faults, not the rate limit, should be what the load meets.
  const tiers = { ...defaultConfig().tiers, faults: { name: 'faults', requestsPerMinute: 1_000_000, maxInstances: 10, maxVcpus: 100, maxDiskGb: 1_000 } };
  writeFileSync(configFile, JSON.stringify({ tiers, ...options.config }));
  const env = {
    GALE_CONFIG: configFile,
    GALE_DATA_DIR: dataDir,
    GALE_DATABASE_URL: options.databaseUrl ?? '',
    GALE_PROVIDER: 'simulator',
    GALE_SIM_DELAY_MS: '200',
    GALE_BOOTSTRAP: 'false',
    GALE_LOG_LEVEL: 'warn',
    ...options.env,
  };
  const store = await openStore({ dataDir, databaseUrl: options.databaseUrl });
  const users: Credentials[] = [];
  for (let n = 0; n < options.users; n++) {
    const user = await createUser(store, systemClock, tiers, { email: `fault-${n}-${Date.now()}@example.com`, tier: 'faults', admin: false });
    const { apiKey, apiSecret } = await createApiKey(store, systemClock, user.id);
    const { token } = await createToken(store, systemClock, user.id, 3_600_000);
    users.push({ userId: user.id, apiKey, token, bearer: { authorization: `Bearer ${token}` }, keyPair: { 'api-key': apiKey, 'api-secret': apiSecret } });
  }
  const replicas: ReplicaProcess[] = [];
  const add = async (extra: Record<string, string> = {}) => {
    const replica = await startReplicaProcess({ ...env, ...extra });
    replicas.push(replica);
    return replica;
  };
  for (let n = 0; n < options.replicas; n++) await add();
  return {
    replicas,
    store,
    users,
    add,
    async close() {
      await Promise.all(replicas.map((replica) => replica.kill()));
      await store.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** No replica has exited: whatever happened to its dependencies, the process is still serving. */
export function assertAllAlive(fleet: FaultFleet): void {
  for (const replica of fleet.replicas) {
    assert.equal(replica.child.exitCode, null, `a replica exited (${replica.child.exitCode}):\n${replica.output().slice(-3000)}`);
    assert.equal(replica.child.signalCode, null, `a replica was killed by ${replica.child.signalCode}`);
  }
}

/** /readyz of every replica answers 200 again (after a fault is over). */
export async function awaitReady(fleet: FaultFleet, what: string): Promise<void> {
  for (const replica of fleet.replicas) {
    await eventually(`${what}: ${replica.base} to be ready again`, async () => (await fetch(`${replica.base}/readyz`).catch(() => undefined))?.status ?? 0, (s) => s === 200, 60_000);
  }
}

export interface Convergence {
  instances: number;
  deleted: number;
  boots: number;
}

/**
 * Everything the clients were told was accepted has been carried out: a deleted instance is gone, machine and all; every
 * other one is in the state last asked for, reconciled; no machine booted more often than it was asked to (its create
 * and its starts); and each user's quota usage is the number of instances that exist.
 */
export async function assertCarriedOut(fleet: FaultFleet, accepted: Map<string, Accepted>): Promise<Convergence> {
  const settled = async () => {
    for (const [id, want] of accepted) {
      const record = await fleet.store.getInstance(id);
      const pending = (await fleet.store.listOperations(id)).some((op) => op.state === 'pending');
      if (want.deleted ? record !== undefined || pending : !record || pending || record.reconciledGeneration !== record.generation) return false;
    }
    return true;
  };
  await eventually('every accepted request to be carried out', settled, (done) => done, 120_000);
  let boots = 0;
  for (const [id, want] of accepted) {
    const record = await fleet.store.getInstance(id);
    const machine = await (await machinesIn(fleet.store)).get(id);
    if (want.deleted) {
      assert.equal(record, undefined, `${id} was deleted`);
      assert.equal(machine, undefined, `${id}'s machine was torn down, and not booted again after`);
      continue;
    }
    assert.ok(record && machine, `${id} exists`);
    assert.equal(record.status, record.desired, `${id} is ${record.desired}, as last asked`);
    const starts = (await fleet.store.listOperations(id)).filter((op) => op.kind === 'start' || op.kind === 'create').length;
    // Each boot answers a create or a start that was accepted; a start on a running machine boots nothing.
    assert.ok(machine.bootCount <= starts, `${id} booted ${machine.bootCount} times for ${starts} create and starts`);
    boots += machine.bootCount;
  }
  for (const user of fleet.users) {
    const live = (await fleet.store.listUserInstances(user.userId)).length;
    // What GET /quotas answers and what the quota check reads (the user may be out of requests for the minute by now).
    const usage = await fleet.store.getUsage(user.userId);
    assert.equal(usage.instances, live, 'the quota counts what exists');
    assert.ok(usage.instances <= 10, 'no more than the tier allows');
  }
  return { instances: accepted.size, deleted: [...accepted.values()].filter((a) => a.deleted).length, boots };
}
