import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { InstanceView as Instance } from '../../src/contracts/instance.js';
import type { OperationView as Operation } from '../../src/contracts/operation.js';
import { after, before, describe, test } from 'node:test';
import { backendName, backends, simulatorOverEveryStore, smallTemplateFor, unavailable } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { assertError, call, type Answer, type Credentials } from '../helpers/http.js';

/*
 * Every accepted change is an operation that can be looked up, listed and waited on (issue 13), over every store and
 * provider: create (201) and delete (204) name theirs in x-operation-id and Location, the power operations answer
 * 202 with it; POST /operations/{id}/wait answers when it is done; GET /instances/{id}/wait answers when the instance
 * has a status, 408 when the timeout passes first, 409 at once when the status can no longer come.
 * Nothing here polls: every wait below is one request that the server answers when the thing has happened.
 */

const V1 = '/api/compute/v1';



for (const backend of backends()) {
  const skip = await unavailable(backend);
  describe(`operations and waits over ${backendName(backend)}`, { skip }, () => {
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
    /** Waits for the operation to end, a minute at most per call, as a client of GCE's operations.wait loops. */
    async function waitDone(id: string, who: Credentials = alice): Promise<Operation> {
      for (let round = 0; round < 3; round++) {
        const waited = await api<Operation>('POST', `/operations/${id}/wait?timeout=60s`, who);
        assert.equal(waited.status, 200, waited.text);
        if (waited.body.status === 'DONE' || waited.body.status === 'FAILED') return waited.body;
      }
      assert.fail(`operation ${id} was not done after three waits`);
    }
    async function waitStatus(id: string, status: string, who: Credentials = alice): Promise<Answer<Instance>> {
      return api<Instance>('GET', `/instances/${id}/wait?status=${status}&timeout=60s`, who);
    }
    async function create(): Promise<{ id: string; operationId: string }> {
      const made = await call<Instance>(gale.url, 'POST', `${V1}/instances`, { headers: alice.bearer, body: { template_id: smallTemplateFor(backend) } });
      assert.equal(made.status, 201, made.text);
      const operationId = made.headers.get('x-operation-id');
      assert.ok(operationId, 'a create names its operation');
      assert.equal(made.headers.get('location'), `${V1}/operations/${operationId}`);
      return { id: made.body.id, operationId };
    }
    async function accept(path: string, who: Credentials = alice): Promise<Operation> {
      const accepted = await api<Operation>('POST', path, who);
      assert.equal(accepted.status, 202, accepted.text);
      assert.equal(accepted.headers.get('x-operation-id'), accepted.body.id);
      return accepted.body;
    }

    test('every kind of operation, from acceptance to DONE, waited on rather than polled', async () => {
      const { id, operationId } = await create();
      const created = await waitDone(operationId);
      assert.deepEqual([created.kind, created.instanceId, created.userId, created.requestedBy, created.status], ['create', id, alice.userId, alice.userId, 'DONE']);
      assert.ok(created.startedAt && created.finishedAt && created.finishedAt >= created.startedAt && created.startedAt >= created.createdAt);
      assert.equal((await api<Instance>('GET', `/instances/${id}`)).body.status, 'RUNNING', 'a done create left the instance RUNNING');

      const sequence: Array<[string, string]> = [
        ['stop', 'TERMINATED'],
        ['start', 'RUNNING'],
        ['restart', 'RUNNING'],
        ['reset', 'RUNNING'],
        ['suspend', 'SUSPENDED'],
        ['resume', 'RUNNING'],
      ];
      for (const [kind, settled] of sequence) {
        const accepted = await accept(`/instances/${id}/${kind}`);
        assert.deepEqual([accepted.kind, accepted.status], [kind, 'PENDING']);
        const done = await waitDone(accepted.id);
        assert.equal(done.status, 'DONE', `${kind}: ${JSON.stringify(done)}`);
        assert.equal((await api<Instance>('GET', `/instances/${id}`)).body.status, settled, `after ${kind}`);
      }

      const deleted = await call(gale.url, 'DELETE', `${V1}/instances/${id}`, { headers: alice.bearer });
      assert.equal(deleted.status, 204);
      const deleteId = deleted.headers.get('x-operation-id')!;
      assert.equal((await waitDone(deleteId)).kind, 'delete');

      // All of them, newest first, in the caller's list, and on the instance's.
      const listed = await api<{ operations: Operation[]; nextPageToken?: string }>('GET', `/operations?instanceId=${id}`);
      assert.equal(listed.status, 200, listed.text);
      assert.deepEqual(listed.body.operations.map((op) => op.kind), ['delete', 'resume', 'suspend', 'reset', 'restart', 'start', 'stop', 'create']);
      assert.ok(listed.body.operations.every((op) => op.status === 'DONE'));
      assert.equal(listed.body.nextPageToken, undefined);
    });

    test('an admin acting on an instance is recorded as who asked; the owner reads it', async () => {
      const { id, operationId } = await create();
      await waitDone(operationId);
      const stopped = await accept(`/admin/instances/${id}/stop`, admin);
      assert.deepEqual([stopped.userId, stopped.requestedBy], [alice.userId, admin.userId]);
      const done = await waitDone(stopped.id);
      assert.equal(done.requestedBy, admin.userId);
      const deleted = await call(gale.url, 'DELETE', `${V1}/admin/instances/${id}`, { headers: admin.bearer });
      const deletion = await waitDone(deleted.headers.get('x-operation-id')!);
      assert.deepEqual([deletion.kind, deletion.userId, deletion.requestedBy], ['delete', alice.userId, admin.userId]);
    });

    test('instance waits: at once when reached, when it comes, 409 when it cannot come, 408 when the time is up', async () => {
      const { id } = await create();
      const up = await waitStatus(id, 'running');
      assert.equal(up.status, 200, up.text);
      assert.equal(up.body.status, 'RUNNING');
      assert.equal((await waitStatus(id, 'RUNNING')).status, 200, 'already RUNNING: answered at once');

      // Off the way: a RUNNING instance nobody asked to stop will not be TERMINATED.
      assertError(await waitStatus(id, 'TERMINATED'), 409, 'conflict', /will not be TERMINATED without a new request/);
      assertError(await waitStatus(id, 'PROVISIONING'), 409, 'conflict');

      await accept(`/instances/${id}/stop`);
      // Being stopped: RUNNING can no longer come; TERMINATED does.
      assertError(await waitStatus(id, 'RUNNING'), 409, 'conflict', /TERMINATED/);
      const stopped = await waitStatus(id, 'TERMINATED');
      assert.equal(stopped.status, 200, stopped.text);
      assert.equal(stopped.body.status, 'TERMINATED');

      // The time is up before the status comes: 408, with the status it has.
      const started = await accept(`/instances/${id}/start`);
      const early = await api('GET', `/instances/${id}/wait?status=RUNNING&timeout=0s`);
      if (early.status === 408) {
        assertError(early, 408, 'request_timeout', /not yet RUNNING/);
        assert.ok(['STAGING', 'RUNNING', 'TERMINATED'].includes(early.headers.get('x-instance-status')!), early.headers.get('x-instance-status')!);
      } else {
        assert.equal(early.status, 200, 'unless it was RUNNING already');
      }
      assert.equal((await waitStatus(id, 'RUNNING')).status, 200);
      await waitDone(started.id);
      assert.equal((await call(gale.url, 'DELETE', `${V1}/instances/${id}`, { headers: alice.bearer })).status, 204);
      assertError(await waitStatus(id, 'RUNNING'), 404, 'not_found');
    });

    test('waits refuse what they cannot take, and answer for nobody else', async () => {
      const bob = await gale.user('pro');
      const { id, operationId } = await create();
      assertError(await api('GET', `/instances/${id}/wait?status=ASLEEP`), 400, 'invalid_request', /status must be one of/);
      assertError(await api('GET', `/instances/${id}/wait?timeout=soon`), 400, 'invalid_request');
      assertError(await api('GET', `/instances/${id}/wait?timeout=30s&colour=blue`), 400, 'invalid_request', /unknown query parameter/);
      assertError(await api('POST', `/operations/${operationId}/wait?timeout=-1s`), 400, 'invalid_request');
      assertError(await api('GET', `/instances/${id}/wait`, bob), 404, 'not_found');
      assertError(await api('POST', `/operations/${operationId}/wait`, bob), 404, 'not_found');
      assertError(await api('POST', '/operations/01234567-89ab-7def-8123-456789abcdef/wait'), 404, 'not_found');
      // An admin may wait on anyone's.
      assert.equal((await api<Operation>('POST', `/operations/${operationId}/wait?timeout=60s`, admin)).status, 200);
      assert.equal((await api<Instance>('GET', `/admin/instances/${id}/wait?status=RUNNING&timeout=60s`, admin)).body.status, 'RUNNING');
    });

    test('a wait whose time is up answers with the operation as it stands', async () => {
      const { operationId } = await create();
      const at = await api<Operation>('POST', `/operations/${operationId}/wait?timeout=0s`);
      assert.equal(at.status, 200, at.text);
      assert.ok(['PENDING', 'RUNNING', 'DONE'].includes(at.body.status));
      assert.equal((await waitDone(operationId)).status, 'DONE');
    });

    test('the caller\'s operations, newest first, a page at a time, filtered by status', async () => {
      const carol = await gale.user('pro');
      const made: string[] = [];
      for (let i = 0; i < 3; i++) {
        const created = await call<Instance>(gale.url, 'POST', `${V1}/instances`, { headers: carol.bearer, body: { template_id: smallTemplateFor(backend) } });
        assert.equal(created.status, 201, created.text);
        made.push(created.headers.get('x-operation-id')!);
      }
      for (const id of made) await waitDone(id, carol);
      const walked: string[] = [];
      let token: string | undefined;
      do {
        const page = await api<{ operations: Operation[]; nextPageToken?: string }>('GET', `/operations?pageSize=2${token ? `&pageToken=${token}` : ''}`, carol);
        assert.equal(page.status, 200, page.text);
        assert.ok(page.body.operations.length <= 2);
        walked.push(...page.body.operations.map((op) => op.id));
        token = page.body.nextPageToken;
      } while (token);
      assert.deepEqual(walked, [...made].reverse(), 'every one once, newest first');
      const done = await api<{ operations: Operation[] }>('GET', '/operations?status=done', carol);
      assert.equal(done.body.operations.length, 3);
      assert.equal((await api<{ operations: Operation[] }>('GET', '/operations?status=PENDING', carol)).body.operations.length, 0);
      assertError(await api('GET', '/operations?status=SLEEPING', carol), 400, 'invalid_request', /status must be one of/);
      assertError(await api('GET', '/operations?pageToken=garbage', carol), 400, 'invalid_request', /pageToken/);
      const first = await api<{ nextPageToken: string }>('GET', '/operations?pageSize=1', carol);
      assertError(await api('GET', `/operations?pageSize=1&status=DONE&pageToken=${first.body.nextPageToken}`, carol), 400, 'invalid_request', /other filters/);
      // Only the caller's: alice's list has none of carol's.
      const alices = await api<{ operations: Operation[] }>('GET', '/operations?pageSize=500');
      assert.ok(alices.body.operations.every((op) => op.userId === alice.userId));
    });
  });
}

