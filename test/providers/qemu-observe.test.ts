// A look at a VM whose monitor hangs up: the QEMU process behind it is on its way out. No QEMU needed: a process that
// carries the VM's -name and a unix socket that drops every client stand in for them.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instanceFiles, type InstanceFiles } from '../../src/providers/qemu/instance-files.js';
import { HANG_UP_LOOKS, HANG_UP_PAUSE_MS, observeVm } from '../../src/providers/qemu/observe.js';

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A process named as Gale names a VM (-name label), with its pid file, and a monitor socket that drops every client. */
async function vmThatHangsUp(label: string): Promise<{ files: InstanceFiles; process: ChildProcess }> {
  const dir = await mkdtemp(join(tmpdir(), 'gale-observe-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const files = instanceFiles(dir, 'vm-1');
  await mkdir(files.dir, { recursive: true });
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', '-name', label], { stdio: 'ignore' });
  cleanups.push(() => void child.kill('SIGKILL'));
  await writeFile(files.pid, `${child.pid}\n`);
  const monitor: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => monitor.listen(files.qmp, resolve));
  cleanups.push(() => new Promise<void>((resolve) => monitor.close(() => resolve())));
  return { files, process: child };
}

test('a monitor that hangs up while its process exits reads as TERMINATED, not as an error', async () => {
  const { files, process: vm } = await vmThatHangsUp('gale-observe-exiting');
  setTimeout(() => vm.kill('SIGKILL'), 3 * HANG_UP_PAUSE_MS);
  assert.deepEqual(await observeVm(files, 'gale-observe-exiting'), { status: 'TERMINATED' });
});

test('a monitor that keeps hanging up on a process that stays is an error, after a few looks', async () => {
  const { files } = await vmThatHangsUp('gale-observe-staying');
  const started = performance.now();
  await assert.rejects(observeVm(files, 'gale-observe-staying'), /runs \(pid \d+\) but its QMP monitor does not answer: the QMP connection closed/);
  assert.ok(performance.now() - started >= (HANG_UP_LOOKS - 1) * HANG_UP_PAUSE_MS, 'it looked again before giving up');
});
