import { access } from 'node:fs/promises';
import type { InstanceStatus } from '../../domain/instance.js';
import type { InstanceFiles } from './instance-files.js';
import { withQmp } from './qmp-client.js';
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

/** Built from the pid file, the process and QMP each time; nothing of it is remembered. */
export async function observeVm(files: InstanceFiles, label: string): Promise<VmState> {
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
    throw new Error(`VM ${label} runs (pid ${pid}) but its QMP monitor does not answer: ${(error as Error).message}`, { cause: error });
  }
}
