import { forbidden, GaleError } from '../domain/errors.js';
import { credentialPrefix } from './auth-failures.js';
import type { GaleMetrics } from '../observability/metrics.js';
import { RateLimitedError, type LimitState } from './request-limiter.js';
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
export function registerAccessControl(app: GaleApp, services: ApiServices, metrics: GaleMetrics): void {
  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access ?? 'public';
    if (access === 'public') return;
    const principal = await authenticate(request.ip, request.headers);
    request.principal = principal;
    if (access === 'admin' && principal.isAdmin) return;
    const tier = tierOf(services, principal.user.tier);
    try {
      setLimitHeaders(reply, await services.limiter.consume(principal.user.id, tier));
    } catch (error) {
      if (error instanceof RateLimitedError) {
        metrics.rateLimitRejections.inc({ tier: tier.name });
        setLimitHeaders(reply, error.state);
      }
      throw error;
    }
    if (access === 'admin') throw forbidden('this route needs the compute_admin role');
  });

  /** Wrong credentials count against the address and the credential; past the allowance they answer 429 (auth-failures.ts). */
  async function authenticate(address: string, headers: Parameters<typeof services.authenticator.authenticate>[0]) {
    try {
      return await services.authenticator.authenticate(headers);
    } catch (error) {
      if (error instanceof GaleError && error.code === 'unauthenticated') throw await services.authFailures.failed(address, credentialPrefix(headers), error);
      throw error;
    }
  }
}
