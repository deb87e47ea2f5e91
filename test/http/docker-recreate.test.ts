// docker.recreateVanished: a container removed outside Gale is recreated when its instance should run; one merely
// killed or stopped outside Gale is reported TERMINATED and left as it is. First at the reconciler's level over the
// simulator (the policy is the provider's, read by the resync), then end to end through the API with real containers.
// Container addresses are only read, never connected to.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { buildBusyboxImage, containerName } from '../../src/providers/docker/index.js';
import { unavailable } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { call, eventually, type Credentials } from '../helpers/http.js';
import { openHarness, type Harness } from '../reconciler/harness.js';
import { instrument } from '../reconciler/instrumented-provider.js';

describe('resync: vanished machines and recreateVanished (simulator)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness({ delayMs: 5 });
  });
  afterEach(async () => h.close());

  /** The simulator behind a provider that carries the docker provider's policy. */
  const withPolicy = (recreateVanished: boolean) => {
    const provider = instrument(h.sim, {});
    return { ...provider, capabilities: { ...provider.capabilities, recreateVanished } };
  };

  async function runningInstance(): Promise<string> {
    const { id } = await h.instance();
    await h.reconciler().runOnce();
    assert.equal((await h.store.getInstance(id))?.status, 'RUNNING');
    return id;
  }

  test('recreates a vanished machine whose instance should run, through a create planned by the reconciler', async () => {
    const id = await runningInstance();
    const before = await h.store.getInstance(id);
    await h.sim.vanish(id);
    const provider = withPolicy(true);
    const reconciler = h.reconciler({ provider });
    const report = await reconciler.resync();
    assert.deepEqual([report.recreating, report.markedDue], [1, 1]);
    assert.equal((await h.store.getInstance(id))?.status, 'TERMINATED', 'what was seen is shown until the new machine runs');

    // The row's generation equals its reconciled generation: markDue alone must still lead to a create.
    assert.equal(before?.generation, before?.reconciledGeneration);
    assert.equal(await reconciler.runOnce(), 1);
    assert.ok(provider.calls.some(([method, instanceId]) => method === 'create' && instanceId === id));
    assert.equal((await h.sim.inspect(id))?.status, 'RUNNING');
    const after = await h.store.getInstance(id);
    assert.equal(after?.status, 'RUNNING');
    assert.ok(after?.internalIp);
    assert.equal(after?.generation, before?.generation, 'no intent was invented');
    assert.equal((await reconciler.resync()).markedDue, 0, 'in agreement afterwards');
  });

  test('recreates it even when the change feed already recorded it TERMINATED', async () => {
    const id = await runningInstance();
    await h.sim.vanish(id);
    await h.store.recordObservation(id, { status: 'TERMINATED', internalIp: '', externalIp: '' });
    const reconciler = h.reconciler({ provider: withPolicy(true) });
    assert.equal((await reconciler.resync()).recreating, 1);
    await reconciler.runOnce();
    assert.equal((await h.store.getInstance(id))?.status, 'RUNNING');
  });

  test('a machine powered off outside Gale is reported, never restarted', async () => {
    const id = await runningInstance();
    await h.sim.powerOff(id);
    const reconciler = h.reconciler({ provider: withPolicy(true) });
    const report = await reconciler.resync();
    assert.deepEqual([report.observationsRecorded, report.markedDue, report.recreating], [1, 0, 0]);
    assert.equal(await reconciler.runOnce(), 0, 'nothing was made due');
    assert.equal((await h.sim.inspect(id))?.status, 'TERMINATED');
    assert.equal((await h.store.getInstance(id))?.status, 'TERMINATED');
  });

  test('a stopped instance whose machine vanished is not recreated', async () => {
    const id = await runningInstance();
    await h.store.requestPowerOperation(id, undefined, 'stop', Date.now());
    await h.reconciler().runOnce();
    await h.sim.vanish(id);
    const reconciler = h.reconciler({ provider: withPolicy(true) });
    assert.equal((await reconciler.resync()).recreating, 0);
    assert.equal(await reconciler.runOnce(), 0);
    assert.equal(await h.sim.inspect(id), null);
  });

  test('without the policy a vanished machine is only reported TERMINATED', async () => {
    const id = await runningInstance();
    await h.sim.vanish(id);
    const reconciler = h.reconciler({ provider: withPolicy(false) });
    const report = await reconciler.resync();
    assert.deepEqual([report.observationsRecorded, report.markedDue], [1, 0]);
    assert.equal(await reconciler.runOnce(), 0);
    assert.equal(await h.sim.inspect(id), null);
    assert.equal((await h.store.getInstance(id))?.status, 'TERMINATED');
  });

  test('an instance with work under way is left to that work', async () => {
    const { id } = await h.instance(); // due, PROVISIONING, no machine yet
    const report = await h.reconciler({ provider: withPolicy(true) }).resync();
    assert.deepEqual([report.markedDue, report.recreating], [0, 0]);
    assert.equal((await h.store.getInstance(id))?.status, 'PROVISIONING');
  });
});

