import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createApiKey, createToken, createUser } from '../../src/admin/accounts.js';
import type { Config } from '../../src/config/schema.js';
import { systemClock } from '../../src/domain/clock.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type GaleServer } from '../../src/main.js';
import { buildVmBaseImage } from '../../src/providers/qemu/index.js';
import { call, eventually } from '../helpers/http.js';
import { providerProblem, skipOrFail } from '../helpers/matrix.js';
import { describeWith, dropSchema, freshSchema, replicaConfig } from './fleet.js';

/*
 * One replica per host, each pinned to its host's zones (reconciler.zones), on one PostgreSQL: the API answers on
 * either, and each instance's work is done by its zone's replica alone. While that replica is away its zone's work
 * waits for it; it is never taken by a replica whose host could not run the machine. The machines are real VMs, each
 * replica with a data directory of its own as two hosts would have: a VM is found in its zone's replica's only.
 */

const V1 = '/api/compute/v1';
const ZONE_A = 'us-central1-a';
const ZONE_B = 'us-central1-b';
const TEMPLATE = 'busybox-micro';

interface Instance {
  id: string;
  status: string;
}
interface Operation {
  status: string;
}

/** How many creates a replica's reconciler carried out, from its own metrics. */
async function creates(server: GaleServer): Promise<number> {
  const { values } = await server.metrics.reconcileOutcomes.get();
  return values.filter((v) => v.labels.action === 'create' && v.labels.outcome === 'completed').reduce((sum, v) => sum + v.value, 0);
}

const qemu = skipOrFail('QEMU', await providerProblem('qemu'));
if (qemu) describe('replicas pinned to zones, each on its own host', { skip: qemu }, () => {});
else await describeWith(['postgres'], 'replicas pinned to zones, each on its own host', () => {
  const schema = freshSchema();
  const imagesDir = mkdtempSync(join(tmpdir(), 'gale-zones-images-'));
  const pinned = (zones: string[]): Config => {
    const config = replicaConfig(schema, { provider: 'qemu', providers: { qemu: { accel: 'tcg', network: 'user', imagesDir } } });
    return { ...config, reconciler: { ...config.reconciler, zones, stopGraceMs: 30_000 } };
  };
  const configA = pinned([ZONE_A]);
  const configB = pinned([ZONE_B]);
  const start = (config: Config, id: string) => startServer(config, { logger: createLogger(config.logLevel), replicaId: id });
  let a: GaleServer;
  let b: GaleServer | undefined;
  let bearer: Record<string, string>;
  before(async () => {
    await buildVmBaseImage({ outputDir: imagesDir });
    a = await start(configA, 'host-a');
    b = await start(configB, 'host-b');
    const user = await createUser(a.store, systemClock, configA.tiers, { email: `zones-${schema}@example.com`, tier: 'enterprise', admin: false });
    await createApiKey(a.store, systemClock, user.id);
    bearer = { authorization: `Bearer ${(await createToken(a.store, systemClock, user.id, 3_600_000)).token}` };
  });
  after(async () => {
    try {
      // Every instance deleted through the API first: no VM outlives the test.
      const ids = a ? (await call<Instance[]>(a.url, 'GET', `${V1}/instances`, { headers: bearer })).body : [];
      b ??= await start(configB, 'host-b');
      for (const { id } of ids) await call(a.url, 'DELETE', `${V1}/instances/${id}`, { headers: bearer });
      await eventually('every VM gone', async () => (await Promise.all([a.provider.list(), b!.provider.list()])).flat().length, (n) => n === 0, 240_000);
    } finally {
      // Even when the above failed: servers left open would keep this file's process, and the test run, alive.
      await Promise.all([a?.close(), b?.close()]);
      for (const config of [configA, configB]) rmSync(config.dataDir, { recursive: true, force: true });
      rmSync(imagesDir, { recursive: true, force: true });
      await dropSchema(schema);
    }
  });
  /** The VMs a replica's own host runs. */
  const vmsOn = async (server: GaleServer) => (await server.provider.list()).map((machine) => machine.instanceId);

  const create = async (url: string, zone: string) => {
    const made = await call<Instance>(url, 'POST', `${V1}/instances`, { headers: bearer, body: { template_id: TEMPLATE, zone } });
    assert.equal(made.status, 201, made.text);
    return made.body.id;
  };
  const statusOf = async (id: string) => (await call<Instance>(a.url, 'GET', `${V1}/instances/${id}`, { headers: bearer })).body.status;
  const running = (id: string) => eventually(`${id} RUNNING`, () => statusOf(id), (s) => s === 'RUNNING');

  test("each replica carries out only its zones' work, whichever replica took the request", async () => {
    // Asked of the other zone's replica each time.
    const inA = await create(b!.url, ZONE_A);
    const inB = await create(a.url, ZONE_B);
    await running(inA);
    await running(inB);
    assert.deepEqual([await creates(a), await creates(b!)], [1, 1]);
    assert.deepEqual([await vmsOn(a), await vmsOn(b!)], [[inA], [inB]], "each VM on its zone's host");
  });

  test("a replica away leaves its zone's work pending until it returns; the other zone goes on", async () => {
    await b!.close();
    b = undefined;
    const waiting = await create(a.url, ZONE_B);
    const going = await create(a.url, ZONE_A);
    await running(going);
    // Several claims and a resync of A's have passed since the create in B's zone: still nobody's work but B's.
    await eventually('a resync of A', async () => (await a.reconciler.resync()).orphansReaped, () => true);
    assert.equal(await statusOf(waiting), 'PROVISIONING');
    const operations = await call<{ operations: Operation[] }>(a.url, 'GET', `${V1}/operations?instanceId=${waiting}`, { headers: bearer });
    assert.equal(operations.status, 200, operations.text);
    assert.deepEqual(operations.body.operations.map((operation) => operation.status), ['PENDING']);

    assert.ok(!(await vmsOn(a)).includes(waiting), 'host A never booted a VM of zone B');
    b = await start(configB, 'host-b');
    await running(waiting);
    assert.equal(await creates(b), 1, 'the returned replica did it');
    assert.ok((await vmsOn(b)).includes(waiting));
  });
});
