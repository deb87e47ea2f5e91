import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifySchema } from 'fastify';
import type { Access } from '../services.js';

/*
 * Every route's schema is built here from a short description of it, so that the OpenAPI document says the same
 * complete thing of every route: each status Gale can send on it, with a description and the headers it carries.
 * Headers are named here; what each means is said once, in the document's components (openapi.ts).
 */

export type Tag = 'instances' | 'operations' | 'events' | 'templates' | 'quotas' | 'admin' | 'operability';

export const RESPONSE_HEADERS = [
  'x-request-id',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Retry-After',
  'x-error',
  'x-error-id',
  'Location',
  'x-operation-id',
  'Idempotent-Replayed',
  'Allow',
  'x-instance-status',
] as const;
export type ResponseHeader = (typeof RESPONSE_HEADERS)[number];

export interface Success {
  status: 200 | 201 | 202 | 204;
  description: string;
  /** The body's schema; none for 204. */
  schema?: TSchema;
  /** application/json unless said. */
  contentType?: string;
  headers?: ResponseHeader[];
}

export interface RouteDoc {
  operationId: string;
  summary: string;
  description: string;
  tags: Tag[];
  access: Access;
  method: 'GET' | 'POST' | 'DELETE';
  params?: TSchema;
  querystring?: TSchema;
  headers?: TSchema;
  body?: TSchema;
  success: Success;
  /** The statuses particular to the route, with what they mean there; the general ones are added to every route. */
  errors?: Partial<Record<400 | 403 | 404 | 408 | 409 | 429 | 503, string>>;
  /** Headers an error status carries beyond the usual ones. */
  errorHeaders?: Partial<Record<408 | 409, ResponseHeader[]>>;
  /** Takes an Idempotency-Key: its success may be a replay, and a reused key answers 409. */
  idempotent?: boolean;
}

const RATE_LIMIT: ResponseHeader[] = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];
const ERROR_HEADERS: ResponseHeader[] = ['x-request-id', 'x-error', 'x-error-id'];

export const SECURITY: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { apiKey: [], apiSecret: [] }];

/** Header entries as @fastify/swagger reads them; openapi.ts replaces each by a reference to its component. */
function headerEntries(names: ResponseHeader[]): Record<string, { type: 'string' }> {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' as const }]));
}

function errorResponse(description: string, headers: ResponseHeader[]) {
  return { description, headers: headerEntries(headers), content: { 'application/json': { schema: Type.Ref('Error') } } };
}

/** The general meaning of each error status; a route's own words come first where it has them. */
function errorResponses(doc: RouteDoc) {
  const authenticated = doc.access !== 'public';
  const limited = authenticated ? RATE_LIMIT : [];
  const takesRequestBody = doc.method !== 'GET';
  const own = doc.errors ?? {};
  const out: Record<number, ReturnType<typeof errorResponse>> = {};
  const add = (status: number, description: string, extra: ResponseHeader[] = []) => {
    out[status] = errorResponse(description, [...ERROR_HEADERS, ...extra]);
  };

  add(400, own[400] ?? 'The request is malformed: a bad parameter, path or header, or (with a body) bad JSON', limited);
  if (authenticated) {
    add(401, 'The credentials are wrong, revoked or expired, or only half of a key pair was sent');
    const forbidden = doc.access === 'admin' ? 'No credentials were sent, or the caller lacks the compute_admin role' : 'No credentials were sent';
    add(403, own[403] ? `${forbidden}; or ${own[403]}` : forbidden, doc.access === 'admin' ? limited : []);
  }
  if (own[404]) add(404, own[404], limited);
  add(405, 'The method is not one this path has; Allow lists those it has', ['Allow']);
  const slow = 'the request headers or body did not arrive in time; the connection is closed';
  add(408, own[408] ? `${own[408]}; or ${slow}` : `The ${slow.slice(4)}`, doc.errorHeaders?.[408]);
  const conflict = [own[409], doc.idempotent ? 'the Idempotency-Key was already used for a different request (idempotency_mismatch)' : undefined].filter(Boolean);
  if (conflict.length > 0) add(409, `Conflict: ${conflict.join('; or ')}`, [...limited, ...(doc.errorHeaders?.[409] ?? [])]);
  if (takesRequestBody) {
    add(413, 'The request body is larger than the server accepts (bodyLimitBytes)');
    add(415, doc.body ? 'The body is not JSON: send Content-Type: application/json' : 'A body was sent that is not JSON; this route takes none (an empty body is fine whatever its Content-Type)');
  }
  if (authenticated) {
    const limitedWhy = "The caller's rate limit is spent, or too many failed authentications came from this address";
    add(429, `${own[429] ? `${limitedWhy}, or ${own[429]}` : limitedWhy}; retry after Retry-After seconds`, [...limited, 'Retry-After']);
  }
  add(431, 'The request headers are larger than the server accepts; the connection is closed');
  add(500, 'An internal error; the message says nothing more, quote the error id');
  add(503, own[503] ?? 'A dependency (the database, its disk) did not answer or refused the work; retry after Retry-After seconds', ['Retry-After']);
  return out;
}

function successResponse(doc: RouteDoc) {
  const { success } = doc;
  const headers: ResponseHeader[] = ['x-request-id', ...(doc.access === 'public' ? [] : RATE_LIMIT), ...(success.headers ?? [])];
  if (doc.idempotent) headers.push('Idempotent-Replayed');
  if (!success.schema) return { description: success.description, headers: headerEntries(headers), type: 'null' };
  return { description: success.description, headers: headerEntries(headers), content: { [success.contentType ?? 'application/json']: { schema: success.schema } } };
}

/** The request parts a route declares, with their TypeBox types kept so that handlers see typed requests. */
export type Parts<D> = (D extends { params: infer P extends TSchema } ? { params: P } : unknown) &
  (D extends { querystring: infer Q extends TSchema } ? { querystring: Q } : unknown) &
  (D extends { headers: infer H extends TSchema } ? { headers: H } : unknown) &
  (D extends { body: infer B extends TSchema } ? { body: B } : unknown);

/** The Fastify schema of a route: validation, serialisation and its whole entry in the OpenAPI document. */
export function routeSchema<D extends RouteDoc>(doc: D): FastifySchema & Parts<D> {
  const schema: FastifySchema & Record<string, unknown> = {
    operationId: doc.operationId,
    summary: doc.summary,
    description: doc.description,
    tags: doc.tags,
    security: doc.access === 'public' ? [] : SECURITY,
    response: { [doc.success.status]: successResponse(doc), ...errorResponses(doc) },
  };
  if (doc.params) schema.params = doc.params;
  if (doc.querystring) schema.querystring = doc.querystring;
  if (doc.headers) schema.headers = doc.headers;
  if (doc.body) schema.body = doc.body;
  return schema as FastifySchema & Parts<D>;
}
