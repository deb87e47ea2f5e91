import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Gale, GaleApiError } from '../../src/client/index.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { simulatorOverEveryStore } from '../helpers/matrix.js';

/*
 * gale.admin.users: a compute admin makes a user and gives them a token and a key pair through the client, the user
 * works with each, the lists are walked page by page, and a revoked credential is refused.
 */

for (const { backend, name, skip } of await simulatorOverEveryStore()) {
  describe(`users and credentials through the client over ${name}`, { skip }, () => {
    let gale: TestGale;
    let admin: Gale;
    before(async () => {
      gale = await startTestGale(backend);
      admin = new Gale({ baseUrl: gale.url, token: (await gale.user('pro', { admin: true })).token });
    });
    after(async () => gale?.close());

    test('a user made by an admin works with the token and the key pair made for them, until they are revoked', async () => {
      const made = await admin.admin.users.create({ email: `dana-${Date.now()}@example.com`, tier: 'pro' });
      assert.deepEqual(await admin.admin.users.get(made.id), made);
      const token = await admin.admin.users.createToken(made.id, { ttl: '1h' });
      const key = await admin.admin.users.createApiKey(made.id);
      const byToken = new Gale({ baseUrl: gale.url, token: token.token });
      const byKey = new Gale({ baseUrl: gale.url, apiKey: key.apiKey, apiSecret: key.apiSecret });
      assert.equal((await byToken.quotas()).tier, 'pro');
      assert.equal((await byKey.quotas()).tier, 'pro');

      const tokens = [];
      for await (const t of admin.admin.users.tokens(made.id, { pageSize: 1 })) tokens.push(t.id);
      assert.deepEqual(tokens, [token.id]);
      const keys = [];
      for await (const k of admin.admin.users.apiKeys(made.id)) keys.push(k.id);
      assert.deepEqual(keys, [key.id]);

      assert.equal((await admin.admin.users.setTier(made.id, { tier: 'free' })).tier, 'free');
      await admin.admin.users.revokeToken(token.id);
      await admin.admin.users.revokeApiKey(key.id);
      for (const revoked of [byToken, byKey]) {
        const error = await revoked.quotas().catch((e: unknown) => e);
        assert.ok(error instanceof GaleApiError && error.status === 401, String(error));
      }
    });

    test('every user is listed once, across pages of one', async () => {
      for (let n = 0; n < 3; n++) await admin.admin.users.create({ email: `page-${n}-${Date.now()}@example.com` });
      const whole = await admin.admin.users.list({ pageSize: 100 });
      const walked = [];
      for await (const user of admin.admin.users.all({ pageSize: 1 })) walked.push(user.id);
      assert.ok(walked.length >= 4);
      assert.deepEqual(walked, whole.users.map((u) => u.id));
    });
  });
}
