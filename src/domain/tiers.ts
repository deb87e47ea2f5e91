export interface Tier {
  name: string;
  /** Size of the per-user request allowance that refills every minute. */
  requestsPerMinute: number;
  maxInstances: number;
  maxVcpus: number;
  maxDiskGb: number;
}

export type Tiers = Record<string, Tier>;

export interface Usage {
  instances: number;
  vcpus: number;
  diskGb: number;
}

export interface InstanceCost {
  vcpus: number;
  diskGb: number;
}

/**
 * Returns the message of the first limit a new instance would break, or undefined when it fits.
 * Pure: the caller runs it inside the same transaction that read the usage, which is what makes it atomic.
 */
export function quotaViolation(tier: Tier, usage: Usage, cost: InstanceCost): string | undefined {
  const checks: Array<[string, number, number, number]> = [
    ['instances', usage.instances, 1, tier.maxInstances],
    ['vcpus', usage.vcpus, cost.vcpus, tier.maxVcpus],
    ['disk_gb', usage.diskGb, cost.diskGb, tier.maxDiskGb],
  ];
  for (const [name, used, extra, limit] of checks) {
    if (used + extra <= limit) continue;
    const needs = extra === 1 && name === 'instances' ? '' : `, this instance needs ${extra}`;
    return `quota exceeded: ${name} ${used}/${limit}${needs} (tier ${tier.name})`;
  }
  return undefined;
}
