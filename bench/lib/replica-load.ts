import type { RawRequest, Request } from './load.js';
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
