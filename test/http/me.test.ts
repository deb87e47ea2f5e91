import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { assertError, call, type Credentials } from '../helpers/http.js';

/*
 * GET /me (docs/api.md): the caller, their roles and customer, and the limits of their tier; what the web console
 * learns whether it signed in a compute admin from. Every answer is checked against the served OpenAPI document by
 * call().
 */

const V1 = '/api/compute/v1';

interface Me {
  id: string;
  email: string;
  tier: string;
  roles: string[];
  customerId: string;
  limits: { requestsPerMinute: number; instances: number; vcpus: number; diskGb: number };
}

describe('GET /me', () => {
  let gale: TestGale;
  const me = (headers: Record<string, string>) => call<Me>(gale.url, 'GET', `${V1}/me`, { headers });
  const limitsOf = (tier: string) => {
    const { requestsPerMinute, maxInstances, maxVcpus, maxDiskGb } = gale.config.tiers[tier]!;
    return { requestsPerMinute, instances: maxInstances, vcpus: maxVcpus, diskGb: maxDiskGb };
  };

  before(async () => {
    gale = await startTestGale({ store: 'sqlite', provider: 'simulator' });
  });
  after(() => gale?.close());

  test("a user gets themselves and their tier's limits, with either kind of credentials, rate limited", async () => {
    const user: Credentials = await gale.user('pro', { customerId: 'acme' });
    const answer = await me(user.bearer);
    assert.equal(answer.status, 200);
    const { email, ...rest } = answer.body;
    assert.match(email, /@example\.com$/);
    assert.deepEqual(rest, { id: user.userId, tier: 'pro', roles: [], customerId: 'acme', limits: limitsOf('pro') });
    assert.equal(answer.headers.get('ratelimit-limit'), String(limitsOf('pro').requestsPerMinute));
    assert.deepEqual((await me(user.keyPair)).body, answer.body);
  });

  test('a compute admin gets the compute_admin role, and a free user the free limits', async () => {
    const admin = await gale.user('enterprise', { admin: true });
    const answer = await me(admin.keyPair);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.roles, ['compute_admin']);
    assert.deepEqual(answer.body.limits, limitsOf('enterprise'));
    const free = await gale.user('free');
    assert.deepEqual((await me(free.bearer)).body.limits, limitsOf('free'));
  });

  test('wrong credentials answer 401, none 403', async () => {
    const user = await gale.user('pro');
    assertError(await me({ authorization: 'Bearer nope' }), 401, 'unauthenticated');
    assertError(await me({ ...user.keyPair, 'api-secret': 'wrong' }), 401, 'unauthenticated');
    assertError(await me({}), 403, 'forbidden', /authentication required/);
  });
});
