import { Type } from '@sinclair/typebox';
import { GaleError } from '../../domain/errors.js';
import type { GaleMetrics } from '../../observability/metrics.js';
import type { onResponseHookHandler } from 'fastify';
import { hooksOf } from '../route-hooks.js';
import type { GaleApp } from '../services.js';
import { defineRoute, type ReadinessChecks } from './route.js';

const HealthSchema = Type.Object({ status: Type.Literal('ok', { description: 'Always ok: the process answers' }) }, { additionalProperties: false });
const ReadinessSchema = Type.Object(
  {
    status: Type.Literal('ready', { description: 'Every check passed' }),
    checks: Type.Record(Type.String(), Type.String(), {
      description: 'Each dependency (database, disk with SQLite, rateLimits, provider) and how it stands: ok, perhaps with a word more, or degraded',
    }),
  },
  {
    additionalProperties: false,
    examples: [{ status: 'ready', checks: { database: 'ok', disk: 'ok, 812.4 MB free', rateLimits: 'ok (memory)', provider: 'ok' } }],
  },
);

export type { ReadinessChecks };

const CHECK_TIMEOUT_MS = 3000;
/** How soon a load balancer or client should look again after a 503 from /readyz. */
const READINESS_RETRY_AFTER_SECONDS = 5;

type CheckResult = { ok: true; said: string } | { ok: false; said: string; logged: string };

async function runCheck(check: () => Promise<string | void>): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    return { ok: true, said: (await Promise.race([check(), timeout])) || 'ok' };
  } catch (error) {
    const { message, detail } = error as Error & { detail?: string };
    return { ok: false, said: `failed: ${message}`, logged: detail ?? message };
  } finally {
    clearTimeout(timer);
  }
}

/* Unauthenticated probes for load balancers and orchestrators, and the Prometheus scrape endpoint. */

export const getHealth = defineRoute(
  {
    path: '/healthz',
    atRoot: true,
    scope: 'public',
    operationId: 'getHealth',
    summary: 'Liveness: the process answers',
    description: 'For an orchestrator\'s liveness probe; no credentials. It checks nothing beyond the process itself: see /readyz.',
    tags: ['operability'],
    method: 'GET',
    success: { status: 200, description: 'Alive', schema: HealthSchema },
  },
  () => async () => ({ status: 'ok' as const }),
);

export const getReadiness = defineRoute(
  {
    path: '/readyz',
    atRoot: true,
    scope: 'public',
    operationId: 'getReadiness',
    summary: 'Readiness: the store and the provider answer',
    description: "For a load balancer's health check; no credentials. Each check has 3 s; a failing one is named in the 503's message.",
    tags: ['operability'],
    method: 'GET',
    success: { status: 200, description: 'Ready to serve', schema: ReadinessSchema },
    errors: { 503: 'Not ready: the message names each failing check and why' },
  },
  ({ operability: { readiness } }) => {
    // Probes come every few seconds: a failure is logged when a check starts or stops failing, not at every probe.
    const failing = new Set<string>();
    return async (request) => {
      const names = Object.keys(readiness);
      const results = await Promise.all(names.map((name) => runCheck(readiness[name]!)));
      for (const [i, name] of names.entries()) {
        const result = results[i]!;
        if (!result.ok && !failing.has(name)) request.log.warn({ check: name, reason: result.logged }, 'readiness check failing');
        if (result.ok && failing.delete(name)) request.log.info({ check: name }, 'readiness check passing again');
        if (!result.ok) failing.add(name);
      }
      const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!.said]));
      const failed = names.filter((_, i) => !results[i]!.ok);
      if (failed.length > 0) {
        throw new GaleError('unavailable', `not ready: ${failed.map((name) => `${name} ${checks[name]}`).join('; ')}`, {
          retryAfterSeconds: READINESS_RETRY_AFTER_SECONDS,
        });
      }
      return { status: 'ready' as const, checks };
    };
  },
);

export const getMetrics = defineRoute(
  {
    path: '/metrics',
    atRoot: true,
    scope: 'public',
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    description: "This replica's metrics in the Prometheus text exposition format; no credentials. docs/operations.md lists them.",
    tags: ['operability'],
    method: 'GET',
    success: { status: 200, description: 'The exposition', schema: Type.String(), contentType: 'text/plain' },
  },
  ({ operability: { metrics } }) =>
    async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
);

/**
 * Every answer is counted and timed by its route's pattern. Each route gets a hook of its own that knows its pattern,
 * because request.routeOptions builds a dozen-field object on every read; answers no route matched count as unmatched.
 * Registered before any route, so that every route gets one.
 */
export function countRequests(app: GaleApp, metrics: GaleMetrics): void {
  app.addHook('onRoute', (route) => {
    const pattern = route.url;
    const count: onResponseHookHandler = (request, reply, done) => {
      metrics.httpRequests.observe(request.method, pattern, reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
    route.onResponse = [...hooksOf(route.onResponse), count];
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) metrics.httpRequests.observe(request.method, 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
