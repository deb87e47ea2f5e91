import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { ApiErrorCode } from '../contracts/error.js';

export type { ApiErrorCode };

/** The one table from error code to HTTP status. Nothing else in Gale decides a status for an error. */
export const STATUS_OF: Record<ApiErrorCode, number> = {
  invalid_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  quota_exceeded: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  idempotency_mismatch: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  headers_too_large: 431,
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

export interface Envelope {
  status: number;
  errorId: string;
  headers: Record<string, string>;
  body: string;
}

/** Every error answer Gale gives, whether through Fastify or written straight to a socket, is made here. */
export function envelope(code: ApiErrorCode, message: string): Envelope {
  const status = STATUS_OF[code];
  const errorId = randomUUID();
  return {
    status,
    errorId,
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-error': headerSafe(message), 'x-error-id': errorId },
    body: JSON.stringify({ error: { message, type: severityOf(status), code, error_id: errorId } }),
  };
}

/** What the request log line of a failed request says of its error, so that support can find an id a user quotes. */
export interface SentError {
  code: ApiErrorCode;
  errorId: string;
}

const sentErrors = new WeakMap<FastifyReply, SentError>();

/** The error a reply was answered with, if any. */
export function sentErrorOf(reply: FastifyReply): SentError | undefined {
  return sentErrors.get(reply);
}

/** Sends the error envelope with its x-error and x-error-id headers; returns the error id for logging. */
export function sendError(reply: FastifyReply, code: ApiErrorCode, message: string): string {
  const answer = envelope(code, message);
  sentErrors.set(reply, { code, errorId: answer.errorId });
  void reply.code(answer.status).headers(answer.headers).send(answer.body);
  return answer.errorId;
}
