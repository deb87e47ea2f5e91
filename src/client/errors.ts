import type { ErrorCode, ErrorEnvelope, InstanceStatus, Operation } from './types.js';

/** What a GaleApiError is made of. */
export interface ApiErrorParts {
  status: number;
  method: string;
  path: string;
  headers: Headers;
  code: ErrorCode;
  errorId: string;
  severity: ErrorEnvelope['error']['type'] | undefined;
  /** The envelope's message (else x-error, else the status text). */
  message: string;
}

/**
 * An error answer of the API: its status, and what its envelope says ({"error": {message, type, code, error_id}}).
 * The errorId is the one in the server's log: quote it when reporting a problem.
 */
export class GaleApiError extends Error {
  override readonly name: string = 'GaleApiError';
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly headers: Headers;
  /** Stable machine-readable code (not_found, quota_exceeded, ...); "unknown" when the answer had no envelope. */
  readonly code: ErrorCode;
  /** Id of this occurrence (x-error-id), the same as in the server log; empty when the answer had none. */
  readonly errorId: string;
  /** WARNING (4xx), ERROR (500-501) or CRITICAL (502-508); undefined without an envelope. */
  readonly severity: ErrorEnvelope['error']['type'] | undefined;
  /** The envelope's message alone, in words a user can act on. */
  readonly apiMessage: string;

  constructor(readonly parts: ApiErrorParts) {
    super(`${parts.method} ${parts.path}: ${parts.status} ${parts.code}: ${parts.message}`);
    ({ status: this.status, method: this.method, path: this.path, headers: this.headers, code: this.code, errorId: this.errorId, severity: this.severity } = parts);
    this.apiMessage = parts.message;
  }

  /** The error of an answer, from its envelope when it has one (a proxy's 502 page has none). */
  static of(method: string, path: string, response: Response, text: string): GaleApiError {
    let envelope: ErrorEnvelope | undefined;
    try {
      const parsed = JSON.parse(text) as Partial<ErrorEnvelope> | null;
      if (parsed && typeof parsed.error === 'object' && parsed.error !== null && typeof parsed.error.code === 'string') envelope = parsed as ErrorEnvelope;
    } catch {
      // Not JSON: the headers and the status say what they can.
    }
    const { headers } = response;
    return new GaleApiError({
      status: response.status,
      method,
      path,
      headers,
      code: envelope?.error.code ?? 'unknown',
      errorId: envelope?.error.error_id ?? headers.get('x-error-id') ?? '',
      severity: envelope?.error.type,
      message: envelope?.error.message ?? (headers.get('x-error') || response.statusText || `HTTP ${response.status}`),
    });
  }

  /** The x-request-id of the request, as logged by the server. */
  get requestId(): string | undefined {
    return this.headers.get('x-request-id') ?? undefined;
  }

  /** Seconds the server asked to wait before retrying (Retry-After), when it said. */
  get retryAfterSeconds(): number | undefined {
    return retryAfterSecondsOf(this.headers);
  }
}

/** A wait for a status answered 409: the status cannot come without a new request (stopped, deleted, or failed). */
export class StatusUnreachableError extends GaleApiError {
  override readonly name = 'StatusUnreachableError';
  constructor(
    readonly instanceId: string,
    readonly wanted: InstanceStatus,
    cause: GaleApiError,
  ) {
    super(cause.parts);
  }
}

/** waitForStatus's overall timeout passed before the instance had the status. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  constructor(
    readonly instanceId: string,
    readonly wanted: InstanceStatus,
    /** The status it had at the last answer, when one came. */
    readonly lastStatus: string | undefined,
    readonly timeoutMs: number,
  ) {
    super(`instance ${instanceId} is ${lastStatus ?? 'of unknown status'}, not ${wanted}, after ${timeoutMs} ms`);
  }
}

/** An operation waited for ended FAILED; the operation says why (operation.error.message). */
export class OperationFailedError extends Error {
  override readonly name = 'OperationFailedError';
  constructor(readonly operation: Operation) {
    super(`operation ${operation.id} (${operation.kind} of ${operation.instanceId}) failed: ${operation.error?.message ?? 'no reason given'}`);
  }
}

/** waitForOperation's overall timeout passed while the operation was still PENDING or RUNNING. */
export class OperationTimeoutError extends Error {
  override readonly name = 'OperationTimeoutError';
  constructor(
    readonly operation: Operation,
    readonly timeoutMs: number,
  ) {
    super(`operation ${operation.id} (${operation.kind} of ${operation.instanceId}) is still ${operation.status} after ${timeoutMs} ms`);
  }
}

/** The server could not be reached (refused, reset, DNS), after the retries allowed. The fetch error is the cause. */
export class GaleConnectionError extends Error {
  override readonly name = 'GaleConnectionError';
  constructor(
    readonly method: string,
    readonly url: string,
    cause: unknown,
  ) {
    super(`${method} ${url}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Retry-After as seconds: an integer, or an HTTP date. */
export function retryAfterSecondsOf(headers: Headers): number | undefined {
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
