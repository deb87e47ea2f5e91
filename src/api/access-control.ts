import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { hooksOf } from './route-hooks.js';
import { forbidden, GaleError } from '../domain/errors.js';
import { credentialPrefix } from './auth-failures.js';
import type { Principal } from './authenticator.js';
import type { GaleMetrics } from '../observability/metrics.js';
import { RateLimitedError, type LimitState } from './limiter/request-limiter.js';
import { tierOf, type Access, type ApiServices, type GaleApp } from './services.js';

function setLimitHeaders(reply: { header(name: string, value: string | number): unknown }, state: LimitState): void {
  reply.header('RateLimit-Limit', state.limit);
  reply.header('RateLimit-Remaining', state.remaining);
  reply.header('RateLimit-Reset', state.resetSeconds);
}

/**
 * Runs before the body is parsed or validated: authenticate, then rate limit, so that nobody learns
 * anything about the API's validation without credentials, and abusive callers are refused cheaply.
 * Compute admins on admin routes bypass the rate limit, as the family documents.
 *
 * A plain hook rather than an async one: a request whose credential is cached and whose counts are in memory (nearly
 * every request of a one-replica Gale) is let through within the call, without a promise; only a credential's first
 * request in the cache's lifetime, a refusal, or a limiter in Redis or PostgreSQL takes the asynchronous way.
 */
export function registerAccessControl(app: GaleApp, services: ApiServices, metrics: GaleMetrics): void {
  // Each route that needs credentials gets the check as a hook of its own, which knows the route's access: reading it
  // from request.routeOptions would build a dozen-field object on every request. Routes registered later get it too.
  app.addHook('onRoute', (route) => {
    const access = route.config?.access ?? 'public';
    if (access === 'public') return;
    const check: onRequestHookHandler = (request, reply, done) => checkAccess(access, request, reply, done);
    route.onRequest = [...hooksOf(route.onRequest), check];
  });

  function checkAccess(access: Access, request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void {
    let principal: Principal | undefined;
    try {
      principal = services.authenticator.authenticateNow(request.headers);
      if (principal) {
        request.principal = principal;
        if (access === 'admin' && principal.isAdmin) return done();
        const limit = services.limiter.consumeNow(principal.user.id, tierOf(services, principal.user.tier));
        if (limit) {
          setLimitHeaders(reply, limit);
          return done(access === 'admin' ? forbidden('this route needs the compute_admin role') : undefined);
        }
      }
    } catch (error) {
      // Refusals (a malformed or revoked credential, a request over the allowance) are counted and logged there.
      refuse(request, reply, error).catch((refusal: Error) => done(refusal));
      return;
    }
    checkLater(access, request, reply, principal).then(() => done(), done);
  }

  /** What could not be answered at once: the credential's lookup in the store, or a limiter in a shared store. */
  async function checkLater(access: Access, request: FastifyRequest, reply: FastifyReply, cached: Principal | undefined): Promise<void> {
    let principal = cached;
    if (!principal) {
      try {
        principal = await services.authenticator.authenticate(request.headers);
      } catch (error) {
        return refuse(request, reply, error);
      }
      request.principal = principal;
      if (access === 'admin' && principal.isAdmin) return;
    }
    const tier = tierOf(services, principal.user.tier);
    try {
      setLimitHeaders(reply, await services.limiter.consume(principal.user.id, tier));
    } catch (error) {
      return refuse(request, reply, error);
    }
    if (access === 'admin') throw forbidden('this route needs the compute_admin role');
  }

  /**
   * Always throws. Wrong credentials count against the address and the credential, and past the allowance answer 429
   * (auth-failures.ts); a request over its rate limit carries the limit's headers and is counted by tier.
   */
  async function refuse(request: FastifyRequest, reply: FastifyReply, error: unknown): Promise<never> {
    if (error instanceof GaleError && error.code === 'unauthenticated') {
      throw await services.authFailures.failed(request.ip, credentialPrefix(request.headers), error);
    }
    if (error instanceof RateLimitedError) {
      metrics.rateLimitRejections.inc({ tier: error.tier.name });
      setLimitHeaders(reply, error.state);
    }
    throw error;
  }
}
