import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertAllAlive, assertCarriedOut, awaitReady, startFaultFleet, type FaultFleet } from './fleet.js';
import { PrivatePostgres, privatePostgresProblem } from './private-postgres.js';
import { Workload } from './workload.js';

/*
 * Two replicas on a PostgreSQL cluster of the test's own, under load, while the database is failed every way an
 * operator or a network can fail it: its connections terminated, the server restarted, hung (SIGSTOP), out of
 * connections, and refusing them (ALLOW_CONNECTIONS false) with those it had ended. Through all of it: no process
 * ends; every request is answered within its deadline, a dependency's failure as 503 with Retry-After, never 500;
 * readiness says so and recovers; and everything accepted is carried out, no machine booted more than asked, every
 * quota equal to what exists.
 */

const DEADLINE_MS = 10_000;
const QUERY_TIMEOUT_MS = 2_000;
const skip = privatePostgresProblem();

/** /readyz of one replica, as a load balancer would see it now. */
async function readiness(base: string): Promise<{ status: number; text: string; retryAfter: string | null }> {
  const answer = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(DEADLINE_MS) });
  return { status: answer.status, text: await answer.text(), retryAfter: answer.headers.get('retry-after') };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PostgreSQL failing under a fleet at work', { skip }, () => {
  let cluster: PrivatePostgres;
  let fleet: FaultFleet;
  let load: Workload;
  const figures: string[] = [];

  before(async () => {
    cluster = await PrivatePostgres.start({ max_connections: 40 });
    fleet = await startFaultFleet({
      databaseUrl: cluster.url(),
      replicas: 2,
      users: 4,
      config: { store: { poolSize: 4, queryTimeoutMs: QUERY_TIMEOUT_MS, connectTimeoutMs: 1_000, startupTimeoutMs: 30_000 } },
    });
    load = new Workload({ bases: fleet.replicas.map((r) => r.base), users: fleet.users, template: 'debian-12-micro', deadlineMs: DEADLINE_MS });
    load.start();
    await pause(1_000);
  });
  after(async () => {
    await load?.stop();
    console.log(`postgres faults: ${figures.join('; ')}`);
    await fleet?.close();
    await cluster?.destroy();
  });

  test('its connections terminated (a failover, an operator): every read retried, nothing ends', async () => {
    for (let round = 0; round < 3; round++) {
      assert.ok((await cluster.terminateBackends()) > 0, 'there were connections to end');
      await pause(700);
    }
    assertAllAlive(fleet);
    for (const replica of fleet.replicas) assert.equal((await readiness(replica.base)).status, 200);
  });

  test('restarted: 503 with Retry-After while it is down, readiness says why, all well once it is back', async () => {
    cluster.ctl('stop', 'fast');
    await pause(300);
    const down = await readiness(fleet.replicas[0]!.base);
    assert.equal(down.status, 503, down.text);
    assert.match(down.text, /not ready: database failed: the database is unreachable or restarting/);
    assert.doesNotMatch(down.text, /127\.0\.0\.1|postgres:\/\//, 'no address in what anyone may read');
    assert.equal(down.retryAfter, '5');
    await pause(1_500);
    cluster.ctl('start');
    assertAllAlive(fleet);
    await awaitReady(fleet, 'after the restart');
  });

  test('hung (SIGSTOP): every request still answered within its deadline, as 503 once its timeout passes', async () => {
    cluster.freeze();
    const frozenAt = performance.now();
    const [ready] = await Promise.all([readiness(fleet.replicas[1]!.base), pause(QUERY_TIMEOUT_MS * 3)]);
    assert.equal(ready.status, 503, ready.text);
    cluster.thaw();
    figures.push(`hung for ${Math.round(performance.now() - frozenAt)} ms`);
    assertAllAlive(fleet);
    await awaitReady(fleet, 'after the hang');
  });

  test('out of connections: 503 with Retry-After, until connections can be had again', async () => {
    // Gale's role may open no more connections (53300, as when the server's are all taken), and loses those it has.
    await cluster.limitConnections(0);
    try {
      await cluster.terminateBackends();
      await pause(1_500);
      const starved = await readiness(fleet.replicas[0]!.base);
      assert.equal(starved.status, 503, starved.text);
      assert.match(starved.text, /database failed/);
      assertAllAlive(fleet);
    } finally {
      await cluster.limitConnections(-1);
    }
    await awaitReady(fleet, 'once connections can be had again');
  });

  test('refusing connections (ALLOW_CONNECTIONS false), then ending those it had: 503 with Retry-After, never 500', async () => {
    const from = load.answers.length;
    await cluster.allowConnections(false);
    let newRefused = 0;
    try {
      // Only new connections refused: the pool's idle ones keep serving until they are closed and cannot be replaced.
      await pause(1_500);
      newRefused = load.answers.length - from;
      assert.ok((await cluster.terminateBackends()) > 0, 'there were connections to end');
      await pause(2_000);
      const refused = await readiness(fleet.replicas[0]!.base);
      assert.equal(refused.status, 503, refused.text);
      assert.match(refused.text, /not ready: database failed: the database is not accepting connections/);
      assert.doesNotMatch(refused.text, /127\.0\.0\.1|postgres:\/\//, 'no address in what anyone may read');
      assertAllAlive(fleet);
    } finally {
      await cluster.allowConnections(true);
    }
    await awaitReady(fleet, 'once connections are allowed again');
    const window = load.answers.slice(from);
    const count = (pick: (status: number) => boolean) => window.filter((a) => pick(a.status)).length;
    const bad = window.filter((a) => a.status === 0 || (a.status >= 500 && !(a.status === 503 && Number(a.retryAfter) >= 1)));
    figures.push(
      `refusal: ${window.length} requests (${newRefused} while only new connections were refused), 2xx×${count((s) => s >= 200 && s < 300)}, ` +
        `503×${count((s) => s === 503)} (all with Retry-After), 500×${count((s) => s === 500)}, unanswered×${count((s) => s === 0)}`,
    );
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} of ${window.length} answers in the refusal were neither a success nor a 503 with Retry-After`);
    assert.ok(count((s) => s === 503) > 0, 'the refusal was felt');
  });

  test('through all of it: every request answered, every accepted change carried out, no machine booted twice', async () => {
    await pause(1_000);
    await load.stop();
    assertAllAlive(fleet);
    const answered = load.assertAnswered('under PostgreSQL faults');
    const carried = await assertCarriedOut(fleet, load.accepted);
    figures.push(`${answered.requests} requests (${answered.byStatus}), slowest ${answered.maxMs} ms (deadline ${DEADLINE_MS} ms)`);
    figures.push(`${carried.instances} instances accepted, ${carried.deleted} deleted, ${carried.boots} boots`);
    assert.ok(answered.failed503 > 0, 'the faults were felt');
    assert.ok(carried.instances > 3, 'there was work to carry out');
  });
});
