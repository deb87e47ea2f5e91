import { isTransitional } from '../../domain/instance.js';
import type { Observation, OwnedMachine } from '../../domain/provider.js';
import type { SimulatedMachine } from './machines.js';

/**
 * A transitional status is persisted while a transition runs. If the process doing it died, the marker stays behind;
 * once it is older than a few transition times nobody is working on it any more. Such a machine is treated as powered
 * off (a half-made machine exists but never booted; a half-done boot or shutdown leaves it down), which is a state
 * every Provider method accepts, so the reconciler's next attempt simply completes the work.
 */
export function settle(machine: SimulatedMachine, now: number, staleAfterMs: number, inProgressHere: boolean): SimulatedMachine {
  if (!isTransitional(machine.status) || inProgressHere) return machine;
  if (now - machine.updatedAt < staleAfterMs) return machine;
  return { ...machine, status: 'TERMINATED', externalIp: '' };
}

export function toObservation(machine: SimulatedMachine): Observation {
  const observation: Observation = { status: machine.status, internalIp: machine.internalIp, externalIp: machine.externalIp };
  if (machine.startedAt !== null) observation.startedAt = machine.startedAt;
  return observation;
}

export function toOwnedMachine(machine: SimulatedMachine): OwnedMachine {
  return { instanceId: machine.instanceId, ...toObservation(machine) };
}
