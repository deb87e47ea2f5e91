import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { unavailable } from '../helpers/matrix.js';
import { eventually } from '../helpers/http.js';
import { assertAllAlive, startFaultFleet, type FaultFleet } from './fleet.js';
import { PrivatePostgres, privatePostgresProblem } from './private-postgres.js';
import { machinesIn } from '../helpers/simulated-machines.js';

/*
 * Two faults that come from outside the dependencies: a SIGTERM while work is under way (a deploy, a scale-down),
 * and a client that fails to authenticate over and over from an address other tenants share (a NAT, a proxy, a CI
 * runner). Over SQLite and over PostgreSQL (a cluster of the test's own, with two replicas sharing the counts).
 */

const V1 = '/api/compute/v1';
const LEASE_MS = 30_000;

async function storesUnderTest(): Promise<Array<'sqlite' | 'postgres'>> {
  const stores: Array<'sqlite' | 'postgres'> = ['sqlite'];
  if (!privatePostgresProblem() && !(await unavailable({ store: 'postgres', provider: 'simulator' }))) stores.push('postgres');
  return stores;
}

for (const store of await storesUnderTest()) {
  describe(`outside faults over ${store}`, () => {
    const opened: Array<() => Promise<void>> = [];
    after(async () => {
      for (const close of opened.reverse()) await close();
    });
    async function fleetOf(replicas: number, simulatorDelayMs: number): Promise<FaultFleet> {
      let databaseUrl: string | undefined;
      if (store === 'postgres') {
        const cluster = await PrivatePostgres.start();
        opened.push(() => cluster.destroy());
        databaseUrl = cluster.url();
      }
      const fleet = await startFaultFleet({ databaseUrl, replicas, users: 2, env: { GALE_SIM_DELAY_MS: String(simulatorDelayMs) } });
      opened.push(() => fleet.close());
      return fleet;
    }

    test('SIGTERM with work under way: exit 0 without waiting out the lease, which another replica takes at once', async () => {
      const fleet = await fleetOf(1, 8_000);
      const [first] = fleet.replicas;
      const user = fleet.users[0]!;
      const made = await fetch(`${first!.base}${V1}/instances`, { method: 'POST', headers: { ...user.bearer, 'content-type': 'application/json' }, body: JSON.stringify({ template_id: 'debian-12-micro' }) });
      assert.equal(made.status, 201);
      const { id } = (await made.json()) as { id: string };
      // The reconciler has taken it up: the simulated create takes 8 s, far past the 3 s a shutdown waits for it.
      await eventually('the create to be under way', async () => (await fleet.store.listOperations(id))[0]?.startedAt ?? null, (at) => at !== null);

      const exited = new Promise<number | null>((resolve) => first!.child.once('exit', (code) => resolve(code)));
      const signalled = performance.now();
      first!.child.kill('SIGTERM');
      const code = await exited;
      const tookMs = performance.now() - signalled;
      console.log(`shutdown over ${store}: SIGTERM with a create under way, exit ${code} after ${Math.round(tookMs)} ms (lease ${LEASE_MS} ms)`);
      assert.equal(code, 0, first!.output().slice(-2000));
      assert.ok(tookMs < LEASE_MS, `the shutdown waited out the lease (${Math.round(tookMs)} ms)`);
      assert.match(first!.output(), /stopping with work unfinished; its lease is given back/);

      // Given back: another replica claims it at once and finishes the create.
      const second = await fleet.add();
      const running = await eventually(
        'the create to be finished by the next replica',
        async () => ((await (await fetch(`${second.base}${V1}/instances/${id}`, { headers: user.bearer })).json()) as { status: string }).status,
        (status) => status === 'RUNNING',
        60_000,
      );
      assert.equal(running, 'RUNNING');
      const machine = await (await machinesIn(fleet.store)).get(id);
      assert.equal(machine?.bootCount, 1, 'booted once, whoever finished it');
    });

    test('20 failed authentications from an address, then other tenants\' valid credentials from it: they pass', async () => {
      const fleet = await fleetOf(2, 100);
      const [a, b] = fleet.replicas;
      const [owner, other] = fleet.users;
      const templates = (base: string, headers: Record<string, string>) => fetch(`${base}${V1}/templates`, { headers });
      const failures: number[] = [];
      for (let n = 0; n < 20; n++) failures.push((await templates(a!.base, { authorization: `Bearer expired${n}-token-of-someone` })).status);
      assert.deepEqual([...new Set(failures)], [401], 'the allowance (20 a minute) is spent');
      const slowed = await templates(b!.base, { authorization: 'Bearer expired-again' });
      if (store === 'postgres') {
        assert.equal(slowed.status, 429, 'the count is shared by the replicas');
        assert.ok(Number(slowed.headers.get('retry-after')) >= 1);
      }
      for (const base of [a!.base, b!.base]) {
        assert.equal((await templates(base, other!.bearer)).status, 200, "another tenant's valid token passes");
        assert.equal((await templates(base, owner!.keyPair)).status, 200, 'a valid key pair passes');
      }
      assertAllAlive(fleet);
    });
  });
}
