import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openHarness } from './harness.js';
import { instrument, OverlapTracker } from './instrumented-provider.js';

describe('two replicas over one store', () => {
  it('never work the same instance at the same time', async () => {
    const h = await openHarness({ delayMs: 15 });
    try {
      const tracker = new OverlapTracker();
      const options = { concurrency: 2, pollIntervalMs: 5 };
      const a = h.reconciler({ ...options, provider: instrument(h.sim, { label: 'a', tracker }) });
      const b = h.reconciler({ ...options, provider: instrument(h.sim, { label: 'b', tracker }) });
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push((await h.instance()).id);
      a.start();
      b.start();
      for (const id of ids) await h.until(id, 'RUNNING', (r) => r?.status === 'RUNNING');

      // Stop, start and reset back to back, so that both replicas see a stream of fresh intents per instance.
      for (const operation of ['stop', 'start', 'reset'] as const) {
        for (const id of ids) {
          await h.until(id, 'idle', (r) => r?.reconciledGeneration === r?.generation);
          await h.store.requestPowerOperation(id, undefined, operation, Date.now());
        }
        a.wake();
        b.wake();
      }
      for (const id of ids) {
        await h.until(id, 'caught up and RUNNING', (r) => r?.status === 'RUNNING' && r.reconciledGeneration === r.generation && r.resetApplied === r.resetRequested);
      }
      assert.deepEqual(tracker.overlaps, []);
      assert.ok((tracker.callsBy.get('a') ?? 0) + (tracker.callsBy.get('b') ?? 0) > 0);
    } finally {
      await h.close();
    }
  });
});
