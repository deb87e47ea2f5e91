import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ObservedState } from '../../src/domain/store.js';
import { forEachStore, manualClock } from '../helpers/stores.js';
import { inIdRange } from '../../src/domain/provider.js';
import { SimulatedMachines } from '../../src/providers/simulator/index.js';
import { addUser, create, newInstance } from './fixtures.js';

const RUNNING: ObservedState = { status: 'RUNNING', internalIp: '10.0.0.5', externalIp: '203.0.113.5' };
const LEASE = 30_000;

await forEachStore((factory) => {
  async function setup(count = 1) {
    const clock = manualClock(10_000);
    const store = await factory.open({ clock });
    const user = await addUser(store);
    const ids: string[] = [];
    for (let i = 0; i < count; i++) ids.push((await create(store, user.id, { createdAt: 1_000 + i })).id);
    return { store, clock, user, ids };
  }

  test('claims lease due work oldest first; two owners never hold the same row', async (t) => {
    const { store, ids } = await setup(5);
    t.after(() => store.cleanup());
    assert.deepEqual(await store.claimDue('a', 500, LEASE, 10), [], 'nothing is due before it was created');

    const a = await store.claimDue('a', 10_000, LEASE, 2);
    assert.deepEqual(a.map((c) => c.id), ids.slice(0, 2));
    assert.equal(a[0]?.attempts, 0);
    const b = await store.claimDue('b', 10_000, LEASE, 10);
    assert.deepEqual(b.map((c) => c.id), ids.slice(2));
    assert.deepEqual(await store.claimDue('c', 10_000, LEASE, 10), []);
    assert.deepEqual(await store.claimDue('c', 10_000, LEASE, 0), []);
    assert.equal(await store.countPendingWork(10_000), 5, 'leased work is still pending');
  });

  test('a replica pinned to zones claims only their work; unpinned, every zone', async (t) => {
    const { store, user, ids } = await setup(2);
    t.after(() => store.cleanup());
    const elsewhere = (await create(store, user.id, { zone: 'zone-b', createdAt: 1_100 })).id;
    assert.deepEqual((await store.claimDue('b', 10_000, LEASE, 10, ['zone-b'])).map((c) => c.id), [elsewhere]);
    assert.deepEqual((await store.claimDue('c', 10_000, LEASE, 10, ['zone-c'])).map((c) => c.id), [], 'no work in zone-c');
    assert.deepEqual((await store.claimDue('a', 10_000, LEASE, 10, [])).map((c) => c.id).sort(), [...ids].sort());
  });

  test('a claimer passes over the ids it excludes (its own work in flight) and takes the next due', async (t) => {
    const { store, ids } = await setup(3);
    t.after(() => store.cleanup());
    const [first, second, third] = ids;
    assert.deepEqual((await store.claimDue('r', 10_000, LEASE, 1, undefined, [first!])).map((c) => c.id), [second]);
    assert.deepEqual((await store.claimDue('r', 10_000, LEASE, 10, [], [first!, third!])).map((c) => c.id), []);
    assert.deepEqual((await store.claimDue('r', 10_000, LEASE, 10, undefined, [])).map((c) => c.id), [first, third]);
  });

  test('concurrent claimers split the due rows without overlap', async (t) => {
    const { store, ids } = await setup(12);
    t.after(() => store.cleanup());
    const other = await store.openAnother();
    const claims = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).claimDue(`r${i}`, 10_000, LEASE, 3)));
    // SKIP LOCKED may pass over rows another claimer holds at that instant: a later sweep gets those.
    const claimed = [...claims.flat(), ...(await store.claimDue('sweep', 10_000, LEASE, 20))].map((c) => c.id);
    assert.equal(claimed.length, new Set(claimed).size, 'no row claimed twice');
    assert.deepEqual([...claimed].sort(), [...ids].sort());
  });

  test('an expired lease can be claimed again, and the old owner is fenced off', async (t) => {
    const { store, ids } = await setup(1);
    t.after(() => store.cleanup());
    const id = ids[0] ?? '';
    await store.claimDue('old', 10_000, LEASE, 1);
    assert.deepEqual(await store.claimDue('new', 10_000 + LEASE, LEASE, 1), [], 'the lease lasts until its end');
    const [again] = await store.claimDue('new', 10_001 + LEASE, LEASE, 1);
    assert.equal(again?.id, id);

    // Every write of the old owner is now a no-op.
    await store.recordProgress(id, 'old', { status: 'STAGING', provisioned: true });
    assert.deepEqual(await store.completeWork(id, 'old', { generation: 1, resetApplied: 0, observed: RUNNING, provisioned: true }), { caughtUp: false, finished: [] });
    await store.failWork(id, 'old', 'boom', 99);
    await store.abandonWork(id, 'old', 1, 'gave up');
    assert.deepEqual(await store.renewLeases([id], 'old', 1e12), [id]);
    const seen = await store.getInstance(id);
    assert.deepEqual([seen?.status, seen?.provisioned, seen?.reconciledGeneration, seen?.desired], ['PROVISIONING', false, 0, 'RUNNING']);
    assert.deepEqual((await store.listOperations(id)).map((op) => op.state), ['pending']);

    // The new owner's writes land.
    assert.deepEqual(await store.renewLeases([id], 'new', 10_001 + 2 * LEASE), []);
    await store.recordProgress(id, 'new', { status: 'STAGING', provisioned: true });
    assert.deepEqual([(await store.getInstance(id))?.status, (await store.getInstance(id))?.provisioned], ['STAGING', true]);
  });

  test('completeWork for the current generation: observed state written, operations done, nothing due', async (t) => {
    const { store, clock, ids } = await setup(1);
    t.after(() => store.cleanup());
    const id = ids[0] ?? '';
    assert.deepEqual((await store.listOperations(id)).map((op) => [op.state, op.startedAt]), [['pending', null]], 'waiting until claimed');
    await store.claimDue('r', 10_000, LEASE, 1);
    assert.deepEqual((await store.listOperations(id)).map((op) => [op.state, op.startedAt]), [['pending', 10_000]], 'started by the claim');
    clock.set(12_000);
    const createdAt = (await store.listOperations(id))[0]?.createdAt;
    assert.deepEqual(await store.completeWork(id, 'r', { generation: 1, resetApplied: 0, observed: RUNNING, provisioned: true }), {
      caughtUp: true,
      finished: [{ kind: 'create', state: 'done', createdAt, finishedAt: 12_000 }],
    });
    const done = await store.getInstance(id);
    assert.deepEqual(
      [done?.status, done?.internalIp, done?.externalIp, done?.reconciledGeneration, done?.provisioned],
      ['RUNNING', '10.0.0.5', '203.0.113.5', 1, true],
    );
    assert.deepEqual((await store.listOperations(id)).map((op) => [op.state, op.finishedAt]), [['done', 12_000]]);
    assert.equal(await store.countPendingWork(12_000), 0);
    assert.deepEqual(await store.claimDue('r', 1e12, LEASE, 1), []);
  });

  test('completeWork after the intent moved on: facts kept, status and the newer work left alone', async (t) => {
    const { store, ids, user } = await setup(1);
    t.after(() => store.cleanup());
    const id = ids[0] ?? '';
    // Bring it to RUNNING, then a reset is under way when the user stops it.
    await store.claimDue('r', 10_000, LEASE, 1);
    await store.completeWork(id, 'r', { generation: 1, resetApplied: 0, observed: RUNNING, provisioned: true });
    await store.requestPowerOperation(id, user.id, 'reset', 11_000);
    const [claimed] = await store.claimDue('r', 11_000, LEASE, 1);
    assert.equal(claimed?.generation, 2);
    await store.requestPowerOperation(id, user.id, 'stop', 11_500);

    const moved = { generation: 2, resetApplied: 1, observed: { ...RUNNING, internalIp: '10.0.0.9' }, provisioned: true };
    assert.equal((await store.completeWork(id, 'r', moved)).caughtUp, false);
    const now = await store.getInstance(id);
    assert.deepEqual([now?.status, now?.desired, now?.resetApplied, now?.internalIp, now?.generation], ['STOPPING', 'TERMINATED', 1, '10.0.0.9', 3]);
    assert.deepEqual((await store.listOperations(id)).map((op) => [op.kind, op.state]), [['create', 'done'], ['reset', 'done'], ['stop', 'pending']]);

    // Still due (at the time of the stop), and claimable at once: the lease was released.
    const [next] = await store.claimDue('r2', 11_500, LEASE, 1);
    assert.equal(next?.id, id);
    assert.equal(next?.generation, 3);
    assert.equal((await store.completeWork(id, 'r2', { generation: 3, resetApplied: 1, observed: { status: 'TERMINATED', internalIp: '', externalIp: '' }, provisioned: true })).caughtUp, true);
    assert.equal((await store.getInstance(id))?.status, 'TERMINATED');
  });

  test('failWork counts attempts and postpones; success resets them', async (t) => {
    const { store, ids } = await setup(1);
    t.after(() => store.cleanup());
    const id = ids[0] ?? '';
    await store.claimDue('r', 10_000, LEASE, 1);
    await store.failWork(id, 'r', 'provider unavailable', 15_000);
    assert.deepEqual(await store.claimDue('r', 14_999, LEASE, 1), [], 'not before retryAt');
    assert.equal(await store.countPendingWork(14_999), 1);
    const [retry] = await store.claimDue('r', 15_000, LEASE, 1);
    assert.equal(retry?.attempts, 1);
    await store.failWork(id, 'r', 'x'.repeat(10_000), 16_000);
    const [third] = await store.claimDue('r', 16_000, LEASE, 1);
    assert.equal(third?.attempts, 2);
    await store.completeWork(id, 'r', { generation: 1, resetApplied: 0, observed: RUNNING, provisioned: true });
    await store.markDue([id], 20_000);
    assert.equal((await store.claimDue('r', 20_000, LEASE, 1))[0]?.attempts, 0);
  });

  test('abandonWork ends the instance TERMINATED with its operations failed', async (t) => {
    const { store, ids } = await setup(2);
    t.after(() => store.cleanup());
    const [id = '', deletedLater = ''] = ids;
    await store.claimDue('r', 10_000, LEASE, 2);
    await store.abandonWork(id, 'r', 1, 'image not found');
    const gone = await store.getInstance(id);
    assert.deepEqual([gone?.status, gone?.desired, gone?.reconciledGeneration], ['TERMINATED', 'TERMINATED', 1]);
    assert.deepEqual((await store.listOperations(id)).map((op) => [op.state, op.error]), [['failed', 'image not found']]);
    assert.deepEqual((await store.listForResync(10_000)).find((r) => r.id === id)?.busy, false);

    // Deleted while its create was failing: the create fails, the delete stays due.
    const owner = (await store.getInstance(deletedLater))?.userId;
    await store.deleteInstance(deletedLater, owner, 10_500);
    await store.abandonWork(deletedLater, 'r', 1, 'image not found');
    assert.deepEqual((await store.listOperations(deletedLater)).map((op) => [op.kind, op.state]), [['create', 'failed'], ['delete', 'pending']]);
    const [due] = await store.claimDue('r', 10_500, LEASE, 5);
    assert.deepEqual([due?.id, due?.deletedAt], [deletedLater, 10_500]);
  });

  test('pruneOperations removes finished operations older than the cut-off, oldest first, a batch at a time', async (t) => {
    const { store, ids, user } = await setup(1);
    t.after(() => store.cleanup());
    const id = ids[0] ?? '';
    await store.claimDue('r', 10_000, LEASE, 1);
    await store.completeWork(id, 'r', { generation: 1, resetApplied: 0, observed: RUNNING, provisioned: true });
    // Three no-op starts, finished when accepted, at 20 000, 21 000 and 22 000; and a stop that stays pending.
    for (const at of [20_000, 21_000, 22_000]) await store.requestPowerOperation(id, user.id, 'start', at);
    await store.requestPowerOperation(id, user.id, 'stop', 23_000);
    const kinds = async () => (await store.listOperations(id)).map((op) => `${op.kind}@${op.createdAt}`);
    assert.equal(await store.pruneOperations(21_500, 2), 2, 'the create (finished at 10 000) and the first start');
    assert.deepEqual(await kinds(), ['start@21000', 'start@22000', 'stop@23000']);
    assert.equal(await store.pruneOperations(1e12, 10), 2, 'the pending stop is never pruned');
    assert.deepEqual(await kinds(), ['stop@23000']);
    assert.equal(await store.pruneOperations(1e12, 0), 0);
  });

  test('purgeDeleted removes only a deleted instance whose lease it holds', async (t) => {
    const { store, clock, ids, user } = await setup(2);
    t.after(() => store.cleanup());
    const [live = '', doomed = ''] = ids;
    await store.deleteInstance(doomed, user.id, 10_000);
    await store.claimDue('r', 10_000, LEASE, 5);
    await store.purgeDeleted(live, 'r');
    assert.ok(await store.getInstance(live), 'a live instance is never purged');
    await store.purgeDeleted(doomed, 'someone-else');
    assert.equal((await store.listForResync(10_000)).length, 2);
    clock.set(13_000);
    await store.purgeDeleted(doomed, 'r');
    assert.deepEqual((await store.listForResync(13_000)).map((r) => r.id), [live]);
    // A renewal that ran as the purge finished the work has nothing to hold, and lost nothing.
    assert.deepEqual(await store.renewLeases([doomed], 'r', 20_000), []);
    assert.deepEqual((await store.listOperations(doomed)).map((op) => [op.kind, op.state, op.finishedAt]), [
      ['create', 'done', 13_000],
      ['delete', 'done', 13_000],
    ]);
  });

  test('resync: every row with its busy flag; observations only land on idle instances', async (t) => {
    const { store, clock, ids, user } = await setup(4);
    t.after(() => store.cleanup());
    const [idle = '', leased = '', deleted = '', due = ''] = ids;
    // Settle all four, then give three of them something pending.
    await store.claimDue('r', 10_000, LEASE, 10);
    for (const id of ids) await store.completeWork(id, 'r', { generation: 1, resetApplied: 0, observed: RUNNING, provisioned: true });
    await store.markDue([leased], 10_000);
    await store.claimDue('r', 10_000, LEASE, 10);
    await store.deleteInstance(deleted, user.id, 10_000);
    await store.markDue([due], 50_000);

    const rows = await store.listForResync(10_000);
    assert.deepEqual(
      rows.map((r) => [r.id, r.deleted, r.busy]).sort(),
      [[idle, false, false], [leased, false, true], [deleted, true, true], [due, false, true]].sort(),
    );
    assert.deepEqual(rows.find((r) => r.id === idle), { id: idle, zone: 'zone-a', status: 'RUNNING', internalIp: '10.0.0.5', externalIp: '203.0.113.5', desired: 'RUNNING', deleted: false, busy: false });

    const crashed: ObservedState = { status: 'TERMINATED', internalIp: '', externalIp: '' };
    clock.set(10_000);
    for (const id of ids) await store.recordObservation(id, crashed);
    assert.equal((await store.getInstance(idle))?.status, 'TERMINATED');
    assert.equal((await store.getInstance(leased))?.status, 'RUNNING', 'a live lease wins over the resync');
    // markDue does not change the generation, so an instance that is merely due takes the observation.
    assert.equal((await store.getInstance(due))?.status, 'TERMINATED');

    clock.set(10_001 + LEASE);
    await store.recordObservation(leased, crashed);
    assert.equal((await store.getInstance(leased))?.status, 'TERMINATED', 'an expired lease protects nothing');
    assert.equal((await store.listForResync(10_001 + LEASE)).find((r) => r.id === leased)?.busy, true, 'still due');
  });

  test('resync leaves an instance with an unfinished intent alone', async (t) => {
    const { store, ids, user } = await setup(1);
    t.after(() => store.cleanup());
    const id = ids[0] ?? '';
    await store.claimDue('r', 10_000, LEASE, 1);
    await store.completeWork(id, 'r', { generation: 1, resetApplied: 0, observed: RUNNING, provisioned: true });
    await store.requestPowerOperation(id, user.id, 'stop', 11_000);
    await store.recordObservation(id, { status: 'RUNNING', internalIp: '1.1.1.1', externalIp: '' });
    assert.deepEqual([(await store.getInstance(id))?.status, (await store.getInstance(id))?.internalIp], ['STOPPING', '10.0.0.5']);
  });

  test('markDue brings work forward, never back; renewLeases extends only what is held', async (t) => {
    const { store, ids } = await setup(2);
    t.after(() => store.cleanup());
    const [first = '', second = ''] = ids;
    await store.claimDue('r', 10_000, LEASE, 2);
    await store.failWork(first, 'r', 'later', 90_000);
    await store.markDue([first], 20_000);
    assert.deepEqual((await store.claimDue('x', 20_000, LEASE, 5)).map((c) => c.id), [first]);
    await store.markDue([first], 95_000);
    await store.failWork(first, 'x', 'again', 30_000);
    await store.markDue([first], 95_000);
    assert.deepEqual((await store.claimDue('x', 30_000, LEASE, 5)).map((c) => c.id), [first], 'still due at 30 000');
    await store.markDue([], 1);

    // first was taken over by x: lost. A row that is gone was purged by its lease holder as its work finished.
    assert.deepEqual(await store.renewLeases([first, second, 'tw-nothing-here'], 'r', 200_000), [first]);
    assert.deepEqual(await store.claimDue('y', 10_000 + LEASE + 1, LEASE, 5), [], 'the renewed lease is live');
    assert.deepEqual(await store.renewLeases([], 'r', 1), []);
    // Work that finished (and gave its lease back) as the renewal ran is not a lease lost.
    await store.completeWork(second, 'r', { generation: 1, resetApplied: 0, observed: RUNNING, provisioned: true });
    assert.deepEqual(await store.renewLeases([second], 'r', 300_000), []);
  });

  test('resync pages walk every id once, in byte order on both engines, rows and simulated machines alike', async (t) => {
    const { store, user } = await setup(0);
    t.after(() => store.cleanup());
    // A collation such as en_US ignores dashes at first and would put tw-a-z last; byte order puts it first.
    const ids = ['tw-ab', 'tw-a-z', 'tw-a0', 'tw-b'];
    const machines = new SimulatedMachines(store.providerState('simulator'), 'an-installation');
    for (const id of ids) {
      await store.createInstance(newInstance(user.id), null, () => id);
      await machines.put({ instanceId: id, status: 'RUNNING', internalIp: '10.1.0.1', externalIp: '', bootCount: 1, startedAt: 5, updatedAt: 6 }, undefined);
    }
    const byteOrder = [...ids].sort();
    assert.deepEqual(byteOrder, ['tw-a-z', 'tw-a0', 'tw-ab', 'tw-b']);
    const walked: string[][] = [];
    let after: string | undefined;
    for (;;) {
      const through = await store.resyncPageEnd(after, 3);
      const rows = (await store.listForResync(10_000, { after, through })).map((row) => row.id);
      assert.deepEqual((await machines.list({ after, through })).map((m) => m.instanceId), rows, 'machines page like rows');
      assert.ok(rows.every((id) => inIdRange(id, { after, through })), 'the store and JavaScript agree on the range');
      walked.push(rows);
      if (through === undefined) break;
      after = through;
    }
    assert.deepEqual(walked, [['tw-a-z', 'tw-a0', 'tw-ab'], ['tw-b']]);
    assert.equal(await store.resyncPageEnd('tw-b', 1), undefined, 'nothing after the last id');
    assert.deepEqual((await store.listForResync(10_000)).map((row) => row.id), byteOrder, 'no range: every row');
  });
});
