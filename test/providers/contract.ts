// The behaviour every Provider (src/domain/provider.ts) owes the reconciler and the resync, run against a real backend.
// contract.test.ts calls providerContract for every registered provider, from its descriptor.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { INSTANCE_ID_PATTERN } from '../../src/domain/ids.js';
import { inIdRange, type IdRange, type MachineSpec, type Observation, type OwnedMachine, type Provider, type SerialOutput } from '../../src/domain/provider.js';
import { instanceSpec } from '../../src/domain/instance-spec.js';

/** What the suite drives: one provider, and the means to make others on the same backend. */
export interface ContractSubject {
  provider: Provider;
  /** The installation `provider` belongs to. */
  installationId: string;
  /**
   * A new provider object on the same backend, for the given installation. Given `installationId` it is the same
   * installation seen by a fresh process (no memory of what `provider` made); given another id it is a foreign
   * installation, whose machines `provider` must never list or touch. The suite closes what this returns.
   */
  openProvider(installationId: string): Promise<Provider>;
  /** Closes `provider` and removes whatever the run left on the backend, for every installation it was given. */
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** Skips the whole suite with this reason (the backend is missing and nothing requires it). */
  skip?: string | false;
  /** Limit for each test and hook, for backends with slow operations (a VM boot); default 60 s. Never a speed check. */
  timeoutMs?: number;
  /** graceMs given to stop; default 10 s. Machines made from `spec` must shut down when asked within it. */
  stopGraceMs?: number;
  /** What the machines are made of beyond their id and owner: the image above all. */
  spec?: Partial<Omit<MachineSpec, 'instanceId' | 'userId'>>;
}

/**
 * Registers `describe('<name> provider contract')`. `open` runs once before the tests; the subject's cleanup after them.
 * Every test makes its own machines, with ids of the documented form unique to this run (tw-<run>-<sequence>), so a
 * failure stays in its test and earlier runs' leftovers never collide. No assertion depends on how long anything takes.
 */
