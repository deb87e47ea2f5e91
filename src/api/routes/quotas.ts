import { Type } from '@sinclair/typebox';
import type { QuotasView } from '../../contracts/quota.js';
import { principalOf, tierOf, type ApiServices, type GaleApp } from '../services.js';
import { AUTHENTICATED_ERRORS, SECURITY, errorResponses } from './shared-schemas.js';

const line = (limit: number, usage: number) => ({ limit, usage, remaining: Math.max(0, limit - usage) });

export function registerGetQuotas(app: GaleApp, services: ApiServices): void {
  app.get(
    '/quotas',
    {
      config: { access: 'user' },
      schema: {
        operationId: 'getQuotas',
        summary: "The caller's tier, and each quota's limit, usage and remaining",
        tags: ['quotas'],
        security: SECURITY,
        response: { 200: Type.Ref('Quotas'), ...errorResponses(...AUTHENTICATED_ERRORS) },
      },
    },
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
}
