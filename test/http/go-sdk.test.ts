import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backendName, backends, LOCAL_BACKEND, smallTemplateFor, unavailable } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { GoSdkComputeClient, SdkApiError, SdkDecodeError, type Exchange } from '../helpers/go-sdk-wire.js';
import { eventually, type Credentials } from '../helpers/http.js';
import { OpenApiValidator, type OpenApiDocument } from '../helpers/openapi-validator.js';

/*
 * The family's Go SDK, every call of its compute client, against Gale with only the endpoint changed (issue 11): on the
 * wire as the SDK sends and decodes (test/helpers/go-sdk-wire.ts), over every store and provider under test.
 */

const V1 = '/api/compute/v1';

interface SdkInstance {
  id: string;
  userID: string;
  customerID: string;
  zone: string;
  status: string;
  templateId: string;
}

const keyPairOf = (who: Credentials) => ({ apiKey: who.keyPair['api-key']!, apiSecret: who.keyPair['api-secret']! });

async function refused(call: Promise<unknown>): Promise<SdkApiError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof SdkApiError) return error;
    throw error;
  }
  assert.fail('the call succeeded');
}

/** Every answer the SDK got is one the OpenAPI document describes. */
async function assertDocumented(base: string, exchanges: Exchange[]): Promise<void> {
  const validator = new OpenApiValidator((await (await fetch(`${base}${V1}/openapi.json`)).json()) as OpenApiDocument);
  const problems = exchanges.flatMap(({ method, path, answer }) =>
    validator.check(method, `${V1}${path}`, { status: answer.status, headers: new Headers(answer.headers), text: answer.body }),
  );
  assert.deepEqual(problems, []);
}

/** The exchanges of bodiless POSTs and DELETEs went out as the SDK sends them, and were answered as it decodes. */
function assertWire(exchanges: Exchange[]): void {
  const bodiless = exchanges.filter((e) => e.method === 'DELETE' || (e.method === 'POST' && e.path !== '/instances'));
  assert.ok(bodiless.length >= 10, `only ${bodiless.length} power operations and deletes were made`);
  for (const { method, path, sentHeaders, answer } of bodiless) {
    const what = `${method} ${path}`;
    assert.equal(sentHeaders['Content-Type'], 'application/json', what);
    assert.equal(sentHeaders['Content-Length'], '0', what);
    if (method === 'DELETE') {
      assert.equal(answer.status, 204, what);
      assert.equal(answer.body, '', what);
      continue;
    }
    assert.equal(answer.status, 202, `${what}: ${answer.body}`);
    const operation = JSON.parse(answer.body) as { id: string; kind: string; status: string };
    assert.equal(operation.kind, path.split('/').pop(), what);
    assert.ok(['PENDING', 'DONE'].includes(operation.status), `${what}: ${operation.status}`);
    assert.equal(answer.headers.location, `${V1}/operations/${operation.id}`, what);
  }
  for (const { method, sentHeaders } of exchanges.filter((e) => e.method === 'GET')) {
    assert.equal(sentHeaders['Content-Length'], undefined, 'a GET goes without a length, as Go sends it');
    assert.equal(sentHeaders['Content-Type'], 'application/json', method);
  }
}

