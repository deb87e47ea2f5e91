// What Gale may touch on a shared Docker engine, and what it leaves behind: orphans bearing this installation's
// labels are reaped, foreign containers are never touched, and an image that cannot be had ends the instance
// TERMINATED with nothing leaked. Every container made here is removed in after().
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { defaultConfig } from '../../src/config/load.js';
import { BUSYBOX_IMAGE_TAG, buildBusyboxImage, containerName, LABELS } from '../../src/providers/docker/index.js';
import { unavailable, type Backend } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { call, eventually, type Credentials } from '../helpers/http.js';

interface Instance {
  id: string;
  status: string;
}

const V1 = '/api/compute/v1';
const TIMEOUT_MS = 180_000;
const backend: Backend = { store: 'sqlite', provider: 'docker' };
const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
const skip = await unavailable(backend);
const run = Math.random().toString(16).slice(2, 10);

// A registry on the loopback that nothing listens on: the engine refuses the pull at once, with no outside traffic.
const MISSING_IMAGE = '127.0.0.1:9/gale/no-such-image:never';
const base = defaultConfig();
const catalog = {
  ...base.catalog,
  templates: [
    ...base.catalog.templates,
    {
      id: 'missing-image',
      name: 'Missing image',
      description: 'A template whose image no registry can provide',
      machineType: 'e2-micro',
      diskSizeGb: 10,
      diskType: 'pd-standard',
      image: 'gale/no-such-image',
      region: 'us-central1',
      providerImages: { docker: MISSING_IMAGE },
    },
  ],
};

describe('docker provider: ownership and failures', { skip, timeout: 600_000 }, () => {
  let gale: TestGale;
  let alice: Credentials;
  let installationId: string;
  const made: Dockerode.Container[] = [];

  const api = <T = unknown>(method: string, path: string, body?: unknown) =>
    call<T>(gale.url, method, `${V1}${path}`, { headers: alice.bearer, body });
  const exists = (container: Dockerode.Container): Promise<Dockerode.ContainerInspectInfo | null> =>
    container.inspect().catch((error: { statusCode?: number }) => {
      if (error.statusCode === 404) return null;
      throw error;
    });
  /** A running container made behind Gale's back, with whatever labels the case needs. */
  async function outsideContainer(name: string, labels: Record<string, string>): Promise<Dockerode.Container> {
    const container = await docker.createContainer({ name, Image: BUSYBOX_IMAGE_TAG, Labels: labels, HostConfig: { Memory: 64 * 1024 * 1024 } });
    made.push(container);
    await container.start();
    return container;
  }

  before(async () => {
    await buildBusyboxImage({ docker });
    gale = await startTestGale(backend, { catalog });
    alice = await gale.user('enterprise');
    installationId = await gale.server.store.installationId();
  });

  after(async () => {
    await gale?.close();
    const left = installationId
      ? await docker.listContainers({ all: true, filters: { label: [`${LABELS.installation}=${installationId}`] } })
      : [];
    const all = [...made, ...left.map((c) => docker.getContainer(c.Id))];
    await Promise.all(all.map((c) => c.remove({ force: true, v: true }).catch(() => undefined)));
  });

  test('an orphan with our labels is reaped; foreign containers are left alone', async () => {
    // Foreign first, so that the resync which reaps the orphan has certainly seen them too.
    const unlabelled = await outsideContainer(`gale-test-foreign-${run}`, {});
    const otherInstallation = await outsideContainer(containerName(`tw-0000aa-${run}`), {
      [LABELS.instanceId]: `tw-0000aa-${run}`,
      [LABELS.installation]: `another-installation-${run}`,
      [LABELS.owner]: 'someone-else',
    });
    // Gale's instance label alone does not make a container Gale's: the installation label does.
    const instanceLabelOnly = await outsideContainer(`gale-test-half-labelled-${run}`, { [LABELS.instanceId]: `tw-0000cc-${run}` });
    // Named as Gale names its containers, for an instance id this installation never had.
    const orphanId = `tw-0000bb-${run}`;
    const orphan = await outsideContainer(containerName(orphanId), {
      [LABELS.instanceId]: orphanId,
      [LABELS.installation]: installationId,
      [LABELS.owner]: alice.userId,
    });

    await eventually('the orphan to be reaped', () => exists(orphan), (info) => info === null, TIMEOUT_MS);
    const report = await gale.server.reconciler.resync();
    assert.equal(report.orphansReaped, 0, 'nothing else of ours to reap');
    for (const foreign of [unlabelled, otherInstallation, instanceLabelOnly]) {
      const info = await exists(foreign);
      assert.ok(info, 'a foreign container still exists');
      assert.equal(info.State.Running, true, 'and was not stopped either');
    }
  });

  test('an image that cannot be had ends TERMINATED, is deletable, and leaves no container', async () => {
    const created = await api<Instance>('POST', '/instances', { template_id: 'missing-image' });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    await eventually(`${id} to end TERMINATED`, async () => (await api<Instance>('GET', `/instances/${id}`)).body.status, (s) => s === 'TERMINATED', TIMEOUT_MS);
    // The reason is kept with the failed operation (and logged), naming the image.
    const [createOp] = await gale.server.store.listOperations(id);
    assert.equal(createOp?.state, 'failed');
    assert.match(createOp?.error ?? '', /127\.0\.0\.1:9\/gale\/no-such-image/);
    const byLabel = () => docker.listContainers({ all: true, filters: { label: [`${LABELS.instanceId}=${id}`] } });
    assert.deepEqual(await byLabel(), []);

    assert.equal((await api('DELETE', `/instances/${id}`)).status, 204);
    assert.equal((await api('GET', `/instances/${id}`)).status, 404);
    await eventually(`${id} to be purged`, () => gale.server.store.listOperations(id), (ops) => ops.every((op) => op.state !== 'pending'), TIMEOUT_MS);
    assert.deepEqual(await byLabel(), []);
  });
});
