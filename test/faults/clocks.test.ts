import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertAllAlive, assertCarriedOut, startFaultFleet, type FaultFleet } from './fleet.js';
import { PrivatePostgres, privatePostgresProblem } from './private-postgres.js';
import { Workload } from './workload.js';
import { skipOrFail } from '../helpers/matrix.js';

/*
 * Two replicas whose clocks are a minute apart (the second runs under libfaketime, 60 s ahead), sharing one
 * PostgreSQL. Leases, due times and deadlines are judged by the database server's clock, which both read, so neither
 * takes the other's leases: no lease is lost, no machine boots twice, none boots again after its instance is purged.
 */

function libfaketime(): string | undefined {
  for (const dir of ['/usr/lib/x86_64-linux-gnu/faketime', '/usr/lib/aarch64-linux-gnu/faketime', '/usr/lib/faketime']) {
    if (existsSync(dir)) {
      const found = readdirSync(dir).find((name) => name === 'libfaketime.so.1');
      if (found) return join(dir, found);
    }
  }
  return undefined;
}

function problem(): string | undefined {
  const postgres = privatePostgresProblem();
  if (postgres) return postgres;
  if (libfaketime()) return undefined;
  return skipOrFail('libfaketime', "libfaketime is not installed (Debian's faketime; scripts/install-test-tools.sh)");
}

const skip = problem();

describe('replicas with clocks a minute apart', { skip }, () => {
  let cluster: PrivatePostgres;
  let fleet: FaultFleet;
  const figures: string[] = [];

  before(async () => {
    cluster = await PrivatePostgres.start();
    // A fast simulator and a quick resync: many claims, renewals and hand-overs in a short run. Leases of 10 s are far
    // shorter than the skew, so a replica judging them by its own clock would take the other's at every turn.
    fleet = await startFaultFleet({
      databaseUrl: cluster.url(),
      replicas: 1,
      users: 4,
      config: { reconciler: { leaseMs: 10_000, pollIntervalMs: 100, resyncIntervalMs: 2_000 } },
    });
    await fleet.add({ LD_PRELOAD: libfaketime()!, FAKETIME: '+60s', FAKETIME_DONT_FAKE_MONOTONIC: '1' });
  });
  after(async () => {
    console.log(`clock faults: ${figures.join('; ')}`);
    await fleet?.close();
    await cluster?.destroy();
  });

  test('the second replica does run a minute ahead', async () => {
    const dates = await Promise.all(fleet.replicas.map(async (r) => Date.parse((await fetch(`${r.base}/healthz`)).headers.get('date') ?? '')));
    const skew = dates[1]! - dates[0]!;
    figures.push(`clocks ${Math.round(skew / 1000)} s apart`);
    assert.ok(skew >= 55_000 && skew <= 65_000, `the replicas' clocks are ${skew} ms apart`);
  });

  test('under load through both: no lease lost, every change carried out once, no machine booted twice or after its purge', async () => {
    const load = new Workload({ bases: fleet.replicas.map((r) => r.base), users: fleet.users, template: 'debian-12-micro', deadlineMs: 10_000, workers: 4 });
    load.start();
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    await load.stop();
    assertAllAlive(fleet);
    const answered = load.assertAnswered('with replica clocks a minute apart');
    const carried = await assertCarriedOut(fleet, load.accepted);
    const lost = fleet.replicas.map((r) => (r.output().match(/lease lost/g) ?? []).length);
    figures.push(`${answered.requests} requests (${answered.byStatus}); ${carried.instances} instances, ${carried.deleted} deleted, ${carried.boots} boots; leases lost ${lost.join(' + ')}`);
    const lines = fleet.replicas.flatMap((r) => r.output().split('\n').filter((line) => line.includes('lease lost')));
    assert.deepEqual(lost, [0, 0], `a replica lost a lease to the other:\n${lines.join('\n')}`);
    assert.ok(carried.instances > 5 && carried.deleted > 0, 'there was work, deletes included');
  });
});
