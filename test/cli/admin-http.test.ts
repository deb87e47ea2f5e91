import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { call } from '../helpers/http.js';
import { simulatorOverEveryStore } from '../helpers/matrix.js';
import { CliHome, type Run } from './run.js';

/* `gale admin` with no store named: through a server's admin routes, as the compute admin a profile logs in as. */

type Json = Record<string, unknown>;

const json = (run: Run): Json => {
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Json;
};

for (const { backend, name, skip } of await simulatorOverEveryStore()) {
  describe(`gale admin over the API (${name})`, { skip }, () => {
    let gale: TestGale;
    let home: CliHome;
    before(async () => {
      gale = await startTestGale(backend);
      home = new CliHome();
      const admin = await gale.user('pro', { admin: true });
      const login = await home.run(['login', '--endpoint', gale.url, '--token', admin.token]);
      assert.equal(login.code, 0, login.stderr);
      const plain = await gale.user('pro');
      assert.equal((await home.run(['login', '--endpoint', gale.url, '--profile', 'plain', '--token', plain.token])).code, 0);
    });
    after(async () => {
      home?.remove();
      await gale?.close();
    });

    test('users, keys and tokens, made and listed through the admin routes, print what the store path prints', async () => {
      const created = await home.run(['admin', 'users', 'create', '--email', 'api@example.com', '--tier', 'free', '--customer', 'acme', '--json']);
      assert.match(created.stderr, /using the API at http:\/\/.* \(profile default\)/);
      const user = json(created);
      assert.deepEqual(Object.keys(user), ['userId', 'email', 'tier', 'roles', 'customerId', 'createdAt']);
      assert.equal(user.email, 'api@example.com');
      assert.equal(user.tier, 'free');
      assert.equal(user.customerId, 'acme');
      const userId = String(user.userId);

      const listed = await home.run(['admin', 'users', 'list', '--customer', 'acme', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(JSON.parse(listed.stdout), [user]);

      const pair = json(await home.run(['admin', 'keys', 'create', '--user', userId, '--json']));
      for (const field of ['id', 'userId', 'prefix', 'createdAt', 'apiKey', 'apiSecret']) assert.ok(field in pair, field);
      const keyHeaders = { 'api-key': String(pair.apiKey), 'api-secret': String(pair.apiSecret) };
      const quotas = await call(gale.url, 'GET', '/api/compute/v1/quotas', { headers: keyHeaders });
      assert.equal(quotas.status, 200);

      const keys = await home.run(['admin', 'keys', 'list', '--user', userId, '--json']);
      assert.equal(keys.code, 0, keys.stderr);
      const keyList = JSON.parse(keys.stdout) as Json[];
      assert.deepEqual(keyList.map((k) => k.id), [pair.id]);
      assert.equal('apiSecret' in keyList[0]!, false);

      const byValue = await home.run(['admin', 'keys', 'revoke', '--key', String(pair.apiKey)]);
      assert.equal(byValue.code, 2, byValue.stderr);
      assert.match(byValue.stderr, /by its id.*--id/);
      assert.doesNotMatch(byValue.stderr, new RegExp(String(pair.apiKey)));

      assert.deepEqual(json(await home.run(['admin', 'keys', 'revoke', '--id', String(pair.id), '--json'])), { revoked: true });
      assert.equal((await call(gale.url, 'GET', '/api/compute/v1/quotas', { headers: keyHeaders })).status, 401);

      const token = json(await home.run(['admin', 'tokens', 'create', '--user', userId, '--ttl', '1h', '--json']));
      for (const field of ['id', 'userId', 'prefix', 'createdAt', 'expiresAt', 'token']) assert.ok(field in token, field);
      const bearer = { authorization: `Bearer ${String(token.token)}` };
      assert.equal((await call(gale.url, 'GET', '/api/compute/v1/quotas', { headers: bearer })).status, 200);

      const raised = json(await home.run(['admin', 'users', 'set-tier', '--user', userId, '--tier', 'enterprise', '--json']));
      assert.equal(raised.tier, 'enterprise');
      const text = await home.run(['admin', 'users', 'set-tier', '--user', userId, '--tier', 'enterprise']);
      assert.match(text.stdout, /is now on tier enterprise \(takes effect\)/);

      const missing = await home.run(['admin', 'keys', 'list', '--user', '00000000-0000-4000-8000-000000000000']);
      assert.equal(missing.code, 4, missing.stderr);
    });

    test('a profile that is not a compute admin is refused, clearly, with a non-zero exit', async () => {
      const refused = await home.run(['admin', 'users', 'list', '--profile', 'plain']);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /using the API at .* \(profile plain\)/);
      assert.match(refused.stderr, /refused: these credentials are not a compute admin's/);
      assert.equal(refused.stdout, '');
    });

    test('neither a store nor a profile: exit 2, naming both ways', async () => {
      const bare = new CliHome();
      try {
        const refused = await bare.run(['admin', 'users', 'list']);
        assert.equal(refused.code, 2, refused.stderr);
        assert.match(refused.stderr, /which store\? .*--data-dir.*--database-url.*gale login --endpoint URL.*GALE_ENDPOINT.*nothing was done/);
        assert.equal(refused.stdout, '');
      } finally {
        bare.remove();
      }
    });
  });
}
