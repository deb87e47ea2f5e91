import { Type, type Static } from '@sinclair/typebox';

/*
 * Wire schemas: the one source for request validation, response serialisation, the OpenAPI
 * document and the typed client. Field names and casing are exactly the spec's.
 */

export const InstanceSchema = Type.Object(
  {
    id: Type.String({ description: 'Instance unique identifier', examples: ['tw-550e84-a1b2c3d4'] }),
    userId: Type.String({ format: 'uuid', description: 'Owner user identifier' }),
    name: Type.String({ description: 'Instance name (auto-generated, equal to id)' }),
    zone: Type.String({ description: 'Zone where the instance is deployed', examples: ['us-central1-a'] }),
    machineType: Type.String({ examples: ['zones/us-central1-a/machineTypes/n1-standard-2'] }),
    externalIp: Type.String({ description: 'External IP address (empty until running)' }),
    internalIp: Type.String({ description: 'Internal IP address (empty until running)' }),
    status: Type.String({
      description: 'PROVISIONING, STAGING, RUNNING, STOPPING, TERMINATED or SUSPENDED; clients must tolerate others',
    }),
    templateId: Type.String(),
    createdAt: Type.String({ description: 'RFC 3339 UTC creation time', examples: ['2024-01-01T00:00:00Z'] }),
  },
  { $id: 'Instance', additionalProperties: false },
);
export type InstanceView = Static<typeof InstanceSchema>;

/** Three spellings are in use by the family's clients; all are accepted. Unknown fields are ignored. */
export const CreateInstanceBodySchema = Type.Object(
  {
    template_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    templateID: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    templateId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    zone: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { $id: 'CreateInstanceRequest' },
);
export type CreateInstanceBody = Static<typeof CreateInstanceBodySchema>;

export const InstanceIdParamsSchema = Type.Object({ id: Type.String({ maxLength: 256 }) });

export const InstanceListSchema = Type.Array(Type.Ref('Instance'));

export const AdminListQuerySchema = Type.Object({
  page: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'Page number, from 1 (default 1)' })),
  pageSize: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'Items a page, 1-100 (default 20)' })),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'Synonym of pageSize' })),
  userID: Type.Optional(Type.String({ maxLength: 64 })),
  status: Type.Optional(Type.String({ maxLength: 32 })),
  zone: Type.Optional(Type.String({ maxLength: 128 })),
  templateID: Type.Optional(Type.String({ maxLength: 128 })),
});
export type AdminListQuery = Static<typeof AdminListQuerySchema>;

export const AdminListSchema = Type.Object({
  pages: Type.Integer(),
  items: Type.Integer({ description: 'Total number of matching instances' }),
  instances: Type.Array(Type.Ref('Instance')),
});
