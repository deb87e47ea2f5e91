import type { InstanceStatus } from '@gale/client';

/*
 * Which power buttons an instance's status allows, and why the others are not: the server's rules
 * (src/domain/power.ts), said to the user before they click. The server still decides; its 409 is shown if it refuses.
 */

export type PowerAction = 'start' | 'stop' | 'restart' | 'suspend' | 'resume';
export const POWER_ACTIONS: PowerAction[] = ['start', 'stop', 'restart', 'suspend', 'resume'];

const BUSY = new Set(['PROVISIONING', 'STOPPING', 'SUSPENDING']);

/** undefined when the action is allowed; otherwise the reason it is not. */
export function refusal(action: PowerAction, status: InstanceStatus): string | undefined {
  if (BUSY.has(status)) return `not while ${status}: wait for the operation in progress`;
  switch (action) {
    case 'start':
      return status === 'RUNNING' || status === 'STAGING' ? `already ${status}` : undefined;
    case 'stop':
      return status === 'TERMINATED' ? 'already stopped' : undefined;
    case 'restart':
      return status === 'RUNNING' || status === 'STAGING' ? undefined : 'start it first';
    case 'suspend':
      return status === 'RUNNING' ? undefined : 'only a RUNNING instance can be suspended';
    case 'resume':
      return status === 'SUSPENDED' ? undefined : 'only a SUSPENDED instance can be resumed';
  }
}

export const LABELS: Record<PowerAction, string> = { start: 'Start', stop: 'Stop', restart: 'Restart', suspend: 'Suspend', resume: 'Resume' };

/** vCPUs of a machine type, read from its GCE name: e2 shared-core types have 2, others end in their count. */
export function vcpusOf(machineType: string): number | undefined {
  const name = machineType.split('/').pop() ?? machineType;
  if (/^e2-(micro|small|medium)$/.test(name)) return 2;
  const match = /-(\d+)$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

export function age(createdAt: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(createdAt)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

export function shortMachineType(machineType: string): string {
  return machineType.split('/').pop() ?? machineType;
}
