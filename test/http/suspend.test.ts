import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { after, before, describe, test } from 'node:test';
import { containerName } from '../../src/providers/docker/observe.js';
import type { SimulatorProvider } from '../../src/providers/simulator/index.js';
import { backendName, backends, smallTemplateFor, unavailable } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { assertError, call, eventually, type Credentials } from '../helpers/http.js';
import { machinesIn } from '../helpers/simulated-machines.js';

/*
 * Suspend and resume, GCE's, over every store and provider: RUNNING -> SUSPENDING -> SUSPENDED and back to RUNNING in
 * the same boot, with the power operations' 202/409/404 rules; and a machine paused outside Gale (docker pause, or the
 * simulator's stand-in for it) is seen as SUSPENDED and can be resumed.
 */

const V1 = '/api/compute/v1';

interface Instance {
  id: string;
  status: string;
}

for (const backend of backends()) {
  const skip = await unavailable(backend);
  describe(`suspend and resume over ${backendName(backend)}`, { skip }, () => {
    let gale: TestGale;
    let alice: Credentials;
    let admin: Credentials;
    before(async () => {
      gale = await startTestGale(backend);
      alice = await gale.user('pro');
      admin = await gale.user('pro', { admin: true });
    });
    after(async () => gale?.close());

    const api = <T = unknown>(method: string, path: string, who: Credentials = alice) => call<T>(gale.url, method, `${V1}${path}`, { headers: who.bearer });
    const statusOf = async (id: string) => (await api<Instance>('GET', `/instances/${id}`)).body.status;
    const waitFor = (id: string, status: string) => eventually(`${id} to be ${status}`, () => statusOf(id), (s) => s === status, 120_000);
    /** When the machine last booted, as the backend says: a resume must not change it. */
    const bootOf = async (id: string): Promise<string> => {
      if (backend.provider === 'docker') {
        const info = await new Docker({ socketPath: '/var/run/docker.sock' }).getContainer(containerName(id)).inspect();
        return info.State.StartedAt;
      }
      return String((await (await machinesIn(gale.server.store)).get(id))?.bootCount);
    };
    const running = async () => {
      const created = await call<Instance>(gale.url, 'POST', `${V1}/instances`, { headers: alice.bearer, body: { template_id: smallTemplateFor(backend) } });
      assert.equal(created.status, 201, created.text);
      await waitFor(created.body.id, 'RUNNING');
      return created.body.id;
    };

    test('suspend keeps the boot; resume brings it back; the other operations keep their rules', async () => {
      const id = await running();
      const booted = await bootOf(id);
      const suspended = await api<{ kind: string; status: string }>('POST', `/instances/${id}/suspend`);
      assert.equal(suspended.status, 202, suspended.text);
      assert.equal(suspended.body.kind, 'suspend');
      assert.ok(['SUSPENDING', 'SUSPENDED'].includes(await statusOf(id)));
      assertError(await api('POST', `/instances/${id}/reset`), 409, 'conflict');
      await waitFor(id, 'SUSPENDED');
      assert.equal((await api<{ status: string }>('POST', `/instances/${id}/suspend`)).body.status, 'DONE', 'an accepted no-op');
      assertError(await api('POST', `/instances/${id}/restart`), 409, 'conflict', /SUSPENDED/);

      const resumed = await api<{ kind: string }>('POST', `/instances/${id}/resume`);
      assert.equal(resumed.status, 202, resumed.text);
      await waitFor(id, 'RUNNING');
      assert.equal(await bootOf(id), booted, 'the same boot goes on');
      assert.equal((await api<{ status: string }>('POST', `/instances/${id}/resume`)).body.status, 'DONE', 'resume on RUNNING is a no-op');

      // Admins have the same operations; a stopped instance can be neither suspended nor resumed.
      assert.equal((await api('POST', `/admin/instances/${id}/suspend`, admin)).status, 202);
      await waitFor(id, 'SUSPENDED');
      assert.equal((await api('POST', `/instances/${id}/stop`)).status, 202, 'a suspended instance can be stopped');
      await waitFor(id, 'TERMINATED');
      assertError(await api('POST', `/instances/${id}/suspend`), 409, 'conflict', /only a RUNNING instance/);
      assertError(await api('POST', `/instances/${id}/resume`), 409, 'conflict', /only a SUSPENDED instance/);
      assertError(await api('POST', '/instances/tw-000000-00000000/suspend'), 404, 'not_found');
      const kinds = (await gale.server.store.listOperations(id)).filter((op) => op.kind === 'suspend' || op.kind === 'resume');
      assert.ok(kinds.every((op) => op.state === 'done'), JSON.stringify(kinds));
      assert.equal((await api('DELETE', `/instances/${id}`)).status, 204);
    });

    test('a machine paused outside Gale is seen SUSPENDED, and resumes', async () => {
      const id = await running();
      if (backend.provider === 'docker') await new Docker({ socketPath: '/var/run/docker.sock' }).getContainer(containerName(id)).pause();
      else await (gale.server.provider as SimulatorProvider).pauseOutside(id);
      await gale.server.reconciler.resync();
      await waitFor(id, 'SUSPENDED');
      assert.equal((await api('POST', `/instances/${id}/resume`)).status, 202);
      await waitFor(id, 'RUNNING');
      assert.equal((await api('DELETE', `/instances/${id}`)).status, 204);
    });
  });
}
