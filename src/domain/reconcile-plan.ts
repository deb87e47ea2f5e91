import type { DesiredPower } from './instance.js';
import type { Observation } from './provider.js';

export type ReconcileAction = 'create' | 'start' | 'stop' | 'reset' | 'suspend' | 'resume' | 'delete' | 'wait' | 'done';

export interface Intent {
  deleted: boolean;
  desired: DesiredPower;
  resetPending: boolean;
}

/**
 * Level-triggered: given what the user wants and what the provider shows now, the next single step.
 * The reconciler calls it again after every step with a fresh observation, so a crash between
 * steps costs nothing: the next run starts from what it sees.
 */
export function nextAction(intent: Intent, observed: Observation | null): ReconcileAction {
  if (intent.deleted) return observed ? 'delete' : 'done';
  if (!observed) return intent.desired === 'RUNNING' ? 'create' : 'done';
  switch (observed.status) {
    case 'PROVISIONING':
    case 'STAGING':
    case 'STOPPING':
    case 'SUSPENDING':
      return 'wait';
    case 'RUNNING':
      if (intent.desired === 'TERMINATED') return 'stop';
      if (intent.desired === 'SUSPENDED') return 'suspend';
      return intent.resetPending ? 'reset' : 'done';
    case 'SUSPENDED':
      if (intent.desired === 'RUNNING') return 'resume';
      return intent.desired === 'TERMINATED' ? 'stop' : 'done';
    case 'TERMINATED':
      // A machine found stopped while a suspend was asked for has nothing left to suspend.
      return intent.desired === 'RUNNING' ? 'start' : 'done';
  }
}
