import type { Config } from '../../config/schema.js';
import { GaleError } from '../../domain/errors.js';

/*
 * What a replica allows while the shared rate-limit store (Redis, PostgreSQL) does not answer (rateLimits.degraded).
 * Each replica then counts in its own memory, and a user spreading requests over N replicas would get N allowances:
 *
 * - fail-open-split (the default): each replica allows its share, limit / replicas, rounded down so that the fleet
 *   never allows more than the limit; at least 1, so that every replica still serves each user. The replicas are those
 *   alive by their heartbeats in the store (replica-liveness.ts).
 * - fail-open-shared: each replica allows the whole limit (up to N times it across the fleet).
 * - fail-closed: every request that must be counted is refused, 503 `unavailable` with Retry-After, until the store
 *   answers again. Requests that are not counted (admins on admin routes, /healthz, /readyz, /metrics) still pass.
 */

export type DegradedMode = Config['rateLimits']['degraded'];

export interface DegradedPolicy {
  mode: DegradedMode;
  /** Live replicas, this one included; read at each request counted while degraded, so a fleet that changes is followed. */
  replicas: () => number;
}

/** A replica alone: splitting by one allows the whole limit, as before any count of replicas was kept. */
export const ALONE: DegradedPolicy = { mode: 'fail-open-split', replicas: () => 1 };

/** Seconds a fail-closed refusal asks the client to wait: the circuit probes the store every 2 s. */
const RETRY_AFTER_SECONDS = 5;

/**
 * One replica's share of a limit: the largest whole number that, allowed by every replica, stays within the limit;
 * but at least 1 (with more replicas than the limit allows requests, the fleet allows one a replica).
 */
export function splitAllowance(limit: number, replicas: number): number {
  return Math.max(1, Math.floor(limit / Math.max(1, Math.floor(replicas))));
}

/** What this replica allows of a limit while degraded, or the refusal to answer with (fail-closed). */
export function degradedAllowance(policy: DegradedPolicy, limit: number): number {
  switch (policy.mode) {
    case 'fail-open-shared':
      return limit;
    case 'fail-open-split':
      return splitAllowance(limit, policy.replicas());
    case 'fail-closed':
      throw new GaleError('unavailable', 'the rate-limit store is not answering, and requests are refused until it does (rateLimits.degraded: fail-closed); retry in a few seconds', {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
  }
}

/** For readiness and the log: what this replica does while the store is down. */
export function describeDegraded(policy: DegradedPolicy): string {
  switch (policy.mode) {
    case 'fail-open-shared':
      return "counting in this replica's memory, the whole limit on each replica";
    case 'fail-open-split': {
      const replicas = policy.replicas();
      return `counting in this replica's memory, 1/${replicas} of each limit (${replicas} replica${replicas === 1 ? '' : 's'} alive)`;
    }
    case 'fail-closed':
      return 'refusing requests that must be counted (503) until it answers';
  }
}