/*
 * The same waits on a simulator whose every transition takes five seconds: what a wait does while the thing it waits
 * for is still to come, without racing the backend.
 */
for (const { backend, skip } of await simulatorOverEveryStore()) {
  describe(`waits on slow transitions over ${backendName(backend)}`, { skip }, () => {
    let gale: TestGale;
    let alice: Credentials;
    before(async () => {
      gale = await startTestGale(backend, { providers: { simulator: { delayMs: 5_000 } } });
      alice = await gale.user('pro');
    });
    after(async () => gale?.close());
    const api = <T = unknown>(method: string, path: string) => call<T>(gale.url, method, `${V1}${path}`, { headers: alice.bearer });

    test('408 with the status it has when the time is up; the operation as it stands', async () => {
      const made = await call<Instance>(gale.url, 'POST', `${V1}/instances`, { headers: alice.bearer, body: { template_id: 'debian-12-micro' } });
      const early = await api('GET', `/instances/${made.body.id}/wait?status=RUNNING&timeout=300ms`);
      assertError(early, 408, 'request_timeout', /not yet RUNNING/);
      assert.ok(['PROVISIONING', 'STAGING'].includes(early.headers.get('x-instance-status')!));
      const operation = await api<Operation>('POST', `/operations/${made.headers.get('x-operation-id')}/wait?timeout=300ms`);
      assert.equal(operation.status, 200);
      assert.ok(['PENDING', 'RUNNING'].includes(operation.body.status), operation.body.status);
    });

    test('an instance deleted while waited on answers 409 at once, not at the timeout', async () => {
      const made = await call<Instance>(gale.url, 'POST', `${V1}/instances`, { headers: alice.bearer, body: { template_id: 'debian-12-micro' } });
      const pending = api('GET', `/instances/${made.body.id}/wait?status=RUNNING&timeout=60s`);
      // The wait is open (one is counted) before the delete is sent.
      await eventuallyOpen(gale, 1);
      assert.equal((await api('DELETE', `/instances/${made.body.id}`)).status, 204);
      assertError(await pending, 409, 'conflict', /was deleted/);
      assert.equal(gale.server.app.server.listening, true);
    });

    test('a client that goes away, closing or only half-closing its connection, gives its stream and wait slots back at once', async () => {
      const frank = await gale.user('pro');
      const made = await call<Instance>(gale.url, 'POST', `${V1}/instances`, { headers: frank.bearer, body: { template_id: 'debian-12-micro' } });
      const id = made.body.id;
      const target = new URL(gale.url);
      for (const how of ['half-close', 'close'] as const) {
        for (const path of [`${V1}/events`, `${V1}/instances/${id}/wait?status=RUNNING&timeout=60s`]) {
          const socket = connect(Number(target.port), target.hostname);
          await new Promise((resolve) => socket.once('connect', resolve));
          socket.write(`GET ${path} HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: ${frank.bearer.authorization}\r\n\r\n`);
          const slots = path.includes('/events') ? gale.server.events.streamSlots : gale.server.events.waitSlots;
          for (let i = 0; i < 200 && slots.heldBy(frank.userId) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
          assert.equal(slots.heldBy(frank.userId), 1, `${path}: open`);
          if (how === 'half-close') socket.end();
          else socket.destroy();
          for (let i = 0; i < 200 && slots.heldBy(frank.userId) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
          assert.equal(slots.heldBy(frank.userId), 0, `${path}: given back after ${how}`);
          socket.destroy();
        }
      }
    });

    test('admin paging by token walks the same instances as by page number, and refuses tokens it did not give', async () => {
      const admin = await gale.user('pro', { admin: true });
      for (let u = 0; u < 3; u++) {
        const owner = await gale.user('pro');
        for (let i = 0; i < 3; i++) await call(gale.url, 'POST', `${V1}/instances`, { headers: owner.bearer, body: { template_id: 'debian-12-micro' } });
      }
      type Page = { pages: number; items: number; instances: Instance[]; nextPageToken?: string };
      const list = (query: string) => call<Page>(gale.url, 'GET', `${V1}/admin/instances?${query}`, { headers: admin.bearer });
      const first = await list('pageSize=2');
      const byNumber: string[] = [];
      for (let page = 1; page <= first.body.pages; page++) byNumber.push(...(await list(`pageSize=2&page=${page}`)).body.instances.map((i) => i.id));
      const byToken: string[] = [];
      let answer = first;
      for (;;) {
        assert.equal(answer.status, 200, answer.text);
        assert.deepEqual([answer.body.items, answer.body.pages], [first.body.items, first.body.pages], 'the totals of the first page');
        byToken.push(...answer.body.instances.map((i) => i.id));
        if (!answer.body.nextPageToken) break;
        answer = await list(`pageSize=2&pageToken=${answer.body.nextPageToken}`);
      }
      assert.ok(byToken.length >= 9);
      assert.deepEqual(byToken, byNumber);
      assert.ok(first.body.nextPageToken);
      assertError(await list(`pageSize=2&page=2&pageToken=${first.body.nextPageToken}`), 400, 'invalid_request', /page or pageToken/);
      assertError(await list(`pageSize=2&status=running&pageToken=${first.body.nextPageToken}`), 400, 'invalid_request', /other filters/);
      assertError(await list('pageToken=bm90IGEgdG9rZW4'), 400, 'invalid_request', /not a token/);
    });

    test('closing the server answers the waits still open', async () => {
      const other = await startTestGale(backend, { providers: { simulator: { delayMs: 60_000 } } });
      const bob = await other.user('pro');
      const made = await call<Instance>(other.url, 'POST', `${V1}/instances`, { headers: bob.bearer, body: { template_id: 'debian-12-micro' } });
      const instanceWait = call(other.url, 'GET', `${V1}/instances/${made.body.id}/wait?status=RUNNING&timeout=60s`, { headers: bob.bearer });
      const operationWait = call<Operation>(other.url, 'POST', `${V1}/operations/${made.headers.get('x-operation-id')}/wait?timeout=60s`, { headers: bob.bearer });
      await eventuallyOpen(other, 2);
      await other.close();
      assertError(await instanceWait, 503, 'unavailable', /shutting down/);
      const operation = await operationWait;
      assert.equal(operation.status, 200);
      assert.ok(['PENDING', 'RUNNING'].includes(operation.body.status));
    });
  });
}

/** Waits until the server counts this many open waits (its own gauge), so that what follows happens during them. */
async function eventuallyOpen(gale: TestGale, waits: number): Promise<void> {
  for (let i = 0; i < 600 && gale.server.events.openWaits < waits; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(gale.server.events.openWaits, waits);
}
