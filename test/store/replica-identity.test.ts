import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createLogger } from '../../src/logger.js';
import { ReplicaIdTakenError, type ReplicaIdentity } from '../../src/domain/replica-identity.js';
import { runUnderIdentity } from '../../src/reconciler/identity-guard.js';
import { openReplicaIdentity } from '../../src/store/replica-identity.js';
import { eventually } from '../helpers/http.js';
import { postgresProblem, postgresTestUrl, skipOrFail, storeNames } from '../helpers/matrix.js';

/*
 * A replica's id is held exclusively for the life of its process (src/store/replica-identity.ts): never two live
 * holders, on SQLite across processes and within one; on PostgreSQL across sessions, including after the guarding
 * session is lost.
 */

const HOLDER = fileURLToPath(new URL('./replica-id-holder.ts', import.meta.url));

interface Holder {
  child: ChildProcessWithoutNullStreams;
  said: { id?: string; refused?: string };
}

async function hold(dataDir: string, requested?: string): Promise<Holder> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, dataDir, ...(requested ? [requested] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
  if (first.done) throw new Error(`the holder printed nothing: ${stderr}`);
  return { child, said: JSON.parse(first.value) as Holder['said'] };
}

async function kill(holder: Holder): Promise<void> {
  const exited = new Promise((resolve) => holder.child.once('exit', resolve));
  holder.child.kill('SIGKILL');
  await exited;
}

describe('sqlite', { skip: storeNames().includes('sqlite') ? false : 'STORES does not include sqlite' }, () => {
  test('processes on one data directory never hold one id; a process started after a SIGKILL takes the dead one\'s', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gale-replica-ids-'));
    const holders: Holder[] = [];
    t.after(async () => {
      await Promise.all(holders.map(kill));
      rmSync(dataDir, { recursive: true, force: true });
    });
    // Four processes starting together, and two servers' worth in this process as well.
    holders.push(...(await Promise.all(Array.from({ length: 4 }, () => hold(dataDir)))));
    const here = [await openReplicaIdentity({ dataDir }), await openReplicaIdentity({ dataDir })];
    t.after(() => Promise.all(here.map((identity) => identity.close())));
    const ids = [...holders.map((holder) => holder.said.id), ...here.map((identity) => identity.id)];
    assert.equal(new Set(ids).size, 6, `ids: ${ids.join(', ')}`);
    assert.deepEqual([...ids].sort(), ['local-1', 'local-2', 'local-3', 'local-4', 'local-5', 'local-6']);

    const victim = holders.splice(1, 1)[0]!;
    await kill(victim);
    const successor = await hold(dataDir);
    holders.push(successor);
    assert.equal(successor.said.id, victim.said.id, 'the lowest free id is the dead process\'s');
  });

  test('a requested id held by a live process is refused, naming the setting; free again once its holder is gone', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gale-replica-ids-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await hold(dataDir, 'edge-a');
    assert.equal(first.said.id, 'edge-a');
    const second = await hold(dataDir, 'edge-a');
    assert.match(second.said.refused ?? '', /replica id "edge-a" \(reconciler\.replicaId, GALE_REPLICA_ID\) is held by another Gale/);
    await assert.rejects(openReplicaIdentity({ dataDir, requested: 'edge-a' }), ReplicaIdTakenError);
    await kill(first);
    const again = await openReplicaIdentity({ dataDir, requested: 'edge-a' });
    assert.equal(again.id, 'edge-a');
    await again.close();
  });
});

