import { Type, type Static } from '@sinclair/typebox';
import { INSTANCE_STATUSES, type InstanceStatus } from '../domain/instance.js';

/*
 * Wire schemas: the one source for request validation, response serialisation, the OpenAPI
 * document and the typed client. Field names and casing are exactly the spec's.
 */

export const INSTANCE_EXAMPLE = {
  id: 'tw-550e84-a1b2c3d4',
  userId: '550e8400-e29b-41d4-a716-446655440000',
  customerId: '',
  name: 'tw-550e84-a1b2c3d4',
  zone: 'us-central1-a',
  machineType: 'zones/us-central1-a/machineTypes/n1-standard-2',
  externalIp: '34.120.1.100',
  internalIp: '10.128.0.5',
  status: 'RUNNING',
  templateId: 'ubuntu-22-standard',
  createdAt: '2024-01-01T00:00:00Z',
} as const;

export const InstanceStatusSchema = Type.Unsafe<InstanceStatus>({
  type: 'string',
  enum: [...INSTANCE_STATUSES],
  description:
    "GCE's statuses: PROVISIONING (being created), STAGING (being started), RUNNING, STOPPING (shutting down), " +
    'TERMINATED (stopped), SUSPENDED (paused). Clients must tolerate values they do not know.',
});

export const InstanceSchema = Type.Object(
  {
    id: Type.String({ description: 'Instance unique identifier: tw-<6 hex digits of the owner id>-<8 random hex digits>', examples: ['tw-550e84-a1b2c3d4'] }),
    userId: Type.String({ format: 'uuid', description: 'Owner user identifier' }),
    customerId: Type.String({ description: "The owner's customer (organisation); empty when the owner belongs to none" }),
    name: Type.String({ description: 'Instance name (auto-generated, equal to id)' }),
    zone: Type.String({ description: 'Zone where the instance is deployed', examples: ['us-central1-a'] }),
    machineType: Type.String({ description: 'Machine type, as a zonal path', examples: ['zones/us-central1-a/machineTypes/n1-standard-2'] }),
    externalIp: Type.String({ description: 'External IP address (empty until running)' }),
    internalIp: Type.String({ description: 'Internal IP address (empty until running)' }),
    status: InstanceStatusSchema,
    templateId: Type.String({ description: 'Template the instance was created from', examples: ['ubuntu-22-standard'] }),
    createdAt: Type.String({ format: 'date-time', description: 'Creation time, RFC 3339 UTC', examples: ['2024-01-01T00:00:00Z'] }),
  },
  { $id: 'Instance', additionalProperties: false, description: 'A compute instance', examples: [INSTANCE_EXAMPLE] },
);
export type InstanceView = Static<typeof InstanceSchema>;

const templateIdField = (spelling: string) =>
  Type.String({ minLength: 1, maxLength: 128, description: `Template identifier (spelled ${spelling}; template_id, templateID and templateId are one field)`, examples: ['ubuntu-22-standard'] });

/** Three spellings are in use by the family's clients; all are accepted, one is required. Unknown fields are ignored. */
export const CreateInstanceBodySchema = Type.Object(
  {
    template_id: Type.Optional(templateIdField('as the documentation does')),
    templateID: Type.Optional(templateIdField("as the family's Go SDK does")),
    templateId: Type.Optional(templateIdField('as responses do')),
    zone: Type.Optional(
      Type.String({
        maxLength: 128,
        description: "Zone for the instance, one of the template's zones (GET /templates/{templateID}/zones). Absent or empty: {region}-a of the template's region",
        examples: ['us-central1-a'],
      }),
    ),
  },
  {
    $id: 'CreateInstanceRequest',
    description: 'What to create: a template, and optionally a zone',
    anyOf: [{ required: ['template_id'] }, { required: ['templateID'] }, { required: ['templateId'] }],
    examples: [{ template_id: 'ubuntu-22-standard', zone: 'us-central1-a' }],
  },
);
export type CreateInstanceBody = Static<typeof CreateInstanceBodySchema>;

export const InstanceIdParamsSchema = Type.Object({
  id: Type.String({ maxLength: 256, description: 'Instance identifier', examples: ['tw-550e84-a1b2c3d4'] }),
});

export const InstanceListSchema = Type.Array(Type.Ref('Instance'), { description: "The caller's instances, newest first" });

/** Status filters take any case, as the family's clients send them (`running`); the document lists the two usual ones. */
export const StatusFilterSchema = Type.String({
  maxLength: 32,
  description: `Only instances with this status, in any letter case: ${INSTANCE_STATUSES.join(', ')}`,
  examples: ['RUNNING', 'running'],
});

export const ADMIN_LIST_DEFAULT_PAGE_SIZE = 20;
export const ADMIN_LIST_MAX_PAGE_SIZE = 100;
const MAX_PAGE_NUMBER = 999_999_999;

export const AdminListQuerySchema = Type.Object(
  {
    // No `default` keyword: validation would fill it in, and a pageToken could never be told from a page number.
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_NUMBER, description: 'Page number, from 1 (default 1)' })),
    pageSize: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_PAGE_NUMBER,
        // No `default` keyword: validation would fill it in and hide a `limit` sent instead.
        description: `Instances a page (default ${ADMIN_LIST_DEFAULT_PAGE_SIZE}); values over ${ADMIN_LIST_MAX_PAGE_SIZE} are clamped to ${ADMIN_LIST_MAX_PAGE_SIZE}, as GCE clamps maxResults`,
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_NUMBER, description: 'Synonym of pageSize (the Go SDK sends it)' })),
    userID: Type.Optional(Type.String({ maxLength: 64, description: 'Only instances of this user', examples: ['550e8400-e29b-41d4-a716-446655440000'] })),
    customerID: Type.Optional(Type.String({ maxLength: 64, description: 'Only instances of users of this customer (organisation)' })),
    status: Type.Optional(StatusFilterSchema),
    zone: Type.Optional(Type.String({ maxLength: 128, description: 'Only instances in this zone', examples: ['us-central1-a'] })),
    templateID: Type.Optional(Type.String({ maxLength: 128, description: 'Only instances made from this template', examples: ['ubuntu-22-standard'] })),
    pageToken: Type.Optional(
      Type.String({ maxLength: 512, description: 'The nextPageToken of the previous page: walks every page at the same cost per page, however deep (instead of page)' }),
    ),
  },
  // An unknown parameter is refused: a filter this server does not know must never widen a result to everyone's.
  { additionalProperties: false },
);
export type AdminListQuery = Static<typeof AdminListQuerySchema>;

export const AdminListSchema = Type.Object(
  {
    pages: Type.Integer({ minimum: 0, description: 'Number of pages at this page size' }),
    items: Type.Integer({ minimum: 0, description: 'Total number of matching instances (when paging by pageToken: as counted for the first page)' }),
    instances: Type.Array(Type.Ref('Instance'), { description: 'This page of them, newest first' }),
    nextPageToken: Type.Optional(Type.String({ description: 'Send it as pageToken (with the same filters) for the next page; absent on the last page' })),
  },
  { $id: 'AdminInstanceList', additionalProperties: false, description: 'One page of every user\'s instances', examples: [{ pages: 1, items: 1, instances: [INSTANCE_EXAMPLE] }] },
);
export type AdminList = Static<typeof AdminListSchema>;
