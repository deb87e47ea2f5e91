/*
 * When a request is tried again, and after how long. The family's clients retry GETs on 429, 502, 503 and 504,
 * honouring Retry-After and otherwise backing off 100 ms x 4^n, up to 3 retries. A mutation is retried only when it
 * carries an Idempotency-Key (the server then answers a repeat with the first answer and changes nothing), and only
 * when the first attempt surely or possibly did nothing that would not be replayed: 429, 503, or no answer at all.
 */

export interface RetryPolicy {
  /** Retries after the first attempt (0: never retry). Default 3. */
  retries: number;
  /** The first backoff, when the server does not say Retry-After. Default 100 ms. */
  baseDelayMs: number;
  /** Each backoff is this many times the last. Default 4. */
  factor: number;
  /** No wait is longer: a backoff is cut to it, and a Retry-After beyond it is not waited for (the error is thrown). Default 30 s. */
  maxDelayMs: number;
  /** Told of every retry before its wait: for logs and metrics. */
  onRetry?: (retry: RetryNotice) => void;
}

export interface RetryNotice {
  method: string;
  path: string;
  /** 1 for the first retry. */
  attempt: number;
  /** How long the client waits before it. */
  delayMs: number;
  /** The status that was answered, or undefined when there was no answer (a network error). */
  status: number | undefined;
  /** The Idempotency-Key the retried mutation carries again. */
  idempotencyKey: string | undefined;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = { retries: 3, baseDelayMs: 100, factor: 4, maxDelayMs: 30_000 };

/** How a request may be retried: safe (changes nothing), idempotent (a mutation with a key), or not at all. */
export type RetryClass = 'safe' | 'idempotent' | 'none';

const SAFE_STATUSES = new Set([429, 502, 503, 504]);
const IDEMPOTENT_STATUSES = new Set([429, 503]);

export function isRetryableStatus(retryClass: RetryClass, status: number): boolean {
  if (retryClass === 'safe') return SAFE_STATUSES.has(status);
  return retryClass === 'idempotent' && IDEMPOTENT_STATUSES.has(status);
}

/**
 * The wait before retry number `attempt` (from 1): Retry-After when the server said it, else the backoff. Undefined
 * when the server asks for longer than the policy waits.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfterSeconds: number | undefined): number | undefined {
  if (retryAfterSeconds !== undefined) {
    const asked = retryAfterSeconds * 1000;
    return asked <= policy.maxDelayMs ? asked : undefined;
  }
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * policy.factor ** (attempt - 1));
}

/** Resolves after ms, or rejects with the signal's reason as soon as it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
