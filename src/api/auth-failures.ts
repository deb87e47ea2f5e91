import type { IncomingHttpHeaders } from 'node:http';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { GaleError } from '../domain/errors.js';
import type { LimiterFactory } from './limiter/request-limiter.js';
import type { Limiter } from './limiter/circuit-limiter.js';

/*
 * The brake on guessing credentials. Failed authentications are counted per client address and per credential
 * prefix (the first characters of the api-key or token tried); past the allowance, a FAILED attempt answers 429 with
 * Retry-After instead of 401, for the rest of the minute. A successful attempt always passes: valid credentials are
 * never refused for somebody else's failures, whether that somebody shares the address (a NAT, a proxy, a CI runner)
 * or guesses at the same key from elsewhere. The counts live where the per-user limits do (Redis, PostgreSQL or
 * memory), so the allowance holds across replicas. With http.trustProxy the address is the client's as the proxy
 * says (X-Forwarded-For); without it, a forged header names nobody and buys no extra guesses.
 */

/** Characters of a credential that name it in the counts: enough to tell keys apart, far too few to matter if seen. */
const PREFIX_LENGTH = 8;

/** The credential an attempt named, by its first characters ('' when it named none). */
export function credentialPrefix(headers: IncomingHttpHeaders): string {
  const key = headers['api-key'];
  if (typeof key === 'string' && key !== '') return `k:${key.slice(0, PREFIX_LENGTH)}`;
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const token = /^\s*Bearer\s+(\S+)/i.exec(authorization)?.[1];
    if (token) return `t:${token.slice(0, PREFIX_LENGTH)}`;
  }
  return '';
}

export class AuthFailureGuard {
  private readonly counts: Limiter;

  constructor(
    private readonly perMinute: number,
    factory: LimiterFactory,
  ) {
    // A tier of its own: the same machinery (and the same shared store) as the per-user limits.
    this.counts = factory({ name: 'auth-failures', requestsPerMinute: perMinute, maxInstances: 0, maxVcpus: 0, maxDiskGb: 0 });
  }

  /**
   * A failed authentication from address with the credential named by prefix: counted, and when either count is past
   * the allowance, the error to answer with instead of the 401 (429, with the seconds until the minute is over).
   */
  async failed(address: string, prefix: string, failure: GaleError): Promise<GaleError> {
    const keys = [`a:${address}`, ...(prefix ? [`c:${prefix}`] : [])];
    // A GaleError is the limiter's own refusal (rateLimits.degraded fail-closed, while the shared store is down): a
    // failure answers as a success would then (503), so that telling them apart cannot be used to guess uncounted.
    const counted = await Promise.all(keys.map((key) => this.counts.penalty(key, 1).catch((error: unknown) => refusedOrUncounted(error))));
    const over = counted.filter((res): res is RateLimiterRes => res !== undefined && res.consumedPoints > this.perMinute);
    if (over.length === 0) return failure;
    const seconds = Math.max(1, ...over.map((res) => Math.ceil(res.msBeforeNext / 1000)));
    return new GaleError('rate_limited', `too many failed authentications from this address or with this credential; retry in ${seconds} s`, {
      retryAfterSeconds: seconds,
    });
  }
}

/** The count of a failure over the allowance (a RateLimiterRes); undefined when it could not be counted; thrown when refused. */
function refusedOrUncounted(error: unknown): RateLimiterRes | undefined {
  if (error instanceof GaleError) throw error;
  return error instanceof RateLimiterRes ? error : undefined;
}
