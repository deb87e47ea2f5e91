import type { FastifyError } from 'fastify';
import { GaleError } from '../domain/errors.js';
import { sendError, type ApiErrorCode } from './error-envelope.js';
import type { GaleMetrics } from '../observability/metrics.js';
import { tierOf, type ApiServices, type GaleApp } from './services.js';

/** Fastify's own client errors (bad JSON, body too large, …) carry a status; map it to our codes. */
function codeForStatus(status: number): ApiErrorCode {
  switch (status) {
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return 'invalid_request';
  }
}

/** "body/template_id must be string" reads better to a user than ajv's instance paths. */
function validationMessage(error: FastifyError): string {
  const first = error.validation?.[0];
  if (!first) return error.message;
  const where = `${error.validationContext ?? 'request'}${first.instancePath.replace(/\//g, '.')}`;
  if (first.keyword === 'type' && first.instancePath === '' && error.validationContext === 'body') {
    return 'the request body must be a JSON object';
  }
  return `${where} ${first.message ?? 'is invalid'}`;
}

interface RoutePattern {
  method: string;
  pattern: RegExp;
}

export function registerErrorHandling(app: GaleApp, metrics: GaleMetrics, services: Pick<ApiServices, 'tiers' | 'defaultTier'>): void {
  const routes: RoutePattern[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const source = route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]*');
    for (const method of methods) routes.push({ method, pattern: new RegExp(`^${source}$`) });
  });

  app.setErrorHandler((error: FastifyError | GaleError, request, reply) => {
    if (error instanceof GaleError) {
      if (error.code === 'quota_exceeded' && request.principal) {
        metrics.quotaRejections.inc({ tier: tierOf(services, request.principal.user.tier).name });
      }
      if (error.code === 'internal') request.log.error({ err: error }, 'internal error');
      sendError(reply, error.code, error.message);
      return reply;
    }
    const status = error.statusCode ?? 500;
    if (error.validation) {
      sendError(reply, 'invalid_request', validationMessage(error));
      return reply;
    }
    if (status >= 400 && status < 500) {
      sendError(reply, codeForStatus(status), error.message);
      return reply;
    }
    // Anything else is our fault: log it in full, show the caller only an id to quote.
    const errorId = sendError(reply, status === 503 ? 'unavailable' : 'internal', 'internal error; quote the error id when reporting it');
    request.log.error({ err: error, errorId }, 'unhandled error');
    return reply;
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))].filter((m) => m !== 'HEAD');
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      sendError(reply, 'method_not_allowed', `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`);
      return reply;
    }
    sendError(reply, 'not_found', `no route ${request.method} ${path}`);
    return reply;
  });
}
