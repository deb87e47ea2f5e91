import { RateLimiterRes } from 'rate-limiter-flexible';
import { GaleError } from '../../domain/errors.js';
import type { Tier } from '../../domain/tiers.js';
import { MemoryLimiter } from './memory-limiter.js';
import type { Limiter } from './circuit-limiter.js';

export interface LimitState {
  limit: number;
  remaining: number;
  /** Seconds until the allowance is whole again. */
  resetSeconds: number;
}

/** Makes the limiter for one tier; the composition root picks the backing store (memory, Redis, PostgreSQL). */
export type LimiterFactory = (tier: Tier) => Limiter;

export const memoryLimiterFactory: LimiterFactory = (tier) => new MemoryLimiter(tier.requestsPerMinute, 60);

/**
 * Per-user request allowance: each tier grants requestsPerMinute requests a minute, which a user may spend
 * in one burst; the request after the allowance is refused until it refills. A window starts at a user's first
 * request, so that users' refills are spread out. The counts are this replica's own (MemoryLimiter) unless the
 * factory given shares them (backends.ts: rate-limiter-flexible over Redis or PostgreSQL).
 */
export class RequestLimiter {
  private readonly limiters = new Map<string, Limiter>();

  constructor(private readonly factory: LimiterFactory = memoryLimiterFactory) {}

  async consume(userId: string, tier: Tier): Promise<LimitState> {
    const limiter = this.limiterFor(tier);
    try {
      return stateOf(tier, await limiter.consume(userId, 1));
    } catch (rejection) {
      throw refusal(tier, rejection);
    }
  }

  /** The same, answered at once when the counts are in this process's memory; undefined when they are elsewhere. */
  consumeNow(userId: string, tier: Tier): LimitState | undefined {
    const limiter = this.limiterFor(tier);
    if (!(limiter instanceof MemoryLimiter)) return undefined;
    try {
      return stateOf(tier, limiter.consumeNow(userId, 1));
    } catch (rejection) {
      throw refusal(tier, rejection);
    }
  }

  private limiterFor(tier: Tier): Limiter {
    let limiter = this.limiters.get(tier.name);
    if (!limiter || limiter.points !== tier.requestsPerMinute) {
      limiter = this.factory(tier);
      this.limiters.set(tier.name, limiter);
    }
    return limiter;
  }
}

/** Over the allowance (a RateLimiterRes) becomes the API's 429; anything else is the limiter's own failure. */
function refusal(tier: Tier, rejection: unknown): unknown {
  return rejection instanceof RateLimiterRes ? new RateLimitedError(stateOf(tier, rejection), tier) : rejection;
}

function stateOf(tier: Tier, res: RateLimiterRes): LimitState {
  return {
    limit: tier.requestsPerMinute,
    remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  };
}

export class RateLimitedError extends GaleError {
  constructor(readonly state: LimitState, readonly tier: Tier) {
    super('rate_limited', `rate limit exceeded: ${tier.requestsPerMinute} requests per minute (tier ${tier.name}); retry in ${state.resetSeconds} s`, {
      retryAfterSeconds: state.resetSeconds,
    });
  }
}