export function providerContract(name: string, open: () => Promise<ContractSubject>, options: ContractOptions = {}): void {
  const timeout = options.timeoutMs ?? 60_000;
  const graceMs = options.stopGraceMs ?? 10_000;
  const userId = randomUUID();
  const run = userId.slice(0, 6);
  let seq = 0;
  // Sequential suffixes: ids made one after another sort one after another, with nothing of this run between them.
  const newId = (): string => `tw-${run}-${(++seq).toString(16).padStart(8, '0')}`;
  const spec = (instanceId: string): MachineSpec => ({
    zone: 'us-central1-a',
    templateId: 'contract',
    image: 'contract',
    machineType: 'e2-micro',
    vcpus: 1,
    memoryMb: 128,
    diskGb: 1,
    spec: instanceSpec(),
    ...options.spec,
    instanceId,
    userId,
  });

  describe(`${name} provider contract`, { skip: options.skip }, () => {
    let subject: ContractSubject;
    let provider: Provider;
    const opened: Provider[] = [];
    const made = new Set<string>();

    before(async () => {
      subject = await open();
      provider = subject.provider;
    }, { timeout });

    after(async () => {
      if (!subject) return;
      for (const id of made) await provider.delete(id).catch(() => undefined);
      for (const other of opened) await other.close().catch(() => undefined);
      await subject.cleanup();
    }, { timeout });

    async function openProvider(installationId: string): Promise<Provider> {
      const other = await subject.openProvider(installationId);
      opened.push(other);
      return other;
    }
    /** A machine made (and, when asked, started) through the provider, with no store row: as the resync finds orphans. */
    async function machine(via: Provider = provider, { started = false } = {}): Promise<string> {
      const id = newId();
      assert.match(id, INSTANCE_ID_PATTERN);
      if (via === provider) made.add(id);
      await via.create(spec(id));
      if (started) await via.start(id);
      return id;
    }
    async function observe(id: string, via: Provider = provider): Promise<Observation> {
      const seen = await via.inspect(id);
      assert.ok(seen, `inspect(${id}) is null: the machine is gone`);
      return seen;
    }
    async function runningBoot(id: string): Promise<Observation & { startedAt: number }> {
      const seen = await observe(id);
      assert.equal(seen.status, 'RUNNING');
      assert.equal(typeof seen.startedAt, 'number', 'a running machine reports startedAt, which is how a reset is told from none');
      return seen as Observation & { startedAt: number };
    }
    const listedIds = (machines: OwnedMachine[]): string[] => machines.map((m) => m.instanceId);
    const ofThisRun = (machines: OwnedMachine[]): string[] => listedIds(machines).filter((id) => id.startsWith(`tw-${run}-`)).sort();

    it('says what it can do through its capabilities, and has exactly the methods they promise', { timeout }, () => {
      const { capabilities } = provider;
      assert.equal(typeof provider.name, 'string');
      for (const [capability, methods] of [
        ['suspend', [provider.suspend, provider.resume]],
        ['serialConsole', [provider.serialOutput]],
        ['liveWatch', [provider.watch]],
      ] as const) {
        for (const method of methods) {
          assert.equal(typeof method, capabilities[capability] ? 'function' : 'undefined', `capabilities.${capability} is ${capabilities[capability]}`);
        }
      }
      assert.equal(typeof capabilities.recreateVanished, 'boolean');
    });

    it('probe resolves on a usable backend', { timeout }, async () => {
      await provider.probe();
    });

    it('inspect of a machine that was never made is null; start and reset of it reject, stop and delete resolve', { timeout }, async () => {
      const id = newId();
      assert.equal(await provider.inspect(id), null);
      await assert.rejects(provider.start(id), 'start must not report a boot that did not happen');
      await assert.rejects(provider.reset(id), 'reset must not report a boot that did not happen');
      await provider.stop(id, { graceMs });
      await provider.delete(id);
      assert.equal(await provider.inspect(id), null, 'none of that made a machine');
    });

    it('create makes the machine without starting it, and creating it again leaves it as it is', { timeout }, async () => {
      const id = newId();
      made.add(id);
      const said = await provider.create(spec(id));
      const created = await observe(id);
      assert.equal(created.status, 'TERMINATED', 'a created machine is made but not booted');
      assert.equal(created.startedAt, undefined, 'a machine that never booted has no startedAt');
      // What create says it made, when it says anything, is what a look finds: the reconciler relies on it.
      if (said) assert.deepEqual(said, created);
      assert.equal(await provider.create(spec(id)), undefined, 'a machine that was already there is not described');
      assert.deepEqual(await observe(id), created);
      assert.deepEqual(ofThisRun(await provider.list()).filter((listed) => listed === id), [id], 'one machine, listed once');

      await provider.start(id);
      const running = await runningBoot(id);
      await provider.create(spec(id));
      assert.deepEqual(await observe(id), running, 'create of a running machine neither restarts nor stops it');
      await provider.delete(id);
    });

    it('start boots it (RUNNING); start again is a no-op, the same boot', { timeout }, async () => {
      const id = await machine();
      await provider.start(id);
      const running = await runningBoot(id);
      await provider.start(id);
      assert.deepEqual(await observe(id), running);
      await provider.delete(id);
    });

    it('stop brings it down (TERMINATED); stop again, or of a machine never started, is a no-op', { timeout }, async () => {
      const neverStarted = await machine();
      const created = await observe(neverStarted);
      await provider.stop(neverStarted, { graceMs });
      assert.deepEqual(await observe(neverStarted), created);

      const id = await machine(provider, { started: true });
      await runningBoot(id);
      await provider.stop(id, { graceMs });
      const stopped = await observe(id);
      assert.equal(stopped.status, 'TERMINATED');
      await provider.stop(id, { graceMs });
      assert.deepEqual(await observe(id), stopped);

      await provider.start(id);
      await runningBoot(id);
      await provider.delete(neverStarted);
      await provider.delete(id);
    });

    it('reset boots it again at once: a new startedAt, still RUNNING', { timeout }, async () => {
      const id = await machine(provider, { started: true });
      const before = await runningBoot(id);
      await provider.reset(id);
      const after = await runningBoot(id);
      assert.notEqual(after.startedAt, before.startedAt, 'a reset is a new boot');
      await provider.delete(id);
    });

    it('suspend keeps the boot (SUSPENDED), resume continues it (RUNNING, same startedAt), both idempotent', { timeout }, async () => {
      const { suspend, resume } = provider;
      if (!provider.capabilities.suspend) {
        // Not capable: nothing to suspend with, which is all there is to check.
        assert.equal(suspend ?? resume, undefined, 'capabilities.suspend is false, so suspend and resume are absent');
        return;
      }
      assert.ok(suspend && resume, 'capabilities.suspend is true, so suspend and resume exist');
      const id = await machine(provider, { started: true });
      const running = await runningBoot(id);
      await suspend.call(provider, id);
      const suspended = await observe(id);
      assert.equal(suspended.status, 'SUSPENDED');
      assert.equal(suspended.startedAt, running.startedAt);
      await suspend.call(provider, id);
      assert.deepEqual(await observe(id), suspended);

      await resume.call(provider, id);
      const resumed = await runningBoot(id);
      assert.equal(resumed.startedAt, running.startedAt, 'resume continues the same boot');
      await resume.call(provider, id);
      assert.deepEqual(await observe(id), resumed);

      await suspend.call(provider, id);
      await provider.stop(id, { graceMs });
      assert.equal((await observe(id)).status, 'TERMINATED', 'a suspended machine can be stopped');
      await provider.delete(id);
    });

    it('serialOutput gives consistent offsets: [start, next), reading on from next gives only what is new', { timeout }, async () => {
      const { serialOutput } = provider;
      if (!provider.capabilities.serialConsole) {
        assert.equal(serialOutput, undefined, 'capabilities.serialConsole is false, so serialOutput is absent');
        return;
      }
      assert.ok(serialOutput, 'capabilities.serialConsole is true, so serialOutput exists');
      const read = (id: string, from: number) => serialOutput.call(provider, id, from);
      const id = await machine(provider, { started: true });
      const check = (what: string, piece: SerialOutput, asked: number): void => {
        assert.ok(Number.isInteger(piece.start) && Number.isInteger(piece.next), `${what}: integer offsets`);
        assert.ok(piece.start >= asked, `${what}: start ${piece.start} is not before the offset asked, ${asked}`);
        assert.ok(piece.next >= piece.start, `${what}: next ${piece.next} >= start ${piece.start}`);
        assert.equal(piece.contents === '', piece.next === piece.start, `${what}: contents are empty exactly when next = start`);
      };
      const first = await read(id, 0);
      check('from 0', first, 0);
      const onward = await read(id, first.next);
      check(`from next (${first.next})`, onward, first.next);
      const again = await read(id, 0);
      check('from 0 again', again, 0);
      assert.ok(again.next >= onward.next, 'the output only grows: next never goes back');
      await provider.delete(id);
    });

    it('delete removes it (inspect null, not listed); delete again resolves', { timeout }, async () => {
      const id = await machine(provider, { started: true });
      await provider.delete(id);
      assert.equal(await provider.inspect(id), null);
      assert.ok(!listedIds(await provider.list()).includes(id));
      await provider.delete(id);
      assert.equal(await provider.inspect(id), null);
    });

    it('list(range) gives exactly its machines with ids in (after, through], in byte order, as inspect sees them', { timeout }, async () => {
      const [a, b, c] = [await machine(), await machine(provider, { started: true }), await machine()] as [string, string, string];
      assert.ok(a < b && b < c);
      const ranges: Array<[IdRange | undefined, string[]]> = [
        [undefined, [a, b, c]],
        [{}, [a, b, c]],
        [{ after: a, through: c }, [b, c]],
        [{ after: a, through: b }, [b]],
        [{ after: a }, [b, c]],
        [{ through: a }, [a]],
        [{ after: b, through: b }, []],
        [{ after: c }, []],
        // The boundaries need not be ids of machines: only byte order counts.
        [{ after: `${a}-`, through: `${b}~` }, [b]],
        [{ after: `tw-${run}-`, through: `tw-${run}-~` }, [a, b, c]],
      ];
      for (const [range, expected] of ranges) {
        const listed = await provider.list(range);
        for (const m of listed) assert.ok(inIdRange(m.instanceId, range), `${m.instanceId} is outside ${JSON.stringify(range)}`);
        // Only a..c are compared: machines an earlier failed test left behind lie outside, and the check above covers them.
        const window = ofThisRun(listed).filter((id) => id >= a && id <= c);
        assert.deepEqual(window, expected, `list(${JSON.stringify(range)})`);
        assert.equal(new Set(listedIds(listed)).size, listed.length, 'no machine is listed twice');
      }
      for (const listed of await provider.list({ after: `tw-${run}-`, through: c })) {
        const seen = await observe(listed.instanceId);
        const pick = ({ status, internalIp, externalIp }: Observation) => ({ status, internalIp, externalIp });
        assert.deepEqual(pick(listed), pick(seen), `list and inspect agree on ${listed.instanceId} (the resync compares these)`);
      }
      for (const id of [a, b, c]) await provider.delete(id);
    });

    it('another installation on the same backend is never listed nor touched, and never lists ours', { timeout }, async () => {
      const foreign = await openProvider(`${subject.installationId}-other`);
      const theirs = await machine(foreign, { started: true });
      const ours = await machine();
      try {
        const before = await observe(theirs, foreign);
        assert.ok(!listedIds(await provider.list()).includes(theirs), 'ours lists theirs');
        assert.ok(!listedIds(await foreign.list()).includes(ours), 'theirs lists ours');
        assert.equal(await provider.inspect(theirs), null, 'ours inspects theirs');
        await assert.rejects(provider.start(theirs));
        await assert.rejects(provider.reset(theirs));
        await provider.suspend?.(theirs).catch(() => undefined);
        await provider.resume?.(theirs).catch(() => undefined);
        await provider.stop(theirs, { graceMs });
        await provider.delete(theirs);
        assert.deepEqual(await observe(theirs, foreign), before, 'their machine is as it was');
        assert.ok(listedIds(await foreign.list()).includes(theirs));
      } finally {
        await foreign.delete(theirs);
      }
      assert.equal(await foreign.inspect(theirs), null);
      await provider.delete(ours);
    });

    it('an orphan (made through the provider, no store row) is listed, also by a fresh provider, which can reap it', { timeout }, async () => {
      const orphan = await machine(provider, { started: true });
      assert.ok(listedIds(await provider.list()).includes(orphan));
      const fresh = await openProvider(subject.installationId);
      const found = (await fresh.list({ through: orphan })).find((m) => m.instanceId === orphan);
      assert.equal(found?.status, 'RUNNING', 'a fresh process of the same installation finds it by its labels');
      await fresh.delete(orphan);
      assert.equal(await fresh.inspect(orphan), null);
      assert.equal(await provider.inspect(orphan), null, 'reaped for every process of the installation');
      assert.ok(!listedIds(await provider.list()).includes(orphan));
    });
  });
}
