import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/domain/clock.js';
import type { MachineSpec } from '../../src/domain/provider.js';
import { createProvider, KNOWN_PROVIDERS } from '../../src/providers/registry.js';
import type { JsonValue } from '../../src/domain/provider-state.js';
import { createSimulatorProvider, externalIpFor, internalIpFor, type SimulatorOptions } from '../../src/providers/simulator/index.js';
import { machinesIn, type MachinesInStore } from '../helpers/simulated-machines.js';
import { providerContexts } from '../helpers/provider-contexts.js';
import { manualClock, openTempStore, waitFor, type TempStore } from './temp-store.js';
import { instanceSpec } from '../../src/domain/instance-spec.js';

let counter = 0;
function spec(): MachineSpec {
  counter += 1;
  const instanceId = `tw-aaaaaa-${counter.toString(16).padStart(8, '0')}`;
  return { instanceId, userId: 'u', zone: 'us-central1-a', templateId: 't', image: 'i', machineType: 'n1-standard-1', vcpus: 1, memoryMb: 3840, diskGb: 10, spec: instanceSpec() };
}

describe('simulator provider', () => {
  let temp: TempStore;
  let machines: MachinesInStore;
  /** Where a simulator keeps its machines: the store's provider state, under its installation. */
  let home: () => Pick<SimulatorOptions, 'state' | 'installationId'>;
  before(async () => {
    temp = await openTempStore();
    machines = await machinesIn(temp.store);
    const installationId = await temp.store.installationId();
    home = () => ({ state: temp.store.providerState('simulator'), installationId });
  });
  after(async () => {
    await temp.close();
  });

  it('writes each transition of an instant simulator once, its end; a timed one also marks it under way', async () => {
    const writes = (delayMs: number) => {
      const statuses: string[] = [];
      const { state, installationId } = home();
      const recorded = (value: JsonValue) => statuses.push((value as { status: string }).status);
      const recording = { ...state, insert: (key: string, value: JsonValue) => (recorded(value), state.insert(key, value)), put: (key: string, value: JsonValue, version: number) => (recorded(value), state.put(key, value, version)) };
      return { sim: createSimulatorProvider({ state: recording, installationId, clock: systemClock, delayMs }), statuses };
    };
    const instant = writes(0);
    const { instanceId } = spec();
    await instant.sim.create({ ...spec(), instanceId });
    await instant.sim.start(instanceId);
    await instant.sim.stop(instanceId, { graceMs: 1_000 });
    assert.deepEqual(instant.statuses, ['TERMINATED', 'RUNNING', 'TERMINATED']);
    const timed = writes(20);
    const other = spec().instanceId;
    await timed.sim.create({ ...spec(), instanceId: other });
    await timed.sim.start(other);
    assert.deepEqual(timed.statuses, ['PROVISIONING', 'TERMINATED', 'STAGING', 'RUNNING']);
  });

  it('creates a made-but-not-booted machine, boots it with derived addresses, stops and deletes it', async () => {
    const sim = createSimulatorProvider({ ...home(), clock: systemClock, delayMs: 0 });
    const { instanceId } = spec();
    assert.equal(await sim.inspect(instanceId), null);
    await sim.create({ ...spec(), instanceId });
    assert.deepEqual(await sim.inspect(instanceId), { status: 'TERMINATED', internalIp: '', externalIp: '' });

    await sim.start(instanceId);
    const running = await sim.inspect(instanceId);
    assert.equal(running?.status, 'RUNNING');
    assert.equal(running?.internalIp, internalIpFor(instanceId));
    assert.equal(running?.externalIp, externalIpFor(instanceId, 1));
    assert.match(running?.internalIp ?? '', /^10\.128\.\d+\.\d+$/);
    assert.match(running?.externalIp ?? '', /^34\.\d+\.\d+\.\d+$/);
    assert.equal(typeof running?.startedAt, 'number');
    assert.equal((await machines.get(instanceId))?.bootCount, 1);

    await sim.stop(instanceId, { graceMs: 1000 });
    assert.deepEqual(await sim.inspect(instanceId), { status: 'TERMINATED', internalIp: internalIpFor(instanceId), externalIp: '', startedAt: running?.startedAt });

    await sim.start(instanceId);
    const again = await sim.inspect(instanceId);
    assert.equal(again?.internalIp, running?.internalIp, 'the internal IP is kept across a stop');
    assert.equal(again?.externalIp, externalIpFor(instanceId, 2), 'the ephemeral external IP is a new one');

    await sim.delete(instanceId);
    assert.equal(await sim.inspect(instanceId), null);
    assert.equal(await machines.get(instanceId), undefined);
  });

  it('is idempotent: repeated calls leave the machine as it is', async () => {
    const sim = createSimulatorProvider({ ...home(), clock: systemClock, delayMs: 0 });
    const s = spec();
    await sim.create(s);
    await sim.start(s.instanceId);
    const first = await machines.get(s.instanceId);
    await sim.create(s);
    await sim.start(s.instanceId);
    assert.deepEqual(await machines.get(s.instanceId), first, 'create and start on a running machine change nothing');
    await sim.stop(s.instanceId, { graceMs: 0 });
    await sim.stop(s.instanceId, { graceMs: 0 });
    assert.equal((await sim.inspect(s.instanceId))?.status, 'TERMINATED');
    await sim.delete(s.instanceId);
    await sim.delete(s.instanceId);
    await sim.stop(s.instanceId, { graceMs: 0 });
    assert.equal(await sim.inspect(s.instanceId), null);
    await assert.rejects(sim.start(s.instanceId), /no machine/);
    await assert.rejects(sim.reset(s.instanceId), /no machine/);
  });

  it('resets a running machine: a new boot, still RUNNING, same addresses', async () => {
    const sim = createSimulatorProvider({ ...home(), clock: systemClock, delayMs: 0 });
    const s = spec();
    await sim.create(s);
    await assert.rejects(sim.reset(s.instanceId), /while it is TERMINATED/);
    await sim.start(s.instanceId);
    const before = await sim.inspect(s.instanceId);
    await sim.reset(s.instanceId);
    const afterReset = await sim.inspect(s.instanceId);
    assert.equal(afterReset?.status, 'RUNNING');
    assert.notEqual(afterReset?.startedAt, before?.startedAt);
    assert.equal(afterReset?.externalIp, before?.externalIp);
    assert.equal(afterReset?.internalIp, before?.internalIp);
  });

  it('shows the transitional status while a transition takes its time', async () => {
    const sim = createSimulatorProvider({ ...home(), clock: systemClock, delayMs: 150 });
    const s = spec();
    const creating = sim.create(s);
    await waitFor('PROVISIONING', async () => ((await sim.inspect(s.instanceId))?.status === 'PROVISIONING' ? true : undefined));
    await creating;
    const starting = sim.start(s.instanceId);
    await waitFor('STAGING', async () => ((await sim.inspect(s.instanceId))?.status === 'STAGING' ? true : undefined));
    await starting;
    assert.equal((await sim.inspect(s.instanceId))?.status, 'RUNNING');
    const stopping = sim.stop(s.instanceId, { graceMs: 0 });
    await waitFor('STOPPING', async () => ((await sim.inspect(s.instanceId))?.status === 'STOPPING' ? true : undefined));
    await stopping;
    assert.equal((await sim.inspect(s.instanceId))?.status, 'TERMINATED');
  });

  it('finds its machines where they were after a restart', async () => {
    const s = spec();
    const first = createSimulatorProvider({ ...home(), clock: systemClock, delayMs: 0 });
    await first.create(s);
    await first.start(s.instanceId);
    const seen = await first.inspect(s.instanceId);
    await first.close();
    const second = createSimulatorProvider({ ...home(), clock: systemClock, delayMs: 0 });
    assert.deepEqual(await second.inspect(s.instanceId), seen);
    assert.ok((await second.list()).some((m) => m.instanceId === s.instanceId && m.status === 'RUNNING'));
  });

  it('treats a transition left behind by a crashed process as powered off, so a retry completes it', async () => {
    const clock = manualClock();
    const sim = createSimulatorProvider({ ...home(), clock, delayMs: 100, staleAfterMs: 1000 });
    for (const status of ['PROVISIONING', 'STAGING', 'STOPPING'] as const) {
      const { instanceId } = spec();
      const internalIp = status === 'PROVISIONING' ? '' : internalIpFor(instanceId);
      await machines.plant({ instanceId, status, internalIp, externalIp: '', bootCount: 1, startedAt: null, updatedAt: clock.now() });
      assert.equal((await sim.inspect(instanceId))?.status, status, 'a fresh marker shows a transition under way');
      await assert.rejects(sim.start(instanceId), /transition is under way/);
      clock.advance(1000);
      assert.equal((await sim.inspect(instanceId))?.status, 'TERMINATED', `an old ${status} marker reads as powered off`);
      assert.ok((await sim.list()).some((m) => m.instanceId === instanceId && m.status === 'TERMINATED'));
      await sim.create({ ...spec(), instanceId });
      await sim.start(instanceId);
      assert.equal((await sim.inspect(instanceId))?.status, 'RUNNING');
    }
  });

  it('closes at once even mid-transition, leaving a marker the next process reads as interrupted', async () => {
    const clock = manualClock();
    const s = spec();
    const first = createSimulatorProvider({ ...home(), clock, delayMs: 600_000 });
    const creating = first.create(s);
    await waitFor('PROVISIONING', async () => ((await first.inspect(s.instanceId))?.status === 'PROVISIONING' ? true : undefined));
    await first.close();
    await assert.rejects(creating, /closed mid-transition/);
    await assert.rejects(first.start(s.instanceId), /closed/);

    const second = createSimulatorProvider({ ...home(), clock, delayMs: 0, staleAfterMs: 1000 });
    assert.equal((await second.inspect(s.instanceId))?.status, 'PROVISIONING');
    clock.advance(1000);
    assert.equal((await second.inspect(s.instanceId))?.status, 'TERMINATED');
    await second.start(s.instanceId);
    assert.equal((await second.inspect(s.instanceId))?.status, 'RUNNING');
  });

  it('reports changes made outside Gale through watch', async () => {
    const sim = createSimulatorProvider({ ...home(), clock: systemClock, delayMs: 0 });
    const s = spec();
    const seen: string[] = [];
    const unwatch = sim.watch((id) => seen.push(id));
    await sim.create(s);
    await sim.start(s.instanceId);
    assert.deepEqual(seen, [], "Gale's own transitions are not pushed");

    await sim.pauseOutside(s.instanceId);
    assert.equal((await sim.inspect(s.instanceId))?.status, 'SUSPENDED');
    await sim.unpauseOutside(s.instanceId);
    assert.equal((await sim.inspect(s.instanceId))?.status, 'RUNNING');
    await sim.pauseOutside(s.instanceId);
    await sim.start(s.instanceId);
    assert.equal((await sim.inspect(s.instanceId))?.status, 'RUNNING', 'start resumes a suspended machine');
    await sim.powerOff(s.instanceId);
    assert.deepEqual(await sim.inspect(s.instanceId), { status: 'TERMINATED', internalIp: internalIpFor(s.instanceId), externalIp: '', startedAt: (await machines.get(s.instanceId))?.startedAt ?? undefined });
    await assert.rejects(sim.pauseOutside(s.instanceId), /only a RUNNING machine/);
    await sim.vanish(s.instanceId);
    assert.equal(await sim.inspect(s.instanceId), null);
    assert.deepEqual(seen, Array(5).fill(s.instanceId));
    unwatch();
    await sim.close();
  });
});

describe('provider registry', () => {
  it('makes the simulator and names the known providers for anything else', async () => {
    const contexts = providerContexts(tmpdir());
    try {
      const context = await contexts.contextFor('test-installation', 'simulator');
      const provider = await createProvider('simulator', { delayMs: 0 }, context);
      assert.equal(provider.name, 'simulator');
      await provider.probe();
      assert.deepEqual(KNOWN_PROVIDERS, ['simulator', 'docker', 'qemu']);
      await assert.rejects(createProvider('vmware', {}, context), /unknown provider "vmware"; known providers: simulator, docker, qemu/);
      await assert.rejects(createProvider('toString', {}, context), /unknown provider/);
      await provider.close();
    } finally {
      await contexts.close();
    }
  });
});