for (const backend of backends()) {
  const skip = await unavailable(backend);
  describe(`the family's Go SDK against Gale over ${backendName(backend)}`, { skip }, () => {
    let gale: TestGale;
    let alice: Credentials;
    let admin: Credentials;
    const template = smallTemplateFor(backend);
    const endpoint = () => `${gale.url}${V1}`;

    before(async () => {
      gale = await startTestGale(backend);
      alice = await gale.user('pro', { customerId: 'acme-corp' });
      admin = await gale.user('enterprise', { admin: true });
    });
    after(async () => gale?.close());

    test('every call of the compute client succeeds, every power operation and delete included', async () => {
      const sdk = new GoSdkComputeClient(endpoint(), keyPairOf(alice));
      const adminSdk = new GoSdkComputeClient(endpoint(), { bearer: admin.token });
      const statusOf = async (client: GoSdkComputeClient, id: string, viaAdmin = false) =>
        ((await (viaAdmin ? client.adminGetInstance(id) : client.getInstance(id))) as SdkInstance).status;
      const waitFor = (id: string, status: string, client = sdk, viaAdmin = false) =>
        eventually(`${id} to be ${status}`, () => statusOf(client, id, viaAdmin), (s) => s === status, 120_000);

      const templates = (await sdk.listTemplates()) as Array<{ id: string; diskSizeGb: number }>;
      assert.ok(templates.some((t) => t.id === template));
      const zones = (await sdk.listTemplateZones(template)) as string[];
      assert.ok(zones.length > 0);

      // zone "" is "not chosen": the template's default zone.
      const made = (await sdk.createInstance(template, '')) as SdkInstance;
      assert.deepEqual([made.userID, made.customerID, made.zone, made.status, made.templateId], [alice.userId, 'acme-corp', zones[0], 'PROVISIONING', template]);
      const other = (await sdk.createInstance(template, zones[1] ?? zones[0]!)) as SdkInstance;
      assert.equal(other.zone, zones[1] ?? zones[0]);
      await waitFor(made.id, 'RUNNING');
      await waitFor(other.id, 'RUNNING');
      const listed = (await sdk.listInstances()) as SdkInstance[];
      assert.deepEqual(listed.map((i) => i.id).sort(), [made.id, other.id].sort());

      // The user's power operations, each decoded as the SDK decodes a 2xx that is not 204.
      assert.deepEqual(await sdk.power(made.id, 'stop'), {});
      await waitFor(made.id, 'TERMINATED');
      assert.deepEqual(await sdk.power(made.id, 'stop'), {}, 'a no-op stop');
      assert.deepEqual(await sdk.power(made.id, 'start'), {});
      await waitFor(made.id, 'RUNNING');
      assert.deepEqual(await sdk.power(made.id, 'restart'), {});
      assert.deepEqual(await sdk.power(made.id, 'reset'), {});
      assert.equal(await statusOf(sdk, made.id), 'RUNNING', 'a reset keeps it RUNNING');

      // The admin's list, with the filters the SDK sends (status in lower case, as its own tests do).
      const page = (await adminSdk.adminListInstances({ customerID: 'acme-corp', status: 'running', limit: 10, page: 1 })) as {
        pages: number;
        items: number;
        instances: SdkInstance[];
      };
      assert.deepEqual(page.instances.map((i) => i.id), [other.id, made.id], 'both of acme-corp\'s, newest first');
      assert.deepEqual([page.items, page.pages], [2, 1]);
      const byUser = (await adminSdk.adminListInstances({ userID: alice.userId, zone: made.zone, templateID: template })) as { items: number };
      assert.equal(byUser.items, other.zone === made.zone ? 2 : 1);
      const otherCustomer = (await adminSdk.adminListInstances({ customerID: 'someone-else' })) as { items: number; instances: unknown[] };
      assert.deepEqual([otherCustomer.items, otherCustomer.instances], [0, []], 'a customer filter never widens to everyone');

      // The admin's reads and power operations on alice's instance.
      assert.equal(((await adminSdk.adminGetInstance(made.id)) as SdkInstance).userID, alice.userId);
      assert.deepEqual(await adminSdk.adminPower(made.id, 'stop'), {});
      await waitFor(made.id, 'TERMINATED', adminSdk, true);
      assert.deepEqual(await adminSdk.adminPower(made.id, 'start'), {});
      await waitFor(made.id, 'RUNNING', adminSdk, true);
      assert.deepEqual(await adminSdk.adminPower(made.id, 'restart'), {});
      assert.deepEqual(await adminSdk.adminPower(made.id, 'reset'), {});

      // Deletes: 204, no decoding. Then the list's 404, which the SDK's users treat as "none".
      assert.equal(await sdk.deleteInstance(made.id), undefined);
      assert.equal(await adminSdk.adminDeleteInstance(other.id), undefined);
      const none = await refused(sdk.listInstances());
      assert.equal(none.statusCode, 404);
      assert.equal(none.xError, 'No instances found for user');

      assertWire([...sdk.exchanges, ...adminSdk.exchanges]);
      await assertDocumented(gale.url, [...sdk.exchanges, ...adminSdk.exchanges]);
    });

    test('its error paths read x-error, x-error-id and Retry-After', async () => {
      const sdk = new GoSdkComputeClient(endpoint(), keyPairOf(alice));
      const missing = await refused(sdk.getInstance('tw-000000-00000000'));
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.xError, 'instance tw-000000-00000000 not found');
      assert.equal((JSON.parse(missing.body) as { error: { error_id: string } }).error.error_id, missing.errorId);
      assert.match(missing.errorId, /^[0-9a-f-]{36}$/);
      assert.equal((await refused(sdk.power('tw-000000-00000000', 'stop'))).statusCode, 404);
      assert.equal((await refused(sdk.deleteInstance('tw-000000-00000000'))).statusCode, 404);
      assert.equal((await refused(sdk.createInstance('no-such-template'))).statusCode, 404);
      assert.equal((await refused(sdk.createInstance(template, 'mars-1-a'))).statusCode, 400);
      assert.equal((await refused(sdk.createInstance(''))).statusCode, 400, 'an empty template id is still an error');
      const wrong = new GoSdkComputeClient(endpoint(), { apiKey: keyPairOf(alice).apiKey, apiSecret: 'wrong' });
      assert.equal((await refused(wrong.listTemplates())).statusCode, 401);
      assert.equal((await refused(sdk.adminListInstances({}))).statusCode, 403);

      // Over a free tier's quota: 403. Over its rate: 429 with Retry-After, which the SDK reads (POSTs are not retried).
      const free = await gale.user('free');
      const freeSdk = new GoSdkComputeClient(endpoint(), keyPairOf(free), 0);
      const first = (await freeSdk.createInstance(template)) as SdkInstance;
      const overQuota = await refused(freeSdk.createInstance(template));
      assert.equal(overQuota.statusCode, 403);
      assert.match(overQuota.xError, /quota exceeded: instances 1\/1 \(tier free\)/);
      let limited: SdkApiError | undefined;
      for (let n = 0; n <= gale.config.tiers.free!.requestsPerMinute && !limited; n++) {
        limited = await freeSdk.getInstance(first.id).then(() => undefined, (error: unknown) => error as SdkApiError);
      }
      assert.equal(limited?.statusCode, 429);
      assert.ok(Number(limited.retryAfter) >= 1, `Retry-After: ${limited.retryAfter}`);
      await assertDocumented(gale.url, [...sdk.exchanges, ...wrong.exchanges, ...freeSdk.exchanges]);
    });
  });
}

