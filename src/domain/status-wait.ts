import type { DesiredPower, InstanceStatus } from './instance.js';

/*
 * Whether an instance will come to a status without anyone asking for anything more: what GET /instances/{id}/wait
 * decides on every change of the instance. The reconciler drives an instance from its status toward what was last
 * asked (desired); the statuses on that way are the ones still to come. A status off the way (RUNNING on an instance
 * being stopped, PROVISIONING once it is up) cannot be reached without a new request, and the wait says so at once.
 * A provider may go past a transitional status too fast to be seen; once the instance has arrived, a status it was
 * waited for and did not show is as unreachable as one off the way.
 */

/** The statuses an instance passes through from a status toward each settled one, in order. */
const WAY: Record<DesiredPower, Partial<Record<InstanceStatus, readonly InstanceStatus[]>>> = {
  RUNNING: {
    PROVISIONING: ['STAGING', 'RUNNING'],
    STAGING: ['RUNNING'],
    RUNNING: [],
    STOPPING: ['TERMINATED', 'STAGING', 'RUNNING'],
    TERMINATED: ['STAGING', 'RUNNING'],
    SUSPENDING: ['SUSPENDED', 'STAGING', 'RUNNING'],
    SUSPENDED: ['STAGING', 'RUNNING'],
  },
  TERMINATED: {
    PROVISIONING: ['STAGING', 'RUNNING', 'STOPPING', 'TERMINATED'],
    STAGING: ['RUNNING', 'STOPPING', 'TERMINATED'],
    RUNNING: ['STOPPING', 'TERMINATED'],
    STOPPING: ['TERMINATED'],
    TERMINATED: [],
    SUSPENDING: ['SUSPENDED', 'STOPPING', 'TERMINATED'],
    SUSPENDED: ['STOPPING', 'TERMINATED'],
  },
  SUSPENDED: {
    PROVISIONING: ['STAGING', 'RUNNING', 'SUSPENDING', 'SUSPENDED'],
    STAGING: ['RUNNING', 'SUSPENDING', 'SUSPENDED'],
    RUNNING: ['SUSPENDING', 'SUSPENDED'],
    SUSPENDING: ['SUSPENDED'],
    SUSPENDED: [],
    STOPPING: ['TERMINATED', 'STAGING', 'RUNNING', 'SUSPENDING', 'SUSPENDED'],
    TERMINATED: ['STAGING', 'RUNNING', 'SUSPENDING', 'SUSPENDED'],
  },
};

export type StatusWait = { kind: 'reached' } | { kind: 'waiting' } | { kind: 'unreachable'; reason: string };

/** What a wait for `wanted` makes of an instance as it is now. */
export function judgeStatusWait(instance: { id: string; status: InstanceStatus; desired: DesiredPower }, wanted: InstanceStatus): StatusWait {
  const { id, status, desired } = instance;
  if (status === wanted) return { kind: 'reached' };
  const ahead = WAY[desired][status] ?? [desired];
  if (ahead.includes(wanted)) return { kind: 'waiting' };
  const heading = status === desired ? `is ${status}` : `is ${status}, on its way to ${desired}`;
  return { kind: 'unreachable', reason: `instance ${id} ${heading}: it will not be ${wanted} without a new request` };
}
