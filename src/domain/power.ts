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

/** Statuses no power operation is accepted in: a transition of the machine itself is under way. */
const BUSY: ReadonlySet<InstanceStatus> = new Set(['PROVISIONING', 'STOPPING', 'SUSPENDING']);

/**
 * The power state machine of the API. It decides from the stored state only; the provider is never asked here.
 * - start on RUNNING/STAGING and stop on TERMINATED are accepted no-ops (GCE behaves so); so are suspend on SUSPENDED
 *   and resume on RUNNING;
 * - restart and reset are one hard reset and need the machine up (RUNNING or STAGING);
 * - suspend needs it RUNNING; resume, and start, bring a SUSPENDED machine back (the same boot);
 * - nothing is accepted while the instance is being provisioned, stopped or suspended: the caller retries.
 * canSuspend says whether the instance's backend can suspend at all; when it cannot, suspend answers 409 saying so.
 */
export function planPowerOperation(
  instance: Pick<InstanceRecord, 'id' | 'status' | 'desired'>,
  operation: PowerOperation,
  canSuspend = true,
): PowerPlan {
  const { status } = instance;
  if (BUSY.has(status)) {
    throw conflict(`cannot ${operation} instance ${instance.id} while it is ${status}; retry when the operation in progress has finished`);
  }
  const change = (desired: DesiredPower, shown: InstanceStatus, requestReset = false): PowerPlan => ({ kind: 'change', change: { desired, status: shown, requestReset } });
  switch (operation) {
    case 'start':
      if ((status === 'RUNNING' || status === 'STAGING') && instance.desired === 'RUNNING') return { kind: 'noop' };
      return change('RUNNING', 'STAGING');
    case 'stop':
      if (status === 'TERMINATED' && instance.desired === 'TERMINATED') return { kind: 'noop' };
      if (status === 'TERMINATED') return change('TERMINATED', status);
      return change('TERMINATED', 'STOPPING');
    case 'restart':
    case 'reset':
      if (status !== 'RUNNING' && status !== 'STAGING') {
        throw conflict(`cannot ${operation} instance ${instance.id} while it is ${status}; start it first`);
      }
      return change('RUNNING', status, true);
    case 'suspend':
      if (!canSuspend) throw conflict(`cannot suspend instance ${instance.id}: its backend cannot suspend machines; stop it instead`);
      if (status === 'SUSPENDED' && instance.desired === 'SUSPENDED') return { kind: 'noop' };
      if (status !== 'RUNNING') throw conflict(`cannot suspend instance ${instance.id} while it is ${status}; only a RUNNING instance can be suspended`);
      return change('SUSPENDED', 'SUSPENDING');
    case 'resume':
      if ((status === 'RUNNING' || status === 'STAGING') && instance.desired === 'RUNNING') return { kind: 'noop' };
      if (status !== 'SUSPENDED') throw conflict(`cannot resume instance ${instance.id} while it is ${status}; only a SUSPENDED instance can be resumed`);
      return change('RUNNING', 'STAGING');
  }
}
