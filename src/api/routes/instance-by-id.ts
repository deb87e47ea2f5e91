import { Type } from '@sinclair/typebox';
import { operationPath } from '../../contracts/api.js';
import { InstanceIdParamsSchema } from '../../contracts/instance.js';
import { instanceNotFound } from '../../domain/errors.js';
import type { Operation } from '../../domain/store.js';
import { principalOf } from '../services.js';
import { instanceView } from '../views.js';
import { defineRoute } from './route.js';
import { NOT_FOUND, ownerFor, requireId } from './scope.js';

export const getInstance = defineRoute(
  {
    path: '/:id',
    scope: 'twins',
    operationId: 'getInstance',
    summary: 'Get an instance with its live status',
    description: 'The instance as last observed on its backend: status and addresses are live, the rest is fixed at create.',
    tags: ['instances'],
    method: 'GET',
    params: InstanceIdParamsSchema,
    success: { status: 200, description: 'The instance', schema: Type.Ref('Instance') },
    errors: { 400: 'The instance id is empty or malformed', 404: NOT_FOUND.user },
    admin: { summary: "Get any user's instance", errors: { 404: NOT_FOUND.admin } },
  },
  ({ services, scope }) =>
    async (request) => {
      const id = requireId(request.params.id);
      const owner = ownerFor(scope, request);
      const record = await services.store.getInstanceSummary(id);
      // A foreign instance answers exactly like a missing one: its existence is not revealed.
      if (!record || (owner !== undefined && record.userId !== owner)) throw instanceNotFound(id);
      return instanceView(record);
    },
);

export const deleteInstance = defineRoute(
  {
    path: '/:id',
    scope: 'twins',
    operationId: 'deleteInstance',
    summary: 'Delete an instance',
    description:
      'Gone from the API at once (204, no body); its machine is torn down in the background. x-operation-id and Location name ' +
      'the delete operation, which can be looked up until it is DONE.',
    tags: ['instances'],
    method: 'DELETE',
    params: InstanceIdParamsSchema,
    success: { status: 204, description: 'Deleted', headers: ['x-operation-id', 'Location'] },
    errors: { 400: 'The instance id is empty or malformed, or the Idempotency-Key is', 404: NOT_FOUND.user },
    admin: { summary: "Delete any user's instance", errors: { 404: NOT_FOUND.admin } },
    idempotent: {
      answer: (accepted: Operation) => ({ status: 204, body: '', headers: { 'x-operation-id': accepted.id, location: operationPath(accepted.id) } }),
    },
  },
  ({ services, scope }) =>
    async (request, _reply, write) => {
      const id = requireId(request.params.id);
      const operation = await services.store.deleteInstance(id, ownerFor(scope, request), services.clock.now(), write, principalOf(request).user.id);
      services.onWorkQueued();
      return operation;
    },
);
