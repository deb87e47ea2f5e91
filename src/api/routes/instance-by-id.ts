import { Type } from '@sinclair/typebox';
import { InstanceIdParamsSchema } from '../../contracts/instance.js';
import { instanceNotFound, invalidRequest } from '../../domain/errors.js';
import { answering, IdempotencyHeadersSchema, idempotencyClaimOf, IdempotencyQuerySchema, replaying } from '../idempotency.js';
import { principalOf, type ApiServices, type GaleApp } from '../services.js';
import { instanceView } from '../views.js';
import { AUTHENTICATED_ERRORS, EMPTY_BODY, SECURITY, errorResponses } from './shared-schemas.js';

export type Scope = 'user' | 'admin';

/** The owner a lookup is restricted to: the caller on user routes, nobody on admin routes. */
export function ownerFor(scope: Scope, request: { principal: Parameters<typeof principalOf>[0]['principal'] }): string | undefined {
  return scope === 'admin' ? undefined : principalOf(request).user.id;
}

export function requireId(id: string): string {
  if (id.trim() === '') throw invalidRequest('instance id is empty');
  return id;
}

const prefixOf = (scope: Scope): string => (scope === 'admin' ? '/admin/instances' : '/instances');
const tagOf = (scope: Scope): string => (scope === 'admin' ? 'admin' : 'instances');

export function registerGetInstance(app: GaleApp, services: ApiServices, scope: Scope): void {
  app.get(
    `${prefixOf(scope)}/:id`,
    {
      config: { access: scope },
      schema: {
        operationId: scope === 'admin' ? 'adminGetInstance' : 'getInstance',
        summary: 'Get an instance with its live status',
        tags: [tagOf(scope)],
        security: SECURITY,
        params: InstanceIdParamsSchema,
        response: { 200: Type.Ref('Instance'), ...errorResponses(...AUTHENTICATED_ERRORS, 404) },
      },
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
      schema: {
        operationId: scope === 'admin' ? 'adminDeleteInstance' : 'deleteInstance',
        summary: 'Delete an instance; its resources are torn down in the background',
        tags: [tagOf(scope)],
        security: SECURITY,
        params: InstanceIdParamsSchema,
        headers: IdempotencyHeadersSchema,
        querystring: IdempotencyQuerySchema,
        response: { 204: EMPTY_BODY, ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409) },
      },
    },
    async (request, reply) => {
      const id = requireId(request.params.id);
      const now = services.clock.now();
      const claim = idempotencyClaimOf(request, principalOf(request).user.id, now);
      return replaying(reply, async () => {
        await services.store.deleteInstance(id, ownerFor(scope, request), now, answering(claim, () => ({ status: 204, body: '' })));
        services.onWorkQueued();
        return reply.code(204).send();
      });
    },
  );
}
