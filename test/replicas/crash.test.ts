import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { SimulatedMachine } from '../../src/providers/simulator/index.js';
import { postgresTestUrl } from '../helpers/matrix.js';
import { call, eventually } from '../helpers/http.js';
import { describeWith, dropSchema, freshSchema, schemaPool } from './fleet.js';
import { startReplicaProcess, type ReplicaProcess } from './processes.js';

/*
 * Two `gale serve` processes on one PostgreSQL schema. Replica A is killed with SIGKILL while it holds leases on
 * instances in the middle of a transition; replica B must take the work over once the leases expire and finish it,
 * and nothing may be done twice: every simulated machine is booted exactly as often as the requests call for.
 */

const V1 = '/api/compute/v1';
const LEASE_MS = 2000;
const TRANSITIONAL = ['PROVISIONING', 'STAGING', 'STOPPING'];

interface InstanceRow {
  id: string;
  status: string;
  desired: string;
  lease_owner: string | null;
  generation: number;
  reconciled_generation: number;
  work_due_at: string | null;
}

await describeWith(['postgres'], 'a replica killed mid-transition', () => {
  const schema = freshSchema();
  const dir = mkdtempSync(join(tmpdir(), 'gale-crash-'));
  const configFile = join(dir, 'gale.json');
  writeFileSync(configFile, JSON.stringify({ reconciler: { leaseMs: LEASE_MS, pollIntervalMs: 50, resyncIntervalMs: 500 } }));
  const pool = schemaPool(schema);
  const replicas: ReplicaProcess[] = [];
  after(async () => {
    await Promise.all(replicas.map((replica) => replica.kill()));
    await pool.end();
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (name: string, bootstrap: boolean): Promise<ReplicaProcess> => {
    const replica = await startReplicaProcess({
      GALE_DATABASE_URL: postgresTestUrl(),
      GALE_DATABASE_SCHEMA: schema,
      GALE_CONFIG: configFile,
      GALE_DATA_DIR: join(dir, name),
      // Named, so that A's leases can be told apart; and B, under another id, must wait them out.
      GALE_REPLICA_ID: name,
      GALE_SIM_DELAY_MS: '1500',
      GALE_BOOTSTRAP: String(bootstrap),
    });
    replicas.push(replica);
    return replica;
  };
  const rows = async (ids: string[]): Promise<InstanceRow[]> =>
    (await pool.query<InstanceRow>('select * from instances where id = any($1) order by id', [ids])).rows;

  test('the surviving replica finishes the dead one\'s work, once', { timeout: 600_000 }, async (t) => {
    const a = await start('a', true);
    const printed = await eventually('the bootstrap credentials', async () => a.output(), (out) => /api-secret:\s+\S+/.test(out));
    const auth = { 'api-key': /api-key:\s+(\S+)/.exec(printed)![1]!, 'api-secret': /api-secret:\s+(\S+)/.exec(printed)![1]! };
    const b = await start('b', false);
    const create = async (): Promise<string> => {
      const answer = await call<{ id: string }>(a.base, 'POST', `${V1}/instances`, { headers: auth, body: { template_id: 'debian-12-micro' } });
      assert.equal(answer.status, 201, answer.text);
      return answer.body.id;
    };

    // Three running instances to stop, then the stops and three new creates, all through A (which wakes A's loop).
    const toStop = [await create(), await create(), await create()];
    await eventually('the first instances to run', () => rows(toStop), (r) => r.every((row) => row.status === 'RUNNING'), 120_000);
    for (const id of toStop) assert.equal((await call(a.base, 'POST', `${V1}/instances/${id}/stop`, { headers: auth })).status, 202);
    const toRun = [await create(), await create(), await create()];
    const all = [...toStop, ...toRun];

    // Kill A while it holds a live lease on an instance mid-transition.
    const held = await eventually(
      'replica A to hold a lease on an instance mid-transition',
      async () => (await rows(all)).filter((row) => row.lease_owner === 'a' && TRANSITIONAL.includes(row.status)),
      (r) => r.length > 0,
      60_000,
    );
    await a.kill();
    t.diagnostic(`killed A holding ${held.map((row) => `${row.id} ${row.status}`).join(', ')}`);

    // B takes over once A's leases expire and its transitional markers go stale, and brings everything where asked.
    const settled = await eventually(
      'replica B to finish all the work',
      () => rows(all),
      (r) => r.length === all.length && r.every((row) => row.generation === row.reconciled_generation && row.work_due_at === null && row.lease_owner === null),
      180_000,
    );
    for (const row of settled) assert.equal(row.status, row.desired === 'RUNNING' ? 'RUNNING' : 'TERMINATED', `${row.id}: ${JSON.stringify(row)}`);
    assert.deepEqual(settled.filter((row) => row.status === 'TERMINATED').map((row) => row.id).sort(), [...toStop].sort());
    for (const id of all) {
      const seen = await call<{ status: string }>(b.base, 'GET', `${V1}/instances/${id}`, { headers: auth });
      assert.equal(seen.body.status, toStop.includes(id) ? 'TERMINATED' : 'RUNNING');
    }

    // No double work: each machine booted exactly once (booted, then stopped; or booted once after its create).
    const kept = await pool.query<{ value: string }>("select value from provider_state where provider = 'simulator' and key like 'machine/%'");
    const machines = kept.rows.map((row) => JSON.parse(row.value) as SimulatedMachine).filter((machine) => all.includes(machine.instanceId));
    assert.equal(machines.length, all.length);
    for (const machine of machines) {
      assert.equal(machine.bootCount, 1, `machine ${machine.instanceId} booted ${machine.bootCount} times`);
      // A stop A died in leaves its STOPPING marker behind: the simulator reads a stale marker as powered off.
      if (toStop.includes(machine.instanceId)) assert.ok(['TERMINATED', 'STOPPING'].includes(machine.status), machine.status);
      else assert.equal(machine.status, 'RUNNING');
    }
    // Every accepted request is recorded as carried out, including those A died in the middle of.
    const operations = await pool.query<{ instance_id: string; kind: string; state: string }>(
      'select instance_id, kind, state from operations where instance_id = any($1)',
      [held.map((row) => row.id)],
    );
    assert.ok(operations.rows.length > 0);
    for (const op of operations.rows) assert.equal(op.state, 'done', `${op.kind} on ${op.instance_id} is ${op.state}`);

    // B did that work: its metrics count finished claims.
    const metrics = await (await fetch(`${b.base}/metrics`)).text();
    assert.match(metrics, /gale_reconciler_operations_total\{action="(create|start|stop)",outcome="completed"\} [1-9]/);

    // And B shuts down cleanly on SIGTERM.
    const exited = new Promise<number | null>((resolve) => b.child.once('exit', (code) => resolve(code)));
    b.child.kill('SIGTERM');
    assert.equal(await exited, 0, b.output());
  });
});
