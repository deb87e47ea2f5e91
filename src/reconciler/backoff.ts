/** The bounds of the backoff between failed attempts: the first step and the largest. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": never less than half the step, so that a failing backend is not
 * hammered, yet replicas that failed together spread out. attempts counts the failures before this one.
 */
export function backoffDelay(attempts: number, policy: BackoffPolicy, random: () => number): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(attempts, 0), 30));
  return Math.round(step / 2 + (random() * step) / 2);
}

/** A little spread for short fixed retries, so that many waiting instances do not come due in the same tick. */
export function jittered(ms: number, random: () => number): number {
  return Math.round(ms * (0.75 + random() * 0.5));
}
