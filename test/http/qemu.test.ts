// Real VMs through the API: Gale with the qemu provider (TCG; KVM hangs on the CI hosts), driven as a client drives
// it, its answers checked against the OpenAPI document. The guest's console, read through serialPortOutput, tells what
// reached it. VM addresses are only read, never connected to.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { defaultConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/domain/clock.js';
import { BOOT_BANNER, buildVmBaseImage, createQemuProvider, instanceFiles, POWER_BUTTON_LINE, QEMU_DEFAULTS } from '../../src/providers/qemu/index.js';
import { unavailable } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { call, eventually, type Credentials } from '../helpers/http.js';
import { tapName } from '../../src/providers/qemu/bridge-host.js';
import { commandLine, count } from '../helpers/qemu-vms.js';
import { startReplicaProcess, type ReplicaProcess } from '../replicas/processes.js';
import { instanceSpec } from '../../src/domain/instance-spec.js';

interface Instance {
  id: string;
  status: string;
  internalIp: string;
}
interface SerialPortOutput {
  contents: string;
  start: string;
  next: string;
}

const V1 = '/api/compute/v1';
const TEMPLATE = 'busybox-micro';
const skip = await unavailable({ store: 'sqlite', provider: 'qemu' });

describe('real VMs through the API (qemu)', { skip, timeout: 900_000 }, () => {
  const imagesDir = mkdtempSync(join(tmpdir(), 'gale-vm-images-'));
  let gale: TestGale;
  let alice: Credentials;
  before(async () => {
    await buildVmBaseImage({ outputDir: imagesDir });
    gale = await startTestGale(
      { store: 'sqlite', provider: 'qemu' },
      { providers: { qemu: { accel: 'tcg', imagesDir } }, reconciler: { ...defaultConfig().reconciler, pollIntervalMs: 50, leaseMs: 30_000, resyncIntervalMs: 2_000, stopGraceMs: 60_000 } },
    );
    alice = await gale.user('pro');
  });
  after(async () => {
    await gale?.close();
    rmSync(imagesDir, { recursive: true, force: true });
  });

  const api = <T>(method: string, path: string, body?: unknown) => call<T>(gale.url, method, `${V1}${path}`, { headers: alice.bearer, body });
  const statusOf = async (id: string) => (await api<Instance>('GET', `/instances/${id}`)).body.status;
  const waitStatus = (id: string, status: string) => eventually(`${id} ${status}`, () => statusOf(id), (s) => s === status, 240_000);
  const consoleOf = async (id: string) => {
    const read = await api<SerialPortOutput>('GET', `/instances/${id}/serialPortOutput`);
    assert.equal(read.status, 200, read.text);
    return read.body.contents;
  };
  const waitConsole = (id: string, what: string, check: (text: string) => boolean) => eventually(what, () => consoleOf(id), check, 240_000);
  const files = (id: string) => instanceFiles(join(gale.config.dataDir, 'qemu', 'instances'), id);
  const pidOf = (id: string) => Number(readFileSync(files(id).pid, 'utf8').trim());

  test('readiness says how VMs run here', async () => {
    const ready = await call<{ checks: Record<string, { status: string; message?: string }> }>(gale.url, 'GET', '/readyz');
    assert.equal(ready.status, 200, ready.text);
    assert.match(ready.text, /TCG/);
  });

  test('a VM boots, suspends and resumes the same boot, resets into a second boot, and stops by its power button', async () => {
    const made = await api<Instance>('POST', '/instances', { template_id: TEMPLATE });
    assert.equal(made.status, 201, made.text);
    const id = made.body.id;
    await waitStatus(id, 'RUNNING');
    await waitConsole(id, 'the boot banner', (text) => text.includes(`${BOOT_BANNER} ${id}`));
    const running = await api<Instance>('GET', `/instances/${id}`);
    assert.match(running.body.internalIp, /^\d+\.\d+\.\d+\.\d+$/, 'the VM has an address (read, never connected to)');
    const pid = pidOf(id);
    assert.ok(commandLine(pid)?.some((arg) => arg.includes(id)), 'one QEMU process runs it');

    assert.equal((await api('POST', `/instances/${id}/suspend`)).status, 202);
    await waitStatus(id, 'SUSPENDED');
    assert.equal((await api('POST', `/instances/${id}/resume`)).status, 202);
    await waitStatus(id, 'RUNNING');
    assert.equal(count(await consoleOf(id), BOOT_BANNER), 1, 'resumed, not booted again');
    assert.equal(pidOf(id), pid, 'the same process');

    assert.equal((await api('POST', `/instances/${id}/reset`)).status, 202);
    await waitConsole(id, 'a second boot after the reset', (text) => count(text, BOOT_BANNER) === 2);
    await waitStatus(id, 'RUNNING');

    assert.equal((await api('POST', `/instances/${id}/stop`)).status, 202);
    await waitStatus(id, 'TERMINATED');
    const stopped = await consoleOf(id);
    assert.ok(stopped.includes(POWER_BUTTON_LINE), 'the guest saw the power button');
    assert.ok(stopped.includes('reboot: Power down'), 'and powered off by itself, before the grace ran out');
    assert.equal(commandLine(pid), undefined, 'its QEMU process is gone');

    assert.equal((await api('DELETE', `/instances/${id}`)).status, 204);
    await eventually('the instance directory removed', async () => existsSync(files(id).dir), (exists) => !exists, 240_000);
  });

  test('delete of a running VM leaves no process, socket or disk', async () => {
    const made = await api<Instance>('POST', '/instances', { template_id: TEMPLATE });
    assert.equal(made.status, 201, made.text);
    const id = made.body.id;
    await waitStatus(id, 'RUNNING');
    const pid = pidOf(id);
    const { dir, qmp, disk } = files(id);
    assert.ok(existsSync(dir) && existsSync(disk));
    // On the bridge (Gale runs as root here) the VM has a tap of its own, named after it.
    const tap = tapName(await gale.server.store.installationId(), id);
    const bridged = existsSync(`/sys/class/net/${tap}`);
    assert.equal((await api('DELETE', `/instances/${id}`)).status, 204);
    await eventually('the VM gone', async () => commandLine(pid) === undefined && !existsSync(dir), (gone) => gone, 240_000);
    for (const path of [qmp, disk]) assert.equal(existsSync(path), false, path);
    if (bridged) assert.equal(existsSync(`/sys/class/net/${tap}`), false, `the tap ${tap} is gone`);
  });

  test('a VM made by this installation that no instance owns is reaped by the resync', async () => {
    const installationId = await gale.server.store.installationId();
    const outside = await createQemuProvider(
      { ...QEMU_DEFAULTS, accel: 'tcg', imagesDir },
      { installationId, dataDir: gale.config.dataDir, clock: systemClock, logger: pino({ level: 'silent' }) },
    );
    const orphan = 'tw-000000-0rphan00';
    await outside.create({ instanceId: orphan, userId: 'nobody', zone: 'us-central1-a', templateId: TEMPLATE, image: 'gale-busybox-vm', machineType: 'e2-micro', vcpus: 1, memoryMb: 1024, diskGb: 1, spec: instanceSpec() });
    await outside.start(orphan);
    const pid = pidOf(orphan);
    assert.ok(commandLine(pid));
    await eventually('the orphan reaped', async () => (await gale.server.reconciler.resync()).orphansReaped, (n) => n >= 1, 240_000);
    await eventually('its process gone', async () => commandLine(pid) === undefined && !existsSync(files(orphan).dir), (gone) => gone, 60_000);
    await outside.close();
  });
});

