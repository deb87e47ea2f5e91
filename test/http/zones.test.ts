// One Gale, two providers: the catalog gives one zone to Docker and leaves the others to the simulator. Each
// instance's machine is made, driven and removed by its zone's provider, and only there; the API does not change.
// Container addresses are only read, never connected to.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Dockerode from 'dockerode';
import { defaultConfig } from '../../src/config/load.js';
import { containerName } from '../../src/providers/docker/index.js';
import { removeContainersOf } from '../helpers/docker-leftovers.js';
import { LOCAL_BACKEND, unavailable } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { call, eventually, type Credentials } from '../helpers/http.js';

interface Instance {
  id: string;
  zone: string;
  status: string;
}

const V1 = '/api/compute/v1';
const DOCKER_ZONE = 'us-central1-b';
const SIMULATED_ZONE = 'us-central1-a';
const skip = await unavailable({ store: 'sqlite', provider: 'docker' });

describe('zones served by different providers', { skip, timeout: 600_000 }, () => {
  const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
  let gale: TestGale;
  let installation: string;
  let alice: Credentials;
  before(async () => {
    const catalog = { ...defaultConfig().catalog, zoneProviders: { [DOCKER_ZONE]: 'docker' } };
    gale = await startTestGale(LOCAL_BACKEND, { catalog });
    installation = await gale.server.store.installationId();
    alice = await gale.user('pro');
  });
  after(async () => {
    await gale?.close();
    if (installation) await removeContainersOf(installation);
  });

  const api = <T>(method: string, path: string, body?: unknown) => call<T>(gale.url, method, `${V1}${path}`, { headers: alice.bearer, body });
  const waitStatus = (id: string, status: string) =>
    eventually(`${id} to be ${status}`, async () => (await api<Instance>('GET', `/instances/${id}`)).body, (i) => i.status === status, 180_000);
  const container = (id: string) => docker.getContainer(containerName(id)).inspect().catch(() => null);

  test("each instance's machine is made, driven and removed by its zone's provider", async () => {
    const inDocker = await api<Instance>('POST', '/instances', { template_id: 'busybox-micro', zone: DOCKER_ZONE });
    const simulated = await api<Instance>('POST', '/instances', { template_id: 'busybox-micro', zone: SIMULATED_ZONE });
    assert.equal(inDocker.status, 201, inDocker.text);
    assert.equal(simulated.status, 201, simulated.text);
    await waitStatus(inDocker.body.id, 'RUNNING');
    await waitStatus(simulated.body.id, 'RUNNING');

    const made = await container(inDocker.body.id);
    assert.equal(made?.State.Running, true, 'the Docker zone has a running container');
    assert.equal(made?.Config.Image, 'gale/busybox-micro:latest', "the template's Docker image");
    assert.equal(await container(simulated.body.id), null, 'the simulated zone has none');
    const listed = (await gale.server.provider.list()).map((m) => m.instanceId);
    assert.ok(listed.includes(inDocker.body.id) && listed.includes(simulated.body.id), 'both machines are listed, each by its provider');

    assert.equal((await api('POST', `/instances/${inDocker.body.id}/stop`)).status, 202);
    assert.equal((await api('POST', `/instances/${simulated.body.id}/stop`)).status, 202);
    await waitStatus(inDocker.body.id, 'TERMINATED');
    await waitStatus(simulated.body.id, 'TERMINATED');
    assert.equal((await container(inDocker.body.id))?.State.Running, false, 'the container itself stopped');

    for (const id of [inDocker.body.id, simulated.body.id]) assert.equal((await api('DELETE', `/instances/${id}`)).status, 204);
    await eventually('the container removed', () => container(inDocker.body.id), (info) => info === null, 180_000);
    await eventually('both machines gone', async () => (await gale.server.provider.list()).length, (n) => n === 0, 180_000);
  });

  test('readiness checks every provider', async () => {
    const ready = await call<{ status: string; checks: Record<string, unknown> }>(gale.url, 'GET', '/readyz');
    assert.equal(ready.status, 200, ready.text);
  });
});