describe('compat.emptyAccepted: the spec\'s literal empty 202', () => {
  let gale: TestGale;
  before(async () => {
    gale = await startTestGale(LOCAL_BACKEND, { compat: { emptyAccepted: true } });
  });
  after(async () => gale?.close());

  test('answers 202 with no body and still the Location; the Go SDK then fails to decode it, which is why it is off by default', async () => {
    const alice = await gale.user('pro');
    const sdk = new GoSdkComputeClient(`${gale.url}${V1}`, keyPairOf(alice));
    const made = (await sdk.createInstance(smallTemplateFor(LOCAL_BACKEND))) as SdkInstance;
    await eventually('RUNNING', async () => ((await sdk.getInstance(made.id)) as SdkInstance).status, (s) => s === 'RUNNING');
    await assert.rejects(sdk.power(made.id, 'stop'), (error: unknown) => error instanceof SdkDecodeError && /unexpected end of JSON input/.test(error.message));
    const answer = sdk.exchanges.at(-1)!.answer;
    assert.deepEqual([answer.status, answer.body], [202, '']);
    assert.match(answer.headers.location ?? '', /^\/api\/compute\/v1\/operations\/[0-9a-f-]{36}$/);
    await eventually('the stop to happen all the same', async () => ((await sdk.getInstance(made.id)) as SdkInstance).status, (s) => s === 'TERMINATED');
  });
});
