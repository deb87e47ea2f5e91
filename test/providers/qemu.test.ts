// The qemu provider with real VMs (under TCG, tiny guests), and its parts that need no VM. Addresses are read, never
// connected to. Run: node --import tsx --test test/providers/qemu.test.ts   (scripts/install-qemu.sh installs QEMU)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import { PermanentProviderError, type MachineSpec } from '../../src/domain/provider.js';
import {
  ADDRESS_LINE,
  BOOT_BANNER,
  buildVmBaseImage,
  createQemuProvider,
  instanceFiles,
  POWER_BUTTON_LINE,
  QEMU_DEFAULTS,
  QmpClient,
  QmpCommandError,
  qemuProvider,
  vmNetwork,
  withQmp,
  type QemuProvider,
  type QemuSettings,
} from '../../src/providers/qemu/index.js';
import { boundConsole, CONSOLE_KEEP_BYTES, readConsole } from '../../src/providers/qemu/console-log.js';
import { guestMemoryMb } from '../../src/providers/qemu/qemu-args.js';
import { IN_CI, providerProblem, skipOrFail } from '../helpers/matrix.js';
import { commandLine, count, waitFor } from '../helpers/qemu-vms.js';
import { instanceSpec } from '../../src/domain/instance-spec.js';

const problem = skipOrFail('QEMU and the VM image tools', await providerProblem('qemu'));

const run = randomUUID().slice(0, 8);
const installationId = `test-${run}`;
const logs: Array<{ level: number; msg: string }> = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
let seq = 0;
const newId = (): string => `tw-${run.slice(0, 6)}-${(++seq).toString(16).padStart(8, '0')}`;
const spec = (instanceId: string): MachineSpec => ({
  instanceId,
  userId: 'u-test',
  zone: 'us-central1-a',
  templateId: 'busybox-micro',
  // A Docker image name, as the default catalog gives: the provider boots its fallback VM image instead.
  image: 'gale/busybox-micro:latest',
  machineType: 'e2-micro',
  vcpus: 1,
  memoryMb: 1024,
  diskGb: 2,
  spec: instanceSpec(),
});

