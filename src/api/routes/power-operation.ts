import { InstanceIdParamsSchema } from '../../contracts/instance.js';
import type { PowerOperation } from '../../domain/instance.js';
import { answering, IdempotencyHeadersSchema, idempotencyClaimOf, IdempotencyQuerySchema, replaying } from '../idempotency.js';
import { principalOf, type ApiServices, type GaleApp } from '../services.js';
import { ownerFor, requireId, type Scope } from './instance-by-id.js';
import { AUTHENTICATED_ERRORS, EMPTY_BODY, SECURITY, errorResponses } from './shared-schemas.js';

const SUMMARY: Record<PowerOperation, string> = {
  start: 'Start a stopped instance',
  stop: 'Stop a running instance (graceful shutdown)',
  restart: 'Restart an instance (a hard reset, the same as reset)',
  reset: 'Reset an instance (hard reset, no graceful shutdown)',
};

/** The four power operations share one shape: 202 with no body, carried out by the reconciler. */
export function registerPowerOperation(app: GaleApp, services: ApiServices, scope: Scope, operation: PowerOperation): void {
  const prefix = scope === 'admin' ? '/admin/instances' : '/instances';
  app.post(
    `${prefix}/:id/${operation}`,
    {
      config: { access: scope },
      schema: {
        operationId: `${scope === 'admin' ? 'admin' : ''}${operation}Instance`.replace(/^admin(.)/, (_, c: string) => `admin${c.toUpperCase()}`),
        summary: SUMMARY[operation],
        tags: [scope === 'admin' ? 'admin' : 'instances'],
        security: SECURITY,
        params: InstanceIdParamsSchema,
        headers: IdempotencyHeadersSchema,
        querystring: IdempotencyQuerySchema,
        response: { 202: EMPTY_BODY, ...errorResponses(...AUTHENTICATED_ERRORS, 404, 409) },
      },
    },
    async (request, reply) => {
      const id = requireId(request.params.id);
      const now = services.clock.now();
      // Keys belong to the caller, admin or not: an admin's key never collides with the owner's.
      const claim = idempotencyClaimOf(request, principalOf(request).user.id, now);
      return replaying(reply, async () => {
        const write = answering(claim, () => ({ status: 202, body: '' }));
        const outcome = await services.store.requestPowerOperation(id, ownerFor(scope, request), operation, now, write);
        if (outcome === 'accepted') services.onWorkQueued();
        return reply.code(202).send();
      });
    },
  );
}
