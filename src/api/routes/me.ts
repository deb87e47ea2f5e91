import { Type } from '@sinclair/typebox';
import { MeSchema, type MeView } from '../../contracts/me.js';
import { principalOf, tierOf } from '../services.js';
import { defineRoute } from './route.js';

export const getMe = defineRoute(
  {
    path: '/me',
    scope: 'user',
    operationId: 'getMe',
    summary: 'Get the caller: who they are, their roles and their tier',
    description:
      "The caller's user (id, email, tier, roles, customer) and the limits of their tier. The roles say whether the caller is a " +
      'compute admin (compute_admin), without trying an admin route.',
    tags: ['quotas'],
    method: 'GET',
    success: { status: 200, description: 'The caller', schema: Type.Ref('Me') },
    schemas: [MeSchema],
  },
  ({ services }) =>
    async (request): Promise<MeView> => {
      const { user } = principalOf(request);
      const tier = tierOf(services, user.tier);
      return {
        id: user.id,
        email: user.email,
        tier: tier.name,
        roles: [...user.roles],
        customerId: user.customerId,
        limits: { requestsPerMinute: tier.requestsPerMinute, instances: tier.maxInstances, vcpus: tier.maxVcpus, diskGb: tier.maxDiskGb },
      };
    },
);