const pgReason = skipOrFail('the postgres store', await postgresProblem());
describe('postgres', { skip: pgReason ?? (storeNames().includes('postgres') ? false : 'STORES does not include postgres') }, () => {
  const url = postgresTestUrl();
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  const open = (schema: string, requested?: string, events: { lost?: () => void; heldByAnother?: () => void } = {}) =>
    openReplicaIdentity({ dataDir: '/nonexistent', databaseUrl: url, schema, requested, onLost: events.lost, onHeldByAnother: events.heldByAnother });
  /** The backend holding the id's advisory lock (the same key as src/store/postgres/replica-identity.ts). */
  const holderPid = async (schema: string, id: string): Promise<number | undefined> => {
    const result = await admin.query<{ pid: number }>(
      `with k as (select ('x' || left(md5($1), 16))::bit(64)::bigint as key)
       select l.pid from pg_locks l, k where l.locktype = 'advisory' and l.granted and l.objsubid = 1
         and l.classid = ((k.key >> 32) & 4294967295)::oid and l.objid = (k.key & 4294967295)::oid`,
      [`gale-replica:${schema}:${id}`],
    );
    return result.rows[0]?.pid;
  };

  test('a second holder of a requested id is refused, naming the setting; ids made up are distinct', async (t) => {
    const schema = `ids_${randomUUID().slice(0, 8)}`;
    const first = await open(schema, 'replica-0');
    t.after(() => first.close());
    await assert.rejects(open(schema, 'replica-0'), /replica id "replica-0" \(reconciler\.replicaId, GALE_REPLICA_ID\) is held by another running Gale/);
    // Another schema is another installation: the same id is free there.
    const elsewhere = await open(`${schema}_b`, 'replica-0');
    await elsewhere.close();
    const made = [await open(schema), await open(schema)];
    t.after(() => Promise.all(made.map((identity) => identity.close())));
    assert.notEqual(made[0]!.id, made[1]!.id);
    assert.match(made[0]!.id, /-1$/);
    await first.close();
    const after = await open(schema, 'replica-0');
    await after.close();
  });

  test('a lost session stops the reconciler; an id taken meanwhile keeps it stopped; it runs again once the id is back', async (t) => {
    const schema = `ids_${randomUUID().slice(0, 8)}`;
    let lost = 0;
    let heldByAnother = 0;
    const a = await open(schema, 'replica-0', { lost: () => lost++, heldByAnother: () => heldByAnother++ });
    t.after(() => a.close());
    const calls: string[] = [];
    const reconciler = {
      start: () => void calls.push('start'),
      stop: async (options?: { keepLeases?: boolean }) => void calls.push(options?.keepLeases ? 'stop' : 'stop, leases given back'),
    };
    const store = { releaseLeases: async (owner: string) => (calls.push(`release ${owner}`), 0) };
    const endGuard = await runUnderIdentity(a, reconciler, store, createLogger('silent'));
    t.after(endGuard);
    assert.deepEqual(calls, ['release replica-0', 'start'], 'the leases are taken over before the first claim');

    // The session ends (as in a database restart), and another process asks for the id at once: at no time do both
    // hold it. A's first retry comes 100 ms later; should A win the race anyway, its session is ended again.
    let b: ReplicaIdentity | undefined;
    for (let round = 0; round < 10 && !b; round++) {
      const pid = await eventually('A to hold the id', () => holderPid(schema, 'replica-0'), (found) => found !== undefined && a.held);
      await admin.query('select pg_terminate_backend($1)', [pid]);
      b = await eventually(
        'the id to be taken by B or again by A',
        async () => (await open(schema, 'replica-0').catch((error: unknown) => (error instanceof ReplicaIdTakenError ? undefined : Promise.reject(error)))) ?? (a.held ? null : undefined),
        (taken) => taken !== undefined,
      ) ?? undefined;
    }
    assert.ok(b, 'B took the id in one of 10 rounds');
    t.after(() => b!.close());
    await eventually('A to stop reconciling', async () => calls.at(-1), (last) => last === 'stop');
    assert.equal(a.held, false);
    // While B holds it, A keeps trying and keeps stopped.
    await eventually('A to find the id taken', async () => heldByAnother, (n) => n >= 2);
    assert.equal(a.held, false);
    assert.equal(calls.at(-1), 'stop');
    assert.ok(lost >= 1);

    await b.close();
    await eventually('A to hold the id again and reconcile', async () => a.held && calls.at(-1) === 'start', (ok) => ok, 15_000);
    assert.deepEqual(calls.slice(-2), ['release replica-0', 'start']);
    t.diagnostic(`figures: A lost its session ${lost} time(s), found the id taken ${heldByAnother} time(s) while B held it`);
  });

  after(() => admin.end());
});
