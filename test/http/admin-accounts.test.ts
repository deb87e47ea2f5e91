import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { backendName, LOCAL_BACKEND, simulatorOverEveryStore, unavailable } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { assertError, call, eventually, type Answer, type Credentials } from '../helpers/http.js';

/*
 * The account routes (docs/api.md, "Accounts (admins)"): a compute admin makes users, key pairs and tokens over HTTP,
 * lists them (never a secret), changes tiers and customers, and revokes credentials; everyone else gets 403. Over
 * SQLite and PostgreSQL, with the simulator. Every answer is checked against the served OpenAPI document by call().
 */

const V1 = '/api/compute/v1';
const TEMPLATE = 'debian-12-micro';

interface User {
  id: string;
  email: string;
  tier: string;
  roles: string[];
  customerId: string;
  createdAt: string;
}
interface Key {
  id: string;
  userId: string;
  prefix: string;
  createdAt: string;
  revokedAt?: string;
  apiKey?: string;
  apiSecret?: string;
}
interface Token extends Key {
  expiresAt: string;
  token?: string;
}

const email = (what: string) => `${what}-${randomUUID().slice(0, 8)}@example.com`;
for (const { backend, skip } of await simulatorOverEveryStore()) {
  describe(`account routes over ${backendName(backend)}`, { skip }, () => {
    let gale: TestGale;
    let admin: Credentials;
    let plain: Credentials;
    const api = <T = unknown>(method: string, path: string, headers: Record<string, string>, body?: unknown) => call<T>(gale.url, method, `${V1}${path}`, { headers, body });
    const asAdmin = <T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => api<T>(method, path, { ...admin.bearer, ...headers }, body);

    async function newUser(body: Record<string, unknown> = {}): Promise<User> {
      const made = await asAdmin<User>('POST', '/admin/users', { email: email('user'), ...body });
      assert.equal(made.status, 201, made.text);
      return made.body;
    }

    before(async () => {
      gale = await startTestGale(backend, { providers: { simulator: { delayMs: 20 } } });
      admin = await gale.user('pro', { admin: true });
      plain = await gale.user('pro');
    });
    after(async () => gale?.close());

    test('an admin makes a user, a key pair and a token that work at once; lists show no secret; revocation stops them', async () => {
      const address = email('flow');
      const made = await asAdmin<User>('POST', '/admin/users', { email: address, tier: 'free' });
      assert.equal(made.status, 201, made.text);
      assert.deepEqual(Object.keys(made.body).sort(), ['createdAt', 'customerId', 'email', 'id', 'roles', 'tier']);
      assert.deepEqual([made.body.email, made.body.tier, made.body.roles, made.body.customerId], [address, 'free', [], '']);
      const userId = made.body.id;
      assert.deepEqual((await asAdmin<User>('GET', `/admin/users/${userId}`)).body, made.body);

      const key = await asAdmin<Key>('POST', `/admin/users/${userId}/keys`);
      assert.equal(key.status, 201, key.text);
      const { apiKey, apiSecret } = key.body;
      assert.ok(apiKey && apiSecret);
      assert.equal(key.body.prefix, apiKey.slice(0, 8));
      assert.equal(key.body.userId, userId);
      const keyPair = { 'api-key': apiKey, 'api-secret': apiSecret };

      const token = await asAdmin<Token>('POST', `/admin/users/${userId}/tokens`, { ttl: '1h' });
      assert.equal(token.status, 201, token.text);
      const bearer = { authorization: `Bearer ${token.body.token!}` };
      const lifetime = Date.parse(token.body.expiresAt) - Date.parse(token.body.createdAt);
      assert.ok(Math.abs(lifetime - 3_600_000) <= 1_000, `a 1h token lives ${lifetime} ms`);

      // The new credentials work on the API, as the new user.
      const quotas = await api<{ tier: string }>('GET', '/quotas', keyPair);
      assert.deepEqual([quotas.status, quotas.body.tier], [200, 'free']);
      const instance = await api<{ id: string; userId: string }>('POST', '/instances', bearer, { template_id: TEMPLATE });
      assert.deepEqual([instance.status, instance.body.userId], [201, userId], instance.text);

      // Lists: ids, prefixes and dates; never a secret, a token or a hash.
      const keys = await asAdmin<{ keys: Key[] }>('GET', `/admin/users/${userId}/keys`);
      assert.equal(keys.status, 200, keys.text);
      assert.deepEqual(keys.body.keys.map((k) => [k.id, k.prefix]), [[key.body.id, key.body.prefix]]);
      const tokens = await asAdmin<{ tokens: Token[] }>('GET', `/admin/users/${userId}/tokens`);
      assert.deepEqual(tokens.body.tokens.map((t) => [t.id, t.prefix, t.expiresAt]), [[token.body.id, token.body.prefix, token.body.expiresAt]]);
      for (const listed of [keys, tokens]) {
        for (const secret of [apiKey, apiSecret, token.body.token!]) assert.ok(!listed.text.includes(secret), `a list carries a credential: ${listed.text}`);
        assert.doesNotMatch(listed.text, /[0-9a-f]{64}/, 'a list carries a hash');
      }
      const found = await asAdmin<{ users: User[] }>('GET', `/admin/users?email=${encodeURIComponent(address)}`);
      assert.deepEqual(found.body.users.map((u) => u.id), [userId]);

      // A tier change changes the quotas: free allows one instance, pro three.
      assertError(await api('POST', '/instances', bearer, { template_id: TEMPLATE }), 403, 'quota_exceeded');
      const raised = await asAdmin<User>('POST', `/admin/users/${userId}/setTier`, { tier: 'pro' });
      assert.deepEqual([raised.status, raised.body.tier], [200, 'pro'], raised.text);
      assert.equal((await api<{ tier: string }>('GET', '/quotas', bearer)).body.tier, 'pro');
      assert.equal((await api('POST', '/instances', bearer, { template_id: TEMPLATE })).status, 201);

      const moved = await asAdmin<User>('POST', `/admin/users/${userId}/setCustomer`, { customerId: 'acme-flow' });
      assert.equal(moved.body.customerId, 'acme-flow');
      assert.equal((await api<{ customerId: string }>('GET', `/instances/${instance.body.id}`, bearer)).body.customerId, 'acme-flow');
      assert.deepEqual((await asAdmin<{ users: User[] }>('GET', '/admin/users?customerID=acme-flow')).body.users.map((u) => u.id), [userId]);

      // Revoked: refused at once (this server's credential cache is off), listed with the time; revoking again is fine.
      assert.equal((await asAdmin('DELETE', `/admin/keys/${key.body.id}`)).status, 204);
      assertError(await api('GET', '/quotas', keyPair), 401, 'unauthenticated');
      assert.equal((await asAdmin('DELETE', `/admin/keys/${key.body.id}`)).status, 204);
      const revokedAt = (await asAdmin<{ keys: Key[] }>('GET', `/admin/users/${userId}/keys`)).body.keys[0]!.revokedAt;
      assert.match(revokedAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal((await api('GET', '/quotas', bearer)).status, 200, 'the token still works');
      assert.equal((await asAdmin('DELETE', `/admin/tokens/${token.body.id}`)).status, 204);
      assertError(await api('GET', '/quotas', bearer), 401, 'unauthenticated');
    });

    test('an admin can make another admin', async () => {
      const other = await newUser({ admin: true, tier: 'enterprise' });
      assert.deepEqual(other.roles, ['compute_admin']);
      const key = await asAdmin<Key>('POST', `/admin/users/${other.id}/keys`);
      const listed = await api('GET', '/admin/users', { 'api-key': key.body.apiKey!, 'api-secret': key.body.apiSecret! });
      assert.equal(listed.status, 200, listed.text);
    });

    test('a user without compute_admin gets 403 on every account route, and nothing changes', async () => {
      const target = await newUser();
      const key = await asAdmin<Key>('POST', `/admin/users/${target.id}/keys`);
      const token = await asAdmin<Token>('POST', `/admin/users/${target.id}/tokens`, {});
      const routes: Array<[string, string, unknown?]> = [
        ['POST', '/admin/users', { email: email('sneaky'), admin: true }],
        ['GET', '/admin/users'],
        ['GET', `/admin/users/${target.id}`],
        ['POST', `/admin/users/${plain.userId}/setTier`, { tier: 'enterprise' }],
        ['POST', `/admin/users/${target.id}/setCustomer`, { customerId: 'evil' }],
        ['POST', `/admin/users/${plain.userId}/keys`],
        ['GET', `/admin/users/${target.id}/keys`],
        ['DELETE', `/admin/keys/${key.body.id}`],
        ['POST', `/admin/users/${plain.userId}/tokens`, { ttl: '1h' }],
        ['GET', `/admin/users/${target.id}/tokens`],
        ['DELETE', `/admin/tokens/${token.body.id}`],
      ];
      for (const [method, path, body] of routes) {
        for (const headers of [plain.bearer, plain.keyPair, {}]) {
          const answer = await api(method, path, headers, body);
          assertError(answer, 403, 'forbidden');
          assert.ok(!answer.text.includes(target.email), `${method} ${path}: ${answer.text}`);
        }
      }
      assert.equal((await asAdmin<User>('GET', `/admin/users/${plain.userId}`)).body.tier, 'pro');
      assert.equal((await asAdmin<User>('GET', `/admin/users/${target.id}`)).body.customerId, '');
      assert.equal((await asAdmin<{ keys: Key[] }>('GET', `/admin/users/${plain.userId}/keys`)).body.keys.length, 1);
      assert.equal((await asAdmin<{ keys: Key[] }>('GET', `/admin/users/${target.id}/keys`)).body.keys[0]!.revokedAt, undefined);
      assert.equal((await asAdmin<{ tokens: Token[] }>('GET', `/admin/users/${target.id}/tokens`)).body.tokens[0]!.revokedAt, undefined);
      const sneaky = await asAdmin<{ users: User[] }>('GET', '/admin/users?pageSize=500');
      assert.ok(!sneaky.body.users.some((u) => u.email.startsWith('sneaky-')));
    });

    test('bad bodies and parameters answer 400 and change nothing', async () => {
      const user = await newUser();
      const cases: Array<[string, string, unknown, RegExp?]> = [
        ['POST', '/admin/users', undefined, /body is empty/],
        ['POST', '/admin/users', {}, /email/],
        ['POST', '/admin/users', { email: 'not-an-email' }, /not an email address/],
        ['POST', '/admin/users', { email: email('x'), tier: 'gold' }, /unknown tier "gold"/],
        ['POST', '/admin/users', { email: email('x'), tier: '__proto__' }, /unknown tier/],
        ['POST', '/admin/users', { email: 'nul\u0000@example.com' }, /not an email address/],
        ['POST', '/admin/users', { email: email('x'), admin: 'yes' }, /admin/],
        ['POST', '/admin/users', { email: email('x'), role: 'compute_admin' }, /additional properties/],
        ['POST', '/admin/users', { email: email('x'), customerId: 'no spaces' }, /not a customer id/],
        ['POST', `/admin/users/${user.id}/setTier`, { tier: 'gold' }, /unknown tier/],
        ['POST', `/admin/users/${user.id}/setTier`, { tier: 'constructor' }, /unknown tier/],
        ['POST', `/admin/users/${user.id}/setTier`, {}, /tier/],
        ['POST', `/admin/users/${user.id}/setTier`, { tier: 'pro', extra: 1 }, /additional properties/],
        ['POST', `/admin/users/${user.id}/setCustomer`, { customerId: 'a b' }, /not a customer id/],
        ['POST', `/admin/users/${user.id}/tokens`, { ttl: 'soon' }, /ttl/],
        ['POST', `/admin/users/${user.id}/tokens`, { ttl: '0' }, /positive/],
        ['POST', `/admin/users/${user.id}/tokens`, { ttl: '3651d' }, /too long/],
        ['POST', `/admin/users/${user.id}/tokens`, undefined, /body is empty/],
        ['GET', '/admin/users?tenant=x', undefined, /unknown query parameter "tenant"/],
        ['GET', '/admin/users?pageSize=0', undefined],
        ['GET', '/admin/users?pageToken=nonsense', undefined, /pageToken/],
        ['GET', `/admin/users/${user.id}/keys?pageToken=nonsense`, undefined, /pageToken/],
      ];
      for (const [method, path, body, message] of cases) assertError(await asAdmin(method, path, body), 400, 'invalid_request', message);
      assert.deepEqual((await asAdmin<User>('GET', `/admin/users/${user.id}`)).body, user);
      assert.deepEqual((await asAdmin<{ tokens: Token[] }>('GET', `/admin/users/${user.id}/tokens`)).body.tokens, []);
      // No body but an empty object: the default lifetime.
      const made = await asAdmin<Token>('POST', `/admin/users/${user.id}/tokens`, {});
      assert.equal(Date.parse(made.body.expiresAt) - Date.parse(made.body.createdAt), 86_400_000);
    });

    test('unknown users, keys and tokens answer 404; a taken email 409', async () => {
      const nobody = randomUUID();
      for (const [method, path, body] of [
        ['GET', `/admin/users/${nobody}`],
        ['POST', `/admin/users/${nobody}/setTier`, { tier: 'pro' }],
        ['POST', `/admin/users/${nobody}/setCustomer`, { customerId: 'acme' }],
        ['POST', `/admin/users/${nobody}/keys`],
        ['GET', `/admin/users/${nobody}/keys`],
        ['POST', `/admin/users/${nobody}/tokens`, { ttl: '1h' }],
        ['GET', `/admin/users/${nobody}/tokens`],
        ['DELETE', `/admin/keys/${nobody}`],
        ['DELETE', `/admin/tokens/${nobody}`],
      ] as Array<[string, string, unknown?]>) {
        assertError(await asAdmin(method, path, body), 404, 'not_found');
      }
      const taken = email('taken');
      await newUser({ email: taken });
      assertError(await asAdmin('POST', '/admin/users', { email: taken }), 409, 'conflict', new RegExp(`a user with email ${taken} exists`));
    });

    test('lists page by token, newest first; a token made for other filters is refused', async () => {
      const customer = `pages-${randomUUID().slice(0, 8)}`;
      const made: User[] = [];
      for (let i = 0; i < 3; i++) made.push(await newUser({ customerId: customer }));
      const first = await asAdmin<{ users: User[]; nextPageToken?: string }>('GET', `/admin/users?customerID=${customer}&pageSize=2`);
      assert.equal(first.body.users.length, 2);
      assert.ok(first.body.nextPageToken);
      const second = await asAdmin<{ users: User[]; nextPageToken?: string }>('GET', `/admin/users?customerID=${customer}&pageSize=2&pageToken=${first.body.nextPageToken}`);
      assert.equal(second.body.nextPageToken, undefined);
      assert.deepEqual([...first.body.users, ...second.body.users].map((u) => u.id).sort(), made.map((u) => u.id).sort());
      const times = [...first.body.users, ...second.body.users].map((u) => Date.parse(u.createdAt));
      assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
      assertError(await asAdmin('GET', `/admin/users?tier=pro&pageSize=2&pageToken=${first.body.nextPageToken}`), 400, 'invalid_request', /other filters/);

      const owner = made[0]!;
      for (let i = 0; i < 3; i++) await asAdmin('POST', `/admin/users/${owner.id}/keys`);
      const keys: Key[] = [];
      let pageToken: string | undefined;
      do {
        const page: Answer<{ keys: Key[]; nextPageToken?: string }> = await asAdmin('GET', `/admin/users/${owner.id}/keys?pageSize=1${pageToken ? `&pageToken=${pageToken}` : ''}`);
        keys.push(...page.body.keys);
        pageToken = page.body.nextPageToken;
      } while (pageToken);
      assert.equal(new Set(keys.map((k) => k.id)).size, 3);
      // A key list's token names its user: another user's list refuses it.
      const firstKeys = await asAdmin<{ nextPageToken?: string }>('GET', `/admin/users/${owner.id}/keys?pageSize=1`);
      assertError(await asAdmin('GET', `/admin/users/${made[1]!.id}/keys?pageToken=${firstKeys.body.nextPageToken}`), 400, 'invalid_request');
    });

    test('Idempotency-Key: user changes replay; a credential creation is never replayed with its secret, and nothing is made twice', async () => {
      const key = randomUUID();
      const body = { email: email('idem'), tier: 'pro' };
      const first = await asAdmin<User>('POST', '/admin/users', body, { 'idempotency-key': key });
      const again = await asAdmin<User>('POST', '/admin/users', body, { 'idempotency-key': key });
      assert.equal(first.status, 201);
      assert.deepEqual([again.status, again.text, again.headers.get('idempotent-replayed')], [201, first.text, 'true']);
      assertError(await asAdmin('POST', '/admin/users', { ...body, tier: 'free' }, { 'idempotency-key': key }), 409, 'idempotency_mismatch');
      const userId = first.body.id;

      const tierKey = randomUUID();
      const raised = await asAdmin('POST', `/admin/users/${userId}/setTier`, { tier: 'enterprise' }, { 'idempotency-key': tierKey });
      const raisedAgain = await asAdmin('POST', `/admin/users/${userId}/setTier`, { tier: 'enterprise' }, { 'idempotency-key': tierKey });
      assert.deepEqual([raisedAgain.status, raisedAgain.text, raisedAgain.headers.get('idempotent-replayed')], [200, raised.text, 'true']);

      const keyKey = randomUUID();
      const pair = await asAdmin<Key>('POST', `/admin/users/${userId}/keys`, undefined, { 'idempotency-key': keyKey });
      assert.equal(pair.status, 201, pair.text);
      const repeat = await asAdmin('POST', `/admin/users/${userId}/keys`, undefined, { 'idempotency-key': keyKey });
      assertError(repeat, 409, 'conflict', new RegExp(`already made api key ${pair.body.id} \\(prefix ${pair.body.prefix}\\).*revoke it`));
      assert.ok(!repeat.text.includes(pair.body.apiSecret!) && !repeat.text.includes(pair.body.apiKey!));
      assert.equal((await asAdmin<{ keys: Key[] }>('GET', `/admin/users/${userId}/keys`)).body.keys.length, 1, 'one key made');

      const tokenKey = randomUUID();
      const token = await asAdmin<Token>('POST', `/admin/users/${userId}/tokens`, { ttl: '2h' }, { 'idempotency-key': tokenKey });
      const tokenRepeat = await asAdmin('POST', `/admin/users/${userId}/tokens`, { ttl: '2h' }, { 'idempotency-key': tokenKey });
      assertError(tokenRepeat, 409, 'conflict', new RegExp(`already made token ${token.body.id}`));
      assert.ok(!tokenRepeat.text.includes(token.body.token!));
      assertError(await asAdmin('POST', `/admin/users/${userId}/tokens`, { ttl: '3h' }, { 'idempotency-key': tokenKey }), 409, 'idempotency_mismatch');
      assert.equal((await asAdmin<{ tokens: Token[] }>('GET', `/admin/users/${userId}/tokens`)).body.tokens.length, 1, 'one token made');

      const revokeKey = randomUUID();
      assert.equal((await asAdmin('DELETE', `/admin/keys/${pair.body.id}`, undefined, { 'idempotency-key': revokeKey })).status, 204);
      const revokedAgain = await asAdmin('DELETE', `/admin/keys/${pair.body.id}`, undefined, { 'idempotency-key': revokeKey });
      assert.deepEqual([revokedAgain.status, revokedAgain.headers.get('idempotent-replayed')], [204, 'true']);

      if (backend.store === 'sqlite') {
        // What was kept for the keys: no secret, no token, in any column.
        const db = new BetterSqlite3(join(gale.config.dataDir, 'gale.db'), { readonly: true, fileMustExist: true });
        try {
          const kept = JSON.stringify(db.prepare('select * from idempotency_keys').all());
          assert.ok(kept.includes(pair.body.id) && kept.includes(token.body.id), 'the creations were recorded');
          for (const secret of [pair.body.apiKey!, pair.body.apiSecret!, token.body.token!]) assert.ok(!kept.includes(secret), 'a credential was kept for a replay');
        } finally {
          db.close();
        }
      }
    });
  });
}

describe('revocation over HTTP with the credential cache on', { skip: await unavailable(LOCAL_BACKEND) }, () => {
  const cacheMs = 1_000;
  let gale: TestGale;
  before(async () => {
    gale = await startTestGale(LOCAL_BACKEND, { credentialCacheMs: cacheMs });
  });
  after(async () => gale?.close());

  test(`a revoked key and token stop working within credentialCacheMs (${cacheMs} ms)`, async () => {
    const admin = await gale.user('pro', { admin: true });
    const user = await gale.user('pro');
    const post = <T>(path: string, body?: unknown) => call<T>(gale.url, 'POST', `${V1}${path}`, { headers: admin.bearer, body });
    const key = (await post<Key>(`/admin/users/${user.userId}/keys`)).body;
    const token = (await post<Token>(`/admin/users/${user.userId}/tokens`, { ttl: '1h' })).body;
    const credentials: Array<{ headers: Record<string, string>; revoke: string }> = [
      { headers: { 'api-key': key.apiKey!, 'api-secret': key.apiSecret! }, revoke: `/admin/keys/${key.id}` },
      { headers: { authorization: `Bearer ${token.token!}` }, revoke: `/admin/tokens/${token.id}` },
    ];
    for (const { headers, revoke } of credentials) {
      assert.equal((await call(gale.url, 'GET', `${V1}/quotas`, { headers })).status, 200, 'warm in the cache');
      assert.equal((await call(gale.url, 'DELETE', `${V1}${revoke}`, { headers: admin.bearer })).status, 204);
      const revokedAt = Date.now();
      await eventually('the revoked credential to be refused', async () => (await call(gale.url, 'GET', `${V1}/quotas`, { headers })).status, (s) => s === 401, cacheMs + 2_000);
      const took = Date.now() - revokedAt;
      assert.ok(took <= cacheMs + 500, `refused ${took} ms after the revocation`);
    }
  });
});
