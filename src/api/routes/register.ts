import type { FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { IdempotentReplay, type StoredResponse } from '../../domain/idempotency.js';
import { IdempotencyHeadersSchema, idempotencyClaimOf, IdempotencyQuerySchema } from '../idempotency.js';
import { principalOf, type GaleApp } from '../services.js';
import type { ExpandedRoute } from './expand.js';
import type { RouteContext, WriteOf } from './route.js';
import { routeSchema } from './route-schema.js';

/*
 * Registration of the table's routes, and the one place Idempotency-Keys are handled (docs/api.md, "Idempotent
 * requests"): the key is claimed before the handler runs, handed to it as the write for the store, and when the store
 * says the key already answered, that answer is sent again marked Idempotent-Replayed (Stripe's header) with the same
 * status and the same bytes; or, for a route whose answer holds a secret, the repeat is refused as the route says.
 */

const JSON_TYPE = 'application/json; charset=utf-8';

function send(reply: FastifyReply, { status, body, headers }: StoredResponse, replayed = false): FastifyReply {
  reply.code(status).headers(headers ?? {});
  if (replayed) reply.header('idempotent-replayed', 'true');
  if (body === '') return reply.send();
  return reply.header('content-type', JSON_TYPE).send(body);
}

function claimOf(request: FastifyRequest, context: RouteContext) {
  // Keys belong to the caller, admin or not: an admin's key never collides with the owner's.
  const { services } = context;
  return idempotencyClaimOf(request, principalOf(request).user.id, services.clock.now(), services.idempotencyKeyTtlMs);
}

function handlerOf(route: ExpandedRoute, context: RouteContext): RouteHandlerMethod {
  const handle = route.definition.handler(context);
  const idempotency = route.definition.idempotent;
  if (!idempotency) return (request, reply) => handle(request, reply, undefined);

  if ('answer' in idempotency) {
    const answer = (outcome: unknown) => idempotency.answer(outcome as never, context.services);
    return async (request, reply) => {
      const claim = claimOf(request, context);
      const write: WriteOf<unknown> = claim && { ...claim, response: answer };
      try {
        return send(reply, answer(await handle(request, reply, write)));
      } catch (error) {
        if (!(error instanceof IdempotentReplay)) throw error;
        return send(reply, error.response, true);
      }
    };
  }

  return async (request, reply) => {
    const claim = claimOf(request, context);
    const write: WriteOf<unknown> = claim && { ...claim, response: (outcome) => idempotency.receipt(outcome as never) };
    try {
      return await handle(request, reply, write);
    } catch (error) {
      throw error instanceof IdempotentReplay && claim ? idempotency.refusal(error.response, claim.key) : error;
    }
  };
}

/** Registers each route on app, in order: its schema (and so its OpenAPI entry), its access and its handler. */
export function registerRoutes(app: GaleApp, routes: readonly ExpandedRoute[], context: Omit<RouteContext, 'scope'>): void {
  for (const route of routes) {
    const doc = route.doc.idempotent ? { ...route.doc, headers: IdempotencyHeadersSchema, querystring: IdempotencyQuerySchema } : route.doc;
    app.route({
      method: route.method,
      url: route.fullPath,
      config: { access: route.access },
      schema: routeSchema(doc),
      handler: handlerOf(route, { ...context, scope: route.access }),
    });
  }
}
