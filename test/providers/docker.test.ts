// The Docker provider against a real engine. Addresses are read, never connected to.
// Run: node --import tsx --test test/providers/docker.test.ts   (scripts/install-docker.sh starts an engine)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Dockerode from 'dockerode';
import { pino } from 'pino';
import { PermanentProviderError, type MachineSpec } from '../../src/domain/provider.js';
import { BUSYBOX_IMAGE_TAG, buildBusyboxImage, createDockerProvider, LABELS, parseEndpoint } from '../../src/providers/docker/index.js';
import type { DockerProvider } from '../../src/providers/docker/index.js';
import { instanceSpec } from '../../src/domain/instance-spec.js';
import { providerProblem, skipOrFail } from '../helpers/matrix.js';

const ENDPOINT = process.env.GALE_DOCKER_HOST ?? '/var/run/docker.sock';
const STUBBORN_TAG = 'gale/busybox-ignores-term:test';
const docker = new Dockerode(parseEndpoint(ENDPOINT));
const problem = skipOrFail('the Docker engine', await providerProblem('docker'));

const run = randomUUID().slice(0, 8);
const installationId = `test-${run}`;
const logs: Array<{ level: number; msg: string }> = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
let seq = 0;
const newId = (): string => `i-${run}-${++seq}`;
const spec = (instanceId: string, image = BUSYBOX_IMAGE_TAG): MachineSpec => ({
  instanceId,
  userId: 'u-test',
  zone: 'zone-a',
  templateId: 'busybox-micro',
  image,
  machineType: 'e2-micro',
  vcpus: 1,
  memoryMb: 128,
  diskGb: 1,
  spec: instanceSpec(),
});
const raw = (instanceId: string) => docker.getContainer(`gale-${instanceId}`);

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('docker provider', { skip: problem, timeout: 120_000 }, () => {
  let provider: DockerProvider;
  const changed: string[] = [];
  let unwatch: () => void = () => undefined;
  const foreign: Dockerode.Container[] = [];

  before(async () => {
    provider = createDockerProvider({
      endpoints: { '*': ENDPOINT },
      installationId,
      publishHost: '198.51.100.7',
      stopGraceMs: 60_000,
      pullTimeoutMs: 20_000,
      logger,
    });
    unwatch = provider.watch((id) => changed.push(id));
  });

  after(async () => {
    unwatch();
    await provider?.close();
    const ours = await docker.listContainers({ all: true, filters: { label: [`${LABELS.installation}=${installationId}`] } });
    for (const c of [...ours.map((o) => docker.getContainer(o.Id)), ...foreign]) {
      await c.remove({ force: true, v: true }).catch(() => undefined);
    }
    await docker.getImage(STUBBORN_TAG).remove({ force: true }).catch(() => undefined);
  });

  test('builds the busybox image once, and skips when it exists', async () => {
    await buildBusyboxImage({ docker });
    assert.deepEqual(await buildBusyboxImage({ docker }), { tag: BUSYBOX_IMAGE_TAG, built: false });
    const built = await buildBusyboxImage({
      docker,
      tag: STUBBORN_TAG,
      force: true,
      cmd: ['/bin/sh', '-c', 'trap "" TERM; while :; do sleep 1; done'],
    });
    assert.equal(built.built, true);
    await provider.probe();
  });

  const id = newId();
  test('create makes a stopped, labelled, limited container; again is a no-op', async () => {
    await provider.create(spec(id));
    assert.deepEqual(await provider.inspect(id), { status: 'TERMINATED', internalIp: '', externalIp: '198.51.100.7' });
    const info = await raw(id).inspect();
    assert.equal(info.Name, `/gale-${id}`);
    assert.equal(info.HostConfig.NanoCpus, 1e9);
    assert.equal(info.HostConfig.Memory, 128 * 1024 * 1024);
    assert.deepEqual(
      [LABELS.instanceId, LABELS.owner, LABELS.installation, LABELS.zone, LABELS.template].map((l) => info.Config.Labels[l]),
      [id, 'u-test', installationId, 'zone-a', 'busybox-micro'],
    );
    await provider.create(spec(id));
    assert.equal((await raw(id).inspect()).Id, info.Id);
  });

  test('disk size: overlay2 on ext4 cannot enforce it, which is logged once and skipped', async (t) => {
    const engine = (await docker.info()) as { Driver: string; DriverStatus: [string, string][] };
    const backing = engine.DriverStatus.find(([k]) => k === 'Backing Filesystem')?.[1];
    if (engine.Driver !== 'overlay2' || backing === 'xfs') return t.skip(`storage driver ${engine.Driver} on ${backing}`);
    assert.equal((await raw(id).inspect()).HostConfig.StorageOpt ?? null, null);
    const other = newId();
    await provider.create(spec(other));
    await provider.delete(other);
    assert.equal(logs.filter((l) => l.msg.includes('cannot limit container disk size')).length, 1);
  });

  let firstStart = 0;
  test('start -> RUNNING with an internal address (read, never used)', async () => {
    await provider.start(id);
    const seen = await provider.inspect(id);
    assert.equal(seen?.status, 'RUNNING');
    assert.match(seen?.internalIp ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(seen?.externalIp, '198.51.100.7');
    firstStart = seen?.startedAt ?? 0;
    assert.ok(firstStart > Date.now() - 60_000);
    await provider.start(id); // idempotent
  });

  test('reset kills and boots again at once: new StartedAt, still RUNNING', async () => {
    await provider.reset(id);
    const seen = await provider.inspect(id);
    assert.equal(seen?.status, 'RUNNING');
    assert.ok((seen?.startedAt ?? 0) > firstStart, 'StartedAt changed');
    assert.equal((await raw(id).inspect()).RestartCount, 0);
  });

  test('stop is graceful: SIGTERM ends it with exit 0, well before the grace period', async () => {
    const begun = Date.now();
    await provider.stop(id, { graceMs: 10_000 });
    assert.ok(Date.now() - begun < 5_000, `took ${Date.now() - begun} ms`);
    assert.equal((await provider.inspect(id))?.status, 'TERMINATED');
    assert.equal((await raw(id).inspect()).State.ExitCode, 0);
    await provider.stop(id, { graceMs: 10_000 }); // idempotent
  });

  test('stop of a machine that ignores SIGTERM is forced after graceMs (137)', async () => {
    const stubborn = newId();
    await provider.create(spec(stubborn, STUBBORN_TAG));
    await provider.start(stubborn);
    const begun = Date.now();
    await provider.stop(stubborn, { graceMs: 1_000 });
    assert.ok(Date.now() - begun >= 900, `killed after ${Date.now() - begun} ms, before the grace ran out`);
    assert.equal((await raw(stubborn).inspect()).State.ExitCode, 137);
    assert.equal((await provider.inspect(stubborn))?.status, 'TERMINATED');
    await provider.delete(stubborn);
  });

  test('an outside docker kill reads TERMINATED and watch() reports the instance', async () => {
    await provider.start(id);
    changed.length = 0;
    await raw(id).kill();
    await waitFor('a watch notification', () => changed.includes(id));
    assert.equal((await provider.inspect(id))?.status, 'TERMINATED');
  });

  test('an outside pause reads SUSPENDED; start thaws it; stop from paused is still graceful', async () => {
    await provider.start(id);
    await raw(id).pause();
    assert.equal((await provider.inspect(id))?.status, 'SUSPENDED');
    await provider.start(id);
    assert.equal((await provider.inspect(id))?.status, 'RUNNING');
    await raw(id).pause();
    await provider.stop(id, { graceMs: 10_000 });
    assert.equal((await raw(id).inspect()).State.ExitCode, 0);
    await provider.start(id);
  });

  test('list shows ours only; foreign containers are never listed or touched', async () => {
    const lookalike = newId();
    const named = await docker.createContainer({ name: `gale-${lookalike}`, Image: BUSYBOX_IMAGE_TAG, Labels: { [LABELS.instanceId]: lookalike } });
    const plain = await docker.createContainer({ name: `foreign-${run}`, Image: BUSYBOX_IMAGE_TAG });
    foreign.push(named, plain);
    const listed = await provider.list();
    assert.deepEqual(listed.map((m) => m.instanceId), [id]);
    assert.equal(listed[0]?.status, 'RUNNING');
    assert.equal(await provider.inspect(lookalike), null);
    await provider.delete(lookalike);
    await assert.rejects(provider.create(spec(lookalike)), PermanentProviderError);
    await assert.rejects(provider.start(lookalike), /no container/);
    assert.equal((await named.inspect()).State.Status, 'created');
    assert.equal((await plain.inspect()).State.Status, 'created');
  });

  test('a fresh provider (no memory of create) finds the container by name', async () => {
    const other = createDockerProvider({ endpoints: { 'zone-b': ENDPOINT, '*': ENDPOINT }, installationId, logger });
    assert.equal((await other.inspect(id))?.status, 'RUNNING');
    assert.equal((await other.list()).length, 1, 'two zones on one engine are listed once');
    await other.close();
  });

  test('delete removes the container; deleting again is fine', async () => {
    await provider.delete(id);
    assert.equal(await provider.inspect(id), null);
    await assert.rejects(raw(id).inspect(), (error: { statusCode?: number }) => error.statusCode === 404);
    await provider.delete(id);
    assert.deepEqual(await provider.list(), []);
  });

  test('an image that cannot be had is permanent, logged, and leaves nothing behind', async () => {
    const doomed = newId();
    await assert.rejects(provider.create(spec(doomed, `gale/no-such-image-${run}:nope`)), (error: Error) => {
      assert.ok(error instanceof PermanentProviderError, `${error.name}: ${error.message}`);
      assert.match(error.message, /cannot be pulled/);
      return true;
    });
    assert.ok(logs.some((l) => l.msg.includes('pulling')));
    assert.equal(await provider.inspect(doomed), null);
    assert.equal((await docker.listContainers({ all: true, filters: { name: [`gale-${doomed}`] } })).length, 0);
  });
});
