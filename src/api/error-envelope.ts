import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { ErrorCode } from '../domain/errors.js';

export type ApiErrorCode = ErrorCode | 'method_not_allowed';

/** The one table from error code to HTTP status. Nothing else in Gale decides a status for an error. */
export const STATUS_OF: Record<ApiErrorCode, number> = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  quota_exceeded: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_mismatch: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

/** The family's severity word: 4xx WARNING, 500-501 ERROR, 502-508 CRITICAL. */
export function severityOf(status: number): 'WARNING' | 'ERROR' | 'CRITICAL' {
  if (status < 500) return 'WARNING';
  if (status <= 501) return 'ERROR';
  return 'CRITICAL';
}

/** Header values must be one line of visible ASCII; the body keeps the full message. */
function headerSafe(message: string): string {
  return message.replace(/[^\x20-\x7e]/g, '?').slice(0, 512);
}

/** Sends the error envelope with its x-error and x-error-id headers; returns the error id for logging. */
export function sendError(reply: FastifyReply, code: ApiErrorCode, message: string): string {
  const status = STATUS_OF[code];
  const errorId = randomUUID();
  void reply
    .code(status)
    .header('x-error', headerSafe(message))
    .header('x-error-id', errorId)
    .header('content-type', 'application/json; charset=utf-8')
    .send(JSON.stringify({ error: { message, type: severityOf(status), code, error_id: errorId } }));
  return errorId;
}
