import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InstanceFiles } from './instance-files.js';
import { observeVm, QMP_TIMEOUT_MS } from './observe.js';
import { withQmp } from './qmp-client.js';
import { kill, livePid, qemuLogTail, waitForExit } from './vm-process.js';

/** How long QEMU gets to quit when told to over QMP before it is killed; it has no guest to wait for. */
const QUIT_WAIT_MS = 5_000;
/** The power button is pressed again this often during a graceful stop: a press before the guest's acpid ran is lost. */
const POWERDOWN_REPEAT_MS = 5_000;

/** Runs one QMP command in its own short session. */
export function qmpCommand<T = unknown>(files: InstanceFiles, command: string, args?: Record<string, unknown>): Promise<T> {
  return withQmp(files.qmp, QMP_TIMEOUT_MS, (qmp) => qmp.execute<T>(command, args));
}

/**
 * Presses the ACPI power button and waits up to graceMs for the guest to power itself off; false when it did not.
 * The QMP session is closed while waiting, so that others (an inspect, a list) can use the monitor meanwhile.
 */
export async function powerDownGracefully(files: InstanceFiles, label: string, graceMs: number): Promise<boolean> {
  const deadline = Date.now() + Math.max(0, graceMs);
  for (;;) {
    try {
      await qmpCommand(files, 'system_powerdown');
    } catch {
      // Gone meanwhile, or the monitor is busy: waiting tells which.
    }
    const remaining = deadline - Date.now();
    if (await waitForExit(files, label, Math.max(0, Math.min(POWERDOWN_REPEAT_MS, remaining)))) return true;
    if (Date.now() >= deadline) return false;
  }
}

/** Ends QEMU without asking the guest: quit over QMP (QEMU flushes the disk), SIGKILL if that does not do. */
export async function forceOff(files: InstanceFiles, label: string): Promise<void> {
  const pid = await livePid(files, label);
  if (pid === undefined) return clearRunFiles(files);
  try {
    await withQmp(files.qmp, QUIT_WAIT_MS, (qmp) => qmp.execute('quit', undefined, QUIT_WAIT_MS));
  } catch {
    // A hung or busy monitor, or QEMU already closing it: SIGKILL below settles it either way.
  }
  if (!(await waitForExit(files, label, QUIT_WAIT_MS))) {
    kill(pid);
    if (!(await waitForExit(files, label, 10_000))) throw new Error(`VM ${label} (pid ${pid}) survived SIGKILL for 10 s`);
  }
  await clearRunFiles(files);
}

/** What a dead QEMU leaves behind after SIGKILL; removed so that the next QEMU and the next look start clean. */
export async function clearRunFiles(files: InstanceFiles): Promise<void> {
  await Promise.all([rm(files.pid, { force: true }), rm(files.qmp, { force: true })]);
}

/**
 * Resolves once QEMU reports its guest running; fails with QEMU's own words when it exits first. hasExited tells a
 * QEMU that died from one that has not yet written its pid file, which a look alike finds no live process for.
 */
export async function waitUntilRunning(files: InstanceFiles, label: string, hasExited: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await observeVm(files, label);
    if (state.status === 'RUNNING') return;
    if (await hasExited()) {
      throw new Error(`QEMU for ${label} exited while starting: ${await qemuLogTail(files)}`);
    }
    if (state.pid !== undefined && state.runState !== undefined && state.status === 'TERMINATED') {
      throw new Error(`QEMU for ${label} started but its guest is in state ${state.runState}: ${await qemuLogTail(files)}`);
    }
    if (Date.now() > deadline) throw new Error(`QEMU for ${label} was not running within ${timeoutMs} ms (last seen ${state.runState ?? state.status})`);
    await sleep(50);
  }
}
