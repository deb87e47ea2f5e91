import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createToken, createUser } from '../../src/admin/accounts.js';
import type { DegradedMode } from '../../src/api/limiter/degraded.js';
import { defaultConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/domain/clock.js';
import { call, eventually, type Credentials } from '../helpers/http.js';
import { describeWith, startFleet, type Fleet } from '../replicas/fleet.js';
import { PrivateRedis, privateRedisProblem } from './private-redis.js';

/*
 * A user's rate limit across two replicas on PostgreSQL while their Redis is stopped (rateLimits.degraded). Each
 * replica counts in its own memory meanwhile; what it allows there is what is tested: its share of the limit
 * (fail-open-split, the default: 30 of the free tier's 60 each, by the count of live replicas in the store), the whole
 * limit (fail-open-shared: 120 across the two), or nothing (fail-closed: 503 with Retry-After). Shared counting
 * resumes when Redis answers again.
 */

const V1 = '/api/compute/v1';
const FREE_PER_MINUTE = 60;
const redisMissing = privateRedisProblem();
const figures: string[] = [];

interface Tally {
  ok: number;
  limited: number;
  unavailable: number;
  other: string[];
}

/** requests GET /quotas through each replica in turn, as a client behind a round-robin load balancer. */
async function spend(urls: string[], user: Credentials, perReplica: number): Promise<Tally[]> {
  const tallies = urls.map((): Tally => ({ ok: 0, limited: 0, unavailable: 0, other: [] }));
  for (let n = 0; n < perReplica * urls.length; n++) {
    const tally = tallies[n % urls.length]!;
    const answer = await call(urls[n % urls.length]!, 'GET', `${V1}/quotas`, { headers: user.bearer });
    if (answer.status === 200) tally.ok += 1;
    else if (answer.status === 429) tally.limited += 1;
    else if (answer.status === 503 && answer.headers.get('retry-after')) tally.unavailable += 1;
    else tally.other.push(`${answer.status} ${answer.text.slice(0, 200)}`);
  }
  for (const tally of tallies) assert.deepEqual(tally.other, [], 'only 200, 429, and 503 with Retry-After');
  return tallies;
}

const metric = async (url: string, name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${url}/metrics`)).text())?.[1]);
const rateLimits = async (url: string) => ((await (await fetch(`${url}/readyz`)).json()) as { checks: Record<string, string> }).checks.rateLimits ?? '';

async function replicasSeen(urls: string[], count: number): Promise<void> {
  // Each replica beats every 5 s: the one that started first learns of the other at its next heartbeat.
  for (const url of urls) await eventually(`${url} to count ${count} replicas`, () => metric(url, 'gale_replicas'), (n) => n === count, 30_000);
}

async function sharedAgain(urls: string[]): Promise<void> {
  for (const url of urls) await eventually(`${url} to count in Redis again`, () => rateLimits(url), (status) => status === 'ok (redis)', 30_000);
}

async function withFleet(mode: DegradedMode, body: (fleet: Fleet, redis: PrivateRedis) => Promise<void>): Promise<void> {
  const redis = await PrivateRedis.start();
  let fleet: Fleet | undefined;
  try {
    fleet = await startFleet({ replicas: 2, overrides: { redisUrl: redis.url, rateLimits: { degraded: mode } } });
    await replicasSeen(fleet.urls, 2);
    await body(fleet, redis);
  } finally {
    await fleet?.close();
    await redis.destroy();
  }
}

await describeWith(['postgres'], 'two replicas on PostgreSQL, their Redis stopped', () => {
  test('fail-open-split: 30 a replica, 60 across both; shared again when Redis answers; a replica that leaves gives its share back', { skip: redisMissing }, async () => {
    await withFleet('fail-open-split', async (fleet, redis) => {
      const urls = fleet.urls;
      await redis.stop();
      const during = await spend(urls, await fleet.user('free'), 40);
      assert.deepEqual(during.map((tally) => tally.ok), [30, 30], 'each replica allows half of the 60');
      assert.match(await rateLimits(urls[0]!), /^degraded: redis is not answering .*1\/2 of each limit \(2 replicas alive\)/);

      await redis.run();
      await sharedAgain(urls);
      const after = await spend(urls, await fleet.user('free'), 40);
      assert.equal(after[0]!.ok + after[1]!.ok, FREE_PER_MINUTE, 'one count in Redis again: 60 across both');

      // One replica stops: the other counts it out at its next heartbeat, and alone allows the whole limit.
      await fleet.servers[1]!.close();
      await replicasSeen([urls[0]!], 1);
      await redis.stop();
      const alone = await spend([urls[0]!], await fleet.user('free'), 70);
      assert.equal(alone[0]!.ok, FREE_PER_MINUTE);
      figures.push(`split: ${during.map((t) => `${t.ok} allowed + ${t.limited} refused`).join(', ')} (limit 60); after Redis returned ${after[0]!.ok}+${after[1]!.ok}; one replica left: ${alone[0]!.ok}`);
    });
  });

  test('fail-open-shared: each replica allows the whole limit, 120 across both', { skip: redisMissing }, async () => {
    await withFleet('fail-open-shared', async (fleet, redis) => {
      await redis.stop();
      const during = await spend(fleet.urls, await fleet.user('free'), 70);
      assert.deepEqual(during.map((tally) => tally.ok), [60, 60]);
      await redis.run();
      await sharedAgain(fleet.urls);
      const after = await spend(fleet.urls, await fleet.user('free'), 40);
      assert.equal(after[0]!.ok + after[1]!.ok, FREE_PER_MINUTE);
      figures.push(`shared: ${during[0]!.ok}+${during[1]!.ok} allowed (limit 60); after Redis returned ${after[0]!.ok + after[1]!.ok}`);
    });
  });

  test('fail-closed: 503 with Retry-After for users and wrong credentials; admins on admin routes and the probes pass; 200 again when Redis answers', { skip: redisMissing }, async () => {
    await withFleet('fail-closed', async (fleet, redis) => {
      const user = await fleet.user('free');
      const store = fleet.servers[0]!.store;
      const admin = await createUser(store, systemClock, defaultConfig().tiers, { email: `admin-${Date.now()}@example.com`, tier: 'free', admin: true });
      const adminBearer = { authorization: `Bearer ${(await createToken(store, systemClock, admin.id, 3_600_000)).token}` };
      await redis.stop();
      const during = await spend(fleet.urls, user, 10);
      assert.deepEqual(during.map((tally) => tally.unavailable), [10, 10]);
      for (const url of fleet.urls) {
        const refused = await call<{ error: { code: string } }>(url, 'GET', `${V1}/quotas`, { headers: user.bearer });
        assert.equal(refused.body.error.code, 'unavailable');
        assert.ok(Number(refused.headers.get('retry-after')) >= 1);
        const wrong = await call(url, 'GET', `${V1}/quotas`, { headers: { authorization: 'Bearer not-a-token' } });
        assert.equal(wrong.status, 503, 'a wrong credential answers as a right one does, uncounted');
        assert.equal((await call(url, 'GET', `${V1}/admin/users`, { headers: adminBearer })).status, 200, 'admins on admin routes are not counted');
        assert.equal((await fetch(`${url}/healthz`)).status, 200);
        assert.equal((await fetch(`${url}/readyz`)).status, 200, 'the replica stays ready: admins and probes are served');
        assert.match(await rateLimits(url), /^degraded: redis is not answering .*refusing requests that must be counted/);
      }
      await redis.run();
      await sharedAgain(fleet.urls);
      const after = await spend(fleet.urls, user, 40);
      assert.equal(after[0]!.ok + after[1]!.ok, FREE_PER_MINUTE);
      figures.push(`closed: ${during[0]!.unavailable + during[1]!.unavailable} of 20 refused 503 with Retry-After; after Redis returned ${after[0]!.ok + after[1]!.ok}`);
    });
  });

  test('figures', () => console.log(`figures: degraded rate limits, 2 replicas, free tier (60/min): ${figures.join('; ')}`));
});
