import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { invalidRequest } from '../domain/errors.js';
import { IDEMPOTENCY_KEY_PATTERN, REQUEST_ID_PATTERN, ZERO_UUID, canonicalHash, type IdempotencyClaim } from '../domain/idempotency.js';

/*
 * The HTTP side of idempotent requests (docs/api.md, "Idempotent requests"): reading the key from the
 * Idempotency-Key header or GCE's requestId parameter. The route table claims it and sends a stored answer again
 * (routes/register.ts).
 */

const HEADER = 'idempotency-key';

/** Documents the two spellings in the OpenAPI document; the checks that give actionable messages are below. */
export const IdempotencyHeadersSchema = Type.Object({
  [HEADER]: Type.Optional(
    Type.String({ description: 'Names this attempt (1-64 printable ASCII characters): a repeat within 24 h gets the first answer and changes nothing' }),
  ),
});
export const IdempotencyQuerySchema = Type.Object({
  requestId: Type.Optional(Type.String({ description: "GCE's spelling of Idempotency-Key: a UUID naming this attempt" })),
});

/** The header as sent; a key sent twice would be joined by Node into one plausible value, so it is counted raw. */
function headerKey(request: FastifyRequest): string | undefined {
  const raw = request.raw.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === HEADER) count++;
  if (count > 1) throw invalidRequest('the Idempotency-Key header was sent more than once');
  const value = request.headers[HEADER];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw invalidRequest('the Idempotency-Key header must be 1 to 64 printable ASCII characters');
  }
  return value;
}

function requestIdOf(request: FastifyRequest): string | undefined {
  const query = request.query as { requestId?: unknown } | undefined;
  const value = query?.requestId;
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !REQUEST_ID_PATTERN.test(value) || value === ZERO_UUID) {
    throw invalidRequest('requestId must be a UUID such as 123e4567-e89b-12d3-a456-426614174000 (not the zero UUID)');
  }
  return value;
}

/**
 * The claim a request makes, or undefined when it names no key. The hash covers the method, the route, its path
 * parameters and the body, so the same key on another instance or with another template is a mismatch.
 */
export function idempotencyClaimOf(request: FastifyRequest, userId: string, now: number, ttlMs: number): IdempotencyClaim | undefined {
  const fromHeader = headerKey(request);
  const fromQuery = requestIdOf(request);
  if (fromHeader !== undefined && fromQuery !== undefined && fromHeader !== fromQuery) {
    throw invalidRequest('Idempotency-Key and requestId name different keys; send one of them');
  }
  const key = fromHeader ?? fromQuery;
  if (key === undefined) return undefined;
  const requestHash = canonicalHash([request.method, request.routeOptions.url ?? request.url, request.params, request.body]);
  return { userId, key, requestHash, now, expiresAt: now + ttlMs };
}