describe('VMs outlive a Gale killed with SIGKILL, and the restarted Gale re-attaches to them', { skip, timeout: 900_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gale-qemu-restart-'));
  const imagesDir = join(dir, 'images');
  const replicas: ReplicaProcess[] = [];
  const start = async () => {
    const replica = await startReplicaProcess({
      GALE_PROVIDER: 'qemu',
      GALE_QEMU_ACCEL: 'tcg',
      GALE_QEMU_IMAGES_DIR: imagesDir,
      GALE_DATA_DIR: join(dir, 'data'),
      GALE_BOOTSTRAP: 'true',
    });
    replicas.push(replica);
    return replica;
  };
  before(async () => {
    await buildVmBaseImage({ outputDir: imagesDir });
  });
  after(async () => {
    for (const replica of replicas) await replica.kill();
    // Whatever VM a failed run left is killed before its directory goes: no QEMU outlives the test.
    for (const pid of startedPids) if (commandLine(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const startedPids: number[] = [];

  test('same VM, same process, no second boot; the new Gale drives it', async () => {
    const first = await start();
    const printed = await eventually('the bootstrap credentials', async () => first.output(), (out) => /api-secret:\s+\S+/.test(out));
    const auth = { 'api-key': /api-key:\s+(\S+)/.exec(printed)![1]!, 'api-secret': /api-secret:\s+(\S+)/.exec(printed)![1]! };
    const on = (replica: ReplicaProcess) => <T>(method: string, path: string, body?: unknown) => call<T>(replica.base, method, `${V1}${path}`, { headers: auth, body });
    const made = await on(first)<Instance>('POST', '/instances', { template_id: TEMPLATE });
    assert.equal(made.status, 201, made.text);
    const id = made.body.id;
    const statusOn = (replica: ReplicaProcess, status: string) =>
      eventually(`${id} ${status}`, async () => (await on(replica)<Instance>('GET', `/instances/${id}`)).body.status, (s) => s === status, 240_000);
    const consoleOn = async (replica: ReplicaProcess) => (await on(replica)<SerialPortOutput>('GET', `/instances/${id}/serialPortOutput`)).body.contents;
    await statusOn(first, 'RUNNING');
    await eventually('the boot banner', () => consoleOn(first), (text) => text.includes(`${BOOT_BANNER} ${id}`), 240_000);
    const pidFile = instanceFiles(join(dir, 'data', 'qemu', 'instances'), id).pid;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    startedPids.push(pid);

    await first.kill();
    assert.ok(commandLine(pid), 'the VM outlived the Gale that started it');

    const second = await start();
    await statusOn(second, 'RUNNING');
    // Work only the new Gale can do, on the VM it found: pause it and let it go on, over its QMP socket.
    assert.equal((await on(second)('POST', `/instances/${id}/suspend`)).status, 202);
    await statusOn(second, 'SUSPENDED');
    assert.equal((await on(second)('POST', `/instances/${id}/resume`)).status, 202);
    await statusOn(second, 'RUNNING');
    assert.equal(Number(readFileSync(pidFile, 'utf8').trim()), pid, 'the same QEMU process');
    assert.equal(count(await consoleOn(second), BOOT_BANNER), 1, 'never booted a second time');

    assert.equal((await on(second)('DELETE', `/instances/${id}`)).status, 204);
    await eventually('the VM gone', async () => commandLine(pid) === undefined, (gone) => gone, 240_000);
  });
});
