import { Type, type Static } from '@sinclair/typebox';

const LimitSchema = Type.Object({
  limit: Type.Integer(),
  usage: Type.Integer(),
  remaining: Type.Integer(),
});

export const QuotasSchema = Type.Object(
  {
    tier: Type.String(),
    requestsPerMinute: Type.Integer(),
    quotas: Type.Object({ instances: LimitSchema, vcpus: LimitSchema, diskGb: LimitSchema }),
  },
  { $id: 'Quotas' },
);
export type QuotasView = Static<typeof QuotasSchema>;
