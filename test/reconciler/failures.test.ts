import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PermanentProviderError } from '../../src/domain/provider.js';
import type { Store } from '../../src/domain/store.js';
import { openHarness, type Harness } from './harness.js';
import { instrument } from './instrumented-provider.js';
import { machinesIn } from '../helpers/simulated-machines.js';

describe('reconciler failures', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness({ delayMs: 10 });
  });
  afterEach(async () => {
    await h.close();
  });

  it('retries a failing provider with backoff until it succeeds', async () => {
    let failures = 0;
    const provider = instrument(h.sim, {
      before: (method) => {
        if (method === 'start' && failures < 3) {
          failures += 1;
          throw new Error(`hypervisor busy (${failures})`);
        }
      },
    });
    const reconciler = h.reconciler({ provider });
    const { id } = await h.instance();
    reconciler.start();
    const running = await h.until(id, 'RUNNING', (r) => r?.status === 'RUNNING');
    assert.equal(failures, 3);
    assert.equal(provider.calls.filter(([method]) => method === 'start').length, 4);
    assert.equal(running?.reconciledGeneration, running?.generation);
    assert.deepEqual((await h.store.listOperations(id)).map((op) => op.state), ['done']);
  });

  it('ends an instance TERMINATED on a permanent provider error, and it can still be deleted', async () => {
    const provider = instrument(h.sim, {
      before: (method) => {
        if (method === 'create') throw new PermanentProviderError('image ubuntu-22-standard cannot be had');
      },
    });
    const reconciler = h.reconciler({ provider });
    const { id } = await h.instance();
    reconciler.start();
    const failed = await h.until(id, 'TERMINATED', (r) => r?.status === 'TERMINATED');
    assert.equal(failed?.desired, 'TERMINATED');
    const [op] = await h.store.listOperations(id);
    assert.equal(op?.state, 'failed');
    assert.match(op?.error ?? '', /cannot be had/);
    assert.equal(provider.calls.filter(([method]) => method === 'create').length, 1, 'not retried');

    await h.store.deleteInstance(id, undefined, Date.now());
    reconciler.wake();
    await h.until(id, 'deleted', (r) => r === undefined);
  });

  it('carries on after the store fails, logging instead of crashing', async () => {
    let claimFailures = 0;
    const flaky = new Proxy(h.store, {
      get(target, property, receiver) {
        if (property === 'claimDue' && claimFailures < 2) {
          return async () => {
            claimFailures += 1;
            throw new Error('database is locked');
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) satisfies Store;
    const reconciler = h.reconciler({ store: flaky, pollIntervalMs: 10 });
    const { id } = await h.instance();
    reconciler.start();
    await h.until(id, 'RUNNING', (r) => r?.status === 'RUNNING');
    assert.equal(claimFailures, 2);
  });
});

describe('crash safety', () => {
  it('a replica stopped mid-start gives its lease back; another takes the work over at once and finishes it', async () => {
    const h = await openHarness({ delayMs: 200 });
    try {
      const first = h.reconciler({ leaseMs: 60_000 });
      const { id } = await h.instance();
      first.start();
      await h.until(id, 'STAGING', (r) => r?.status === 'STAGING');
      // waitMs 0: abandon the work at once. The lease (a minute long) is given back rather than left to run out.
      await first.stop({ waitMs: 0 });
      // Claimable at once by anyone, not in a minute.
      assert.deepEqual((await h.store.claimDue('someone', Date.now(), 1_000, 10)).map((claim) => claim.id), [id]);
      assert.equal(await h.store.releaseLeases('someone'), 1);
      const second = h.reconciler({ leaseMs: 60_000 });
      second.start();
      const done = await h.until(id, 'RUNNING and caught up', (r) => r?.status === 'RUNNING' && r.reconciledGeneration === r.generation);
      assert.ok(done?.externalIp);
    } finally {
      await h.close();
    }
  });

  it('a replica stopped because its id is lost keeps its lease: under that id it may be another process\'s by now', async () => {
    const h = await openHarness({ delayMs: 200 });
    try {
      const first = h.reconciler({ leaseMs: 60_000 });
      const { id } = await h.instance();
      first.start();
      await h.until(id, 'STAGING', (r) => r?.status === 'STAGING');
      await first.stop({ waitMs: 0, keepLeases: true });
      assert.deepEqual(await h.store.claimDue('someone', Date.now(), 1_000, 10), [], 'the lease still holds the instance');
    } finally {
      await h.close();
    }
  });

  it('a process that died mid-transition (simulator included) is rolled on by the next one', async () => {
    const h = await openHarness({ delayMs: 20, staleAfterMs: 600 });
    try {
      const { id } = await h.instance();
      // What a dead replica leaves: its lease on the row, the row showing STAGING, the machine half-booted.
      const [claimed] = await h.store.claimDue('dead-replica', Date.now(), 300, 1);
      assert.equal(claimed?.id, id);
      await h.store.recordProgress(id, 'dead-replica', { status: 'STAGING', provisioned: true });
      await (await machinesIn(h.store)).plant({ instanceId: id, status: 'STAGING', internalIp: '', externalIp: '', bootCount: 0, startedAt: null, updatedAt: Date.now() });

      const next = h.reconciler({ leaseMs: 300 });
      next.start();
      const done = await h.until(id, 'RUNNING and caught up', (r) => r?.status === 'RUNNING' && r.reconciledGeneration === r.generation);
      assert.ok(done?.internalIp);
      // The dead replica's fenced writes, were it to wake up, change nothing.
      await h.store.completeWork(id, 'dead-replica', { generation: claimed?.generation ?? 0, resetApplied: 0, observed: { status: 'TERMINATED', internalIp: '', externalIp: '' }, provisioned: true });
      assert.equal((await h.store.getInstance(id))?.status, 'RUNNING');
    } finally {
      await h.close();
    }
  });
});
