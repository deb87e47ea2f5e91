import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { test } from 'node:test';
import { GaleError } from '../../src/domain/errors.js';
import { IDEMPOTENCY_TTL_MS, IdempotentReplay, canonicalHash, type IdempotentWrite } from '../../src/domain/idempotency.js';
import { newInstanceId } from '../../src/domain/ids.js';
import type { InstanceRecord } from '../../src/domain/instance.js';
import type { Store } from '../../src/domain/store.js';
import { eventually } from '../helpers/http.js';
import { forEachStore, manualClock, postgresTestUrl } from '../helpers/stores.js';
import { SMALL_TIER, addUser, newInstance } from '../store/fixtures.js';

/*
 * The store's half of idempotency, on every store: the key row commits with the change or not at all, concurrent
 * duplicates on separate Store objects (replicas) make one change, keys expire after 24 hours and are purged.
 */

function write(userId: string, key: string, now: number, requestHash = 'h1'): IdempotentWrite<InstanceRecord> {
  return { userId, key, requestHash, now, expiresAt: now + IDEMPOTENCY_TTL_MS, response: (record) => ({ status: 201, body: JSON.stringify({ id: record.id }) }) };
}

async function outcome(run: Promise<unknown>): Promise<string> {
  try {
    const value = (await run) as InstanceRecord;
    return `fresh ${JSON.stringify({ id: value.id })}`;
  } catch (error) {
    if (error instanceof IdempotentReplay) return `replay ${error.response.body}`;
    if (error instanceof GaleError) return `error ${error.code}`;
    throw error;
  }
}

async function countKeys(engine: string, location: string): Promise<number> {
  if (engine === 'sqlite') {
    const db = new Database(join(location, 'gale.db'), { readonly: true });
    try {
      return (db.prepare('select count(*) as n from idempotency_keys').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: postgresTestUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(`select count(*) as n from "${location}".idempotency_keys`);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

const live = async (store: Store, userId: string) => (await store.listUserInstances(userId)).length;

await forEachStore((factory) => {
  test('concurrent duplicates on two Store objects (two replicas) make one instance; the others replay it', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const other = await store.openAnother();
    const user = await addUser(store);
    const stores = [store, other, store, other, store, other];
    const results = await Promise.all(
      stores.map((s) => outcome(s.createInstance(newInstance(user.id), SMALL_TIER, () => newInstanceId(user.id), write(user.id, 'k', 1_000)))),
    );
    assert.equal(results.filter((r) => r.startsWith('fresh')).length, 1, results.join('\n'));
    const body = results.find((r) => r.startsWith('fresh'))!.slice('fresh '.length);
    assert.deepEqual(results.filter((r) => r.startsWith('replay')), Array.from({ length: 5 }, () => `replay ${body}`));
    assert.equal(await live(store, user.id), 1);
  });

  test('a duplicate that would break the quota still replays: the key is checked before the quota', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    const tier = { ...SMALL_TIER, maxInstances: 1 };
    const made = () => outcome(store.createInstance(newInstance(user.id), tier, () => newInstanceId(user.id), write(user.id, 'only', 1_000)));
    assert.match(await made(), /^fresh/);
    assert.match(await made(), /^replay/);
    assert.equal(
      await outcome(store.createInstance(newInstance(user.id), tier, () => newInstanceId(user.id), write(user.id, 'other', 1_000))),
      'error quota_exceeded',
    );
    assert.equal(
      await outcome(store.createInstance(newInstance(user.id), tier, () => newInstanceId(user.id), write(user.id, 'only', 1_000, 'h2'))),
      'error idempotency_mismatch',
    );
  });

  test('a key is remembered for 24 hours, then is a new request; expired keys are purged in batches', async (t) => {
    const clock = manualClock(1_000);
    const store = await factory.open({ clock });
    t.after(() => store.cleanup());
    const user = await addUser(store);
    const createAt = (now: number, key: string) =>
      outcome(store.createInstance(newInstance(user.id, { createdAt: now }), null, () => newInstanceId(user.id), write(user.id, key, now)));
    const expiry = 1_000 + IDEMPOTENCY_TTL_MS;
    assert.match(await createAt(1_000, 'a'), /^fresh/);
    assert.match(await createAt(1_000, 'b'), /^fresh/);
    assert.match(await createAt(1_000, 'c'), /^fresh/);
    assert.match(await createAt(expiry - 1, 'a'), /^replay/);
    assert.equal(await store.purgeExpiredIdempotencyKeys(expiry, 0), 0);
    assert.equal(await store.purgeExpiredIdempotencyKeys(expiry, 2), 2, 'a batch at a time');
    assert.match(await createAt(expiry, 'a'), /^fresh/, 'an expired key starts over');
    assert.equal(await live(store, user.id), 4);
    // Guarded changes purge in the background, at most once a minute: here the first change a day later does.
    assert.match(await createAt(expiry + IDEMPOTENCY_TTL_MS + 60_000, 'd'), /^fresh/);
    await eventually('the background purge', () => countKeys(factory.name, store.location), (n) => n === 1);
  });

  test('a refused change keeps no key, and a power operation or delete replays even once the instance is gone', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    const made = await store.createInstance(newInstance(user.id), null, () => newInstanceId(user.id));
    const claim = (key: string) => ({ userId: user.id, key, requestHash: 'h', now: 2_000, expiresAt: 2_000 + IDEMPOTENCY_TTL_MS, response: () => ({ status: 202, body: '' }) });
    // PROVISIONING refuses a stop: the refusal is not kept, so the key is still free.
    await assert.rejects(store.requestPowerOperation(made.id, user.id, 'stop', 2_000, claim('s')), (e: unknown) => e instanceof GaleError && e.code === 'conflict');
    await store.claimDue('worker', 2_000, 10_000, 1);
    const running = { status: 'RUNNING' as const, internalIp: '', externalIp: '' };
    await store.completeWork(made.id, 'worker', { generation: 1, resetApplied: 0, observed: running, provisioned: true });
    assert.equal((await store.requestPowerOperation(made.id, user.id, 'stop', 2_000, claim('s'))).state, 'pending');
    const deleteClaim = { ...claim('d'), response: () => ({ status: 204, body: '' }) };
    await store.deleteInstance(made.id, user.id, 3_000, deleteClaim);
    const before = (await store.listOperations(made.id)).length;
    await assert.rejects(store.deleteInstance(made.id, user.id, 3_000, deleteClaim), IdempotentReplay);
    await assert.rejects(store.requestPowerOperation(made.id, user.id, 'stop', 4_000, claim('s')), IdempotentReplay);
    assert.equal((await store.listOperations(made.id)).length, before);
  });
});

test('the request hash ignores key order and spacing but not values, and survives any nesting depth', () => {
  assert.equal(canonicalHash(['POST', { a: 1, b: [1, { c: 2, d: 3 }] }]), canonicalHash(['POST', { b: [1, { d: 3, c: 2 }], a: 1 }]));
  assert.notEqual(canonicalHash(['POST', { a: 1 }]), canonicalHash(['POST', { a: '1' }]));
  assert.notEqual(canonicalHash(['POST', undefined]), canonicalHash(['POST', null]));
  assert.notEqual(canonicalHash(['POST', '/a', 'b']), canonicalHash(['POST', '/a\nb']));
  const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
  assert.match(canonicalHash(['POST', deep]), /^[0-9a-f]{64}$/);
});
