import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Observation } from '../../src/domain/provider.js';
import { createLogger } from '../../src/logger.js';
import { waitFor } from '../providers/temp-store.js';
import { openHarness, type Harness } from '../reconciler/harness.js';
import { instrument, type Method } from '../reconciler/instrumented-provider.js';

/*
 * Nothing hangs (reconciler option transitionDeadlineMs): a provider call that never returns, or a machine that never
 * leaves a transitional status, is cut off at the deadline, retried once, and then reported: the instance ends
 * TERMINATED, its operation failed with the reason, and an error line says why. Deletes are never given up.
 * The simulator is wrapped here to misbehave; product code has no fault hooks.
 */

const DEADLINE_MS = 1_000;

/** A pino logger whose lines are kept, to check what the reconciler said. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
  const text: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger('debug', stream);
  const lines = () =>
    text
      .join('')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines };
}

const never = new Promise<never>(() => undefined);

describe('transition deadlines', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness({ delayMs: 10 });
  });
  afterEach(async () => {
    await h.close();
  });

  it('a start that never completes is cut off, retried once, then reported: TERMINATED, operation failed, logged', async () => {
    const provider = instrument(h.sim, { before: (method: Method) => (method === 'start' ? never : undefined) });
    const { logger, lines } = capturingLogger();
    const reconciler = h.reconciler({ provider, logger, transitionDeadlineMs: DEADLINE_MS });
    const { id } = await h.instance();
    reconciler.start();
    const failed = await h.until(id, 'given up', (r) => r?.desired === 'TERMINATED');
    assert.equal(failed?.status, 'TERMINATED');
    assert.equal(failed?.reconciledGeneration, failed?.generation);
    const [op] = await h.store.listOperations(id);
    assert.equal(op?.state, 'failed');
    assert.match(op?.error ?? '', /create did not finish within the transition deadline \(1000 ms, then one retry as long\)/);
    assert.match(op?.error ?? '', /provider start .* did not finish within/);
    assert.equal(provider.calls.filter(([method]) => method === 'start').length, 2, 'the cut-off attempt and its one retry');
    const said = lines().filter((line) => line.instanceId === id && line.level === 50);
    assert.equal(said.length, 1, JSON.stringify(lines()));
    assert.match(String(said[0]?.msg), /transition deadline passed/);
    assert.match(String(said[0]?.reason), /did not finish within the transition deadline/);

    // The failure is an end state, not a wedge: the instance can be started again (and now starts) or deleted.
    const retried = instrument(h.sim, {});
    await reconciler.stop();
    const healthy = h.reconciler({ provider: retried, transitionDeadlineMs: DEADLINE_MS });
    healthy.start();
    assert.equal((await h.store.requestPowerOperation(id, undefined, 'start', Date.now())).state, 'pending');
    healthy.wake();
    await h.until(id, 'RUNNING after a new start', (r) => r?.status === 'RUNNING');
  });

  it('a machine that never leaves STAGING is given up the same way', async () => {
    const stuck: Observation = { status: 'STAGING', internalIp: '', externalIp: '' };
    const provider = instrument(h.sim, {});
    const staging = { ...provider, inspect: async (instanceId: string) => ((await h.sim.inspect(instanceId)) ? stuck : null) };
    const reconciler = h.reconciler({ provider: staging, transitionDeadlineMs: DEADLINE_MS });
    const { id } = await h.instance();
    reconciler.start();
    await h.until(id, 'given up', (r) => r?.desired === 'TERMINATED');
    const [op] = await h.store.listOperations(id);
    assert.equal(op?.state, 'failed');
    assert.match(op?.error ?? '', /STAGING/);
  });

  it('work that is slow but within the deadline completes normally', async () => {
    const provider = instrument(h.sim, { before: (method) => (method === 'start' ? new Promise((r) => setTimeout(r, 300)) : undefined) });
    const reconciler = h.reconciler({ provider, transitionDeadlineMs: 10_000 });
    const { id } = await h.instance();
    reconciler.start();
    await h.until(id, 'RUNNING', (r) => r?.status === 'RUNNING');
    assert.deepEqual((await h.store.listOperations(id)).map((op) => op.state), ['done']);
  });

  it('a teardown whose delete hangs is retried past every deadline, never given up, and finishes once it can', async () => {
    let hang = true;
    const provider = instrument(h.sim, { before: (method) => (method === 'delete' && hang ? never : undefined) });
    const reconciler = h.reconciler({ provider, transitionDeadlineMs: DEADLINE_MS });
    const { id } = await h.instance();
    reconciler.start();
    await h.until(id, 'RUNNING', (r) => r?.status === 'RUNNING');
    await h.store.deleteInstance(id, undefined, Date.now());
    reconciler.wake();
    const deletes = () => provider.calls.filter(([method]) => method === 'delete').length;
    // Three cut-off attempts span more than twice the deadline: a live instance would have been given up by then.
    await h.until(id, 'three delete attempts', () => deletes() >= 3);
    assert.deepEqual((await h.store.listOperations(id)).map((op) => op.state), ['done', 'pending']);
    hang = false;
    // A deleted instance is invisible at once; purging it finishes its operations.
    await waitFor('the teardown to finish', async () => ((await h.store.listOperations(id)).every((op) => op.state === 'done') ? true : undefined));
    assert.equal(await h.sim.inspect(id), null);
  });
});
