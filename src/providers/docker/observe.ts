import type Dockerode from 'dockerode';
import type { InstanceStatus } from '../../domain/instance.js';
import type { Observation } from '../../domain/provider.js';

/** Every container Gale makes carries these, so that orphans can be found and foreign containers left alone. */
export const LABELS = {
  instanceId: 'gale.instance-id',
  owner: 'gale.owner',
  installation: 'gale.installation',
  zone: 'gale.zone',
  template: 'gale.template',
} as const;

/** Deterministic, so a create retried after a crash finds the container the first attempt made. */
export function containerName(instanceId: string): string {
  return `gale-${instanceId}`;
}

/** Docker's container states to GCE's statuses; unknown states read as STAGING, a state that resolves itself. */
export function statusOf(dockerState: string): InstanceStatus {
  switch (dockerState) {
    case 'running':
      return 'RUNNING';
    case 'paused':
      return 'SUSPENDED';
    case 'restarting':
      return 'STAGING';
    case 'removing':
      return 'STOPPING';
    case 'created':
    case 'exited':
    case 'dead':
      return 'TERMINATED';
    default:
      return 'STAGING';
  }
}

type Networks = Record<string, { IPAddress?: string } | undefined> | undefined;

/**
 * The address on the configured network, or on whichever network has one (the default bridge when no
 * network is configured). Read only: Gale never connects to it.
 */
export function internalIpOf(networks: Networks, network: string | undefined): string {
  if (!networks) return '';
  if (network !== undefined) return networks[network]?.IPAddress ?? '';
  for (const settings of Object.values(networks)) {
    if (settings?.IPAddress) return settings.IPAddress;
  }
  return '';
}

/** Docker's zero time ("0001-01-01T00:00:00Z") means never started. */
export function startedAtOf(startedAt: string | undefined): number | undefined {
  if (!startedAt) return undefined;
  const ms = Date.parse(startedAt);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

export function isOurs(labels: Record<string, string> | null | undefined, installationId: string): boolean {
  return labels?.[LABELS.installation] === installationId && typeof labels[LABELS.instanceId] === 'string';
}

export function observeInspect(
  info: Dockerode.ContainerInspectInfo,
  network: string | undefined,
  publishHost: string,
): Observation {
  const observation: Observation = {
    status: statusOf(info.State.Status),
    internalIp: internalIpOf(info.NetworkSettings?.Networks, network),
    externalIp: publishHost,
  };
  const startedAt = startedAtOf(info.State.StartedAt);
  if (startedAt !== undefined) observation.startedAt = startedAt;
  return observation;
}

/** From a list entry; the list carries no start time, so startedAt is left out rather than guessed. */
export function observeSummary(info: Dockerode.ContainerInfo, network: string | undefined, publishHost: string): Observation {
  return {
    status: statusOf(info.State),
    internalIp: internalIpOf(info.NetworkSettings?.Networks, network),
    externalIp: publishHost,
  };
}
