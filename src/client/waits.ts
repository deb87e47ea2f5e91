import { GaleApiError, OperationFailedError, OperationTimeoutError, StatusUnreachableError, WaitTimeoutError } from './errors.js';
import type { Transport } from './transport.js';
import type { Instance, InstanceStatus, Operation } from './types.js';

/*
 * Waiting is the server's job: each helper holds one server-side wait (at most a minute, the server's limit) and asks
 * again until its own deadline, instead of polling. Nothing here reads a status on a timer.
 */

/** The longest wait the server grants in one request. */
const SERVER_WAIT_MAX_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 5 * 60_000;

export interface WaitOptions {
  /** Give up after this long (default five minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface StatusWaitOptions extends WaitOptions {
  /** Use the compute_admin route (any user's instance). */
  admin?: boolean;
}

/** The timeout of one server wait: what is left, at most the server's limit, as the duration the API takes. */
function serverTimeout(deadline: number): string | undefined {
  const left = deadline - Date.now();
  return left <= 0 ? undefined : `${Math.max(1, Math.min(SERVER_WAIT_MAX_MS, Math.ceil(left)))}ms`;
}

/**
 * Resolves with the instance once it has the status. Throws StatusUnreachableError when the server says the status
 * cannot come without a new request (409: stopping, deleted, its operation failed), WaitTimeoutError when the
 * timeout passes first, GaleApiError for anything else (404 when there is no such instance).
 */
export async function waitForStatus(transport: Transport, id: string, status: InstanceStatus, options: StatusWaitOptions = {}): Promise<Instance> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let lastStatus: string | undefined;
  for (;;) {
    const timeout = serverTimeout(deadline);
    if (timeout === undefined) throw new WaitTimeoutError(id, status, lastStatus, timeoutMs);
    try {
      const query = { status, timeout };
      const call = options.admin
        ? transport.call('adminWaitInstance', { path: { id }, query, signal: options.signal })
        : transport.call('waitInstance', { path: { id }, query, signal: options.signal });
      return (await call).data;
    } catch (error) {
      if (!(error instanceof GaleApiError)) throw error;
      if (error.status === 409) throw new StatusUnreachableError(id, status, error);
      // 408: this server wait's timeout passed; x-instance-status says where the instance is. Wait again.
      if (error.status !== 408) throw error;
      lastStatus = error.headers.get('x-instance-status') ?? lastStatus;
    }
  }
}

/**
 * Resolves with the operation once it is DONE. Throws OperationFailedError when it ends FAILED, and
 * OperationTimeoutError when the timeout passes first.
 */
export async function waitForOperation(transport: Transport, id: string, options: WaitOptions = {}): Promise<Operation> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const timeout = serverTimeout(deadline) ?? '1ms';
    // The wait changes nothing: it is retried as a GET is.
    const { data: operation } = await transport.call('waitOperation', { path: { id }, query: { timeout }, signal: options.signal, safe: true });
    if (operation.status === 'DONE') return operation;
    if (operation.status === 'FAILED') throw new OperationFailedError(operation);
    if (Date.now() >= deadline) throw new OperationTimeoutError(operation, timeoutMs);
  }
}
