import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InstanceStatus } from '../../domain/instance.js';
import type { InstanceFiles } from './instance-files.js';
import { QmpConnectionClosedError, withQmp } from './qmp-client.js';
import { livePid } from './vm-process.js';

export const QMP_TIMEOUT_MS = 10_000;

/** What a look at one VM found: its process, and what QEMU says its guest is doing (query-status's RunState). */
export interface VmState {
  status: InstanceStatus;
  pid?: number;
  runState?: string;
}

/**
 * QEMU's RunState as a GCE status. Anything not listed (internal-error, io-error, guest-panicked...) is a process
 * whose guest does not run and will not by itself: TERMINATED, and start replaces the process.
 */
const RUN_STATES: Readonly<Record<string, InstanceStatus>> = {
  running: 'RUNNING',
  paused: 'SUSPENDED',
  suspended: 'SUSPENDED',
  debug: 'SUSPENDED',
  prelaunch: 'STAGING',
  inmigrate: 'STAGING',
  'restore-vm': 'STAGING',
  shutdown: 'STOPPING',
};

export function statusOfRunState(runState: string): InstanceStatus {
  return RUN_STATES[runState] ?? 'TERMINATED';
}

/**
 * A monitor that hangs up belongs, nearly always, to a QEMU on its way out (killed by a delete, or its guest powered
 * off) whose process has not quite gone: it is looked at again, this many times this far apart, before that is an error.
 */
export const HANG_UP_LOOKS = 10;
export const HANG_UP_PAUSE_MS = 100;

function hungUp(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return error instanceof QmpConnectionClosedError || code === 'ECONNRESET' || code === 'EPIPE';
}

/** Built from the pid file, the process and QMP each time; nothing of it is remembered. */
export async function observeVm(files: InstanceFiles, label: string): Promise<VmState> {
  for (let look = 1; ; look++) {
    const pid = await livePid(files, label);
    if (pid === undefined) return { status: 'TERMINATED' };
    try {
      await access(files.qmp);
    } catch {
      return { status: 'STAGING', pid }; // QEMU has written its pid but not yet opened its monitor
    }
    try {
      const answer = await withQmp(files.qmp, QMP_TIMEOUT_MS, (qmp) => qmp.execute<{ status: string }>('query-status'));
      return { status: statusOfRunState(answer.status), pid, runState: answer.status };
    } catch (error) {
      if ((await livePid(files, label)) === undefined) return { status: 'TERMINATED' };
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED' || code === 'ENOENT') return { status: 'STAGING', pid };
      if (hungUp(error) && look < HANG_UP_LOOKS) {
        await sleep(HANG_UP_PAUSE_MS);
        continue;
      }
      throw new Error(`VM ${label} runs (pid ${pid}) but its QMP monitor does not answer: ${(error as Error).message}`, { cause: error });
    }
  }
}
