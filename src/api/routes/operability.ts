import { Type } from '@sinclair/typebox';
import { GaleError } from '../../domain/errors.js';
import type { GaleMetrics } from '../../observability/metrics.js';
import type { GaleApp } from '../services.js';

/** A named readiness check: resolves when healthy, throws with a message saying what is wrong. */
export type ReadinessChecks = Record<string, () => Promise<void>>;

const CHECK_TIMEOUT_MS = 3000;

async function runCheck(check: () => Promise<void>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'ok';
  } catch (error) {
    return `failed: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

/** Unauthenticated probes for load balancers and orchestrators, and the Prometheus scrape endpoint. */
export function registerOperability(app: GaleApp, readiness: ReadinessChecks, metrics: GaleMetrics): void {
  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { hide: true, response: { 200: Type.Object({ status: Type.String() }) } } },
    async () => ({ status: 'ok' }),
  );

  app.get('/readyz', { config: { access: 'public' }, schema: { hide: true } }, async () => {
    const names = Object.keys(readiness);
    const results = await Promise.all(names.map((name) => runCheck(readiness[name]!)));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    const failed = names.filter((name) => checks[name] !== 'ok');
    if (failed.length > 0) {
      throw new GaleError('unavailable', `not ready: ${failed.map((name) => `${name} ${checks[name]}`).join('; ')}`);
    }
    return { status: 'ready', checks };
  });

  app.get('/metrics', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    done();
  });
}
