import { Type } from '@sinclair/typebox';
import type { QuotasView } from '../../contracts/quota.js';
import { principalOf, tierOf } from '../services.js';
import { defineRoute } from './route.js';

const line = (limit: number, usage: number) => ({ limit, usage, remaining: Math.max(0, limit - usage) });

export const getQuotas = defineRoute(
  {
    path: '/quotas',
    scope: 'user',
    operationId: 'getQuotas',
    summary: "Get the caller's tier and quotas",
    description: 'Each quota of the tier with its limit, what existing instances (running or stopped) use of it, and what remains.',
    tags: ['quotas'],
    method: 'GET',
    success: { status: 200, description: 'The tier and its quotas', schema: Type.Ref('Quotas') },
  },
  ({ services }) =>
    async (request): Promise<QuotasView> => {
      const { user } = principalOf(request);
      const tier = tierOf(services, user.tier);
      const usage = await services.store.getUsage(user.id);
      return {
        tier: tier.name,
        requestsPerMinute: tier.requestsPerMinute,
        quotas: {
          instances: line(tier.maxInstances, usage.instances),
          vcpus: line(tier.maxVcpus, usage.vcpus),
          diskGb: line(tier.maxDiskGb, usage.diskGb),
        },
      };
    },
);
