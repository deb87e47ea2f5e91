import { Type } from '@sinclair/typebox';
import {
  OPERATION_LIST_DEFAULT_PAGE_SIZE,
  OPERATION_LIST_MAX_PAGE_SIZE,
  OperationIdParamsSchema,
  OperationListQuerySchema,
  type OperationView,
} from '../../contracts/operation.js';
import { invalidRequest, notFound } from '../../domain/errors.js';
import { OPERATION_STATUSES, type OperationStatus } from '../../domain/instance.js';
import type { OperationFilter } from '../../domain/store.js';
import { decodePageToken, encodePageToken } from '../page-tokens.js';
import { principalOf } from '../services.js';
import { operationView } from '../views.js';
import { defineRoute } from './route.js';

export const getOperation = defineRoute(
  {
    path: '/operations/:id',
    scope: 'user',
    operationId: 'getOperation',
    summary: 'Get an operation with its current status',
    description:
      'An accepted change (the Location of a 202, or the x-operation-id of a delete) as it stands now: PENDING, RUNNING, ' +
      "DONE, or FAILED with the reason. Its instance's owner and compute admins may read it.",
    tags: ['operations'],
    method: 'GET',
    params: OperationIdParamsSchema,
    success: { status: 200, description: 'The operation', schema: Type.Ref('Operation') },
    errors: { 404: 'No such operation, or it is about another user\'s instance (the two answers are the same)' },
  },
  ({ services }) =>
    async (request) => {
      const { user, isAdmin } = principalOf(request);
      const operation = await services.store.getOperation(request.params.id);
      if (!operation || (!isAdmin && operation.userId !== user.id)) throw notFound(`operation ${request.params.id} not found`);
      return operationView(operation);
    },
);

const isOperationCursor = (value: unknown): value is { before: string } =>
  typeof value === 'object' && value !== null && typeof (value as { before?: unknown }).before === 'string';

export const listOperations = defineRoute(
  {
    path: '/operations',
    scope: 'user',
    operationId: 'listOperations',
    summary: "List the caller's operations",
    description:
      "The caller's operations on their instances, newest first, filtered by instanceId and status (any case); a page at a time, " +
      'the next one asked for with the nextPageToken of the last. Finished operations are kept for retention.operationsMs (7 days).',
    tags: ['operations'],
    method: 'GET',
    querystring: OperationListQuerySchema,
    success: { status: 200, description: 'A page of operations', schema: Type.Ref('OperationList') },
    errors: { 400: 'An unknown status, a pageToken that is not one this server gave (or was given for other filters), or an unknown query parameter' },
  },
  ({ services }) =>
    async (request) => {
      const { user } = principalOf(request);
      const { instanceId, pageToken } = request.query;
      const filter: OperationFilter = { userId: user.id };
      if (instanceId) filter.instanceId = instanceId;
      if (request.query.status) filter.status = operationStatusFilter(request.query.status);
      const pageSize = Math.min(request.query.pageSize ?? OPERATION_LIST_DEFAULT_PAGE_SIZE, OPERATION_LIST_MAX_PAGE_SIZE);
      const before = pageToken ? decodePageToken(pageToken, filter, isOperationCursor).before : undefined;
      // One more than the page: whether there is a next page is known without a count.
      const found = await services.store.listUserOperations(filter, before, pageSize + 1);
      const page = found.slice(0, pageSize);
      const answer: { operations: OperationView[]; nextPageToken?: string } = { operations: page.map(operationView) };
      if (found.length > pageSize) answer.nextPageToken = encodePageToken({ before: page.at(-1)!.id }, filter);
      return answer;
    },
);

function operationStatusFilter(given: string): OperationStatus {
  const status = given.toUpperCase();
  if (!(OPERATION_STATUSES as readonly string[]).includes(status)) throw invalidRequest(`status must be one of ${OPERATION_STATUSES.join(', ')} (any case)`);
  return status as OperationStatus;
}
