import type { Tiers } from '../domain/tiers.js';

export const DEFAULT_TIERS: Tiers = {
  free: { name: 'free', requestsPerMinute: 60, maxInstances: 1, maxVcpus: 2, maxDiskGb: 50 },
  pro: { name: 'pro', requestsPerMinute: 600, maxInstances: 3, maxVcpus: 8, maxDiskGb: 200 },
  enterprise: { name: 'enterprise', requestsPerMinute: 6000, maxInstances: 50, maxVcpus: 200, maxDiskGb: 5000 },
};

export const DEFAULT_TIER = 'free';
