import { Type, type Static } from '@sinclair/typebox';

const LimitSchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 0, description: "The tier's limit" }),
    usage: Type.Integer({ minimum: 0, description: 'Used by existing instances, running or stopped' }),
    remaining: Type.Integer({ minimum: 0, description: 'limit - usage, never below 0' }),
  },
  { additionalProperties: false },
);

export const QuotasSchema = Type.Object(
  {
    tier: Type.String({ description: "The caller's subscription tier", examples: ['pro'] }),
    requestsPerMinute: Type.Integer({ minimum: 1, description: 'Requests a minute the tier allows' }),
    quotas: Type.Object(
      {
        instances: { ...LimitSchema, description: 'Instances' },
        vcpus: { ...LimitSchema, description: 'vCPUs of their machine types' },
        diskGb: { ...LimitSchema, description: "GB of their templates' disks" },
      },
      { additionalProperties: false, description: 'Each quota of the tier' },
    ),
  },
  {
    $id: 'Quotas',
    additionalProperties: false,
    description: "The caller's tier and quotas",
    examples: [
      {
        tier: 'pro',
        requestsPerMinute: 600,
        quotas: { instances: { limit: 3, usage: 1, remaining: 2 }, vcpus: { limit: 8, usage: 2, remaining: 6 }, diskGb: { limit: 200, usage: 50, remaining: 150 } },
      },
    ],
  },
);
export type QuotasView = Static<typeof QuotasSchema>;
