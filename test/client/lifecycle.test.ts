import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Gale, GaleApiError, StatusUnreachableError, type Instance } from '../../src/client/index.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import type { Credentials } from '../helpers/http.js';
import { simulatorOverEveryStore } from '../helpers/matrix.js';

/*
 * The client against a real Gale (the simulator) over every store: an instance's whole life through it, the waits
 * the server holds, the typed errors, both ways to authenticate, and the lists walked page by page. Nothing is
 * polled and no duration is asserted: each wait is one the server answers when the thing has happened.
 */

const TEMPLATE = 'debian-12-micro';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

for (const { backend, name, skip } of await simulatorOverEveryStore()) {
  describe(`the client over ${name}`, { skip }, () => {
    let gale: TestGale;
    let alice: Credentials;
    let client: Gale;
    before(async () => {
      gale = await startTestGale(backend);
      alice = await gale.user('pro');
      client = new Gale({ baseUrl: gale.url, token: alice.token });
    });
    after(async () => gale?.close());

    test('an instance lives its whole life through the client: create, RUNNING, stop, TERMINATED, delete', async () => {
      const [template] = (await client.templates.list()).filter((t) => t.id === TEMPLATE);
      assert.ok(template, `the catalog has ${TEMPLATE}`);
      const zones = await client.templates.zones(TEMPLATE);
      const made = await client.instances.create({ templateId: TEMPLATE, zone: zones[0] });
      assert.equal(made.status, 'PROVISIONING');
      assert.equal(made.zone, zones[0]);

      const running = await client.waitForStatus(made.id, 'RUNNING', { timeoutMs: 120_000 });
      assert.equal(running.status, 'RUNNING');
      assert.deepEqual((await client.instances.list()).map((i: Instance) => i.id), [made.id]);

      const stop = await client.instances.stop(made.id);
      assert.deepEqual([stop.kind, stop.instanceId], ['stop', made.id]);
      const stopped = await client.waitForOperation(stop.id, { timeoutMs: 120_000 });
      assert.equal(stopped.status, 'DONE');
      assert.equal((await client.instances.get(made.id)).status, 'TERMINATED');
      assert.equal((await client.operations.get(stop.id)).status, 'DONE');

      // TERMINATED and meant to stay so: RUNNING cannot come without a new request, and the server says so at once.
      const unreachable = await client.waitForStatus(made.id, 'RUNNING', { timeoutMs: 120_000 }).catch((error: unknown) => error);
      assert.ok(unreachable instanceof StatusUnreachableError, String(unreachable));
      assert.equal(unreachable.status, 409);
      assert.equal(unreachable.code, 'conflict');
      assert.match(unreachable.errorId, UUID);

      const { operationId } = await client.instances.delete(made.id);
      assert.match(operationId, UUID);
      assert.equal((await client.waitForOperation(operationId, { timeoutMs: 120_000 })).kind, 'delete');
      const gone = await client.instances.get(made.id).catch((error: unknown) => error);
      assert.ok(gone instanceof GaleApiError && gone.status === 404, String(gone));
      assert.deepEqual(await client.instances.list(), [], 'no instances: the 404 of the list is an empty list');
    });

    test('an error is a GaleApiError with the status, code, message and error id of the envelope', async () => {
      const missing = await client.instances.get('tw-000000-00000000').catch((error: unknown) => error);
      assert.ok(missing instanceof GaleApiError, String(missing));
      assert.equal(missing.status, 404);
      assert.equal(missing.code, 'not_found');
      assert.equal(missing.severity, 'WARNING');
      assert.match(missing.errorId, UUID);
      assert.equal(missing.errorId, missing.headers.get('x-error-id'), 'the body and the header name the same occurrence');
      assert.match(missing.apiMessage, /tw-000000-00000000/);
      assert.ok(missing.requestId, 'the x-request-id to find it in the log');

      const wrongTemplate = await client.instances.create({ template_id: 'no-such-template' }).catch((error: unknown) => error);
      assert.ok(wrongTemplate instanceof GaleApiError && wrongTemplate.status === 404, String(wrongTemplate));

      const stranger = new Gale({ baseUrl: gale.url, token: 'x'.repeat(64) });
      const refused = await stranger.quotas().catch((error: unknown) => error);
      assert.ok(refused instanceof GaleApiError, String(refused));
      assert.deepEqual([refused.status, refused.code], [401, 'unauthenticated']);
    });

    test('an API key pair authenticates as a token does; public routes need neither', async () => {
      const byKey = new Gale({ baseUrl: `${gale.url}/api/compute/v1`, apiKey: alice.keyPair['api-key']!, apiSecret: alice.keyPair['api-secret']! });
      const byToken = await client.quotas();
      assert.deepEqual(await byKey.quotas(), byToken);
      const anonymous = new Gale({ baseUrl: gale.url });
      assert.deepEqual((await anonymous.call('getHealth')).data, { status: 'ok' });
      const document = (await anonymous.call('getOpenApiDocument')).data as { openapi?: string };
      assert.equal(document.openapi, '3.1.0');
    });

    test('paged lists are walked to their end, page by page and item by item', async () => {
      const carol = await gale.user('pro');
      const admin = await gale.user('pro', { admin: true });
      const asCarol = new Gale({ baseUrl: gale.url, token: carol.token });
      const asAdmin = new Gale({ baseUrl: gale.url, token: admin.token });
      const made: Instance[] = [];
      for (let n = 0; n < 3; n++) made.push(await asCarol.instances.create({ templateID: TEMPLATE }));
      for (const instance of made) {
        await asCarol.waitForStatus(instance.id, 'RUNNING', { timeoutMs: 120_000 });
        await asCarol.instances.reset(instance.id);
      }

      // Six operations (three creates, three resets), two a page.
      const whole = await asCarol.operations.list({ pageSize: 500 });
      assert.equal(whole.operations.length, 6);
      assert.equal(whole.nextPageToken, undefined);
      const pages = [];
      for await (const page of asCarol.operations.pages({ pageSize: 2 })) pages.push(page);
      assert.deepEqual(pages.map((p) => p.operations.length), [2, 2, 2]);
      assert.deepEqual(pages.flatMap((p) => p.operations.map((o) => o.id)), whole.operations.map((o) => o.id));
      const items = [];
      for await (const operation of asCarol.all('listOperations', { query: { pageSize: 4 } })) items.push(operation.id);
      assert.deepEqual(items, whole.operations.map((o) => o.id));

      // The admin list, one instance a page, from a page number on: carol's three, newest first, each once.
      const adminPages = [];
      for await (const page of asAdmin.admin.instances.pages({ userID: carol.userId, pageSize: 1, page: 1 })) adminPages.push(page);
      assert.equal(adminPages.length, 3);
      assert.deepEqual(adminPages.map((p) => p.items), [3, 3, 3]);
      const everyOne = [];
      for await (const instance of asAdmin.admin.instances.all({ userID: carol.userId, pageSize: 1 })) everyOne.push(instance.id);
      assert.deepEqual(everyOne, made.map((i) => i.id).reverse());
      assert.deepEqual(adminPages.flatMap((p) => p.instances.map((i) => i.id)), everyOne);

      // The admin scope acts on carol's instance through the same methods.
      const adminStop = await asAdmin.admin.instances.stop(made[0]!.id);
      assert.equal(adminStop.requestedBy, admin.userId);
      await asAdmin.waitForOperation(adminStop.id);
      assert.equal((await asAdmin.admin.instances.get(made[0]!.id)).status, 'TERMINATED');
      assert.equal((await asAdmin.waitForStatus(made[0]!.id, 'TERMINATED', { admin: true })).status, 'TERMINATED');
    });
  });
}