describe('qemu provider parts', () => {
  test('memory is scaled down, never under the floor', () => {
    assert.equal(guestMemoryMb(1024, { memoryScale: 0.0625, minMemoryMb: 128 }), 128);
    assert.equal(guestMemoryMb(30720, { memoryScale: 0.0625, minMemoryMb: 128 }), 1920);
    assert.equal(guestMemoryMb(2048, { memoryScale: 1, minMemoryMb: 128 }), 2048);
  });

  test('addresses are derived from the instance id, inside 10.128.0.0/9', () => {
    const a = vmNetwork('tw-aaaaaa-00000001');
    assert.deepEqual(vmNetwork('tw-aaaaaa-00000001'), a);
    assert.notEqual(vmNetwork('tw-aaaaaa-00000002').guest, a.guest);
    assert.match(a.guest, /^10\.(1[2-9]\d|2[0-5]\d)\.\d+\.15$/);
    assert.match(a.mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
  });

  test('the descriptor: defaults satisfy the schema, and GALE_QEMU_ACCEL is checked', async () => {
    const { Value } = await import('@sinclair/typebox/value');
    assert.equal(Value.Check(qemuProvider.settings, qemuProvider.defaults), true);
    assert.equal(Value.Check(qemuProvider.settings, { ...qemuProvider.defaults, extra: 1 }), false);
    assert.deepEqual(qemuProvider.fromEnv?.({ GALE_QEMU_ACCEL: 'tcg' }), { accel: 'tcg' });
    assert.throws(() => qemuProvider.fromEnv?.({ GALE_QEMU_ACCEL: 'hvf' }), /GALE_QEMU_ACCEL must be one of auto, kvm, tcg/);
  });

  test('the QMP client against a fake QEMU: greeting, capabilities, ids, events, errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gale-qmp-'));
    const socketPath = join(dir, 'qmp.sock');
    const server = createServer((socket) => {
      socket.write('{"QMP": {"version": {}, "capabilities": []}}\n');
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString();
        for (let at = buffer.indexOf('\n'); at >= 0; at = buffer.indexOf('\n')) {
          const { execute, id } = JSON.parse(buffer.slice(0, at)) as { execute: string; id: string };
          buffer = buffer.slice(at + 1);
          if (execute === 'system_reset') socket.write('{"event": "RESET", "data": {"guest": false}}\n');
          const answer =
            execute === 'query-status' ? { return: { status: 'paused', running: false } }
            : execute === 'nonsense' ? { error: { class: 'CommandNotFound', desc: 'The command nonsense has not been found' } }
            : { return: {} };
          socket.write(`${JSON.stringify({ ...answer, id })}\n`);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      assert.deepEqual(await withQmp(socketPath, 2_000, (qmp) => qmp.execute('query-status')), { status: 'paused', running: false });
      const client = await QmpClient.connect(socketPath, 2_000);
      const reset = client.waitForEvent('RESET', 2_000);
      await client.execute('system_reset');
      assert.equal((await reset).event, 'RESET');
      await assert.rejects(client.execute('nonsense'), (error: unknown) => error instanceof QmpCommandError && error.errorClass === 'CommandNotFound');
      client.close();
      await assert.rejects(client.execute('query-status'), /closed/);
      await assert.rejects(QmpClient.connect(join(dir, 'none.sock'), 2_000), /ENOENT/);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the console: offsets since creation, the last 1 MiB served, and its disk freed by a hole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gale-console-'));
    const path = join(dir, 'console.log');
    try {
      assert.deepEqual(await readConsole(path, 0), { contents: '', start: 0, next: 0 });
      await writeFile(path, 'hello\nworld\n');
      assert.deepEqual(await readConsole(path, 6), { contents: 'world\n', start: 6, next: 12 });
      assert.deepEqual(await readConsole(path, 99), { contents: '', start: 12, next: 12 });
      const big = Buffer.alloc(3 * CONSOLE_KEEP_BYTES, 'x');
      await writeFile(path, big);
      const tail = await readConsole(path, 0);
      assert.equal(tail.start, 2 * CONSOLE_KEEP_BYTES);
      assert.equal(tail.next, 3 * CONSOLE_KEEP_BYTES);
      assert.equal(tail.contents.length, CONSOLE_KEEP_BYTES);
      const after = await stat(path);
      if (!(await boundConsole(path))) {
        // No fallocate, or a file system without holes: the file is left whole (reads stay bounded, as checked above).
        assert.equal(IN_CI, false, 'CI=true: the console file must be bounded on disk (util-linux fallocate)');
        assert.equal((await stat(path)).blocks, after.blocks, 'nothing cut without a hole to punch');
        return;
      }
      const bounded = await stat(path);
      assert.equal(bounded.size, 3 * CONSOLE_KEEP_BYTES, 'offsets are kept');
      assert.ok(bounded.blocks * 512 <= 1.1 * CONSOLE_KEEP_BYTES, `the disk under the old output is freed (${bounded.blocks * 512} bytes held)`);
      assert.equal((await readConsole(path, 0)).contents, tail.contents);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('qemu provider with real VMs', { skip: problem, timeout: 900_000 }, () => {
  let dataDir: string;
  let imagesDir: string;
  let settings: QemuSettings;
  let provider: QemuProvider;
  const providers: QemuProvider[] = [];
  const make = async (overrides: Partial<QemuSettings> = {}, installation = installationId): Promise<QemuProvider> => {
    const made = await createQemuProvider({ ...settings, ...overrides }, { installationId: installation, dataDir, clock: systemClock, logger });
    providers.push(made);
    return made;
  };
  const consoleOf = async (id: string): Promise<string> => (await provider.serialOutput(id, 0)).contents;
  const pidOf = async (id: string): Promise<number> => Number((await readFile(instanceFiles(provider.instancesDir, id).pid, 'utf8')).trim());
  const statusOf = async (id: string) => (await provider.inspect(id))?.status;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gale-qemu-test-'));
    imagesDir = join(dataDir, 'images');
    // Always TCG here: the probe of accel auto has a test of its own, and takes seconds on hosts where KVM hangs.
    // User-mode networking: the bridge has its own tests (qemu-network.test.ts).
    settings = { ...QEMU_DEFAULTS, accel: 'tcg', imagesDir, network: 'user' };
    provider = await make();
  });

  after(async () => {
    for (const each of providers) {
      for (const machine of await each.list().catch(() => [])) await each.delete(machine.instanceId).catch(() => undefined);
      await each.close();
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  test('builds the VM image once, and skips when it exists; probe then passes', async () => {
    await assert.rejects(provider.probe(), /the VM image gale-busybox-vm is missing; build it with: gale images build --vm/);
    const built = await buildVmBaseImage({ outputDir: imagesDir, logger });
    assert.equal(built.built, true);
    assert.equal((await buildVmBaseImage({ outputDir: imagesDir, logger })).built, false);
    await provider.probe();
    assert.match(provider.describe(), /with user-mode networking$/);
    const broken = await make({ qemuBinary: '/nonexistent/qemu-system-x86_64' });
    await assert.rejects(broken.probe(), /QEMU is not usable \(\/nonexistent\/qemu-system-x86_64\); run scripts\/install-qemu.sh/);
  });

  const id = newId();
  test('create makes a thin overlay and no process; again is a no-op', async () => {
    await provider.create(spec(id));
    assert.deepEqual(await provider.inspect(id), { status: 'TERMINATED', internalIp: vmNetwork(id).guest, externalIp: '' });
    const files = instanceFiles(provider.instancesDir, id);
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '-U', files.disk], { encoding: 'utf8' })) as Record<string, unknown>;
    assert.equal(info['virtual-size'], 2 * 1024 ** 3);
    assert.equal(info['backing-filename'], join(imagesDir, 'gale-busybox-vm', 'base.qcow2'));
    assert.ok((await stat(files.disk)).size < 1024 * 1024, 'the overlay is thin');
    await provider.create(spec(id));
    assert.equal(existsSync(files.pid), false);
  });

  let firstBoot = 0;
  let firstPid = 0;
  test('start boots it: RUNNING, its banner and its DHCP address on the serial console; start again is a no-op', async () => {
    await provider.start(id);
    const seen = await provider.inspect(id);
    assert.equal(seen?.status, 'RUNNING');
    firstBoot = seen?.startedAt ?? 0;
    assert.ok(firstBoot > 0);
    firstPid = await pidOf(id);
    const args = commandLine(firstPid) ?? [];
    assert.equal(args[args.indexOf('-m') + 1], '128', 'e2-micro memory, scaled down to the floor');
    assert.equal(args[args.indexOf('-accel') + 1], 'tcg');
    await waitFor('the boot banner', async () => (await consoleOf(id)).includes(`${BOOT_BANNER} ${id}`));
    await waitFor('the DHCP address', async () => (await consoleOf(id)).includes(`${ADDRESS_LINE} ${seen?.internalIp}`));
    await provider.start(id);
    assert.equal(await pidOf(id), firstPid);
    const out = await provider.serialOutput(id, 0);
    assert.equal(out.start, 0);
    assert.equal(out.next, Buffer.byteLength(out.contents));
    const rest = await provider.serialOutput(id, out.next);
    assert.equal(rest.start, out.next);
  });

  test('suspend pauses it (SUSPENDED), resume brings back the same boot', async () => {
    await provider.suspend(id);
    assert.equal(await statusOf(id), 'SUSPENDED');
    await provider.suspend(id);
    await provider.resume(id);
    assert.equal(await statusOf(id), 'RUNNING');
    await provider.resume(id);
    assert.equal(count(await consoleOf(id), BOOT_BANNER), 1);
    assert.equal((await provider.inspect(id))?.startedAt, firstBoot);
  });

  test('a look while another client holds the QMP monitor waits its turn', async () => {
    const holder = await QmpClient.connect(instanceFiles(provider.instancesDir, id).qmp, 10_000);
    const look = provider.inspect(id);
    await new Promise((resolve) => setTimeout(resolve, 300));
    holder.close();
    assert.equal((await look)?.status, 'RUNNING');
  });

  test('reset boots the guest again in the same process: a second banner, a new startedAt, RUNNING', async () => {
    await provider.reset(id);
    const seen = await provider.inspect(id);
    assert.equal(seen?.status, 'RUNNING');
    assert.ok((seen?.startedAt ?? 0) > firstBoot);
    await waitFor('a second banner', async () => count(await consoleOf(id), BOOT_BANNER) === 2);
    assert.equal(await pidOf(id), firstPid);
  });

  test('a new provider object (a restarted Gale) re-attaches: same process, no second copy', async () => {
    const again = await make();
    const before = await provider.inspect(id);
    assert.deepEqual(await again.inspect(id), before);
    await again.start(id);
    assert.equal(await pidOf(id), firstPid);
    assert.equal(commandLine(firstPid) !== undefined, true);
    assert.equal(count(await consoleOf(id), BOOT_BANNER), 2);
    assert.deepEqual((await again.list()).map((m) => m.instanceId), [id]);
  });

  test('stop presses the power button: the guest says so and powers off; TERMINATED; stop again is a no-op', async () => {
    await provider.stop(id, { graceMs: 120_000 });
    assert.equal(await statusOf(id), 'TERMINATED');
    assert.ok((await consoleOf(id)).includes(POWER_BUTTON_LINE));
    assert.equal(commandLine(firstPid), undefined);
    assert.equal(logs.some((l) => l.msg.includes('forcing it off')), false);
    await provider.stop(id, { graceMs: 120_000 });
  });

  test('a VM killed outside Gale shows TERMINATED, and starts again', async () => {
    await provider.start(id);
    const pid = await pidOf(id);
    assert.notEqual(pid, firstPid);
    process.kill(pid, 'SIGKILL');
    await waitFor('the killed VM to be seen TERMINATED', async () => (await statusOf(id)) === 'TERMINATED');
    await provider.start(id);
    assert.equal(await statusOf(id), 'RUNNING');
  });

  test('a VM powered off outside Gale (the power button pressed over its QMP socket) shows TERMINATED', async () => {
    const banners = count(await consoleOf(id), BOOT_BANNER);
    await waitFor('the boot banner', async () => count(await consoleOf(id), BOOT_BANNER) === banners + 1);
    await withQmp(instanceFiles(provider.instancesDir, id).qmp, 10_000, (qmp) => qmp.execute('system_powerdown'));
    await waitFor('the powered-off VM to be seen TERMINATED', async () => (await statusOf(id)) === 'TERMINATED');
  });

  test('stop straight after start still reaches the guest: the button is pressed again until it listens', async () => {
    const pressed = count(await consoleOf(id), POWER_BUTTON_LINE);
    await provider.start(id);
    await provider.stop(id, { graceMs: 120_000 });
    assert.equal(await statusOf(id), 'TERMINATED');
    assert.equal(count(await consoleOf(id), POWER_BUTTON_LINE), pressed + 1);
    assert.equal(logs.some((l) => l.msg.includes('forcing it off')), false);
  });

  test('stop with no grace forces the VM off', async () => {
    await provider.start(id);
    await provider.stop(id, { graceMs: 0 });
    assert.equal(await statusOf(id), 'TERMINATED');
  });

  test('delete leaves no process, socket or overlay; again is a no-op', async () => {
    await provider.start(id);
    const pid = await pidOf(id);
    const files = instanceFiles(provider.instancesDir, id);
    await provider.delete(id);
    assert.equal(commandLine(pid), undefined);
    for (const path of [files.qmp, files.disk, files.dir]) assert.equal(existsSync(path), false, path);
    assert.equal(await provider.inspect(id), null);
    await provider.delete(id);
    await assert.rejects(provider.start(id), /create it first/);
    assert.deepEqual(await provider.serialOutput(id, 0), { contents: '', start: 0, next: 0 });
  });

  test('list shows only this installation\'s VMs, in range; another installation\'s are never touched', async () => {
    const other = await make({}, `other-${run}`);
    const theirs = newId();
    await other.create(spec(theirs));
    const ours = [newId(), newId()];
    for (const mine of ours) await provider.create(spec(mine));
    assert.deepEqual((await provider.list()).map((m) => m.instanceId), ours);
    assert.deepEqual((await provider.list({ after: ours[0] })).map((m) => m.instanceId), [ours[1]]);
    assert.deepEqual((await other.list()).map((m) => m.instanceId), [theirs]);
    assert.equal(await provider.inspect(theirs), null);
    await provider.delete(theirs);
    assert.equal((await other.inspect(theirs))?.status, 'TERMINATED');
    await assert.rejects(provider.create(spec(theirs)), PermanentProviderError);
    for (const mine of ours) await provider.delete(mine);
    await other.delete(theirs);
  });

  test('a directory left by a create cut short is listed, so the resync reaps it', async () => {
    const orphan = newId();
    const files = instanceFiles(provider.instancesDir, orphan);
    await mkdir(files.dir, { recursive: true });
    await writeFile(files.installation, installationId);
    assert.deepEqual(await provider.list(), [{ instanceId: orphan, status: 'TERMINATED', internalIp: vmNetwork(orphan).guest, externalIp: '' }]);
    await provider.delete(orphan);
    assert.equal(existsSync(files.dir), false);
  });

  test('accel auto probes KVM by booting a kernel, and says what it chose', async () => {
    const auto = await make({ accel: 'auto', kvmProbeTimeoutMs: 5_000 });
    assert.ok(['kvm', 'tcg'].includes(auto.accelerator));
    assert.ok(logs.some((l) => l.msg.startsWith(`QEMU accelerator ${auto.accelerator}`)));
  });
});
