import type { FastifyError, FastifyRequest } from 'fastify';
import { GaleError } from '../domain/errors.js';
import { sendError, STATUS_OF, type ApiErrorCode } from './error-envelope.js';
import type { GaleMetrics } from '../observability/metrics.js';
import { tierOf, type ApiServices, type GaleApp } from './services.js';

/** The general code of each status: the first listed for it in STATUS_OF (forbidden before quota_exceeded). */
const CODE_OF_STATUS = new Map<number, ApiErrorCode>();
for (const [code, status] of Object.entries(STATUS_OF) as Array<[ApiErrorCode, number]>) if (!CODE_OF_STATUS.has(status)) CODE_OF_STATUS.set(status, code);

/** Fastify's own client errors (bad JSON, body too large, …) carry a status; map it to our codes. */
function codeForStatus(status: number): ApiErrorCode {
  return CODE_OF_STATUS.get(status) ?? 'invalid_request';
}

/** "body/template_id must be string" reads better to a user than ajv's instance paths. */
function validationMessage(error: FastifyError, request: FastifyRequest): string {
  const first = error.validation?.[0];
  if (!first) return error.message;
  const where = `${error.validationContext ?? 'request'}${first.instancePath.replace(/\//g, '.')}`;
  if (first.keyword === 'type' && first.instancePath === '' && error.validationContext === 'body') {
    return request.body === undefined ? 'the request body is empty; this route takes a JSON object' : 'the request body must be a JSON object';
  }
  // Several spellings of one field (template_id, templateID, templateId): any one of them will do.
  const missing = error.validation!.filter((e) => e.keyword === 'required').map((e) => (e.params as { missingProperty: string }).missingProperty);
  if (missing.length > 1 && error.validation!.some((e) => e.keyword === 'anyOf')) {
    return `${missing[0]} is required (${missing.slice(1).join(' or ')} is accepted too)`;
  }
  if (first.keyword === 'additionalProperties' && error.validationContext === 'querystring') {
    // Named only when it looks like a parameter name: a credential pasted into the query is not echoed back.
    const name = (first.params as { additionalProperty: string }).additionalProperty;
    const named = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(name) ? ` "${name}"` : '';
    return `unknown query parameter${named}: this route does not take it (see the API reference for those it takes)`;
  }
  if (first.keyword === 'enum') {
    return `${where} must be one of ${((first.params as { allowedValues: unknown[] }).allowedValues ?? []).join(', ')}`;
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
      // A dependency that failed, or a value the database refused: the answer names it, the log keeps the driver's own
      // words (addresses included), so that a refusal validation should have caught is seen.
      if (error.cause !== undefined && error.code !== 'internal') request.log.warn({ err: error.cause }, error.message);
      if (error.retryAfterSeconds !== undefined) reply.header('Retry-After', error.retryAfterSeconds);
      sendError(reply, error.code, error.message);
      return reply;
    }
    const status = error.statusCode ?? 500;
    if (error.validation) {
      sendError(reply, 'invalid_request', validationMessage(error, request));
      return reply;
    }
    if (status === 415) {
      // Fastify's own refusal of a Content-Type it cannot even parse (an empty one, say): the same words as body-parsing.ts.
      sendError(reply, 'unsupported_media_type', 'a body without a usable Content-Type is not accepted; send application/json or nothing');
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
