import { conflict } from './errors.js';
import type { DesiredPower, InstanceRecord, InstanceStatus, PowerOperation } from './instance.js';

/** What an accepted power operation changes on the instance, applied in the same transaction that read it. */
export interface PowerChange {
  desired: DesiredPower;
  /** The status shown at once, so that a client polling after a 202 sees its request under way. */
  status: InstanceStatus;
  requestReset: boolean;
}

export type PowerPlan = { kind: 'noop' } | { kind: 'change'; change: PowerChange };

const BUSY: ReadonlySet<InstanceStatus> = new Set(['PROVISIONING', 'STOPPING']);

/**
 * The power state machine of the API. It decides from the stored state only; the provider is never asked here.
 * - start on RUNNING/STAGING and stop on TERMINATED are accepted no-ops (GCE behaves so);
 * - restart and reset are one hard reset and need the machine up (RUNNING or STAGING);
 * - nothing is accepted while the instance is being provisioned or stopped: the caller retries.
 */
export function planPowerOperation(
  instance: Pick<InstanceRecord, 'id' | 'status' | 'desired'>,
  operation: PowerOperation,
): PowerPlan {
  const { status } = instance;
  if (BUSY.has(status)) {
    throw conflict(`cannot ${operation} instance ${instance.id} while it is ${status}; retry when the operation in progress has finished`);
  }
  switch (operation) {
    case 'start':
      if ((status === 'RUNNING' || status === 'STAGING') && instance.desired === 'RUNNING') return { kind: 'noop' };
      return { kind: 'change', change: { desired: 'RUNNING', status: 'STAGING', requestReset: false } };
    case 'stop':
      if (status === 'TERMINATED' && instance.desired === 'TERMINATED') return { kind: 'noop' };
      if (status === 'TERMINATED') return { kind: 'change', change: { desired: 'TERMINATED', status, requestReset: false } };
      return { kind: 'change', change: { desired: 'TERMINATED', status: 'STOPPING', requestReset: false } };
    case 'restart':
    case 'reset':
      if (status !== 'RUNNING' && status !== 'STAGING') {
        throw conflict(`cannot ${operation} instance ${instance.id} while it is ${status}; start it first`);
      }
      return { kind: 'change', change: { desired: 'RUNNING', status, requestReset: true } };
  }
}
