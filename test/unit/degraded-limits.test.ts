// Rate limits while their shared store is down (rateLimits.degraded): each replica's share of a limit, the limiter
// that allows it, fail-closed's refusal, and the setting itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';
import { AuthFailureGuard } from '../../src/api/auth-failures.js';
import { Circuit, SharedLimiter } from '../../src/api/limiter/circuit-limiter.js';
import { degradedAllowance, splitAllowance, type DegradedMode, type DegradedPolicy } from '../../src/api/limiter/degraded.js';
import { RateLimitedError, RequestLimiter } from '../../src/api/limiter/request-limiter.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { GaleError } from '../../src/domain/errors.js';

const free = { name: 'free', requestsPerMinute: 60, maxInstances: 1, maxVcpus: 2, maxDiskGb: 50 };

test('split: limit / replicas, rounded down so the fleet stays within the limit, at least 1 a replica', () => {
  const cases: Array<[limit: number, replicas: number, share: number]> = [
    [60, 1, 60],
    [60, 2, 30],
    [60, 3, 20],
    [60, 7, 8], // 7 x 8 = 56: 9 each would be 63
    [61, 2, 30],
    [1, 1, 1],
    [1, 2, 1], // more replicas than the limit: one each, the least that keeps every replica serving
    [5, 3, 1],
    [2, 2, 1],
    [3, 2, 1],
    [600, 4, 150],
    [60, 0, 60], // no count yet: this replica alone
  ];
  for (const [limit, replicas, share] of cases) assert.equal(splitAllowance(limit, replicas), share, `${limit} over ${replicas}`);
  for (let limit = 1; limit <= 200; limit++) {
    for (let replicas = 1; replicas <= 12; replicas++) {
      const share = splitAllowance(limit, replicas);
      assert.ok(share >= 1);
      if (replicas <= limit) {
        assert.ok(share * replicas <= limit, `the fleet never exceeds ${limit} with ${replicas} replicas`);
        assert.ok((share + 1) * replicas > limit, `and a share any larger would: ${limit} over ${replicas}`);
      } else assert.equal(share, 1);
    }
  }
});

test('the modes: the share, the whole limit, or 503 unavailable with Retry-After', () => {
  const policy = (mode: DegradedMode, replicas = 2): DegradedPolicy => ({ mode, replicas: () => replicas });
  assert.equal(degradedAllowance(policy('fail-open-split'), 60), 30);
  assert.equal(degradedAllowance(policy('fail-open-shared'), 60), 60);
  assert.throws(
    () => degradedAllowance(policy('fail-closed'), 60),
    (error: unknown) => error instanceof GaleError && error.code === 'unavailable' && (error.retryAfterSeconds ?? 0) >= 1 && /fail-closed/.test(error.message),
  );
});

/** A shared store that fails every call, as a stopped Redis does. */
class DownStore extends RateLimiterMemory {
  override consume(): Promise<RateLimiterRes> {
    return Promise.reject(new Error('store down'));
  }
  override penalty(): Promise<RateLimiterRes> {
    return Promise.reject(new Error('store down'));
  }
}

function degradedLimiter(policy: DegradedPolicy, t: { after(fn: () => void): void }): { limiter: RequestLimiter; fallbacks: () => number } {
  const circuit = new Circuit({ probe: () => Promise.reject(new Error('still down')), probeIntervalMs: 60_000 });
  t.after(() => circuit.close());
  let fallbacks = 0;
  const factory = (tier: typeof free) => new SharedLimiter(new DownStore({ keyPrefix: `t-${tier.name}`, points: tier.requestsPerMinute, duration: 60 }), circuit, () => (fallbacks += 1), policy);
  return { limiter: new RequestLimiter(factory), fallbacks: () => fallbacks };
}

async function allowed(limiter: RequestLimiter, user: string, attempts: number): Promise<number> {
  let passed = 0;
  for (let i = 0; i < attempts; i++) {
    try {
      await limiter.consume(user, free);
      passed += 1;
    } catch (error) {
      assert.ok(error instanceof RateLimitedError, String(error));
    }
  }
  return passed;
}

