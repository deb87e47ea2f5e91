import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GaleError } from '../../src/domain/errors.js';
import { newInstanceId } from '../../src/domain/ids.js';
import { forEachStore } from '../helpers/stores.js';
import { addUser, create, finishCreate, newInstance, SMALL_TIER } from './fixtures.js';

const isCode = (code: string) => (error: unknown) => error instanceof GaleError && error.code === code;

await forEachStore((factory) => {
  test('createInstance writes the instance due for work and its create operation', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    const { operationId, ...made } = await store.createInstance(newInstance(user.id, { createdAt: 5_000 }), null, () => newInstanceId(user.id));
    assert.match(made.id, /^tw-[0-9a-f]{6}-[0-9a-f]{8}$/);
    assert.deepEqual(made, {
      id: made.id,
      userId: user.id,
      customerId: '',
      zone: 'zone-a',
      machineType: 'e2-small',
      templateId: 'ubuntu-22-standard',
      vcpus: 2,
      memoryMb: 2048,
      diskGb: 20,
      spec: { version: 1 },
      status: 'PROVISIONING',
      externalIp: '',
      internalIp: '',
      createdAt: 5_000,
      desired: 'RUNNING',
      deletedAt: null,
      generation: 1,
      reconciledGeneration: 0,
      resetRequested: 0,
      resetApplied: 0,
      provisioned: false,
    });
    assert.deepEqual(await store.getInstance(made.id), made);
    const ops = await store.listOperations(made.id);
    assert.equal(ops.length, 1);
    assert.deepEqual(ops[0], {
      id: operationId,
      requestedBy: user.id,
      instanceId: made.id,
      userId: user.id,
      kind: 'create',
      state: 'pending',
      generation: 1,
      createdAt: 5_000,
      startedAt: null,
      finishedAt: null,
      error: null,
    });
    assert.equal(await store.countPendingWork(5_000), 1);
    const claimed = await store.claimDue('r1', 5_000, 1_000, 10);
    assert.deepEqual(claimed.map((c) => c.id), [made.id]);
  });

  test('a new instance takes no id in use, nor one a purged instance left in its operations', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    const ids = (...candidates: string[]) => () => candidates.shift() ?? assert.fail('ran out of candidate ids');
    const first = await store.createInstance(newInstance(user.id), null, ids('tw-aaaaaa-00000001'));
    assert.equal((await store.createInstance(newInstance(user.id), null, ids(first.id, 'tw-aaaaaa-00000002'))).id, 'tw-aaaaaa-00000002');
    await store.deleteInstance(first.id, user.id, 2_000);
    const claimed = await store.claimDue('r', Number.MAX_SAFE_INTEGER - 10, 1_000, 10);
    assert.ok(claimed.some((c) => c.id === first.id));
    await store.purgeDeleted(first.id, 'r');
    assert.equal(await store.getInstance(first.id), undefined);
    assert.ok((await store.listOperations(first.id)).length > 0, 'the purged instance keeps its history');
    assert.equal((await store.createInstance(newInstance(user.id), null, ids(first.id, 'tw-aaaaaa-00000003'))).id, 'tw-aaaaaa-00000003');
  });

  test('customers: an instance carries its owner\'s customer, moves with the owner, and is filtered by it', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const acme = await addUser(store, { customerId: 'acme' });
    const loner = await addUser(store);
    const a1 = await create(store, acme.id, { createdAt: 1_000 });
    const l1 = await create(store, loner.id, { createdAt: 2_000 });
    assert.deepEqual([a1.customerId, l1.customerId], ['acme', '']);
    const ids = async (customerId: string) => (await store.listInstances({ customerId }, 0, 10)).instances.map((i) => i.id);
    assert.deepEqual(await ids('acme'), [a1.id]);
    assert.deepEqual(await ids(''), [l1.id], "'' is the customer of users of none");
    assert.deepEqual(await ids('nobody'), []);

    // Moving the loner into acme moves their live instances along, in the same transaction; deleted ones stay put.
    const gone = await create(store, loner.id, { createdAt: 3_000 });
    await store.deleteInstance(gone.id, loner.id, 3_500);
    const moved = await store.setUserCustomer(loner.id, 'acme');
    assert.equal(moved.customerId, 'acme');
    assert.equal((await store.getUser(loner.id))?.customerId, 'acme');
    assert.deepEqual(await ids('acme'), [l1.id, a1.id]);
    assert.equal((await store.getInstanceSummary(l1.id))?.customerId, 'acme');
    // A create reads the owner's row, not a cached user: the new instance is in the new customer.
    const l2 = await create(store, loner.id, { createdAt: 4_000 });
    assert.equal(l2.customerId, 'acme');
    await assert.rejects(store.setUserCustomer('00000000-0000-4000-8000-000000000000', 'acme'), isCode('not_found'));
  });

  test('createInstance asks for another id while the one drawn is taken', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    const first = await create(store, user.id);
    const fresh = newInstanceId(user.id);
    const drawn = [first.id, first.id, fresh];
    const second = await store.createInstance(newInstance(user.id), null, () => drawn.shift() ?? newInstanceId(user.id));
    assert.equal(second.id, fresh);
  });

  test('createInstance for an unknown user is not_found', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    await assert.rejects(create(store, '00000000-0000-0000-0000-000000000000', {}, SMALL_TIER), isCode('not_found'));
  });

  test('quota: each limit refuses the instance that would break it; deleted instances free their share', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    await create(store, user.id, { vcpus: 4, diskGb: 10 }, SMALL_TIER);
    await assert.rejects(create(store, user.id, { vcpus: 5, diskGb: 10 }, SMALL_TIER), (error: unknown) => {
      assert.ok(isCode('quota_exceeded')(error));
      assert.equal((error as GaleError).message, 'quota exceeded: vcpus 4/8, this instance needs 5 (tier small)');
      return true;
    });
    await assert.rejects(create(store, user.id, { vcpus: 1, diskGb: 91 }, SMALL_TIER), isCode('quota_exceeded'));
    const second = await create(store, user.id, { vcpus: 2, diskGb: 10 }, SMALL_TIER);
    await create(store, user.id, { vcpus: 2, diskGb: 10 }, SMALL_TIER);
    await assert.rejects(create(store, user.id, { vcpus: 0, diskGb: 0 }, SMALL_TIER), /quota exceeded: instances 3\/3 \(tier small\)/);
    assert.deepEqual(await store.getUsage(user.id), { instances: 3, vcpus: 8, diskGb: 30 });

    // Admins (tier null) are not limited, and one user's instances do not count against another.
    await create(store, user.id, {}, null);
    const other = await addUser(store);
    await create(store, other.id, {}, SMALL_TIER);

    await store.deleteInstance(second.id, user.id, 2_000);
    assert.deepEqual(await store.getUsage(user.id), { instances: 3, vcpus: 8, diskGb: 40 });
    assert.deepEqual(await store.getUsage(other.id), { instances: 1, vcpus: 2, diskGb: 20 });
    assert.deepEqual(await store.getUsage('nobody'), { instances: 0, vcpus: 0, diskGb: 0 });
  });

  test('quota race: 20 concurrent creates with room for 3 make exactly 3', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => create(store, user.id, { vcpus: 1, diskGb: 1 }, SMALL_TIER)));
    assertExactly(results, 3);
    assert.equal((await store.listUserInstances(user.id)).length, 3);
  });

  test('quota race across two Store objects on one database (CLI and server, or two replicas)', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const other = await store.openAnother();
    const user = await addUser(store);
    await create(store, user.id, { vcpus: 1, diskGb: 1 }, SMALL_TIER);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => create(i % 2 === 0 ? store : other, user.id, { vcpus: 1, diskGb: 1 }, SMALL_TIER)),
    );
    assertExactly(results, 2);
    assert.equal((await other.getUsage(user.id)).instances, 3);
  });

  test('power: the state machine is applied to the stored state and recorded', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    const made = await create(store, user.id);

    // Nothing is accepted while it is being provisioned.
    await assert.rejects(store.requestPowerOperation(made.id, user.id, 'stop', 2_000), isCode('conflict'));
    await finishCreate(store, made.id, 'RUNNING');

    const noop = await store.requestPowerOperation(made.id, user.id, 'start', 2_000);
    assert.deepEqual([noop.kind, noop.state, noop.startedAt, noop.finishedAt], ['start', 'done', 2_000, 2_000], 'a no-op is done when accepted');
    assert.deepEqual(await store.getOperation(noop.id), noop);
    const reset = await store.requestPowerOperation(made.id, user.id, 'reset', 3_000);
    assert.deepEqual([reset.kind, reset.state, reset.instanceId, reset.userId, reset.startedAt], ['reset', 'pending', made.id, user.id, null]);
    let now = await store.getInstance(made.id);
    assert.equal(now?.status, 'RUNNING');
    assert.equal(now?.resetRequested, 1);
    assert.equal(now?.generation, 2);

    assert.equal((await store.requestPowerOperation(made.id, undefined, 'stop', 4_000)).state, 'pending');
    now = await store.getInstance(made.id);
    assert.deepEqual([now?.status, now?.desired, now?.generation], ['STOPPING', 'TERMINATED', 3]);
    await assert.rejects(store.requestPowerOperation(made.id, user.id, 'start', 5_000), isCode('conflict'));

    const ops = await store.listOperations(made.id);
    assert.deepEqual(ops.map((op) => [op.kind, op.generation, op.createdAt]), [
      ['create', 1, 1_000],
      ['start', 1, 2_000],
      ['reset', 2, 3_000],
      ['stop', 3, 4_000],
    ]);
    assert.equal(await store.getOperation('00000000-0000-7000-8000-000000000000'), undefined);
    const due = await store.claimDue('r', 4_000, 1_000, 5);
    assert.deepEqual(due.map((c) => c.id), [made.id]);
  });

  test('power and delete: a foreign or missing instance is not_found, the same way', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const owner = await addUser(store);
    const stranger = await addUser(store);
    const made = await create(store, owner.id);
    await finishCreate(store, made.id, 'RUNNING');
    const foreign = await assert.rejects(store.requestPowerOperation(made.id, stranger.id, 'stop', 2), (error: unknown) => {
      assert.ok(isCode('not_found')(error));
      assert.equal((error as GaleError).message, `instance ${made.id} not found`);
      return true;
    });
    assert.equal(foreign, undefined);
    await assert.rejects(store.requestPowerOperation('tw-000000-00000000', owner.id, 'stop', 2), /instance tw-000000-00000000 not found/);
    await assert.rejects(store.deleteInstance(made.id, stranger.id, 2), isCode('not_found'));
    assert.equal((await store.getInstance(made.id))?.deletedAt, null);
    assert.equal((await store.listOperations(made.id)).length, 1);
  });

  test('delete hides the instance at once and makes it due for teardown', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    const made = await create(store, user.id);
    await store.deleteInstance(made.id, user.id, 7_000);
    assert.equal(await store.getInstance(made.id), undefined);
    assert.deepEqual(await store.listUserInstances(user.id), []);
    assert.deepEqual(await store.listInstances({}, 0, 10), { total: 0, instances: [] });
    await assert.rejects(store.deleteInstance(made.id, user.id, 8_000), isCode('not_found'));
    await assert.rejects(store.requestPowerOperation(made.id, undefined, 'start', 8_000), isCode('not_found'));
    const [claimed] = await store.claimDue('r', 7_000, 1_000, 5);
    assert.equal(claimed?.id, made.id);
    assert.equal(claimed?.deletedAt, 7_000);
    assert.equal(claimed?.generation, 2);
    assert.deepEqual((await store.listOperations(made.id)).map((op) => op.kind), ['create', 'delete']);
  });

  test('listing: newest first, filtered, paged with the total', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const alice = await addUser(store);
    const bob = await addUser(store);
    const a1 = await create(store, alice.id, { createdAt: 100, zone: 'zone-a' });
    const a2 = await create(store, alice.id, { createdAt: 300, zone: 'zone-b', templateId: 'debian-12' });
    const b1 = await create(store, bob.id, { createdAt: 200, zone: 'zone-b' });
    const a3 = await create(store, alice.id, { createdAt: 300, zone: 'zone-a' });
    const gone = await create(store, alice.id, { createdAt: 400 });
    await store.deleteInstance(gone.id, alice.id, 500);
    await finishCreate(store, b1.id, 'RUNNING');

    const tieBreak = [a2, a3].sort((x, y) => (x.id < y.id ? 1 : -1)).map((i) => i.id);
    assert.deepEqual((await store.listUserInstances(alice.id)).map((i) => i.id), [...tieBreak, a1.id]);
    assert.deepEqual((await store.listInstances({}, 0, 10)).instances.map((i) => i.id), [...tieBreak, b1.id, a1.id]);

    const page = await store.listInstances({}, 1, 2);
    assert.equal(page.total, 4);
    assert.deepEqual(page.instances.map((i) => i.id), [tieBreak[1], b1.id]);
    assert.deepEqual(await store.listInstances({}, 10, 2), { total: 4, instances: [] });

    const ids = async (filter: Parameters<typeof store.listInstances>[0]) => (await store.listInstances(filter, 0, 10)).instances.map((i) => i.id);
    assert.deepEqual(await ids({ userId: bob.id }), [b1.id]);
    assert.deepEqual(await ids({ status: 'RUNNING' }), [b1.id]);
    assert.deepEqual(await ids({ zone: 'zone-b' }), [a2.id, b1.id]);
    assert.deepEqual(await ids({ templateId: 'debian-12' }), [a2.id]);
    assert.deepEqual(await ids({ userId: alice.id, zone: 'zone-a' }), [a3.id, a1.id]);
    assert.equal((await store.listInstances({ userId: alice.id, status: 'PROVISIONING' }, 0, 1)).total, 3);
  });
});

/** The reconciler's part of a create, so that power operations have something to act on. */
function assertExactly(results: PromiseSettledResult<unknown>[], created: number): void {
  const made = results.filter((r) => r.status === 'fulfilled').length;
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  for (const r of refused) assert.ok(isCode('quota_exceeded')(r.reason), `only quota refusals expected, got ${String(r.reason)}`);
  assert.equal(made, created);
}
