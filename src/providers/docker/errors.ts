import { PermanentProviderError } from '../../domain/provider.js';

/**
 * Error classification for the Engine API. The reconciler retries ordinary errors and gives up on
 * PermanentProviderError, so the one thing that must never happen is a connection failure (engine down,
 * restarting, socket missing) being reported as permanent.
 */

/** The engine could not be reached: retry later. Deliberately not a PermanentProviderError. */
export class DockerUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DockerUnavailableError';
  }
}

// Socket and TCP failures seen from node's http client when the engine is down, restarting or unreachable.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ESOCKETTIMEDOUT',
  'ECONNABORTED',
]);

function field(error: unknown, key: string): unknown {
  return error !== null && typeof error === 'object' && key in error ? (error as Record<string, unknown>)[key] : undefined;
}

/** The HTTP status the engine answered with, when it answered at all. */
export function statusCodeOf(error: unknown): number | undefined {
  const code = field(error, 'statusCode');
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (error: unknown): boolean => statusCodeOf(error) === 404;
export const isConflict = (error: unknown): boolean => statusCodeOf(error) === 409;
/** 304: already started / already stopped, which idempotent callers treat as success. */
export const isNotModified = (error: unknown): boolean => statusCodeOf(error) === 304;

export function isConnectionError(error: unknown): boolean {
  if (error instanceof DockerUnavailableError) return true;
  if (statusCodeOf(error) !== undefined) return false;
  const code = field(error, 'code');
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  // A socket closed mid-response surfaces as a plain Error with this text and no code.
  const message = error instanceof Error ? error.message : '';
  return /socket hang up|ECONNRESET|ECONNREFUSED/.test(message);
}

/**
 * The engine refuses to start a container because containerd still holds state for it: what a start leaves behind
 * when it was in flight as dockerd stopped. dockerd 20.10 does not clean that up when it starts again, and refuses
 * every later start of the container, with "task <id>: already exists" when the task survived, "id already in use"
 * when containerd's container record did, or runc's "container with id exists" when its state directory did (moby#39630).
 */
export function isStaleTask(error: unknown): boolean {
  return statusCodeOf(error) === 500 && /\btask [0-9a-f]+: already exists\b|\bid already in use\b|\bcontainer with id exists\b/.test(engineMessage(error));
}

/**
 * The engine holds a network endpoint by the container's name while the container is not running: left by a start or
 * a stop cut off as dockerd went down. A start then fails with 403 "endpoint with name <container> already exists in
 * network <network>", while the engine shuts down and, when the record survives, after it is back, every time, until
 * the endpoint is removed (a forced disconnect, as `docker network disconnect -f` does). The name and the network.
 */
export function staleEndpointOf(error: unknown): { name: string; network: string } | undefined {
  if (statusCodeOf(error) !== 403) return undefined;
  const match = /\bendpoint with name (\S+) already exists in network (\S+)/.exec(engineMessage(error));
  return match ? { name: match[1]!, network: match[2]! } : undefined;
}

/** The engine's own message ("No such container: ...") rather than dockerode's "(HTTP code 404) ..." wrapper. */
export function engineMessage(error: unknown): string {
  const json = field(error, 'json');
  const fromJson = field(json, 'message');
  if (typeof fromJson === 'string' && fromJson !== '') return fromJson;
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  return error instanceof Error ? error.message : String(error);
}

/** Rewrites an Engine API failure into an error naming the endpoint and the operation; keeps the cause. */
export function describeEngineError(endpoint: string, operation: string, error: unknown): Error {
  if (error instanceof DockerUnavailableError) return error;
  if (isConnectionError(error)) {
    return new DockerUnavailableError(
      `docker endpoint ${endpoint} is unreachable during ${operation}: ${engineMessage(error)} (will retry)`,
      { cause: error },
    );
  }
  const status = statusCodeOf(error);
  const suffix = status === undefined ? '' : ` (HTTP ${status})`;
  return new Error(`docker ${operation} on ${endpoint} failed: ${engineMessage(error)}${suffix}`, { cause: error });
}

/** 4xx answers to a create (bad limits, missing network, image gone) will not mend by retrying; 5xx and I/O may. */
export function createFailure(endpoint: string, container: string, error: unknown): Error {
  const status = statusCodeOf(error);
  if (status !== undefined && status >= 400 && status < 500) {
    return new PermanentProviderError(`docker endpoint ${endpoint} refused to create ${container}: ${engineMessage(error)}`, { cause: error });
  }
  return describeEngineError(endpoint, `create ${container}`, error);
}
