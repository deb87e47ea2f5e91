import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startServer, type GaleServer } from '../../src/main.js';
import { createLogger } from '../../src/logger.js';
import { backendName, backends, smallTemplateFor, unavailable } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { assertError, call, eventually, type Answer, type Credentials } from '../helpers/http.js';
import { httpCall } from './raw-http.js';

/*
 * Idempotency-Key / requestId over HTTP, on every store: replays, mismatches, per-user scope, concurrent
 * duplicates, restarts and replicas, and which answers are kept (docs/api.md, "Idempotent requests").
 */

const V1 = '/api/compute/v1';

interface Instance {
  id: string;
  status: string;
}

for (const backend of backends().filter((b) => b.provider === 'simulator')) {
  const skip = await unavailable(backend);
  describe(`idempotent requests over ${backendName(backend)}`, { skip }, () => {
    let gale: TestGale;
    const restarted: GaleServer[] = [];
    const template = smallTemplateFor(backend);
    const api = <T = unknown>(base: string, method: string, path: string, who: Credentials, key?: string, body?: unknown) =>
      call<T>(base, method, `${V1}${path}`, { headers: { ...who.keyPair, ...(key === undefined ? {} : { 'idempotency-key': key }) }, body });
    const create = (who: Credentials, key?: string, body: unknown = { template_id: template }, base = gale.url) =>
      api<Instance>(base, 'POST', '/instances', who, key, body);
    const list = async (who: Credentials): Promise<Instance[]> => {
      const answer = await api<Instance[]>(gale.url, 'GET', '/instances', who);
      return answer.status === 404 ? [] : answer.body;
    };
    const operations = (id: string) => gale.server.store.listOperations(id);
    const assertReplay = (first: Answer, again: Answer) => {
      assert.equal(again.status, first.status, again.text);
      assert.equal(again.text, first.text, 'a replay sends the first answer byte for byte');
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(first.headers.get('idempotent-replayed'), null);
    };

    before(async () => {
      gale = await startTestGale(backend);
    });
    after(async () => {
      for (const server of restarted) await server.close();
      await gale?.close();
    });

    test('a repeated create answers the first 201 again, the instance as it was then, and creates nothing', async () => {
      const alice = await gale.user('pro');
      const key = `create-${randomUUID()}`;
      const first = await create(alice, key, { template_id: template, labels: { a: 1, b: [2, 3] } });
      assert.equal(first.status, 201, first.text);
      assert.equal(first.body.status, 'PROVISIONING');
      await eventually('the instance to run', () => api<Instance>(gale.url, 'GET', `/instances/${first.body.id}`, alice), (a) => a.body.status === 'RUNNING');
      // Another spacing and key order is the same body.
      const again = await create(alice, key, { labels: { b: [2, 3], a: 1 }, template_id: template });
      assertReplay(first, again);
      assert.equal(again.body.status, 'PROVISIONING', 'the stored answer, not the instance now');
      assert.deepEqual((await list(alice)).map((i) => i.id), [first.body.id]);
    });

    test('the same key with another body, route or instance answers 409 idempotency_mismatch', async () => {
      const alice = await gale.user('pro');
      const key = randomUUID();
      assert.equal((await create(alice, key)).status, 201);
      assertError(await create(alice, key, { template_id: 'ubuntu-22-standard' }), 409, 'idempotency_mismatch', /different request/);
      const [made] = await list(alice);
      assertError(await api(gale.url, 'POST', `/instances/${made!.id}/stop`, alice, key), 409, 'idempotency_mismatch');
      assert.equal((await list(alice)).length, 1);
    });

    test('requestId is the same key as Idempotency-Key; bad keys answer 400 before anything happens', async () => {
      const alice = await gale.user('pro');
      const id = randomUUID();
      const first = await call<Instance>(gale.url, 'POST', `${V1}/instances?requestId=${id}`, { headers: alice.keyPair, body: { template_id: template } });
      assert.equal(first.status, 201, first.text);
      assertReplay(first, await create(alice, id));
      const both = await call(gale.url, 'POST', `${V1}/instances?requestId=${id}`, { headers: { ...alice.keyPair, 'idempotency-key': id }, body: { template_id: template } });
      assertReplay(first, both);

      const bad = (query: string, key?: string) =>
        call(gale.url, 'POST', `${V1}/instances${query}`, { headers: { ...alice.keyPair, ...(key === undefined ? {} : { 'idempotency-key': key }) }, body: { template_id: template } });
      assertError(await bad('', 'k'.repeat(65)), 400, 'invalid_request', /Idempotency-Key/);
      assertError(await bad('', ''), 400, 'invalid_request', /Idempotency-Key/);
      assertError(await bad('?requestId=not-a-uuid'), 400, 'invalid_request', /requestId must be a UUID/);
      assertError(await bad('?requestId=00000000-0000-0000-0000-000000000000'), 400, 'invalid_request', /zero UUID/);
      assertError(await bad(`?requestId=${id}&requestId=${randomUUID()}`), 400, 'invalid_request');
      assertError(await bad(`?requestId=${randomUUID()}`, 'other'), 400, 'invalid_request', /different keys/);
      const body = JSON.stringify({ template_id: template });
      const headers = { ...alice.keyPair, 'content-type': 'application/json' };
      const twice = await httpCall(gale.url, { method: 'POST', path: `${V1}/instances`, headers: { ...headers, 'idempotency-key': ['a', 'b'] }, body });
      assert.equal(twice.status, 400, twice.text);
      const latin = await httpCall(gale.url, { method: 'POST', path: `${V1}/instances`, headers: { ...headers, 'idempotency-key': 'caf\u00e9' }, body });
      assert.equal(latin.status, 400, latin.text);
      assert.equal((await list(alice)).length, 1, 'only the first create made an instance');
    });

    test('keys are per user: the same key and body from another user is a request of its own', async () => {
      const [alice, bob] = [await gale.user('pro'), await gale.user('pro')];
      const key = 'shared-key';
      const a = await create(alice, key);
      const b = await create(bob, key);
      assert.equal(a.status, 201);
      assert.equal(b.status, 201);
      assert.notEqual(a.body.id, b.body.id);
      assert.equal(b.headers.get('idempotent-replayed'), null);
    });

    test('concurrent duplicates of one key create exactly one instance and all get its answer', async () => {
      const alice = await gale.user('pro');
      const key = randomUUID();
      const answers = await Promise.all(Array.from({ length: 20 }, () => create(alice, key)));
      assert.deepEqual([...new Set(answers.map((a) => a.status))], [201], answers.map((a) => a.text).join('\n'));
      assert.equal(new Set(answers.map((a) => a.text)).size, 1);
      assert.equal(answers.filter((a) => a.headers.get('idempotent-replayed') === null).length, 1);
      assert.equal((await list(alice)).length, 1);
    });

    test('power operations and deletes, user and admin routes: a repeat changes nothing and answers the same', async () => {
      const [alice, admin] = [await gale.user('pro'), await gale.user('pro', { admin: true })];
      const made = (await create(alice)).body;
      await eventually('running', () => api<Instance>(gale.url, 'GET', `/instances/${made.id}`, alice), (a) => a.body.status === 'RUNNING');
      const stop = await api(gale.url, 'POST', `/instances/${made.id}/stop`, alice, 'stop-1');
      assert.equal(stop.status, 202);
      const before = (await operations(made.id)).length;
      const concurrent = await Promise.all(Array.from({ length: 8 }, () => api(gale.url, 'POST', `/instances/${made.id}/stop`, alice, 'stop-1')));
      for (const again of concurrent) assertReplay(stop, again);
      assert.equal((await operations(made.id)).length, before, 'no operation was added by the repeats');

      await eventually('stopped', () => api<Instance>(gale.url, 'GET', `/instances/${made.id}`, alice), (a) => a.body.status === 'TERMINATED');
      const start = await api(gale.url, 'POST', `/admin/instances/${made.id}/start`, admin, 'admin-start');
      assert.equal(start.status, 202);
      assertReplay(start, await api(gale.url, 'POST', `/admin/instances/${made.id}/start`, admin, 'admin-start'));
      // The admin's key is the admin's: the owner using the same key is unrelated to it.
      assert.equal((await api(gale.url, 'POST', `/instances/${made.id}/start`, alice, 'admin-start')).headers.get('idempotent-replayed'), null);

      const removed = await api(gale.url, 'DELETE', `/instances/${made.id}`, alice, 'delete-1');
      assert.equal(removed.status, 204);
      assertReplay(removed, await api(gale.url, 'DELETE', `/instances/${made.id}`, alice, 'delete-1'));
      // After the delete, the stop's key still replays its 202 rather than a 404.
      assertReplay(stop, await api(gale.url, 'POST', `/instances/${made.id}/stop`, alice, 'stop-1'));
      assertError(await api(gale.url, 'DELETE', `/instances/${made.id}`, alice, 'delete-2'), 404, 'not_found');
    });

    test('refusals are not kept: after a quota error or a conflict the same key can succeed', async () => {
      const alice = await gale.user('free');
      const first = await create(alice);
      assert.equal(first.status, 201);
      assertError(await create(alice, 'second'), 403, 'quota_exceeded');
      assertError(await create(alice, 'second'), 403, 'quota_exceeded');
      assert.equal((await api(gale.url, 'DELETE', `/instances/${first.body.id}`, alice)).status, 204);
      const second = await create(alice, 'second');
      assert.equal(second.status, 201, second.text);
      // PROVISIONING refuses power operations with 409; the same key works once the instance is up.
      assertError(await api(gale.url, 'POST', `/instances/${second.body.id}/reset`, alice, 'reset-1'), 409, 'conflict');
      await eventually('running', () => api<Instance>(gale.url, 'GET', `/instances/${second.body.id}`, alice), (a) => a.body.status === 'RUNNING');
      const reset = await api(gale.url, 'POST', `/instances/${second.body.id}/reset`, alice, 'reset-1');
      assert.equal(reset.status, 202);
      assert.equal(reset.headers.get('idempotent-replayed'), null);
    });

    test('keys are shared by replicas of one database and survive a restart', async () => {
      const alice = await gale.user('pro');
      const key = randomUUID();
      const first = await create(alice, key);
      assert.equal(first.status, 201);
      const replica = await startServer(gale.config, { logger: createLogger('silent') });
      restarted.push(replica);
      assertReplay(first, await create(alice, key, undefined, replica.url));
      // Both replicas racing on a new key: still one instance.
      const racing = randomUUID();
      const answers = await Promise.all([gale.url, replica.url, gale.url, replica.url].map((base) => create(alice, racing, undefined, base)));
      assert.equal(new Set(answers.map((a) => a.text)).size, 1, answers.map((a) => `${a.status} ${a.text}`).join('\n'));
      // Every server gone, then a new one on the same database: the keys are still there.
      await replica.close();
      await gale.server.close();
      const again = await startServer(gale.config, { logger: createLogger('silent') });
      restarted.push(again);
      assertReplay(first, await create(alice, key, undefined, again.url));
      assert.equal((await create(alice, racing, undefined, again.url)).text, answers[0]!.text);
      const listed = await call<Instance[]>(again.url, 'GET', `${V1}/instances`, { headers: alice.keyPair });
      assert.equal(listed.body.length, 2);
    });
  });
}
