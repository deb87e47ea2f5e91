import { Type, type Static } from '@sinclair/typebox';
import { OPERATION_KINDS, OPERATION_STATUSES, type OperationStatus } from '../domain/instance.js';
import { TimeoutQuerySchema } from './wait.js';

/** An accepted change, as GCE answers every mutation with an Operation that can be looked up until it is done. */

export { OPERATION_STATUSES, type OperationStatus };

export const OPERATION_EXAMPLE = {
  id: '0192f3a4-5b6c-7d8e-9f01-23456789abcd',
  kind: 'stop',
  instanceId: 'tw-550e84-a1b2c3d4',
  userId: '550e8400-e29b-41d4-a716-446655440000',
  requestedBy: '550e8400-e29b-41d4-a716-446655440000',
  status: 'PENDING',
  createdAt: '2024-01-01T00:00:00Z',
} as const;

export const OperationSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', description: 'Operation identifier' }),
    kind: Type.Unsafe<(typeof OPERATION_KINDS)[number]>({ type: 'string', enum: [...OPERATION_KINDS], description: 'What was asked for' }),
    instanceId: Type.String({ description: 'The instance it acts on', examples: ['tw-550e84-a1b2c3d4'] }),
    userId: Type.String({ format: 'uuid', description: "The instance's owner" }),
    requestedBy: Type.String({ format: 'uuid', description: "Who asked for it: the owner, or a compute admin acting on the owner's instance" }),
    status: Type.Unsafe<OperationStatus>({
      type: 'string',
      enum: [...OPERATION_STATUSES],
      description: 'PENDING (accepted, waiting), RUNNING (being carried out), DONE, or FAILED (see error)',
    }),
    createdAt: Type.String({ format: 'date-time', description: 'When it was accepted, RFC 3339 UTC' }),
    startedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When it began to be carried out; absent while PENDING' })),
    finishedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When it ended, DONE or FAILED; absent before' })),
    error: Type.Optional(
      Type.Object(
        { message: Type.String({ description: 'Why it failed' }) },
        { additionalProperties: false, description: 'Present when FAILED' },
      ),
    ),
  },
  { $id: 'Operation', additionalProperties: false, description: 'An accepted change and how far it has got', examples: [OPERATION_EXAMPLE] },
);
export type OperationView = Static<typeof OperationSchema>;

export const OperationIdParamsSchema = Type.Object({
  id: Type.String({ maxLength: 64, description: 'Operation identifier', examples: [OPERATION_EXAMPLE.id] }),
});

export const OPERATION_LIST_DEFAULT_PAGE_SIZE = 50;
export const OPERATION_LIST_MAX_PAGE_SIZE = 500;

export const OperationListQuerySchema = Type.Object(
  {
    instanceId: Type.Optional(Type.String({ maxLength: 256, description: 'Only operations on this instance', examples: ['tw-550e84-a1b2c3d4'] })),
    status: Type.Optional(Type.String({ maxLength: 16, description: `Only operations with this status, in any letter case: ${OPERATION_STATUSES.join(', ')}`, examples: ['RUNNING'] })),
    pageSize: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 999_999_999,
        description: `Operations a page (default ${OPERATION_LIST_DEFAULT_PAGE_SIZE}); values over ${OPERATION_LIST_MAX_PAGE_SIZE} are clamped to it`,
      }),
    ),
    pageToken: Type.Optional(Type.String({ maxLength: 512, description: 'The nextPageToken of the previous page' })),
  },
  { additionalProperties: false },
);
export type OperationListQuery = Static<typeof OperationListQuerySchema>;

export const OperationListSchema = Type.Object(
  {
    operations: Type.Array(Type.Ref('Operation'), { description: 'This page of them, newest first' }),
    nextPageToken: Type.Optional(Type.String({ description: 'Send it as pageToken for the next page; absent on the last page' })),
  },
  { $id: 'OperationList', additionalProperties: false, description: "A page of the caller's operations", examples: [{ operations: [OPERATION_EXAMPLE] }] },
);

export const OperationWaitQuerySchema = Type.Object({ timeout: Type.Optional(TimeoutQuerySchema) }, { additionalProperties: false });
