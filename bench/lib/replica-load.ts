import autocannon from 'autocannon';
import type { LoadResult, RawRequest, Request } from './load.js';
import { pick } from './load.js';
import type { BenchUser } from './replica-fleet.js';

const V1 = '/api/compute/v1';

/**
 * The mix every fleet gets: 80% GET /instances/{id}, 10% GET /instances (the user's list), 10% a power operation
 * (reset: always accepted on a running instance, and real work for the reconciler behind the API). Random user and
 * instance per request, so that no cache sees one hot key.
 */
export function requestMix(users: BenchUser[]): Request[] {
  return [
    {
      method: 'GET' as const,
      setupRequest: (req: RawRequest) => {
        const user = pick(users);
        const headers = { authorization: `Bearer ${user.token}` };
        const roll = Math.random();
        if (roll < 0.8) return { ...req, method: 'GET', path: `${V1}/instances/${pick(user.instanceIds)}`, headers };
        if (roll < 0.9) return { ...req, method: 'GET', path: `${V1}/instances`, headers };
        return { ...req, method: 'POST', path: `${V1}/instances/${pick(user.instanceIds)}/reset`, headers };
      },
    },
  ];
}

/**
 * One autocannon run over every replica at once: autocannon deals its connections round-robin over the URLs and keeps
 * one latency histogram, so the p99 is the fleet's, not an average of per-replica p99s. Latencies in milliseconds.
 */
export async function loadFleet(urls: string[], options: { connections: number; durationSec: number; requests: Request[] }): Promise<LoadResult> {
  const result = await autocannon({
    // autocannon documents an array of URLs ("More than one url is allowed"); its published typings only say string.
    url: (urls.length === 1 ? urls[0]! : urls) as string,
    connections: options.connections,
    duration: options.durationSec,
    requests: options.requests,
  });
  return {
    requests: result.requests.total,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}
