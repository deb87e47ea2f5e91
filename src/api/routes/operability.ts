import { Type } from '@sinclair/typebox';
import { GaleError } from '../../domain/errors.js';
import type { GaleMetrics } from '../../observability/metrics.js';
import type { GaleApp } from '../services.js';
import { routeSchema } from './route-schema.js';

const HealthSchema = Type.Object({ status: Type.Literal('ok', { description: 'Always ok: the process answers' }) }, { additionalProperties: false });
const ReadinessSchema = Type.Object(
  {
    status: Type.Literal('ready', { description: 'Every check passed' }),
    checks: Type.Record(Type.String(), Type.String(), { description: 'Each check by name (store, provider) and its result, ok' }),
  },
  { additionalProperties: false, examples: [{ status: 'ready', checks: { store: 'ok', provider: 'ok' } }] },
);

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
    {
      config: { access: 'public' },
      schema: routeSchema({
        operationId: 'getHealth',
        summary: 'Liveness: the process answers',
        description: 'For an orchestrator\'s liveness probe; no credentials. It checks nothing beyond the process itself: see /readyz.',
        tags: ['operability'],
        access: 'public',
        method: 'GET',
        success: { status: 200, description: 'Alive', schema: HealthSchema },
      }),
    },
    async () => ({ status: 'ok' as const }),
  );

  const readinessSchema = routeSchema({
    operationId: 'getReadiness',
    summary: 'Readiness: the store and the provider answer',
    description: "For a load balancer's health check; no credentials. Each check has 3 s; a failing one is named in the 503's message.",
    tags: ['operability'],
    access: 'public',
    method: 'GET',
    success: { status: 200, description: 'Ready to serve', schema: ReadinessSchema },
    errors: { 503: 'Not ready: the message names each failing check and why' },
  });
  app.get('/readyz', { config: { access: 'public' }, schema: readinessSchema }, async () => {
    const names = Object.keys(readiness);
    const results = await Promise.all(names.map((name) => runCheck(readiness[name]!)));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    const failed = names.filter((name) => checks[name] !== 'ok');
    if (failed.length > 0) {
      throw new GaleError('unavailable', `not ready: ${failed.map((name) => `${name} ${checks[name]}`).join('; ')}`);
    }
    return { status: 'ready' as const, checks };
  });

  const metricsSchema = routeSchema({
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    description: "This replica's metrics in the Prometheus text exposition format; no credentials. docs/operations.md lists them.",
    tags: ['operability'],
    access: 'public',
    method: 'GET',
    success: { status: 200, description: 'The exposition', schema: Type.String(), contentType: 'text/plain' },
  });
  app.get('/metrics', { config: { access: 'public' }, schema: metricsSchema }, async (_request, reply) => {
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
