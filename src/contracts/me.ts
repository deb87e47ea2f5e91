import { Type, type Static } from '@sinclair/typebox';
import { AccountUserSchema } from './account.js';

/*
 * GET /me: who the caller is and what their tier allows, so that a client (the web console) can tell a compute admin
 * from a user without trying an admin route. The user's fields are said as the account routes say them; the limits
 * are named as GET /quotas names them.
 */

const { id, email, tier, roles, customerId } = AccountUserSchema.properties;
const limit = (description: string) => Type.Integer({ minimum: 0, description });

export const MeSchema = Type.Object(
  {
    id,
    email,
    tier,
    roles,
    customerId,
    limits: Type.Object(
      {
        requestsPerMinute: Type.Integer({ minimum: 1, description: 'Requests a minute the tier allows' }),
        instances: limit('Instances'),
        vcpus: limit('vCPUs of their machine types'),
        diskGb: limit("GB of their templates' disks"),
      },
      { additionalProperties: false, description: "The tier's limits; GET /quotas says how much of each is used" },
    ),
  },
  {
    $id: 'Me',
    additionalProperties: false,
    description: 'The caller: their user, roles and customer, and the limits of their tier',
    examples: [
      {
        id: '550e8400-e29b-41d4-a716-446655440000',
        email: 'dev@example.com',
        tier: 'pro',
        roles: [],
        customerId: '',
        limits: { requestsPerMinute: 600, instances: 3, vcpus: 8, diskGb: 200 },
      },
    ],
  },
);
export type MeView = Static<typeof MeSchema>;
