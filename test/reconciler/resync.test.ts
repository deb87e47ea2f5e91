import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { IdRange } from '../../src/domain/provider.js';
import { waitFor } from '../providers/temp-store.js';
import { openHarness, type Harness } from './harness.js';
import { instrument } from './instrumented-provider.js';
import { instanceSpec } from '../../src/domain/instance-spec.js';

describe('resync with the provider', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness({ delayMs: 5 });
  });
  afterEach(async () => {
    await h.close();
  });

  async function runningInstance(): Promise<string> {
    const { id } = await h.instance();
    await h.reconciler().runOnce();
    assert.equal((await h.store.getInstance(id))?.status, 'RUNNING');
    return id;
  }

  it('reaps a machine no instance owns', async () => {
    const keep = await runningInstance();
    const orphan = 'tw-0123ab-deadbeef';
    await h.sim.create({ instanceId: orphan, userId: h.userId, zone: 'z', templateId: 't', image: 'i', machineType: 'm', vcpus: 1, memoryMb: 1, diskGb: 1, spec: instanceSpec() });
    const report = await h.reconciler({ provider: instrument(h.sim, {}) }).resync();
    assert.equal(report.orphansReaped, 1);
    assert.equal(await h.sim.inspect(orphan), null);
    assert.equal((await h.sim.inspect(keep))?.status, 'RUNNING', 'owned machines are left alone');
  });

  it('reports a machine suspended outside Gale, and a later start resumes it', async () => {
    const id = await runningInstance();
    const reconciler = h.reconciler({ provider: instrument(h.sim, {}) });
    await h.sim.pauseOutside(id);
    assert.equal((await h.store.getInstance(id))?.status, 'RUNNING', 'nothing is pushed without watch');
    const report = await reconciler.resync();
    assert.equal(report.observationsRecorded, 1);
    assert.equal((await h.store.getInstance(id))?.status, 'SUSPENDED');
    assert.equal((await reconciler.resync()).observationsRecorded, 0, 'nothing more once in agreement');

    assert.equal((await h.store.requestPowerOperation(id, undefined, 'start', Date.now())).state, 'pending');
    await reconciler.runOnce();
    assert.equal((await h.store.getInstance(id))?.status, 'RUNNING');
    assert.equal((await h.sim.inspect(id))?.status, 'RUNNING');
  });

  it('reports a machine that vanished or was powered off outside Gale as TERMINATED', async () => {
    const vanished = await runningInstance();
    const poweredOff = await runningInstance();
    await h.sim.vanish(vanished);
    await h.sim.powerOff(poweredOff);
    const report = await h.reconciler({ provider: instrument(h.sim, {}) }).resync();
    assert.equal(report.observationsRecorded, 2);
    const gone = await h.store.getInstance(vanished);
    assert.deepEqual([gone?.status, gone?.internalIp, gone?.externalIp], ['TERMINATED', '', '']);
    const off = await h.store.getInstance(poweredOff);
    assert.deepEqual([off?.status, off?.externalIp], ['TERMINATED', '']);
    assert.ok(off?.internalIp);
  });

  it('follows the change feed when the provider has one', async () => {
    const id = await runningInstance();
    const reconciler = h.reconciler({ resyncIntervalMs: 600_000 });
    reconciler.start();
    await h.sim.pauseOutside(id);
    await h.until(id, 'SUSPENDED', (r) => r?.status === 'SUSPENDED');
    await h.sim.unpauseOutside(id);
    await h.until(id, 'RUNNING', (r) => r?.status === 'RUNNING');
  });

  it('leaves instances with work under way alone', async () => {
    const { id } = await h.instance();
    // Due and PROVISIONING with no machine yet: that is work to do, not a vanished machine.
    const report = await h.reconciler({ provider: instrument(h.sim, {}) }).resync();
    assert.equal(report.observationsRecorded, 0);
    assert.equal((await h.store.getInstance(id))?.status, 'PROVISIONING');
  });

  it('sweeps page by page within its share of the time, and a stop ends a paced sweep at once', async () => {
    for (let i = 0; i < 1_100; i++) await h.instance();
    const provider = instrument(h.sim, {});
    const pages: IdRange[] = [];
    provider.list = (range) => {
      pages.push(range ?? {});
      return h.sim.list(range);
    };
    // Nothing to pause for: every page, one after the other, the last one open-ended.
    await h.reconciler({ provider, resyncShare: 1 }).resync();
    assert.equal(pages.length, 3, '1,100 instances are three pages of 500');
    assert.equal(pages[2]?.through, undefined);
    // A share this small pauses for minutes after the first page; stopping must not wait for the rest.
    pages.length = 0;
    const paced = h.reconciler({ provider, resyncShare: 0.000_01 });
    paced.start();
    await waitFor('the first page of the sweep', async () => (pages.length > 0 ? true : undefined));
    await paced.stop({ waitMs: 600_000 });
    assert.equal(pages.length, 1, 'the sweep stopped after the page it was on');
  });
});
