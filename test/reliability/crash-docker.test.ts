// Gale with the Docker provider as a real child process, SIGKILLed at random moments while ~100 creates and power
// operations are in flight, and started again on the same data directory each time. Afterwards: every request that
// was answered 201/202/204 has been carried out, every instance has reached the state it was asked for, there is
// exactly one container per live instance and none for a deleted one, and quota usage equals what exists.
// Containers are only inspected, never contacted. Every container made here is removed in after().
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Dockerode from 'dockerode';
import { DEFAULT_CATALOG } from '../../src/config/default-catalog.js';
import { DEFAULT_TIERS } from '../../src/config/default-tiers.js';
import type { InstancesTable } from '../../src/store/schema.js';
import { buildBusyboxImage, containerName, LABELS } from '../../src/providers/docker/index.js';
import { removeContainersOf } from '../helpers/docker-leftovers.js';
import { unavailable } from '../helpers/matrix.js';
import { eventually } from '../helpers/http.js';
import { startReplicaProcess, type ReplicaProcess } from '../replicas/processes.js';

const V1 = '/api/compute/v1';
const TEMPLATE = 'busybox-micro';
const CREATES = 100;
const KILLS = 4;
const CONVERGE_MS = 150_000;
const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
const skip = await unavailable({ store: 'sqlite', provider: 'docker' });

type Op = 'start' | 'stop' | 'reset' | 'restart' | 'delete';
/** What an instance may end as: its desired power state, or gone. */
type Fate = 'RUNNING' | 'TERMINATED' | 'DELETED';
const FATE: Record<Op, Fate> = { start: 'RUNNING', reset: 'RUNNING', restart: 'RUNNING', stop: 'TERMINATED', delete: 'DELETED' };

/** mulberry32: a small seeded PRNG, so that a failing run's choices and delays can be replayed with GALE_CRASH_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  body: unknown;
}

/**
 * An instance created by an answered request and the fates its requests allow: an answered 202/204 fixes the fate, an
 * unanswered one (the server died with it in flight) may or may not have been carried out, so it adds its fate to the
 * possibilities. One worker per instance sends its requests one after another, so their order is known.
 */
interface Tracked {
  id: string;
  fates: Set<Fate>;
  history: string[];
}

type InstanceRow = Pick<
  InstancesTable,
  'id' | 'status' | 'desired' | 'deleted_at' | 'generation' | 'reconciled_generation' | 'reset_requested' | 'reset_applied' | 'work_due_at' | 'lease_owner' | 'last_error'
>;

