import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { readIfExists, type InstanceFiles } from './instance-files.js';

/**
 * The name a VM's QEMU runs under (-name), which ps shows and which tells our process from another that took over its
 * pid after it died. QEMU's option parser splits on commas, so only plain characters are kept.
 */
export function vmLabel(installationId: string, instanceId: string): string {
  return `gale-${installationId}-${instanceId}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * The pid of the instance's QEMU when it is alive, else undefined. The pid file alone proves nothing: SIGKILL leaves it
 * behind and the pid can be reused, and a zombie (exited, not yet reaped) still answers kill(pid, 0). So /proc is read:
 * the process must exist, not be a zombie, and carry our -name.
 */
export async function livePid(files: InstanceFiles, label: string): Promise<number | undefined> {
  const text = await readIfExists(files.pid);
  const pid = text === undefined ? NaN : Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return (await isOurLiveProcess(pid, label)) ? pid : undefined;
}

async function isOurLiveProcess(pid: number, label: string): Promise<boolean> {
  let stat: string;
  let cmdline: string;
  try {
    [stat, cmdline] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/cmdline`, 'utf8')]);
  } catch (error) {
    if (['ENOENT', 'ESRCH'].includes((error as NodeJS.ErrnoException).code ?? '')) return false;
    throw error;
  }
  // The state follows the command name, which is in parentheses and may itself hold spaces or parentheses.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return false;
  const args = cmdline.split('\0');
  const nameAt = args.indexOf('-name');
  return nameAt >= 0 && args[nameAt + 1] === label;
}

export interface SpawnedVm {
  pid: number;
  /** Set once the process has exited (QEMU refused its arguments, the guest powered off...). */
  readonly exited: () => boolean;
}

/**
 * Starts QEMU in its own session with no pipes to Gale, so that it outlives Gale (a restart, a crash) and is found
 * again by its pid file. Its stderr goes to a file in the instance directory, read back when it fails to come up.
 */
export async function spawnVm(binary: string, args: string[], files: InstanceFiles): Promise<SpawnedVm> {
  const log = await open(files.qemuLog, 'w');
  let exited = false;
  try {
    const child = spawn(binary, args, { cwd: files.dir, detached: true, stdio: ['ignore', log.fd, log.fd] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new Error(`cannot run ${binary}: ${error.message} (scripts/install-qemu.sh installs QEMU)`)));
    });
    child.once('exit', () => {
      exited = true;
    });
    child.unref();
    return { pid: child.pid!, exited: () => exited };
  } finally {
    await log.close();
  }
}

/** Waits until the VM's process is gone; false if it still runs after timeoutMs. */
export async function waitForExit(files: InstanceFiles, label: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await livePid(files, label)) === undefined) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}

export function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** The last lines QEMU printed, for an error message. */
export async function qemuLogTail(files: InstanceFiles): Promise<string> {
  const text = (await readIfExists(files.qemuLog)) ?? '';
  return text.trim().split('\n').slice(-5).join(' / ') || '(QEMU printed nothing)';
}
