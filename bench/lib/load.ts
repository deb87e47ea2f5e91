import autocannon from 'autocannon';

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export type Request = NonNullable<autocannon.Options['requests']>[number];
export type RawRequest = autocannon.Request;

/**
 * One autocannon run; latencies in milliseconds. Several URLs share the connections round-robin and one latency
 * histogram, so the p99 of a fleet is the fleet's, not an average of per-server p99s.
 */
export async function load(url: string | string[], options: { connections: number; durationSec: number; requests: Request[] }): Promise<LoadResult> {
  const result = await autocannon({
    // autocannon documents an array of URLs ("More than one url is allowed"); its published typings only say string.
    url: (Array.isArray(url) && url.length === 1 ? url[0]! : url) as string,
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

export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}
