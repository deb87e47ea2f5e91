import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Provider } from '../../src/domain/provider.js';
import { internalIpFor } from '../../src/providers/simulator/index.js';
import { backoffDelay } from '../../src/reconciler/index.js';
import { machineSpecOf } from '../../src/reconciler/reconcile-instance.js';
import { instrument } from './instrumented-provider.js';
import { waitFor } from '../providers/temp-store.js';
import { openHarness, type Harness } from './harness.js';

describe('reconciler lifecycle (SQLite store + simulator)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness({ delayMs: 20 });
  });
  afterEach(async () => {
    await h.close();
  });

  it('the janitor prunes finished operations past their retention, and nothing else', async () => {
    const reconciler = h.reconciler({ operationRetentionMs: 1 });
    reconciler.start();
    const { id } = await h.instance();
    reconciler.wake();
    await h.until(id, 'RUNNING', (r) => r?.status === 'RUNNING' && r.reconciledGeneration === r.generation);
    const kept = h.reconciler({ operationRetentionMs: 3_600_000 });
    await kept.prune();
    assert.deepEqual((await h.store.listOperations(id)).map((op) => op.kind), ['create'], 'within an hour of retention: kept');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await reconciler.prune();
    assert.deepEqual(await h.store.listOperations(id), [], 'past a retention of 1 ms: gone');
    assert.equal((await h.store.getInstance(id))?.status, 'RUNNING', 'the instance itself is untouched');
  });

  it('creates, stops, starts, resets and deletes an instance', async () => {
    const reconciler = h.reconciler();
    reconciler.start();
    const { id } = await h.instance();
    reconciler.wake();

    const running = await h.until(id, 'RUNNING', (r) => r?.status === 'RUNNING');
    assert.equal(running?.internalIp, internalIpFor(id));
    assert.match(running?.externalIp ?? '', /^34\./);
    assert.equal(running?.provisioned, true);
    assert.equal(running?.reconciledGeneration, running?.generation);
    assert.deepEqual((await h.store.listOperations(id)).map((op) => [op.kind, op.state]), [['create', 'done']]);

    assert.equal((await h.store.requestPowerOperation(id, undefined, 'stop', Date.now())).state, 'pending');
    reconciler.wake();
    const stopped = await h.until(id, 'TERMINATED and caught up', (r) => r?.status === 'TERMINATED' && r.reconciledGeneration === r.generation);
    assert.equal(stopped?.externalIp, '', 'the external IP is released');
    assert.equal(stopped?.internalIp, internalIpFor(id), 'the internal IP is kept');
    assert.equal((await h.sim.inspect(id))?.status, 'TERMINATED');

    await h.store.requestPowerOperation(id, undefined, 'start', Date.now());
    reconciler.wake();
    await h.until(id, 'RUNNING again', (r) => r?.status === 'RUNNING' && r.reconciledGeneration === r.generation);
    const bootedAt = (await h.sim.inspect(id))?.startedAt;

    await h.store.requestPowerOperation(id, undefined, 'reset', Date.now());
    reconciler.wake();
    const reset = await h.until(id, 'reset applied', (r) => r !== undefined && r.resetApplied === r.resetRequested && r.reconciledGeneration === r.generation);
    assert.equal(reset?.status, 'RUNNING');
    assert.equal(reset?.resetRequested, 1);
    const afterReset = await h.sim.inspect(id);
    assert.equal(afterReset?.status, 'RUNNING');
    assert.notEqual(afterReset?.startedAt, bootedAt, 'a reset boots the machine again');

    await h.store.deleteInstance(id, undefined, Date.now());
    reconciler.wake();
    await h.until(id, 'gone from the API', (r) => r === undefined);
    await waitPurged(h, id);
    assert.equal(await h.sim.inspect(id), null, 'the machine is gone');
    const ops = await h.store.listOperations(id);
    assert.ok(ops.every((op) => op.state === 'done'), JSON.stringify(ops));
  });

  it('works claimed instances to the end in runOnce', async () => {
    const reconciler = h.reconciler();
    const a = await h.instance();
    const b = await h.instance();
    assert.equal(await reconciler.runOnce(), 2);
    for (const { id } of [a, b]) assert.equal((await h.store.getInstance(id))?.status, 'RUNNING');
    assert.equal(await reconciler.runOnce(), 0, 'nothing is due once caught up');
    assert.equal(await h.store.countPendingWork(Date.now()), 0);
  });

  it('shows the step under way while the provider works', async () => {
    const slow = await openHarness({ delayMs: 300 });
    try {
      const reconciler = slow.reconciler();
      const { id } = await slow.instance();
      const work = reconciler.runOnce();
      await slow.until(id, 'STAGING', (r) => r?.status === 'STAGING');
      await work;
      assert.equal((await slow.store.getInstance(id))?.status, 'RUNNING');
    } finally {
      await slow.close();
    }
  });

  it('makes a new instance without a look first, and the look after create tells the next step', async () => {
    const provider = instrument(h.sim, {});
    // A provider that does not say what it made (the simulator and Docker do): the look after create tells.
    const silent: Provider = { ...provider, create: async (spec) => void (await provider.create(spec)) };
    const { id } = await h.instance();
    assert.equal(await h.reconciler({ provider: silent }).runOnce(), 1);
    assert.deepEqual(provider.calls.map(([method]) => method), ['create', 'inspect', 'start', 'inspect']);
    assert.equal((await h.store.getInstance(id))?.status, 'RUNNING');
  });

  it('takes what a provider says it has just made for a look: create, start, then the look that finds it running', async () => {
    const provider = instrument(h.sim, {});
    const { id } = await h.instance();
    assert.equal(await h.reconciler({ provider }).runOnce(), 1);
    assert.deepEqual(provider.calls.map(([method]) => method), ['create', 'start', 'inspect']);
    assert.equal((await h.store.getInstance(id))?.status, 'RUNNING');
  });

  it('adopts a machine made by an attempt that died before recording it, instead of making a second', async () => {
    const record = await h.instance();
    // The provider made (and booted) it; the store never heard: provisioned is still false.
    await h.sim.create(machineSpecOf(record, (templateId) => templateId));
    await h.sim.start(record.id);
    const provider = instrument(h.sim, {});
    assert.equal(await h.reconciler({ provider }).runOnce(), 1);
    assert.deepEqual(provider.calls.map(([method]) => method), ['create', 'inspect'], 'create left it as it was; running, it needs no start');
    const after = await h.store.getInstance(record.id);
    assert.equal(after?.status, 'RUNNING');
    assert.equal(after?.provisioned, true);
    assert.equal((await h.sim.list()).filter((m) => m.instanceId === record.id).length, 1);
  });

  it('tears down an instance deleted before its machine was made', async () => {
    const reconciler = h.reconciler();
    const { id } = await h.instance();
    await h.store.deleteInstance(id, undefined, Date.now());
    reconciler.start();
    await waitPurged(h, id);
    assert.equal(await h.sim.inspect(id), null);
  });
});

describe('backoff', () => {
  it('doubles from the base, is capped, and keeps at least half of each step', () => {
    const policy = { baseMs: 500, maxMs: 60_000 };
    assert.equal(backoffDelay(0, policy, () => 0), 250);
    assert.equal(backoffDelay(0, policy, () => 1), 500);
    assert.equal(backoffDelay(3, policy, () => 1), 4000);
    assert.equal(backoffDelay(20, policy, () => 1), 60_000);
    assert.equal(backoffDelay(1000, policy, () => 0), 30_000);
  });
});

async function waitPurged(h: Harness, id: string): Promise<void> {
  await waitFor(`${id} to be purged`, async () => ((await h.store.listForResync(Date.now())).some((row) => row.id === id) ? undefined : true));
}
