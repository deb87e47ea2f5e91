import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { revokeApiKey, revokeToken } from '../../src/admin/accounts.js';
import { systemClock } from '../../src/domain/clock.js';
import { assertError, call, eventually, type Answer, type Credentials } from '../helpers/http.js';
import { describeWith, redisUrlForTests, schemaPool, startFleet, type Fleet } from './fleet.js';

/*
 * Two replicas in one process on one PostgreSQL schema, each with its own store connections, reconciler and rate
 * limiter, exactly as two `gale serve` processes would have: they share nothing but PostgreSQL (and Redis).
 */

const V1 = '/api/compute/v1';
// debian-12-micro is 2 vCPUs and 10 GB: a pro user (3 instances, 8 vCPUs, 200 GB) is bound by the instance count.
const SMALL = 'debian-12-micro';

interface Instance {
  id: string;
  status: string;
}

const api = <T = unknown>(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer<T>> =>
  call<T>(base, method, `${V1}${path}`, { headers, body });

await describeWith(['postgres'], 'two replicas on one PostgreSQL', () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet();
  });
  after(() => fleet?.close());

  test('instances created through either replica are visible from both, and run', async () => {
    const [a, b] = fleet.urls as [string, string];
    const user = await fleet.user('pro');
    const viaA = await api<Instance>(a, 'POST', '/instances', user.bearer, { template_id: SMALL });
    const viaB = await api<Instance>(b, 'POST', '/instances', user.keyPair, { template_id: SMALL });
    assert.equal(viaA.status, 201, viaA.text);
    assert.equal(viaB.status, 201, viaB.text);
    const ids = [viaA.body.id, viaB.body.id].sort();
    for (const base of [a, b]) {
      const listed = await api<Instance[]>(base, 'GET', '/instances', user.bearer);
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.map((i) => i.id).sort(), ids);
      for (const id of ids) assert.equal((await api(base, 'GET', `/instances/${id}`, user.bearer)).status, 200);
    }
    for (const id of ids) {
      await eventually(`${id} to run`, async () => (await api<Instance>(b, 'GET', `/instances/${id}`, user.bearer)).body.status, (s) => s === 'RUNNING', 120_000);
    }
  });

  test('the quota holds across replicas: 20 concurrent creates for room for 3 make exactly 3', async () => {
    const user = await fleet.user('pro');
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => api<Instance>(fleet.urls[i % 2]!, 'POST', '/instances', user.bearer, { template_id: SMALL })),
    );
    const created = answers.filter((answer) => answer.status === 201);
    assert.equal(created.length, 3, answers.map((answer) => answer.status).join(','));
    for (const refused of answers.filter((answer) => answer.status !== 201)) {
      assertError(refused, 403, 'quota_exceeded', /instances 3\/3 \(tier pro\)/);
    }
    for (const base of fleet.urls) {
      const listed = await api<Instance[]>(base, 'GET', '/instances', user.bearer);
      assert.deepEqual(listed.body.map((i) => i.id).sort(), created.map((answer) => answer.body.id).sort());
    }
  });

  test('a revoked key or token is refused by every replica within the cache bound', async () => {
    // Each replica caches what it verified for credentialCacheMs (5 s, as shipped); both have it cached here.
    const user = await fleet.user('pro');
    for (const base of fleet.urls) {
      assert.equal((await api(base, 'GET', '/quotas', user.keyPair)).status, 200);
      assert.equal((await api(base, 'GET', '/quotas', user.bearer)).status, 200);
    }
    await revokeApiKey(fleet.servers[0]!.store, systemClock, user.apiKey);
    await revokeToken(fleet.servers[1]!.store, systemClock, user.token);
    for (const base of fleet.urls) {
      for (const headers of [user.keyPair, user.bearer]) {
        // The documented bound is credentialCacheMs (5 s); twice that leaves room for a busy machine.
        await eventually('the revocation to reach the replica', async () => (await api(base, 'GET', '/quotas', headers)).status, (s) => s === 401, 10_000);
      }
    }
  });
});

/** 60 requests a minute for a free user, spent across both replicas: the next one is refused by either. */
async function assertSharedAllowance(fleet: Fleet, user: Credentials): Promise<void> {
  const remaining: number[] = [];
  for (let i = 0; i < 60; i++) {
    const answer = await api(fleet.urls[i % 2]!, 'GET', '/quotas', user.bearer);
    assert.equal(answer.status, 200, `request ${i + 1} of 60: ${answer.text}`);
    remaining.push(Number(answer.headers.get('ratelimit-remaining')));
  }
  // One count for the fleet: it goes down by one per request whichever replica answers.
  assert.deepEqual(remaining, Array.from({ length: 60 }, (_, i) => 59 - i));
  for (const base of fleet.urls) {
    const refused = await api(base, 'GET', '/quotas', user.bearer);
    assertError(refused, 429, 'rate_limited');
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
  }
}

await describeWith(['postgres', 'redis'], 'rate limits across replicas, shared in Redis', () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet({ overrides: { redisUrl: redisUrlForTests() } });
  });
  after(() => fleet?.close());

  test('a free user has 60 requests a minute across both replicas, not 60 each', async () => {
    const user = await fleet.user('free');
    await assertSharedAllowance(fleet, user);
    // The count is in Redis (and not in PostgreSQL): 60 allowed, the two refused ones counted too.
    const redis = new Redis(redisUrlForTests());
    try {
      assert.equal(await redis.get(`gale-rl-free:${user.userId}`), '62');
    } finally {
      redis.disconnect();
    }
  });
});

await describeWith(['postgres'], 'rate limits across replicas, shared in PostgreSQL', () => {
  let fleet: Fleet;
  before(async () => {
    fleet = await startFleet();
  });
  after(() => fleet?.close());

  test('a free user has 60 requests a minute across both replicas, not 60 each', async () => {
    const user = await fleet.user('free');
    await assertSharedAllowance(fleet, user);
    const pool = schemaPool(fleet.schema);
    try {
      const { rows } = await pool.query<{ points: number }>('select points from gale_rate_limits where key = $1', [`gale-rl-free:${user.userId}`]);
      assert.equal(rows[0]?.points, 62);
    } finally {
      await pool.end();
    }
  });
});
