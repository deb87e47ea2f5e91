/**
 * Typed errors raised anywhere inside Gale. They carry a stable machine-readable
 * code; the HTTP status for each code is decided in one place only
 * (src/api/error-envelope.ts), so the domain never speaks HTTP.
 */
export const ERROR_CODES = [
  'invalid_request',
  'unauthenticated',
  'forbidden',
  'quota_exceeded',
  'not_found',
  'conflict',
  'idempotency_mismatch',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'request_timeout',
  'internal',
  'unavailable',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class GaleError extends Error {
  readonly code: ErrorCode;
  /** Seconds a client should wait before retrying (rate limits). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: { retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GaleError';
    this.code = code;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export const invalidRequest = (message: string): GaleError => new GaleError('invalid_request', message);
export const notFound = (message: string): GaleError => new GaleError('not_found', message);
export const conflict = (message: string): GaleError => new GaleError('conflict', message);
export const forbidden = (message: string): GaleError => new GaleError('forbidden', message);
export const unauthenticated = (message: string): GaleError => new GaleError('unauthenticated', message);

export const instanceNotFound = (id: string): GaleError => notFound(`instance ${id} not found`);