test('fail-open-split: a replica of two allows 30 of 60 in memory, and follows the count as replicas come and go', async (t) => {
  let replicas = 2;
  const { limiter, fallbacks } = degradedLimiter({ mode: 'fail-open-split', replicas: () => replicas }, t);
  assert.equal(await allowed(limiter, 'u1', 40), 30);
  assert.equal(fallbacks(), 40, 'every request was counted in memory');
  const first = await limiter.consume('u2', free);
  assert.equal(first.remaining, 29, "remaining is of this replica's share");
  replicas = 3;
  assert.equal(await allowed(limiter, 'u2', 30), 19, 'a replica more: 20 each, one of them spent already');
  replicas = 1;
  // 31 counted so far (refusals count too, as on the shared store).
  assert.equal(await allowed(limiter, 'u2', 60), 29, 'alone again: the whole limit, less what the window holds');
});

test('fail-open-shared: each replica allows the whole limit, as before the split', async (t) => {
  const { limiter } = degradedLimiter({ mode: 'fail-open-shared', replicas: () => 2 }, t);
  assert.equal(await allowed(limiter, 'u1', 70), 60);
});

test('fail-closed: requests and failed authentications are refused 503 while the store is down, and not counted', async (t) => {
  const policy: DegradedPolicy = { mode: 'fail-closed', replicas: () => 2 };
  const { limiter, fallbacks } = degradedLimiter(policy, t);
  await assert.rejects(limiter.consume('u1', free), (error: unknown) => error instanceof GaleError && error.code === 'unavailable');
  assert.equal(fallbacks(), 0);
  // A wrong credential answers as a right one does (503), so that no guess is made uncounted and told apart.
  const circuit = new Circuit({ probe: () => Promise.reject(new Error('still down')), probeIntervalMs: 60_000 });
  t.after(() => circuit.close());
  const guard = new AuthFailureGuard(20, (tier) => new SharedLimiter(new DownStore({ points: tier.requestsPerMinute, duration: 60 }), circuit, () => undefined, policy));
  await assert.rejects(guard.failed('10.0.0.1', 'k:abcdefgh', new GaleError('unauthenticated', 'wrong')), (error: unknown) => error instanceof GaleError && error.code === 'unavailable');
  // In the open modes a failure is counted in memory and answers 401 as before.
  const open = new AuthFailureGuard(20, (tier) => new SharedLimiter(new DownStore({ points: tier.requestsPerMinute, duration: 60 }), circuit, () => undefined));
  const unauthenticated = new GaleError('unauthenticated', 'wrong');
  assert.equal(await open.failed('10.0.0.1', '', unauthenticated), unauthenticated);
});

test('config: rateLimits.degraded defaults to fail-open-split; GALE_RATE_LIMITS_DEGRADED sets it; a wrong value is refused by name', () => {
  assert.equal(loadConfig({ env: {} }).rateLimits.degraded, 'fail-open-split');
  for (const mode of ['fail-open-split', 'fail-open-shared', 'fail-closed'] as const) {
    assert.equal(loadConfig({ env: { GALE_RATE_LIMITS_DEGRADED: mode } }).rateLimits.degraded, mode);
  }
  assert.equal(loadConfig({ env: {}, flags: { rateLimits: { degraded: 'fail-closed' } } }).rateLimits.degraded, 'fail-closed');
  assert.throws(
    () => loadConfig({ env: { GALE_RATE_LIMITS_DEGRADED: 'fail-open' } }),
    (error: unknown) => error instanceof ConfigError && /GALE_RATE_LIMITS_DEGRADED must be one of fail-open-split, fail-open-shared, fail-closed; got "fail-open"/.test(error.message),
  );
  assert.throws(() => loadConfig({ env: {}, flags: { rateLimits: { degraded: 'open' as DegradedMode } } }), /\/rateLimits\/degraded/);
});