describe('Gale killed with SIGKILL again and again under load, with the Docker provider', { skip, timeout: 420_000 }, () => {
  const seed = Number(process.env.GALE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = prng(seed);
  const between = (min: number, max: number) => Math.floor(min + random() * (max - min));
  const dir = mkdtempSync(join(tmpdir(), 'gale-crash-docker-'));
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'gale.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      provider: 'docker',
      reconciler: { leaseMs: 2000, pollIntervalMs: 50, resyncIntervalMs: 500, stopGraceMs: 1000, concurrency: 16 },
      // The bootstrap admin gets the tier with the largest instance quota: this one, room for every create.
      tiers: {
        ...DEFAULT_TIERS,
        crash: { name: 'crash', requestsPerMinute: 1_000_000, maxInstances: 1000, maxVcpus: 100_000, maxDiskGb: 1_000_000 },
      },
    }),
  );
  /** The server answering now; undefined while one is being killed and started again. */
  let server: ReplicaProcess | undefined;
  let installationId: string | undefined;
  let db: Database.Database | undefined;

  const start = async (): Promise<ReplicaProcess> => {
    const started = await startReplicaProcess({ GALE_CONFIG: configFile, GALE_DATA_DIR: dataDir, GALE_PROVIDER: 'docker', GALE_BOOTSTRAP: 'true' });
    return (server = started);
  };

  before(async () => {
    await buildBusyboxImage({ docker });
  });

  after(async () => {
    await server?.kill();
    db?.close();
    if (!installationId && existsSync(join(dataDir, 'gale.db'))) {
      const store = new Database(join(dataDir, 'gale.db'), { readonly: true });
      installationId = (store.prepare(`select value from meta where key = 'installation_id'`).get() as { value: string } | undefined)?.value;
      store.close();
    }
    if (installationId) await removeContainersOf(installationId);
    rmSync(dir, { recursive: true, force: true });
  });

  test('every answered request is carried out, and containers and quotas match what exists', async (t) => {
    t.diagnostic(`seed ${seed} (replay with GALE_CRASH_SEED=${seed})`);
    const first = await start();
    const printed = await eventually('the bootstrap credentials', async () => first.output(), (out) => /api-secret:\s+\S+/.test(out));
    const auth = { 'api-key': /api-key:\s+(\S+)/.exec(printed)![1]!, 'api-secret': /api-secret:\s+(\S+)/.exec(printed)![1]! };
    db = new Database(join(dataDir, 'gale.db'), { readonly: true, fileMustExist: true });
    installationId = (db.prepare(`select value from meta where key = 'installation_id'`).get() as { value: string }).value;

    /** One request to whichever server is up now; undefined when it was not answered (refused, cut, or timed out). */
    async function send(method: string, path: string, body?: unknown): Promise<Answer | undefined> {
      while (!server) await sleep(50); // down: requests wait for the next server
      const live = server;
      try {
        const response = await fetch(`${live.base}${V1}${path}`, {
          method,
          headers: { ...auth, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await response.text();
        return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
      } catch {
        return undefined;
      }
    }

    // The workload, drawn from the seed up front: per instance a create, then 1-2 power operations and sometimes a delete.
    const powerOps: Op[] = ['stop', 'start', 'reset', 'restart', 'stop'];
    const plans = Array.from({ length: CREATES }, () => {
      const ops: Op[] = Array.from({ length: between(1, 3) }, () => powerOps[between(0, powerOps.length)]!);
      if (random() < 0.25) ops.push('delete');
      return { startAfter: between(0, 4000), ops, delays: ops.map(() => between(100, 2500)) };
    });
    const killDelays = Array.from({ length: KILLS }, (_, k) => (k === 0 ? between(100, 1500) : between(300, 2500)));

    let requests = 0;
    let answered = 0;
    let unansweredCreates = 0;
    let kills = 0;
    const tracked: Tracked[] = [];
    const unexpected: string[] = [];

    async function worker(plan: (typeof plans)[number]): Promise<void> {
      await sleep(plan.startAfter);
      requests++;
      const created = await send('POST', '/instances', { template_id: TEMPLATE });
      if (!created) {
        unansweredCreates++;
        return;
      }
      answered++;
      if (created.status !== 201) {
        unexpected.push(`create answered ${created.status}: ${JSON.stringify(created.body)}`);
        return;
      }
      const instance: Tracked = { id: (created.body as { id: string }).id, fates: new Set(['RUNNING']), history: ['create 201'] };
      tracked.push(instance);
      for (const [i, op] of plan.ops.entries()) {
        await sleep(plan.delays[i]!);
        // A power operation is refused (409) while the instance is being provisioned or stopped: retry a few times.
        for (let attempt = 1; ; attempt++) {
          requests++;
          const answer = op === 'delete' ? await send('DELETE', `/instances/${instance.id}`) : await send('POST', `/instances/${instance.id}/${op}`);
          if (!answer) {
            instance.history.push(`${op} unanswered`);
            instance.fates.add(FATE[op]);
            if (op === 'delete') return;
            break;
          }
          answered++;
          instance.history.push(`${op} ${answer.status}`);
          if (answer.status === 409 && attempt < 8) {
            await sleep(between(200, 800));
            continue;
          }
          if (answer.status === 409) break;
          if (answer.status === 404) {
            // Only a delete removes an instance, and a delete is always an instance's last request: it vanished.
            unexpected.push(`${instance.id} vanished: ${instance.history.join(', ')}`);
            return;
          }
          if (answer.status !== (op === 'delete' ? 204 : 202)) {
            unexpected.push(`${op} ${instance.id} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
            return;
          }
          instance.fates = new Set([FATE[op]]);
          if (op === 'delete') return;
          break;
        }
      }
    }

    async function killer(): Promise<void> {
      for (const delay of killDelays) {
        await sleep(delay);
        const victim = server!;
        server = undefined;
        await victim.kill();
        kills++;
        await start();
      }
    }

    await Promise.all([killer(), ...plans.map(worker)]);
    t.diagnostic(`load done: ${requests} requests, ${answered} answered, ${tracked.length} created, ${unexpected.length} unexpected answers`);
    assert.deepEqual(unexpected, [], 'unexpected answers');
    assert.ok(tracked.length > 0, 'no create was answered: there is nothing to check');

    // The reconciler catches up with every intent: nothing due, nothing leased, every deleted row purged, every status
    // stable and equal to what was asked for.
    const rows = await eventually(
      'every instance to reach its desired state',
      async () => db!.prepare('select * from instances').all() as InstanceRow[],
      (all) =>
        all.every(
          (row) =>
            row.deleted_at === null &&
            row.work_due_at === null &&
            row.lease_owner === null &&
            row.generation === row.reconciled_generation &&
            row.status === row.desired,
        ),
      CONVERGE_MS,
    );
    for (const row of rows) {
      assert.ok(['RUNNING', 'TERMINATED'].includes(row.status), `${row.id}: ${JSON.stringify(row)}`);
      assert.equal(row.last_error, null, `${row.id}: ${JSON.stringify(row)}`);
      assert.equal(row.reset_applied, row.reset_requested, `${row.id}: a reset left pending: ${JSON.stringify(row)}`);
    }
    // Every accepted change of intent is recorded as carried out, none failed or left pending.
    const unfinished = db.prepare(`select instance_id, kind, state, error from operations where state <> 'done'`).all();
    assert.deepEqual(unfinished, [], 'operations not carried out');

    const listed = await send('GET', '/instances');
    assert.ok(listed?.status === 200, `GET /instances answered ${listed?.status}`);
    const instances = listed.body as Array<{ id: string; status: string; machineType: string; templateId: string }>;
    const byId = new Map(instances.map((i) => [i.id, i]));
    assert.deepEqual([...byId.keys()].sort(), rows.map((r) => r.id).sort(), 'the API lists exactly the live rows');
    const desiredById = new Map(rows.map((row) => [row.id, row.desired]));

    // Each answered request carried out: the instance is where its answered (and possibly its unanswered) requests put it.
    const lost: string[] = [];
    for (const instance of tracked) {
      const seen = byId.get(instance.id);
      const fate: Fate = seen ? (seen.status as Fate) : 'DELETED';
      if (!instance.fates.has(fate) || (seen && desiredById.get(instance.id) !== seen.status)) {
        lost.push(`${instance.id} is ${fate}, expected one of ${[...instance.fates].join('/')} after: ${instance.history.join(', ')}`);
      }
      if (!seen) {
        const gone = await send('GET', `/instances/${instance.id}`);
        if (gone?.status !== 404) lost.push(`${instance.id}: GET answered ${gone?.status} for a deleted instance`);
      }
    }
    // Instances nobody was told about come from creates whose answer was lost; nothing else touched them, so they run.
    const known = new Set(tracked.map((i) => i.id));
    const strangers = instances.filter((i) => !known.has(i.id));
    assert.ok(strangers.length <= unansweredCreates, `${strangers.length} unknown instances but only ${unansweredCreates} unanswered creates`);
    for (const stranger of strangers) assert.equal(stranger.status, 'RUNNING', `${stranger.id} (from an unanswered create)`);

    // Exactly one container per live instance, named for it, running exactly when the instance is; none for the rest.
    const containers = await eventually(
      'exactly one container per live instance',
      () => docker.listContainers({ all: true, filters: { label: [`${LABELS.installation}=${installationId}`] } }),
      (list) => list.length === instances.length && list.every((c) => byId.has(c.Labels[LABELS.instanceId]!)),
      60_000,
    );
    const perInstance = new Map<string, number>();
    for (const c of containers) perInstance.set(c.Labels[LABELS.instanceId]!, (perInstance.get(c.Labels[LABELS.instanceId]!) ?? 0) + 1);
    let nanoCpus = 0;
    for (const instance of instances) {
      assert.equal(perInstance.get(instance.id), 1, `${instance.id} has ${perInstance.get(instance.id) ?? 0} containers`);
      const info = await docker.getContainer(containerName(instance.id)).inspect();
      assert.equal(info.Config.Labels[LABELS.installation], installationId);
      assert.equal(info.State.Running, instance.status === 'RUNNING', `${instance.id} is ${instance.status}, its container ${info.State.Status}`);
      nanoCpus += info.HostConfig.NanoCpus ?? 0;
    }
    for (const instance of tracked.filter((i) => !byId.has(i.id))) {
      assert.equal(await docker.getContainer(containerName(instance.id)).inspect().catch(() => null), null, `deleted ${instance.id} still has a container`);
    }

    // Quota usage is what exists: the listed instances' machine types and disks, and the containers' CPU limits.
    const quotas = await send('GET', '/quotas');
    assert.ok(quotas?.status === 200, `GET /quotas answered ${quotas?.status}`);
    const usage = (quotas.body as { quotas: Record<'instances' | 'vcpus' | 'diskGb', { usage: number }> }).quotas;
    const vcpusOf = (machineType: string) => DEFAULT_CATALOG.machineTypes.find((m) => machineType.endsWith(`/${m.name}`))!.vcpus;
    const diskOf = (templateId: string) => DEFAULT_CATALOG.templates.find((tpl) => tpl.id === templateId)!.diskSizeGb;
    const vcpus = instances.reduce((sum, i) => sum + vcpusOf(i.machineType), 0);
    assert.equal(usage.instances.usage, instances.length);
    assert.equal(usage.instances.usage, containers.length);
    assert.equal(usage.vcpus.usage, vcpus);
    assert.equal(usage.vcpus.usage, nanoCpus / 1e9);
    assert.equal(usage.diskGb.usage, instances.reduce((sum, i) => sum + diskOf(i.templateId), 0));

    assert.deepEqual(unexpected, [], 'unexpected answers');
    console.log(
      `crash figures: seed ${seed}, ${requests} requests, ${answered} answered, ${kills} kills, ` +
        `${tracked.length + strangers.length} instances checked, ${containers.length} containers checked, lost ${lost.length}`,
    );
    assert.deepEqual(lost, [], 'answered requests not carried out');
    assert.ok(kills >= 3);
  });
});
