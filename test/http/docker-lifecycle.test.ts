// One instance's whole life through Gale's HTTP API with the docker provider, checked against what the Docker
// engine itself reports (dockerode inspect), plus changes made outside Gale (kill, pause). Container addresses are
// read from the API and from inspect, never connected to. Every container made here is removed in after().
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { buildBusyboxImage, containerName, LABELS } from '../../src/providers/docker/index.js';
import { unavailable, type Backend } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { call, eventually, type Answer, type Credentials } from '../helpers/http.js';

interface Instance {
  id: string;
  userId: string;
  zone: string;
  status: string;
  internalIp: string;
  externalIp: string;
  templateId: string;
}

const V1 = '/api/compute/v1';
const TEMPLATE = 'busybox-micro';
const TIMEOUT_MS = 180_000;
const backend: Backend = { store: 'sqlite', provider: 'docker' };
// startTestGale drives the default endpoint, so the checks look at the same engine.
const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
// With CI=true a missing engine throws here and fails the file; elsewhere it is a skip with the reason.
const skip = await unavailable(backend);

/** The address Docker gave the container on its (only) network: what the API must report as internalIp. */
function dockerIp(info: Dockerode.ContainerInspectInfo): string {
  return Object.values(info.NetworkSettings.Networks)[0]?.IPAddress ?? '';
}

describe('docker provider end to end through the API', { skip, timeout: 900_000 }, () => {
  let gale: TestGale;
  let alice: Credentials;
  let installationId: string;

  const api = <T = unknown>(method: string, path: string, body?: unknown): Promise<Answer<T>> =>
    call<T>(gale.url, method, `${V1}${path}`, { headers: alice.bearer, body });
  const get = async (id: string): Promise<Instance> => (await api<Instance>('GET', `/instances/${id}`)).body;
  const waitStatus = (id: string, status: string): Promise<Instance> =>
    eventually(`${id} to be ${status}`, () => get(id), (i) => i.status === status, TIMEOUT_MS);
  const inspect = (id: string): Promise<Dockerode.ContainerInspectInfo | null> =>
    docker.getContainer(containerName(id)).inspect().catch((error: { statusCode?: number }) => {
      if (error.statusCode === 404) return null;
      throw error;
    });
  const mustInspect = async (id: string): Promise<Dockerode.ContainerInspectInfo> => {
    const info = await inspect(id);
    assert.ok(info, `container ${containerName(id)} exists`);
    return info;
  };
  async function power(id: string, operation: string): Promise<void> {
    const answer = await api('POST', `/instances/${id}/${operation}`);
    assert.equal(answer.status, 202, answer.text);
  }
  async function runningInstance(): Promise<Instance> {
    const created = await api<Instance>('POST', '/instances', { template_id: TEMPLATE });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.status, 'PROVISIONING');
    return waitStatus(created.body.id, 'RUNNING');
  }

  before(async () => {
    await buildBusyboxImage({ docker }); // no-op when `gale images build` already made it
    gale = await startTestGale(backend);
    alice = await gale.user('enterprise');
    installationId = await gale.server.store.installationId();
  });

  after(async () => {
    await gale?.close();
    if (!installationId) return;
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.installation}=${installationId}`] } });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  });

  test('create, stop, start, reset and delete, each checked against the engine', async () => {
    // create -> RUNNING with the container's real address
    const instance = await runningInstance();
    const id = instance.id;
    let info = await mustInspect(id);
    assert.equal(info.State.Status, 'running');
    assert.notEqual(instance.internalIp, '');
    assert.equal(instance.internalIp, dockerIp(info));
    assert.equal(instance.externalIp, '', 'no publishHost configured');

    // ownership labels, and the machine type as limits
    assert.equal(info.Config.Labels[LABELS.instanceId], id);
    assert.equal(info.Config.Labels[LABELS.owner], alice.userId);
    assert.equal(info.Config.Labels[LABELS.installation], installationId);
    assert.equal(info.Config.Labels[LABELS.zone], instance.zone);
    assert.equal(info.Config.Labels[LABELS.template], TEMPLATE);
    const template = gale.config.catalog.templates.find((t) => t.id === TEMPLATE);
    const machineType = gale.config.catalog.machineTypes.find((m) => m.name === template?.machineType);
    assert.ok(machineType);
    assert.equal(info.HostConfig.NanoCpus, machineType.vcpus * 1e9);
    assert.equal(info.HostConfig.Memory, machineType.memoryMb * 1024 * 1024);

    // stop: STOPPING at once, then TERMINATED, and the container exited by itself on SIGTERM (code 0)
    await power(id, 'stop');
    const seen = [(await get(id)).status];
    await eventually(`${id} to be TERMINATED`, async () => {
      const status = (await get(id)).status;
      if (seen.at(-1) !== status) seen.push(status);
      return status;
    }, (status) => status === 'TERMINATED', TIMEOUT_MS);
    assert.deepEqual(seen, ['STOPPING', 'TERMINATED']);
    info = await mustInspect(id);
    assert.equal(info.State.Status, 'exited');
    assert.equal(info.State.ExitCode, 0, 'a graceful stop, not a SIGKILL (137)');

    // start -> RUNNING
    await power(id, 'start');
    await waitStatus(id, 'RUNNING');
    info = await mustInspect(id);
    assert.equal(info.State.Running, true);
    assert.equal((await get(id)).internalIp, dockerIp(info));

    // reset: the container boots again (new StartedAt) while the API says RUNNING throughout
    const bootedAt = info.State.StartedAt;
    await power(id, 'reset');
    const during = new Set<string>();
    await eventually('the reset to be carried out', async () => {
      during.add((await get(id)).status);
      const now = await mustInspect(id);
      const ops = await gale.server.store.listOperations(id);
      return { restarted: now.State.Running && now.State.StartedAt !== bootedAt, done: ops.every((op) => op.state === 'done') };
    }, (r) => r.restarted && r.done, TIMEOUT_MS);
    during.add((await get(id)).status);
    assert.deepEqual([...during], ['RUNNING']);

    // delete -> 204, gone from the API at once, and the container removed in the background
    const deleted = await api('DELETE', `/instances/${id}`);
    assert.equal(deleted.status, 204, deleted.text);
    assert.equal((await api('GET', `/instances/${id}`)).status, 404);
    await eventually(`container of ${id} to be removed`, () => inspect(id), (i) => i === null, TIMEOUT_MS);
  });

  test('a container killed outside Gale shows TERMINATED; start through the API brings it back', async () => {
    const { id } = await runningInstance();
    await docker.getContainer(containerName(id)).kill({ signal: 'SIGKILL' });
    const shown = await waitStatus(id, 'TERMINATED');
    assert.equal(shown.externalIp, '');
    assert.equal((await mustInspect(id)).State.Running, false, 'Gale does not restart it by itself');
    await power(id, 'start');
    await waitStatus(id, 'RUNNING');
    assert.equal((await mustInspect(id)).State.Running, true);
  });

  test('a container paused outside Gale shows SUSPENDED; start through the API resumes it', async () => {
    const { id } = await runningInstance();
    const bootedAt = (await mustInspect(id)).State.StartedAt;
    await docker.getContainer(containerName(id)).pause();
    await waitStatus(id, 'SUSPENDED');
    await power(id, 'start');
    await waitStatus(id, 'RUNNING');
    const info = await mustInspect(id);
    assert.deepEqual([info.State.Running, info.State.Paused], [true, false]);
    assert.equal(info.State.StartedAt, bootedAt, 'resumed, not rebooted');
  });
});
