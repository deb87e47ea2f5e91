import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createApiKey, createToken, createUser } from '../../src/admin/accounts.js';
import type { Config } from '../../src/config/schema.js';
import { systemClock } from '../../src/domain/clock.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type GaleServer } from '../../src/main.js';
import { call, eventually } from '../helpers/http.js';
import { describeWith, dropSchema, freshSchema, replicaConfig } from './fleet.js';

/*
 * One replica per host, each pinned to its host's zones (reconciler.zones), on one PostgreSQL: the API answers on
 * either, and each instance's work is done by its zone's replica alone. While that replica is away its zone's work
 * waits for it; it is never taken by a replica whose host could not run the machine.
 */

const V1 = '/api/compute/v1';
const ZONE_A = 'europe-west1-a';
const ZONE_B = 'europe-west1-b';

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

await describeWith(['postgres'], 'replicas pinned to zones', () => {
  const schema = freshSchema();
  const pinned = (zones: string[]): Config => {
    const config = replicaConfig(schema);
    return { ...config, reconciler: { ...config.reconciler, zones } };
  };
  const configA = pinned([ZONE_A]);
  const configB = pinned([ZONE_B]);
  const start = (config: Config, id: string) => startServer(config, { logger: createLogger(config.logLevel), replicaId: id });
  let a: GaleServer;
  let b: GaleServer | undefined;
  let bearer: Record<string, string>;
  before(async () => {
    a = await start(configA, 'host-a');
    b = await start(configB, 'host-b');
    const user = await createUser(a.store, systemClock, configA.tiers, { email: `zones-${schema}@example.com`, tier: 'enterprise', admin: false });
    await createApiKey(a.store, systemClock, user.id);
    bearer = { authorization: `Bearer ${(await createToken(a.store, systemClock, user.id, 3_600_000)).token}` };
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    for (const config of [configA, configB]) rmSync(config.dataDir, { recursive: true, force: true });
    await dropSchema(schema);
  });

  const create = async (url: string, zone: string) => {
    const made = await call<Instance>(url, 'POST', `${V1}/instances`, { headers: bearer, body: { template_id: 'debian-12-micro', zone } });
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

    b = await start(configB, 'host-b');
    await running(waiting);
    assert.equal(await creates(b), 1, 'the returned replica did it');
  });
});
