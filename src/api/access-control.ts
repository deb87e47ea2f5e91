import { forbidden, GaleError } from '../domain/errors.js';
import type { GaleMetrics } from '../observability/metrics.js';
import { RateLimitedError, type LimitState } from './request-limiter.js';
import type { AuthFailureGuard } from './security.js';
import { tierOf, type ApiServices, type GaleApp } from './services.js';

function setLimitHeaders(reply: { header(name: string, value: string | number): unknown }, state: LimitState): void {
  reply.header('RateLimit-Limit', state.limit);
  reply.header('RateLimit-Remaining', state.remaining);
  reply.header('RateLimit-Reset', state.resetSeconds);
}

/**
 * Runs before the body is parsed or validated: authenticate, then rate limit, so that nobody learns
 * anything about the API's validation without credentials, and abusive callers are refused cheaply.
 * Compute admins on admin routes bypass the rate limit, as the family documents.
 */
export function registerAccessControl(app: GaleApp, services: ApiServices, metrics: GaleMetrics, authFailures: AuthFailureGuard): void {
  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access ?? 'public';
    if (access === 'public') return;
    const principal = await authenticate(request.ip, request.headers, reply);
    request.principal = principal;
    if (access === 'admin' && principal.isAdmin) return;
    const tier = tierOf(services, principal.user.tier);
    try {
      setLimitHeaders(reply, await services.limiter.consume(principal.user.id, tier));
    } catch (error) {
      if (error instanceof RateLimitedError) {
        metrics.rateLimitRejections.inc({ tier: tier.name });
        setLimitHeaders(reply, error.state);
        reply.header('Retry-After', error.state.resetSeconds);
      }
      throw error;
    }
    if (access === 'admin') throw forbidden('this route needs the compute_admin role');
  });

  /** Wrong credentials count against the caller's address; past the allowance, even right ones wait (security.ts). */
  async function authenticate(address: string, headers: Parameters<typeof services.authenticator.authenticate>[0], reply: { header(n: string, v: number): unknown }) {
    try {
      await authFailures.check(address);
      return await services.authenticator.authenticate(headers);
    } catch (error) {
      if (error instanceof GaleError && error.code === 'unauthenticated') await authFailures.recordFailure(address);
      if (error instanceof GaleError && error.retryAfterSeconds !== undefined) reply.header('Retry-After', error.retryAfterSeconds);
      throw error;
    }
  }
}
