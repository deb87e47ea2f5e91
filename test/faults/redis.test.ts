import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, eventually } from '../helpers/http.js';
import { assertAllAlive, startFaultFleet, type FaultFleet } from './fleet.js';
import { PrivateRedis, privateRedisProblem } from './private-redis.js';

/*
 * The Redis that holds the rate-limit counts of the fleet, stopped and hung under a replica. Requests must neither
 * fail nor wait on it: at the first failure the replica counts in its own memory at once and probes Redis in the
 * background, so a hung Redis costs one timeout per probe, not one per request. Readiness and a metric say so.
 */

const skip = privateRedisProblem();
const V1 = '/api/compute/v1';

/** Rate-limit requests Redis carried out: each is one script (the commands inside it are counted apart, and not here). */
function work(counts: Record<string, number>): number {
  return (counts.eval ?? 0) + (counts.evalsha ?? 0);
}

describe('Redis failing under a replica', { skip }, () => {
  let redis: PrivateRedis;
  let fleet: FaultFleet;
  const figures: string[] = [];

  before(async () => {
    redis = await PrivateRedis.start();
    fleet = await startFaultFleet({ replicas: 1, users: 2, env: { GALE_REDIS_URL: redis.url } });
  });
  after(async () => {
    console.log(`redis faults: ${figures.join('; ')}`);
    await fleet?.close();
    await redis?.destroy();
  });

  const base = () => fleet.replicas[0]!.base;
  const quotas = (n: number) => call(base(), 'GET', `${V1}/quotas`, { headers: fleet.users[n % fleet.users.length]!.bearer });
  const rateLimits = async () => ((await (await fetch(`${base()}/readyz`)).json()) as { checks: Record<string, string> }).checks.rateLimits;
  const storeUp = async () => /^gale_rate_limit_store_up\{backend="redis"\} (\d)/m.exec(await (await fetch(`${base()}/metrics`)).text())?.[1];

  test('stopped: requests answered and limited from memory; readiness and the metric say so; shared again when back', async () => {
    assert.equal((await quotas(0)).status, 200);
    assert.equal(await rateLimits(), 'ok (redis)');
    assert.equal(await storeUp(), '1');
    await redis.stop();
    for (let n = 0; n < 10; n++) {
      const answer = await quotas(n);
      assert.equal(answer.status, 200, answer.text);
      assert.ok(answer.headers.get('ratelimit-remaining'), 'still limited');
    }
    assert.match((await rateLimits()) ?? '', /^degraded: redis is not answering/);
    const ready = await fetch(`${base()}/readyz`);
    assert.equal(ready.status, 200, 'the API rides a rate-limit store outage out: the replica stays ready');
    assert.equal(await storeUp(), '0');
    await redis.run();
    await eventually('the circuit to close', rateLimits, (status) => status === 'ok (redis)', 30_000);
    assert.equal(await storeUp(), '1');
    assertAllAlive(fleet);
  });

  test('hung (SIGSTOP): one timeout, not one per request; the rest answered at once, from memory', async () => {
    assert.equal((await quotas(0)).status, 200);
    const before = work(await redis.commandCounts());
    redis.freeze();
    const timings: number[] = [];
    try {
      for (let n = 0; n < 40; n++) {
        const started = performance.now();
        const answer = await quotas(n);
        timings.push(performance.now() - started);
        assert.equal(answer.status, 200, answer.text);
      }
      assert.match((await rateLimits()) ?? '', /^degraded: redis is not answering/);
    } finally {
      redis.thaw();
    }
    // Whatever was sent to it while hung is carried out now: the request that met the hang, and nothing after it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = work(await redis.commandCounts()) - before;
    const waited = timings.filter((ms) => ms >= 500).length;
    timings.sort((a, b) => a - b);
    figures.push(`hung: 40 requests sent ${during} rate-limit scripts to Redis; ${waited} took 500 ms or more; median ${timings[20]!.toFixed(1)} ms, slowest ${timings[39]!.toFixed(0)} ms`);
    // Counted, not timed: each command sent to the hung Redis is a request that waited out the command timeout.
    assert.ok(during <= 2, `requests kept asking the hung Redis: ${during} scripts for 40 requests`);
    await eventually('the circuit to close', rateLimits, (status) => status === 'ok (redis)', 30_000);
    assertAllAlive(fleet);
  });
});
