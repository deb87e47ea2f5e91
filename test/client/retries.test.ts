import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Gale, GaleApiError, GaleConnectionError, WaitTimeoutError, type RetryNotice } from '../../src/client/index.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import type { Credentials } from '../helpers/http.js';
import { simulatorOverEveryStore } from '../helpers/matrix.js';
import { MisbehavingProxy, type SeenRequest } from './proxy.js';

/*
 * The family's retry rules, through a loopback proxy that misbehaves on cue in front of a real Gale: GETs retried on
 * 429/502/503/504 after Retry-After or the backoff; every mutation sent with an Idempotency-Key, and retried only with
 * it (on 429, 503 or no answer), so that a retry the server already carried out is answered, not done again. What is
 * asserted is what was sent and the waits the client chose, never how long anything took.
 */

const V1 = '/api/compute/v1';
const TEMPLATE = 'debian-12-micro';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const envelope = (code: string, message: string) => JSON.stringify({ error: { message, type: 'WARNING', code, error_id: '00000000-0000-4000-8000-000000000001' } });
const is = (method: string, path: string) => (r: SeenRequest) => r.method === method && r.url.split('?')[0] === `${V1}${path}`;

for (const { backend, name, skip } of await simulatorOverEveryStore()) {
  describe(`retries and idempotency over ${name}`, { skip }, () => {
    let gale: TestGale;
    let proxy: MisbehavingProxy;
    let alice: Credentials;
    let retries: RetryNotice[];
    let client: Gale;
    before(async () => {
      gale = await startTestGale(backend);
      proxy = await MisbehavingProxy.start(gale.url);
      alice = await gale.user('pro');
    });
    after(async () => {
      await proxy?.close();
      await gale?.close();
    });
    const clientWith = (retry: { baseDelayMs?: number; retries?: number } = {}) => {
      retries = [];
      return new Gale({ baseUrl: proxy.url, token: alice.token, retry: { baseDelayMs: 1, ...retry, onRetry: (notice) => retries.push(notice) } });
    };

    test('a GET answered 503 with Retry-After is retried after the seconds it says', async () => {
      client = clientWith();
      proxy.on(is('GET', '/templates'), { kind: 'answer', status: 503, headers: { 'retry-after': '1' }, body: envelope('unavailable', 'busy') });
      const templates = await client.templates.list();
      assert.ok(templates.some((t) => t.id === TEMPLATE));
      assert.equal(proxy.requests('GET', `${V1}/templates`).length, 2);
      assert.deepEqual(retries.map((r) => [r.status, r.delayMs]), [[503, 1_000]]);
    });

    test('without Retry-After a GET backs off exponentially, then gives up with the last error', async () => {
      client = clientWith({ baseDelayMs: 1 });
      proxy.on(is('GET', '/quotas'), { kind: 'answer', status: 502, body: '<html>bad gateway</html>' }, 2);
      proxy.on(is('GET', '/quotas'), { kind: 'answer', status: 504 }, 1);
      assert.equal((await client.quotas()).tier, 'pro');
      assert.deepEqual(retries.map((r) => [r.status, r.delayMs]), [[502, 1], [502, 4], [504, 16]]);

      client = clientWith({ baseDelayMs: 1, retries: 2 });
      proxy.on(is('GET', '/quotas'), { kind: 'answer', status: 429, body: envelope('rate_limited', 'slow down') }, 3);
      const error = await client.quotas().catch((e: unknown) => e);
      assert.ok(error instanceof GaleApiError, String(error));
      assert.deepEqual([error.status, error.code, error.apiMessage], [429, 'rate_limited', 'slow down']);
      assert.equal(retries.length, 2, 'two retries, then the error');
    });

    test('a Retry-After longer than the client waits is not waited for: the error says it', async () => {
      client = clientWith();
      proxy.on(is('GET', '/quotas'), { kind: 'answer', status: 429, headers: { 'retry-after': '3600' }, body: envelope('rate_limited', 'come back later') });
      const error = await client.quotas().catch((e: unknown) => e);
      assert.ok(error instanceof GaleApiError, String(error));
      assert.deepEqual([error.status, error.retryAfterSeconds], [429, 3600]);
      assert.equal(retries.length, 0);
    });

    test('every mutation carries a new Idempotency-Key; one that got no answer is retried with the same key and done once', async () => {
      client = clientWith();
      proxy.on(is('POST', '/instances'), { kind: 'hang-up-after-forwarding' });
      const made = await client.instances.create({ templateId: TEMPLATE });
      const posts = proxy.requests('POST', `${V1}/instances`).slice(-2);
      const keys = posts.map((p) => p.headers['idempotency-key']);
      assert.match(String(keys[0]), UUID);
      assert.equal(keys[1], keys[0], 'the retry carries the same key');
      assert.deepEqual(retries.map((r) => [r.status, r.idempotencyKey]), [[undefined, keys[0]]]);
      // The server made one instance: the retry was answered with the first attempt's answer.
      assert.deepEqual((await client.instances.list()).map((i) => i.id), [made.id]);

      await client.waitForStatus(made.id, 'RUNNING', { timeoutMs: 120_000 });
      proxy.on(is('POST', `/instances/${made.id}/stop`), { kind: 'answer', status: 503, headers: { 'retry-after': '0' }, body: envelope('unavailable', 'closing') });
      const stop = await client.instances.stop(made.id);
      const stops = proxy.requests('POST', `${V1}/instances/${made.id}/stop`);
      assert.equal(stops.length, 2);
      assert.equal(stops[1]!.headers['idempotency-key'], stops[0]!.headers['idempotency-key']);
      await client.waitForOperation(stop.id);

      const { operationId } = await client.instances.delete(made.id, { idempotencyKey: 'my-own-key-1' });
      assert.equal(proxy.requests('DELETE', `${V1}/instances/${made.id}`).at(-1)!.headers['idempotency-key'], 'my-own-key-1');
      await client.waitForOperation(operationId);
      // Every mutation carried a key (POST /operations/{id}/wait changes nothing, and takes none).
      const mutations = proxy.seen.filter((r) => r.method !== 'GET' && !r.url.split('?')[0]!.endsWith('/wait'));
      assert.ok(mutations.length >= 5);
      assert.ok(mutations.every((r) => typeof r.headers['idempotency-key'] === 'string'), 'no mutation went without a key');
    });

    test('a mutation answered 502 is not retried; a GET is never sent a key', async () => {
      client = clientWith();
      proxy.on(is('POST', '/instances'), { kind: 'answer', status: 502 });
      const error = await client.instances.create({ templateId: TEMPLATE }).catch((e: unknown) => e);
      assert.ok(error instanceof GaleApiError && error.status === 502, String(error));
      assert.equal(retries.length, 0);
      assert.ok(proxy.seen.filter((r) => r.method === 'GET').every((r) => r.headers['idempotency-key'] === undefined));
    });

    test('a server that cannot be reached is a GaleConnectionError once the retries are spent', async () => {
      const closed = await MisbehavingProxy.start(gale.url);
      const url = closed.url;
      await closed.close();
      retries = [];
      const nowhere = new Gale({ baseUrl: url, token: alice.token, retry: { baseDelayMs: 1, retries: 2, onRetry: (n) => retries.push(n) } });
      const error = await nowhere.quotas().catch((e: unknown) => e);
      assert.ok(error instanceof GaleConnectionError, String(error));
      assert.equal(retries.length, 2);
    });

    test('waitForStatus asks again after each 408 and gives up at its own timeout with the status last seen', async () => {
      client = clientWith();
      proxy.on((r) => r.method === 'GET' && /\/instances\/[^/]+\/wait$/.test(r.url.split('?')[0]!), {
        kind: 'answer',
        status: 408,
        headers: { 'x-instance-status': 'STAGING' },
        body: envelope('request_timeout', 'not yet'),
      }, 1_000_000);
      const error = await client.waitForStatus('tw-550e84-a1b2c3d4', 'RUNNING', { timeoutMs: 50 }).catch((e: unknown) => e);
      assert.ok(error instanceof WaitTimeoutError, String(error));
      assert.deepEqual([error.lastStatus, error.wanted], ['STAGING', 'RUNNING']);
      const waits = proxy.seen.filter((r) => r.url.startsWith(`${V1}/instances/tw-550e84-a1b2c3d4/wait?`));
      assert.ok(waits.length >= 1);
      assert.ok(waits.every((r) => /timeout=\d+ms/.test(r.url) && r.url.includes('status=RUNNING')), waits.map((r) => r.url).join(' '));
    });
  });
}
