import type { DesiredPower } from './instance.js';
import type { Observation } from './provider.js';

export type ReconcileAction = 'create' | 'start' | 'stop' | 'reset' | 'delete' | 'wait' | 'done';

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
      return 'wait';
    case 'RUNNING':
      if (intent.desired === 'TERMINATED') return 'stop';
      return intent.resetPending ? 'reset' : 'done';
    case 'SUSPENDED':
      return intent.desired === 'RUNNING' ? 'start' : 'stop';
    case 'TERMINATED':
      return intent.desired === 'RUNNING' ? 'start' : 'done';
  }
}