interface Instance {
  id: string;
  status: string;
  internalIp: string;
}

const V1 = '/api/compute/v1';
const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
const skip = await unavailable({ store: 'sqlite', provider: 'docker' });

describe('recreateVanished end to end with real containers', { skip, timeout: 600_000 }, () => {
  const gales: TestGale[] = [];
  let alice: Credentials;

  async function gale(recreateVanished: boolean): Promise<TestGale> {
    const started = await startTestGale(
      { store: 'sqlite', provider: 'docker' },
      { providers: { docker: { recreateVanished } } },
    );
    gales.push(started);
    return started;
  }
  const api = <T>(g: TestGale, method: string, path: string) => call<T>(g.url, method, `${V1}${path}`, { headers: alice.bearer });
  const statusOf = async (g: TestGale, id: string) => (await api<Instance>(g, 'GET', `/instances/${id}`)).body;
  const waitStatus = (g: TestGale, id: string, status: string) =>
    eventually(`${id} to be ${status}`, () => statusOf(g, id), (i) => i.status === status, 180_000);
  const inspect = (id: string) => docker.getContainer(containerName(id)).inspect().catch(() => null);

  async function runningInstance(g: TestGale): Promise<{ id: string; containerId: string }> {
    const created = await call<Instance>(g.url, 'POST', `${V1}/instances`, { headers: alice.bearer, body: { template_id: 'busybox-micro' } });
    assert.equal(created.status, 201, created.text);
    await waitStatus(g, created.body.id, 'RUNNING');
    const info = await inspect(created.body.id);
    assert.ok(info?.State.Running);
    return { id: created.body.id, containerId: info.Id };
  }

  before(async () => {
    await buildBusyboxImage({ docker });
  });

  after(async () => {
    for (const g of gales) {
      const installation = await g.server.store.installationId();
      await g.close();
      const left = await docker.listContainers({ all: true, filters: { label: [`gale.installation=${installation}`] } });
      await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
    }
  });

  test('with recreateVanished, a container removed outside Gale comes back; a killed one stays down', async () => {
    const g = await gale(true);
    alice = await g.user('enterprise');
    const removed = await runningInstance(g);
    await docker.getContainer(removed.containerId).remove({ force: true });
    const back = await eventually(
      `a new container for ${removed.id}`,
      () => inspect(removed.id),
      (info) => info !== null && info.Id !== removed.containerId && info.State.Running,
      180_000,
    );
    const shown = await waitStatus(g, removed.id, 'RUNNING');
    assert.equal(shown.internalIp, Object.values(back?.NetworkSettings.Networks ?? {})[0]?.IPAddress, 'the new container\'s address');

    const killed = await runningInstance(g);
    await docker.getContainer(killed.containerId).kill({ signal: 'SIGKILL' });
    await waitStatus(g, killed.id, 'TERMINATED');
    // Two full resyncs after the kill was recorded; then a few poll intervals for anything they made due.
    await g.server.reconciler.resync();
    const report = await g.server.reconciler.resync();
    assert.equal(report.recreating, 0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const info = await inspect(killed.id);
    assert.equal(info?.Id, killed.containerId, 'the same container, not a new one');
    assert.equal(info?.State.Running, false, 'a killed container is not restarted');
    assert.equal((await statusOf(g, killed.id)).status, 'TERMINATED');
  });

  test('without it, a container removed outside Gale is reported TERMINATED and not recreated', async () => {
    const g = await gale(false);
    alice = await g.user('enterprise');
    const removed = await runningInstance(g);
    await docker.getContainer(removed.containerId).remove({ force: true });
    const shown = await waitStatus(g, removed.id, 'TERMINATED');
    assert.equal(shown.internalIp, '');
    const report = await g.server.reconciler.resync();
    assert.equal(report.recreating, 0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(await inspect(removed.id), null);
  });
});
