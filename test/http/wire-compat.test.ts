import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { simulatorOverEveryStore, smallTemplateFor } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { assertError, call, eventually, type Answer, type Credentials } from '../helpers/http.js';

/*
 * What the family's clients send and expect (issue 11), request by request on the wire, over every store: bodiless
 * requests with Content-Type: application/json, JSON 202s with their operation, an empty zone, status filters in any
 * case, the customerID filter, and 415 for bodies that are not JSON.
 */

const V1 = '/api/compute/v1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Instance {
  id: string;
  userId: string;
  customerId: string;
  zone: string;
  status: string;
}

interface Operation {
  id: string;
  kind: string;
  instanceId: string;
  userId: string;
  status: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: { message: string };
}

for (const { backend, skip } of await simulatorOverEveryStore()) {
  describe(`client compatibility on the wire over ${backend.store}`, { skip }, () => {
    let gale: TestGale;
    let alice: Credentials;
    let bob: Credentials;
    let admin: Credentials;
    const template = smallTemplateFor(backend);
    /** As the Go SDK sends a bodiless request: Content-Type: application/json and an empty body (Content-Length: 0). */
    const bodiless = (method: string, path: string, who: Credentials) =>
      call(gale.url, method, `${V1}${path}`, { headers: { ...who.keyPair, 'content-type': 'application/json' }, rawBody: '' });
    const api = <T = unknown>(method: string, path: string, who: Credentials, body?: unknown) => call<T>(gale.url, method, `${V1}${path}`, { headers: who.bearer, body });
    const make = async (who: Credentials, zone?: string): Promise<Instance> => {
      const created = await api<Instance>('POST', '/instances', who, zone === undefined ? { templateID: template } : { templateID: template, zone });
      assert.equal(created.status, 201, created.text);
      return created.body;
    };
    const waitFor = (who: Credentials, id: string, status: string) =>
      eventually(`${id} to be ${status}`, async () => (await api<Instance>('GET', `/instances/${id}`, who)).body.status, (s) => s === status);

    before(async () => {
      gale = await startTestGale(backend);
      alice = await gale.user('pro', { customerId: 'acme' });
      bob = await gale.user('pro');
      admin = await gale.user('free', { admin: true });
    });
    after(async () => gale?.close());

    test('Content-Type: application/json with an empty body is "no body" on the routes that take none', async () => {
      const i = await make(alice);
      await waitFor(alice, i.id, 'RUNNING');
      for (const op of ['restart', 'reset', 'stop']) assert.equal((await bodiless('POST', `/instances/${i.id}/${op}`, alice)).status, 202, op);
      await waitFor(alice, i.id, 'TERMINATED');
      assert.equal((await bodiless('POST', `/admin/instances/${i.id}/start`, admin)).status, 202);
      await waitFor(alice, i.id, 'RUNNING');
      assert.equal((await bodiless('POST', `/admin/instances/${i.id}/stop`, admin)).status, 202);
      await waitFor(alice, i.id, 'TERMINATED');
      // Any Content-Type, empty: still no body. A JSON body on a route that takes none is read and ignored ({} from axios).
      const plainEmpty = await call(gale.url, 'POST', `${V1}/instances/${i.id}/stop`, { headers: { ...alice.bearer, 'content-type': 'text/plain' }, rawBody: '' });
      assert.equal(plainEmpty.status, 202, plainEmpty.text);
      assert.equal((await call(gale.url, 'POST', `${V1}/instances/${i.id}/stop`, { headers: alice.bearer, rawBody: '{}' })).status, 202);
      assert.equal((await bodiless('DELETE', `/instances/${i.id}`, alice)).status, 204);
      const j = await make(alice);
      assert.equal((await bodiless('DELETE', `/admin/instances/${j.id}`, admin)).status, 204);
      // A route that takes a body still refuses an empty one.
      assertError(await bodiless('POST', '/instances', alice), 400, 'invalid_request', /the request body is empty/);
    });

    test('a body that is not JSON answers 415, on routes that take a body and on those that take none', async () => {
      const raw = (path: string, headers: Record<string, string>, rawBody: string) => call(gale.url, 'POST', `${V1}${path}`, { headers: { ...alice.bearer, ...headers }, rawBody });
      const body = JSON.stringify({ template_id: template });
      assertError(await raw('/instances', { 'content-type': 'text/plain' }, body), 415, 'unsupported_media_type', /text\/plain is not accepted: this route takes a JSON object/);
      assertError(await raw('/instances', { 'content-type': '' }, body), 415, 'unsupported_media_type', /without a usable Content-Type/);
      assertError(await raw('/instances', { 'content-type': 'application/x-www-form-urlencoded' }, 'template_id=x'), 415, 'unsupported_media_type');
      assertError(await raw('/instances/tw-000000-00000000/stop', { 'content-type': 'text/plain' }, 'stop it'), 415, 'unsupported_media_type', /takes no body/);
      assert.equal((await raw('/instances', { 'content-type': 'application/json; charset=utf-8' }, body)).status, 201);
    });

    test('a power operation answers 202 with its operation and a Location that can be followed to DONE', async () => {
      const i = await make(alice);
      await waitFor(alice, i.id, 'RUNNING');
      const accepted = await bodiless('POST', `/instances/${i.id}/stop`, alice);
      assert.equal(accepted.status, 202);
      assert.match(accepted.headers.get('content-type') ?? '', /^application\/json/);
      const operation = accepted.body as Operation;
      assert.deepEqual(Object.keys(operation).sort(), ['createdAt', 'id', 'instanceId', 'kind', 'requestedBy', 'status', 'userId']);
      assert.match(operation.id, UUID);
      assert.deepEqual([operation.kind, operation.instanceId, operation.userId, operation.status], ['stop', i.id, alice.userId, 'PENDING']);
      assert.match(operation.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const location = accepted.headers.get('location');
      assert.equal(location, `${V1}/operations/${operation.id}`);
      assert.equal(accepted.headers.get('x-operation-id'), operation.id);

      const done = await eventually('the stop to be DONE', async () => (await call<Operation>(gale.url, 'GET', location!, { headers: alice.keyPair })).body, (o) => o.status === 'DONE');
      assert.deepEqual([done.id, done.kind, done.createdAt], [operation.id, 'stop', operation.createdAt]);
      assert.ok(done.startedAt && done.finishedAt && done.startedAt <= done.finishedAt && done.createdAt <= done.startedAt, JSON.stringify(done));
      assert.equal((await api<Instance>('GET', `/instances/${i.id}`, alice)).body.status, 'TERMINATED');

      // Its owner and compute admins may read it; anyone else gets what a missing operation gets.
      assert.equal((await call(gale.url, 'GET', location!, { headers: admin.bearer })).status, 200);
      const foreign = await call(gale.url, 'GET', location!, { headers: bob.bearer });
      assertError(foreign, 404, 'not_found', /operation .* not found/);
      assertError(await call(gale.url, 'GET', `${V1}/operations/${operation.id.replace(/.{4}$/, '0000')}`, { headers: alice.bearer }), 404, 'not_found');

      // An accepted no-op is an operation too, DONE at once; a delete names its operation in headers.
      const noop = await bodiless('POST', `/instances/${i.id}/stop`, alice);
      assert.equal((noop.body as Operation).status, 'DONE');
      const deleted = await bodiless('DELETE', `/instances/${i.id}`, alice);
      assert.equal(deleted.status, 204);
      const deleteId = deleted.headers.get('x-operation-id') ?? '';
      assert.equal(deleted.headers.get('location'), `${V1}/operations/${deleteId}`);
      const teardown = await eventually('the delete to be DONE', async () => (await api<Operation>('GET', `/operations/${deleteId}`, alice)).body, (o) => o.status === 'DONE');
      assert.equal(teardown.kind, 'delete');
      assert.equal((await api<Operation>('GET', `/operations/${operation.id}`, alice)).status, 200, 'operations outlive their instance');
    });

    test('a repeated power operation with the same Idempotency-Key gets the same operation, Location included', async () => {
      const i = await make(alice);
      await waitFor(alice, i.id, 'RUNNING');
      const send = () => call(gale.url, 'POST', `${V1}/instances/${i.id}/reset`, { headers: { ...alice.bearer, 'content-type': 'application/json', 'idempotency-key': `reset-${i.id}` }, rawBody: '' });
      const first = await send();
      const again = await send();
      assert.deepEqual([first.status, again.status], [202, 202]);
      assert.equal(again.text, first.text);
      assert.equal(again.headers.get('location'), first.headers.get('location'));
      assert.equal(again.headers.get('x-operation-id'), first.headers.get('x-operation-id'));
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(first.headers.get('idempotent-replayed'), null);
    });

    test('"zone": "" means no zone: the template\'s default', async () => {
      const dave = await gale.user('pro');
      const zones = (await api<string[]>('GET', `/templates/${template}/zones`, dave)).body;
      assert.equal((await make(dave, '')).zone, zones[0]);
      assert.equal((await make(dave, zones[1]!)).zone, zones[1]);
      assertError(await api('POST', '/instances', dave, { templateID: '', zone: '' }), 400, 'invalid_request');
      assertError(await api('POST', '/instances', dave, { zone: '' }), 400, 'invalid_request', /template_id is required \(templateID or templateId is accepted too\)/);
    });

    test('admin filters: status in any case, customerID, and no unknown parameter ever widens a result', async () => {
      const carol = await gale.user('pro', { customerId: 'globex' });
      const theirs = await make(carol);
      await waitFor(carol, theirs.id, 'RUNNING');
      const list = (query: string) => call<{ items: number; instances: Instance[] }>(gale.url, 'GET', `${V1}/admin/instances?${query}`, { headers: admin.bearer });
      const scoped = `userID=${carol.userId}`;
      for (const status of ['RUNNING', 'running', 'Running']) {
        const page = await list(`${scoped}&status=${status}`);
        assert.equal(page.status, 200, page.text);
        assert.deepEqual(page.body.instances.map((i) => i.id), [theirs.id], status);
      }
      assert.equal((await list(`${scoped}&status=terminated`)).body.items, 0);
      assertError(await list('status=bogus'), 400, 'invalid_request', /status must be one of/);

      const byCustomer = await list('customerID=globex');
      assert.deepEqual(byCustomer.body.instances.map((i) => [i.id, i.customerId]), [[theirs.id, 'globex']]);
      assert.equal((await list('customerID=no-such-customer')).body.items, 0);
      assert.ok((await list('customerID=acme')).body.instances.every((i) => i.customerId === 'acme' && i.userId === alice.userId));
      assert.ok((await list('')).body.items > 1, 'without filters, everyone');

      // A filter the server does not know is refused, not ignored (ignoring it would answer with everyone's).
      assertError(await list('tenantID=globex'), 400, 'invalid_request', /unknown query parameter "tenantID"/);
      assertError(await call(gale.url, 'GET', `${V1}/instances?status=RUNNING`, { headers: carol.bearer }), 400, 'invalid_request', /unknown query parameter "status"/);
      assert.equal((await api<Instance>('GET', `/instances/${theirs.id}`, carol)).body.customerId, 'globex');
    });

    test('paging parameters are integers within their bounds; pageSize over 100 is clamped', async () => {
      const page = (query: string): Promise<Answer<{ pages: number; items: number; instances: Instance[] }>> =>
        call(gale.url, 'GET', `${V1}/admin/instances?${query}`, { headers: admin.bearer });
      assertError(await page('page=0'), 400, 'invalid_request', /page must be >= 1/);
      assertError(await page('page=1.5'), 400, 'invalid_request', /page must be integer/);
      assertError(await page('pageSize=abc'), 400, 'invalid_request');
      assertError(await page('limit=0'), 400, 'invalid_request');
      const clamped = await page('pageSize=5000');
      assert.equal(clamped.status, 200);
      assert.equal(clamped.body.pages, Math.ceil(clamped.body.items / 100));
    });
  });
}
