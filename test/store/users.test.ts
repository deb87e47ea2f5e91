import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { GaleError } from '../../src/domain/errors.js';
import { ADMIN_ROLE, type User } from '../../src/domain/store.js';
import { forEachStore } from '../helpers/stores.js';

function newUser(overrides: Partial<User> = {}): User {
  const id = randomUUID();
  return { id, email: `${id.slice(0, 8)}@example.com`, tier: 'free', roles: [], customerId: '', createdAt: 1_000, ...overrides };
}

await forEachStore((factory) => {
  test('users: create, read, set tier, count', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    assert.equal(await store.countUsers(), 0);
    const admin = await store.createUser(newUser({ roles: [ADMIN_ROLE], tier: 'pro' }));
    const plain = await store.createUser(newUser());
    assert.deepEqual(await store.getUser(admin.id), admin);
    assert.deepEqual((await store.getUser(plain.id))?.roles, []);
    assert.equal(await store.getUser(randomUUID()), undefined);
    assert.equal(await store.countUsers(), 2);

    const raised = await store.setUserTier(plain.id, 'pro');
    assert.equal(raised.tier, 'pro');
    assert.equal((await store.getUser(plain.id))?.tier, 'pro');
    await assert.rejects(store.setUserTier(randomUUID(), 'pro'), (error: unknown) => error instanceof GaleError && error.code === 'not_found');
  });

  test('users: a taken email is a conflict that names the email, not the SQL', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const first = await store.createUser(newUser({ email: 'taken@example.com' }));
    await assert.rejects(store.createUser(newUser({ email: 'taken@example.com' })), (error: unknown) => {
      assert.ok(error instanceof GaleError);
      assert.equal(error.code, 'conflict');
      assert.equal(error.message, 'a user with email taken@example.com exists');
      return true;
    });
    await assert.rejects(store.createUser(newUser({ id: first.id })), (error: unknown) => {
      assert.ok(error instanceof GaleError);
      assert.equal(error.code, 'conflict');
      assert.doesNotMatch(error.message, /constraint|insert|unique/i);
      return true;
    });
    assert.equal(await store.countUsers(), 1);
  });

  test('api keys: found by hash with their user, revoked once', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await store.createUser(newUser({ roles: [ADMIN_ROLE] }));
    await store.createApiKey({ id: randomUUID(), userId: user.id, keyHash: 'k1', secretHash: 's1', createdAt: 5 });
    assert.deepEqual(await store.findApiKey('k1'), { user, secretHash: 's1', revokedAt: null });
    assert.equal(await store.findApiKey('nope'), undefined);

    assert.equal(await store.revokeApiKey('k1', 10), true);
    assert.equal((await store.findApiKey('k1'))?.revokedAt, 10);
    // Revoking again keeps the first revocation time.
    assert.equal(await store.revokeApiKey('k1', 20), true);
    assert.equal((await store.findApiKey('k1'))?.revokedAt, 10);
    assert.equal(await store.revokeApiKey('nope', 10), false);

    await assert.rejects(store.createApiKey({ id: randomUUID(), userId: user.id, keyHash: 'k1', secretHash: 's2', createdAt: 6 }));
  });

  test('tokens: found by hash with their user and expiry, revoked once', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await store.createUser(newUser());
    await store.createToken({ id: randomUUID(), userId: user.id, tokenHash: 't1', expiresAt: 99_000, createdAt: 5 });
    assert.deepEqual(await store.findToken('t1'), { user, expiresAt: 99_000, revokedAt: null });
    assert.equal(await store.findToken('nope'), undefined);
    assert.equal(await store.revokeToken('t1', 7), true);
    assert.equal(await store.revokeToken('t1', 8), true);
    assert.equal((await store.findToken('t1'))?.revokedAt, 7);
    assert.equal(await store.revokeToken('nope', 7), false);
    // A credential never outlives the user it names in an unknown way: its user must exist.
    await assert.rejects(store.createToken({ id: randomUUID(), userId: randomUUID(), tokenHash: 't2', expiresAt: 1, createdAt: 1 }));
  });

  test('installation id: made once, the same from every Store on the database', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const other = await store.openAnother();
    const ids = await Promise.all([store.installationId(), other.installationId(), store.installationId()]);
    assert.match(ids[0], /^[0-9a-f-]{36}$/);
    assert.deepEqual(new Set(ids).size, 1);
    const third = await store.openAnother();
    assert.equal(await third.installationId(), ids[0]);
    await store.ping();
    assert.equal(store.dialect, factory.name);
  });

  test('a database of its own: another test store sees none of this one', async (t) => {
    const a = await factory.open();
    const b = await factory.open();
    t.after(() => Promise.all([a.cleanup(), b.cleanup()]));
    await a.createUser(newUser());
    assert.equal(await b.countUsers(), 0);
    assert.notEqual(await a.installationId(), await b.installationId());
  });
});
