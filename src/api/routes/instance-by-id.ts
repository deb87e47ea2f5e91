import { Type } from '@sinclair/typebox';
import { operationPath } from '../../contracts/api.js';
import { InstanceIdParamsSchema } from '../../contracts/instance.js';
import { instanceNotFound } from '../../domain/errors.js';
import { answering, IdempotencyHeadersSchema, idempotencyClaimOf, IdempotencyQuerySchema, replaying } from '../idempotency.js';
import { principalOf, type ApiServices, type GaleApp } from '../services.js';
import { instanceView } from '../views.js';
import { routeSchema } from './route-schema.js';
import { operationIdOf, ownerFor, prefixOf, requireId, tagOf, type Scope } from './scope.js';

const NOT_FOUND = {
  user: 'No such instance, or it belongs to another user (the two answers are the same)',
  admin: 'No such instance',
};

export function registerGetInstance(app: GaleApp, services: ApiServices, scope: Scope): void {
  app.get(
    `${prefixOf(scope)}/:id`,
    {
      config: { access: scope },
      schema: routeSchema({
        operationId: operationIdOf(scope, 'getInstance'),
        summary: scope === 'admin' ? "Get any user's instance" : 'Get an instance with its live status',
        description: 'The instance as last observed on its backend: status and addresses are live, the rest is fixed at create.',
        tags: [tagOf(scope)],
        access: scope,
        method: 'GET',
        params: InstanceIdParamsSchema,
        success: { status: 200, description: 'The instance', schema: Type.Ref('Instance') },
        errors: { 400: 'The instance id is empty or malformed', 404: NOT_FOUND[scope] },
      }),
    },
    async (request) => {
      const id = requireId(request.params.id);
      const owner = ownerFor(scope, request);
      const record = await services.store.getInstanceSummary(id);
      // A foreign instance answers exactly like a missing one: its existence is not revealed.
      if (!record || (owner !== undefined && record.userId !== owner)) throw instanceNotFound(id);
      return instanceView(record);
    },
  );
}

export function registerDeleteInstance(app: GaleApp, services: ApiServices, scope: Scope): void {
  app.delete(
    `${prefixOf(scope)}/:id`,
    {
      config: { access: scope },
      schema: routeSchema({
        operationId: operationIdOf(scope, 'deleteInstance'),
        summary: scope === 'admin' ? "Delete any user's instance" : 'Delete an instance',
        description:
          'Gone from the API at once (204, no body); its machine is torn down in the background. x-operation-id and Location name ' +
          'the delete operation, which can be looked up until it is DONE.',
        tags: [tagOf(scope)],
        access: scope,
        method: 'DELETE',
        params: InstanceIdParamsSchema,
        headers: IdempotencyHeadersSchema,
        querystring: IdempotencyQuerySchema,
        success: { status: 204, description: 'Deleted', headers: ['x-operation-id', 'Location'] },
        errors: { 400: 'The instance id is empty or malformed, or the Idempotency-Key is', 404: NOT_FOUND[scope] },
        idempotent: true,
      }),
    },
    async (request, reply) => {
      const id = requireId(request.params.id);
      const now = services.clock.now();
      const claim = idempotencyClaimOf(request, principalOf(request).user.id, now, services.idempotencyKeyTtlMs);
      return replaying(reply, async () => {
        const answer = (operationId: string) => ({ status: 204, body: '', headers: { 'x-operation-id': operationId, location: operationPath(operationId) } });
        const operation = await services.store.deleteInstance(
          id,
          ownerFor(scope, request),
          now,
          answering(claim, (accepted) => answer(accepted.id)),
          principalOf(request).user.id,
        );
        services.onWorkQueued();
        return reply.code(204).headers(answer(operation.id).headers).send();
      });
    },
  );
}
