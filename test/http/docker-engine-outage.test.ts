// The Docker engine going away and coming back, seen by Gale. The engine everyone shares here is never stopped:
// this Gale reaches it through a unix-socket proxy the test takes down and brings back, which Gale cannot tell
// from dockerd stopping and restarting (the socket vanishes, connections and the event stream are cut).
// Container addresses are only read, never connected to. Every container made here is removed in after().
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { buildBusyboxImage, containerName, LABELS } from '../../src/providers/docker/index.js';
import { unavailable, type Backend } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { call, eventually, type Credentials } from '../helpers/http.js';

interface Instance {
  id: string;
  status: string;
  internalIp: string;
}

const V1 = '/api/compute/v1';
const ENGINE_SOCKET = '/var/run/docker.sock';
const TIMEOUT_MS = 240_000;
const backend: Backend = { store: 'sqlite', provider: 'docker' };
const docker = new Dockerode({ socketPath: ENGINE_SOCKET });
const skip = await unavailable(backend);

/** Forwards a unix socket to the engine's; down() closes it and cuts every connection, as a dying dockerd would. */
class EngineProxy {
  private server: Server | undefined;
  private readonly open = new Set<Socket>();

  constructor(readonly path: string) {}

  async up(): Promise<void> {
    if (this.server) return;
    rmSync(this.path, { force: true });
    const server = createServer((client) => {
      const engine = connect(ENGINE_SOCKET);
      for (const socket of [client, engine]) {
        this.open.add(socket);
        socket.on('close', () => this.open.delete(socket));
        socket.on('error', () => undefined); // the other side is torn down with it below
      }
      client.on('close', () => engine.destroy());
      engine.on('close', () => client.destroy());
      client.pipe(engine).pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.path, resolve));
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.open) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true }); // the socket file goes, as dockerd's does: connecting gives ENOENT
  }
}

describe('the Docker engine down and back', { skip, timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gale-engine-proxy-'));
  const proxy = new EngineProxy(join(dir, 'docker.sock'));
  let gale: TestGale;
  let alice: Credentials;
  let installationId: string;

  const api = <T = unknown>(method: string, path: string, body?: unknown) =>
    call<T>(gale.url, method, `${V1}${path}`, { headers: alice.bearer, body });
  const get = async (id: string): Promise<Instance> => (await api<Instance>('GET', `/instances/${id}`)).body;
  const waitStatus = (id: string, status: string) =>
    eventually(`${id} to be ${status}`, () => get(id), (i) => i.status === status, TIMEOUT_MS);
  // Straight to the engine, not through the proxy: the engine itself is up all along.
  const inspect = (id: string) => docker.getContainer(containerName(id)).inspect().catch(() => null);
  async function runningInstance(): Promise<Instance> {
    const created = await api<Instance>('POST', '/instances', { template_id: 'busybox-micro' });
    assert.equal(created.status, 201, created.text);
    return waitStatus(created.body.id, 'RUNNING');
  }

  before(async () => {
    await buildBusyboxImage({ docker });
    await proxy.up();
    gale = await startTestGale(backend, { providers: { docker: { endpoints: { '*': proxy.path } } } });
    alice = await gale.user('enterprise');
    installationId = await gale.server.store.installationId();
  });

  after(async () => {
    await proxy.up().catch(() => undefined); // so that a Gale stopping mid-outage can finish what it holds
    await gale?.close();
    await proxy.down();
    rmSync(dir, { recursive: true, force: true });
    if (!installationId) return;
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.installation}=${installationId}`] } });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  });

  test('the API answers from the store, GET shows the last observed status, and work resumes when it returns', async () => {
    const killedMeanwhile = await runningInstance();
    const stoppedMeanwhile = await runningInstance();

    await proxy.down();
    // Readiness says what is wrong; everything else answers as before.
    const ready = await call<{ error: { message: string } }>(gale.url, 'GET', '/readyz');
    assert.equal(ready.status, 503, ready.text);
    assert.match(ready.body.error.message, /provider failed: the docker engine of zones .* is not answering/);
    assert.doesNotMatch(ready.text, /tcp:|unix:|127\.0\.0\.1/, 'readiness, which anyone may read, names no address');
    const listed = await api<Instance[]>('GET', '/instances');
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listed.body.length, 2);

    // Changed while Gale cannot see the engine: GET keeps what was last observed rather than guess.
    await docker.getContainer(containerName(killedMeanwhile.id)).kill({ signal: 'SIGKILL' });
    const resync = await gale.server.reconciler.resync().then(() => 'succeeded', (error: Error) => error.message);
    assert.match(resync, /unreachable/, 'a resync cannot see the engine, and records nothing');
    const stale = await get(killedMeanwhile.id);
    assert.deepEqual([stale.status, stale.internalIp], ['RUNNING', killedMeanwhile.internalIp]);

    // Accepted while down: shown as requested, carried out later.
    const stop = await api('POST', `/instances/${stoppedMeanwhile.id}/stop`);
    assert.equal(stop.status, 202, stop.text);
    const created = await api<Instance>('POST', '/instances', { template_id: 'busybox-micro' });
    assert.equal(created.status, 201, created.text);
    // Let a few attempts fail (each backed off) while the engine stays away.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal((await get(stoppedMeanwhile.id)).status, 'STOPPING');
    assert.equal((await get(created.body.id)).status, 'PROVISIONING');
    assert.equal((await inspect(stoppedMeanwhile.id))?.State.Running, true, 'nothing reached the engine');
    assert.equal(await inspect(created.body.id), null);

    await proxy.up();
    await waitStatus(killedMeanwhile.id, 'TERMINATED');
    await waitStatus(stoppedMeanwhile.id, 'TERMINATED');
    const exited = await inspect(stoppedMeanwhile.id);
    assert.deepEqual([exited?.State.Status, exited?.State.ExitCode], ['exited', 0]);
    const running = await waitStatus(created.body.id, 'RUNNING');
    const info = await inspect(created.body.id);
    assert.equal(running.internalIp, Object.values(info?.NetworkSettings.Networks ?? {})[0]?.IPAddress);

    for (const id of [killedMeanwhile.id, stoppedMeanwhile.id, created.body.id]) {
      assert.equal((await api('DELETE', `/instances/${id}`)).status, 204);
    }
    for (const id of [killedMeanwhile.id, stoppedMeanwhile.id, created.body.id]) {
      await eventually(`container of ${id} to be removed`, () => inspect(id), (i) => i === null, TIMEOUT_MS);
    }
  });
});
