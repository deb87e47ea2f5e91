import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertError, call, eventually, type Credentials } from '../helpers/http.js';
import { backendName, backends, smallTemplateFor, templateFor, unavailable } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';

interface Instance {
  id: string;
  userId: string;
  customerId: string;
  name: string;
  zone: string;
  machineType: string;
  externalIp: string;
  internalIp: string;
  status: string;
  templateId: string;
  createdAt: string;
}

const V1 = '/api/compute/v1';

for (const backend of backends()) {
  const skip = await unavailable(backend);
  describe(`Compute API over ${backendName(backend)}`, { skip }, () => {
    let gale: TestGale;
    let alice: Credentials;
    let bob: Credentials;
    const template = templateFor(backend);
    const small = smallTemplateFor(backend);
    const api = <T = unknown>(method: string, path: string, headers: Record<string, string>, body?: unknown) =>
      call<T>(gale.url, method, `${V1}${path}`, { headers, body });
    const create = (who: Credentials, body: unknown = { template_id: template }) => api<Instance>('POST', '/instances', who.bearer, body);
    const statusOf = async (who: Credentials, id: string) => (await api<Instance>('GET', `/instances/${id}`, who.keyPair)).body;
    const waitFor = (who: Credentials, id: string, status: string) =>
      eventually(`${id} to be ${status}`, () => statusOf(who, id), (i) => i.status === status, 120_000);

    before(async () => {
      gale = await startTestGale(backend);
      alice = await gale.user('pro');
      bob = await gale.user('pro');
    });
    after(async () => gale?.close());

    test('missing credentials answer 403, wrong ones 401, both methods at once 400', async () => {
      assertError(await api('GET', '/instances', {}), 403, 'forbidden', /authentication required/);
      assertError(await api('GET', '/instances', { authorization: 'Bearer nope' }), 401, 'unauthenticated');
      assertError(await api('GET', '/instances', { authorization: 'Basic abc' }), 401, 'unauthenticated');
      assertError(await api('GET', '/instances', { ...alice.keyPair, 'api-secret': 'wrong' }), 401, 'unauthenticated');
      assertError(await api('GET', '/instances', { 'api-key': alice.apiKey }), 401, 'unauthenticated');
      assertError(await api('GET', '/instances', { ...alice.bearer, ...alice.keyPair }), 400, 'invalid_request');
    });

    test('templates and their zones', async () => {
      const templates = await api<Array<Record<string, unknown>>>('GET', '/templates', alice.bearer);
      assert.equal(templates.status, 200);
      const ubuntu = templates.body.find((t) => t.id === 'ubuntu-22-standard');
      assert.deepEqual(ubuntu, {
        id: 'ubuntu-22-standard',
        name: 'Ubuntu 22 Standard',
        description: 'Ubuntu 22.04 LTS standard instance',
        machineType: 'n1-standard-2',
        diskSizeGb: 50,
        diskType: 'pd-standard',
        image: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts',
        region: 'us-central1',
      });
      const zones = await api('GET', '/templates/ubuntu-22-standard/zones', alice.keyPair);
      assert.deepEqual(zones.body, ['us-central1-a', 'us-central1-b', 'us-central1-c']);
      assertError(await api('GET', '/templates/nope/zones', alice.keyPair), 404, 'not_found');
    });

    test('create answers 201 with the instance in the spec form', async () => {
      const created = await create(alice, { template_id: template, zone: 'us-central1-b', ignored: { extra: true } });
      assert.equal(created.status, 201, created.text);
      const i = created.body;
      assert.deepEqual(Object.keys(i).sort(), ['createdAt', 'customerId', 'externalIp', 'id', 'internalIp', 'machineType', 'name', 'status', 'templateId', 'userId', 'zone']);
      assert.equal(i.customerId, '', 'a user of no customer');
      assert.match(i.id, new RegExp(`^tw-${alice.userId.replace(/-/g, '').slice(0, 6)}-[0-9a-f]{8}$`));
      assert.equal(i.name, i.id);
      assert.equal(i.userId, alice.userId);
      assert.equal(i.zone, 'us-central1-b');
      assert.match(i.machineType, /^zones\/us-central1-b\/machineTypes\/[a-z0-9-]+$/);
      assert.equal(i.status, 'PROVISIONING');
      assert.equal(i.externalIp, '');
      assert.equal(i.internalIp, '');
      assert.equal(i.templateId, template);
      assert.match(i.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      await waitFor(alice, i.id, 'RUNNING');
      const running = await statusOf(alice, i.id);
      assert.notEqual(running.internalIp, '');
      assert.equal((await api('DELETE', `/instances/${i.id}`, alice.bearer)).status, 204);
    });

    test('create accepts templateID and templateId, and defaults the zone to {region}-a', async () => {
      for (const body of [{ templateID: template }, { templateId: template }]) {
        const created = await create(alice, body);
        assert.equal(created.status, 201, created.text);
        assert.equal(created.body.zone, 'us-central1-a');
        await waitFor(alice, created.body.id, 'RUNNING');
        assert.equal((await api('DELETE', `/instances/${created.body.id}`, alice.bearer)).status, 204);
      }
    });

    test('create refuses bad input with 400 and unknown templates with 404', async () => {
      const raw = (rawBody: string, headers: Record<string, string> = {}) =>
        call(gale.url, 'POST', `${V1}/instances`, { headers: { ...alice.bearer, ...headers }, rawBody });
      assertError(await raw('{"template_id": '), 400, 'invalid_request');
      assertError(await raw(''), 400, 'invalid_request');
      assertError(await raw('[]'), 400, 'invalid_request');
      assertError(await raw('"x"'), 400, 'invalid_request');
      assertError(await create(alice, { template_id: 42 }), 400, 'invalid_request', /template_id/);
      assertError(await create(alice, { template_id: template, zone: 7 }), 400, 'invalid_request', /zone/);
      assertError(await create(alice, {}), 400, 'invalid_request', /template_id is required/);
      assertError(await create(alice, { template_id: template, templateID: 'other' }), 400, 'invalid_request');
      assertError(await create(alice, { template_id: template, zone: 'mars-1-a' }), 400, 'invalid_request', /unknown zone/);
      assertError(await create(alice, { template_id: template, zone: 'europe-west1-a' }), 400, 'invalid_request', /not in region/);
      assertError(await create(alice, { template_id: 'no-such-template' }), 404, 'not_found', /template/);
      const huge = 'x'.repeat(gale.config.bodyLimitBytes + 10);
      assertError(await raw(JSON.stringify({ template_id: template, pad: huge })), 413, 'payload_too_large');
      assertError(await raw('template_id=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
      const listed = await api('GET', '/instances', alice.bearer);
      assert.equal(listed.status, 404, 'nothing may have been created by refused requests');
    });

    test('list answers 404 when empty, then a bare array newest first', async () => {
      const fresh = await gale.user('pro');
      assertError(await api('GET', '/instances', fresh.bearer), 404, 'not_found', /No instances found for user/);
      const first = (await create(fresh)).body;
      await waitFor(fresh, first.id, 'RUNNING');
      const second = (await create(fresh)).body;
      const listed = await api<Instance[]>('GET', '/instances', fresh.keyPair);
      assert.equal(listed.status, 200);
      assert.ok(Array.isArray(listed.body));
      assert.deepEqual(listed.body.map((i) => i.id), [second.id, first.id]);
      await waitFor(fresh, second.id, 'RUNNING');
      for (const i of [first, second]) assert.equal((await api('DELETE', `/instances/${i.id}`, fresh.bearer)).status, 204);
    });

    test('lifecycle: stop, start, reset, restart and their conflicts', async () => {
      const i = (await create(alice)).body;
      const power = (op: string) => api('POST', `/instances/${i.id}/${op}`, alice.bearer);
      await waitFor(alice, i.id, 'RUNNING');
      const accepted = await power('stop');
      assert.equal(accepted.status, 202);
      const stop = accepted.body as { id: string; kind: string; instanceId: string; status: string };
      assert.deepEqual([stop.kind, stop.instanceId, stop.status], ['stop', i.id, 'PENDING']);
      assert.equal(accepted.headers.get('location'), `${V1}/operations/${stop.id}`);
      assert.equal((await statusOf(alice, i.id)).status, 'STOPPING');
      assertError(await power('start'), 409, 'conflict', /STOPPING/);
      await waitFor(alice, i.id, 'TERMINATED');
      const noop = await power('stop');
      assert.equal(noop.status, 202, 'stop on TERMINATED is an accepted no-op');
      assert.equal((noop.body as { status: string }).status, 'DONE', 'a no-op is done when accepted');
      assertError(await power('reset'), 409, 'conflict', /TERMINATED/);
      assertError(await power('restart'), 409, 'conflict', /TERMINATED/);
      assert.equal((await power('start')).status, 202);
      await waitFor(alice, i.id, 'RUNNING');
      assert.equal((await power('start')).status, 202, 'start on RUNNING is an accepted no-op');
      for (const op of ['reset', 'restart']) {
        assert.equal((await power(op)).status, 202);
        assert.equal((await statusOf(alice, i.id)).status, 'RUNNING', `${op} keeps the instance RUNNING`);
      }
      const ops = await gale.server.store.listOperations(i.id);
      await eventually('the resets to be carried out', () => gale.server.store.listOperations(i.id), (list) => list.every((o) => o.state === 'done'));
      assert.deepEqual(ops.map((o) => o.kind), ['create', 'stop', 'stop', 'start', 'start', 'reset', 'restart']);
      const stopOperation = await api<{ status: string; finishedAt: string }>('GET', `/operations/${stop.id}`, alice.keyPair);
      assert.deepEqual([stopOperation.status, stopOperation.body.status], [200, 'DONE']);
      assert.equal((await api('DELETE', `/instances/${i.id}`, alice.keyPair)).status, 204);
    });

    test('delete answers 204, hides the instance at once and tears it down', async () => {
      const i = (await create(alice)).body;
      await waitFor(alice, i.id, 'RUNNING');
      const deleted = await api('DELETE', `/instances/${i.id}`, alice.bearer);
      assert.equal(deleted.status, 204);
      assert.equal(deleted.text, '');
      assertError(await api('GET', `/instances/${i.id}`, alice.bearer), 404, 'not_found');
      assertError(await api('DELETE', `/instances/${i.id}`, alice.bearer), 404, 'not_found');
      assertError(await api('POST', `/instances/${i.id}/start`, alice.bearer), 404, 'not_found');
      await eventually('the machine to be torn down', () => gale.server.provider.inspect(i.id), (m) => m === null);
    });

    test('empty ids answer 400, unknown routes 404 and wrong methods 405, all with the envelope', async () => {
      assertError(await api('GET', '/instances/', alice.bearer), 400, 'invalid_request', /empty/);
      assertError(await api('DELETE', '/instances/', alice.bearer), 400, 'invalid_request');
      assertError(await api('POST', '/instances//stop', alice.bearer), 400, 'invalid_request');
      assertError(await api('GET', '/instances/tw-000000-00000000', alice.bearer), 404, 'not_found');
      assertError(await api('GET', '/nothing-here', alice.bearer), 404, 'not_found');
      assertError(await call(gale.url, 'GET', '/'), 404, 'not_found');
      assertError(await api('PUT', '/instances', alice.bearer), 405, 'method_not_allowed');
      assertError(await api('GET', '/instances/tw-000000-00000000/stop', alice.bearer), 405, 'method_not_allowed');
    });

    test('another user\'s instance is indistinguishable from a missing one on every route', async () => {
      const mine = (await create(alice)).body;
      await waitFor(alice, mine.id, 'RUNNING');
      for (const who of [bob.bearer, bob.keyPair]) {
        const missing = await api('GET', '/instances/tw-000000-00000000', who);
        const foreign = await api('GET', `/instances/${mine.id}`, who);
        assertError(foreign, 404, 'not_found');
        assert.equal((foreign.body as { error: { message: string } }).error.message.replace(mine.id, 'X'),
          (missing.body as { error: { message: string } }).error.message.replace('tw-000000-00000000', 'X'));
        for (const op of ['start', 'stop', 'restart', 'reset']) assertError(await api('POST', `/instances/${mine.id}/${op}`, who), 404, 'not_found');
        assertError(await api('DELETE', `/instances/${mine.id}`, who), 404, 'not_found');
        const bobs = await api<Instance[]>('GET', '/instances', who);
        assert.ok(bobs.status === 404 || !bobs.body.some((i) => i.id === mine.id));
        assertError(await api('GET', '/admin/instances', who), 403, 'forbidden');
        assertError(await api('GET', `/admin/instances/${mine.id}`, who), 403, 'forbidden');
        assertError(await api('DELETE', `/admin/instances/${mine.id}`, who), 403, 'forbidden');
        assertError(await api('POST', `/admin/instances/${mine.id}/stop`, who), 403, 'forbidden');
      }
      assert.equal((await statusOf(alice, mine.id)).status, 'RUNNING', 'nothing bob did reached it');
      assert.equal((await api('DELETE', `/instances/${mine.id}`, alice.bearer)).status, 204);
    });

    test('quotas: a create over the limit answers 403 naming the limit and tier', async () => {
      const free = await gale.user('free');
      const first = await create(free, { template_id: 'ubuntu-22-standard' });
      assert.equal(first.status, 201);
      assertError(await create(free, { template_id: 'ubuntu-22-standard' }), 403, 'quota_exceeded', /quota exceeded: instances 1\/1 \(tier free\)/);
      const quotas = await api<{ tier: string; quotas: Record<string, { limit: number; usage: number; remaining: number }> }>('GET', '/quotas', free.bearer);
      assert.equal(quotas.status, 200);
      assert.equal(quotas.body.tier, 'free');
      assert.deepEqual(quotas.body.quotas.instances, { limit: 1, usage: 1, remaining: 0 });
      assert.deepEqual(quotas.body.quotas.vcpus, { limit: 2, usage: 2, remaining: 0 });
      assert.deepEqual(quotas.body.quotas.diskGb, { limit: 50, usage: 50, remaining: 0 });
      assert.equal((await api('DELETE', `/instances/${first.body.id}`, free.bearer)).status, 204);
      const again = await create(free, { template_id: 'ubuntu-22-standard' });
      assert.equal(again.status, 201, 'a deleted instance no longer counts');
      assertError(await create(free, { template_id: 'ubuntu-22-large' }), 403, 'quota_exceeded');
    });

    test('concurrent creates never exceed the quota', async () => {
      const racer = await gale.user('pro');
      const answers = await Promise.all(Array.from({ length: 20 }, () => create(racer, { template_id: small })));
      const codes = answers.map((a) => a.status).sort();
      assert.equal(codes.filter((c) => c === 201).length, 3, `codes: ${codes.join(',')}`);
      assert.equal(codes.filter((c) => c === 403).length, 17);
      const listed = await api<Instance[]>('GET', '/instances', racer.bearer);
      assert.equal(listed.body.length, 3);
    });

    test('rate limits: the whole allowance in a burst, then 429 with Retry-After', async () => {
      const limited = await gale.user('free');
      const limit = gale.config.tiers.free!.requestsPerMinute;
      let last = await api('GET', '/templates', limited.bearer);
      assert.equal(last.headers.get('ratelimit-limit'), String(limit));
      assert.equal(last.headers.get('ratelimit-remaining'), String(limit - 1));
      assert.ok(Number(last.headers.get('ratelimit-reset')) > 0);
      for (let i = 1; i < limit; i++) last = await api('GET', '/templates', limited.bearer);
      assert.equal(last.status, 200);
      assert.equal(last.headers.get('ratelimit-remaining'), '0');
      const refused = await api('GET', '/templates', limited.keyPair);
      assertError(refused, 429, 'rate_limited');
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal(refused.headers.get('ratelimit-remaining'), '0');
    });

    test('admin routes list, read and act on every user\'s instances', async () => {
      const admin = await gale.user('free', { admin: true });
      const owner = await gale.user('pro');
      const made: Instance[] = [];
      for (let n = 0; n < 3; n++) made.push((await create(owner, { template_id: small })).body);
      const page = await api<{ pages: number; items: number; instances: Instance[] }>('GET', `/admin/instances?userID=${owner.userId}&pageSize=2`, admin.bearer);
      assert.equal(page.status, 200);
      assert.equal(page.body.items, 3);
      assert.equal(page.body.pages, 2);
      assert.deepEqual(page.body.instances.map((i) => i.id), [made[2]!.id, made[1]!.id]);
      const second = await api<{ instances: Instance[] }>('GET', `/admin/instances?userID=${owner.userId}&limit=2&page=2`, admin.bearer);
      assert.deepEqual(second.body.instances.map((i) => i.id), [made[0]!.id]);
      const byZone = await api<{ items: number }>('GET', `/admin/instances?userID=${owner.userId}&zone=${made[0]!.zone}`, admin.bearer);
      assert.equal(byZone.body.items, 3);
      const elsewhere = await api<{ items: number }>('GET', `/admin/instances?userID=${owner.userId}&zone=asia-east1-a`, admin.bearer);
      assert.equal(elsewhere.body.items, 0);
      const byTemplate = await api<{ items: number }>('GET', `/admin/instances?templateID=${small}&userID=${owner.userId}`, admin.bearer);
      assert.equal(byTemplate.body.items, 3);
      assertError(await api('GET', '/admin/instances?page=0', admin.bearer), 400, 'invalid_request');
      assertError(await api('GET', '/admin/instances?pageSize=abc', admin.bearer), 400, 'invalid_request');
      assertError(await api('GET', '/admin/instances?status=BROKEN', admin.bearer), 400, 'invalid_request');
      const one = await api<Instance>('GET', `/admin/instances/${made[0]!.id}`, admin.keyPair);
      assert.equal(one.body.userId, owner.userId);
      await waitFor(owner, made[0]!.id, 'RUNNING');
      assert.equal((await api('POST', `/admin/instances/${made[0]!.id}/stop`, admin.bearer)).status, 202);
      await waitFor(owner, made[0]!.id, 'TERMINATED');
      assert.equal((await api('DELETE', `/admin/instances/${made[0]!.id}`, admin.bearer)).status, 204);
      assertError(await api('GET', `/instances/${made[0]!.id}`, owner.bearer), 404, 'not_found');
      // Admins are not rate limited on admin routes, even on the free tier.
      for (let n = 0; n < gale.config.tiers.free!.requestsPerMinute + 5; n++) {
        assert.equal((await api('GET', '/admin/instances?pageSize=1', admin.bearer)).status, 200);
      }
    });

    test('the OpenAPI document describes every route', async () => {
      const doc = await call<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(gale.url, 'GET', `${V1}/openapi.json`);
      assert.equal(doc.status, 200);
      assert.equal(doc.body.openapi, '3.1.0');
      const paths = Object.keys(doc.body.paths);
      for (const p of ['/instances', '/instances/{id}', '/instances/{id}/start', '/instances/{id}/reset', '/templates', '/templates/{templateID}/zones', '/quotas', '/admin/instances', '/admin/instances/{id}/stop']) {
        assert.ok(paths.includes(`${V1}${p}`), `missing ${p} in ${paths.join(' ')}`);
      }
      assert.ok(doc.body.paths[`${V1}/instances`]!.post, 'create is documented');
    });
  });
}
