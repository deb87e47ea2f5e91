import { LRUCache } from 'lru-cache';
import type { IncomingHttpHeaders } from 'node:http';
import { hashCredential, sameHash } from '../domain/credentials.js';
import { forbidden, invalidRequest, unauthenticated } from '../domain/errors.js';
import type { Clock } from '../domain/clock.js';
import { ADMIN_ROLE, type User, type UserStore } from '../domain/store.js';

export interface Principal {
  user: User;
  isAdmin: boolean;
}

interface CachedKey {
  user: User;
  secretHash: string;
  revoked: boolean;
}

interface CachedToken {
  user: User;
  expiresAt: number;
  revoked: boolean;
}

type Lookup = CachedKey | CachedToken | null;

/**
 * Verifies a request's credentials. Lookups are cached for at most cacheMs (the documented bound on how
 * long a revocation or a tier change takes to reach every replica); misses are cached too, so a flood
 * of bad keys cannot turn into a flood of queries. Only hashes are kept, in memory as in the store.
 */
export class Authenticator {
  private readonly cache: LRUCache<string, { value: Lookup }>;

  constructor(
    private readonly users: Pick<UserStore, 'findApiKey' | 'findToken'>,
    private readonly clock: Clock,
    cacheMs: number,
  ) {
    this.cache = new LRUCache({ max: 100_000, ttl: Math.max(cacheMs, 1), ttlAutopurge: false });
  }

  async authenticate(headers: IncomingHttpHeaders): Promise<Principal> {
    const authorization = single(headers, 'authorization');
    const apiKey = single(headers, 'api-key');
    const apiSecret = single(headers, 'api-secret');
    if (authorization !== undefined && (apiKey !== undefined || apiSecret !== undefined)) {
      throw invalidRequest('send either Authorization: Bearer <token> or api-key and api-secret, not both');
    }
    if (authorization !== undefined) return this.fromToken(authorization);
    if (apiKey !== undefined || apiSecret !== undefined) {
      if (!apiKey || !apiSecret) throw unauthenticated('api-key and api-secret must be sent together');
      return this.fromKey(apiKey, apiSecret);
    }
    throw forbidden('authentication required: send Authorization: Bearer <token>, or api-key and api-secret');
  }

  private async fromToken(authorization: string): Promise<Principal> {
    const match = /^Bearer +([^\s]+) *$/i.exec(authorization);
    if (!match) throw unauthenticated('the Authorization header must be "Bearer <token>"');
    const tokenHash = hashCredential(match[1]!);
    const found = (await this.lookup(`t:${tokenHash}`, async () => {
      const row = await this.users.findToken(tokenHash);
      return row ? { user: row.user, expiresAt: row.expiresAt, revoked: row.revokedAt !== null } : null;
    })) as CachedToken | null;
    if (!found || found.revoked) throw unauthenticated('invalid or revoked token');
    if (found.expiresAt <= this.clock.now()) throw unauthenticated('the token has expired; create a new one');
    return principalOf(found.user);
  }

  private async fromKey(apiKey: string, apiSecret: string): Promise<Principal> {
    const keyHash = hashCredential(apiKey);
    const found = (await this.lookup(`k:${keyHash}`, async () => {
      const row = await this.users.findApiKey(keyHash);
      return row ? { user: row.user, secretHash: row.secretHash, revoked: row.revokedAt !== null } : null;
    })) as CachedKey | null;
    // Hash the secret even when the key is unknown, so timing does not tell known keys apart.
    const secretHash = hashCredential(apiSecret);
    if (!found || !sameHash(found.secretHash, secretHash) || found.revoked) {
      throw unauthenticated('invalid api-key or api-secret');
    }
    return principalOf(found.user);
  }

  private async lookup(cacheKey: string, load: () => Promise<Lookup>): Promise<Lookup> {
    const hit = this.cache.get(cacheKey);
    if (hit) return hit.value;
    const value = await load();
    this.cache.set(cacheKey, { value });
    return value;
  }
}

function principalOf(user: User): Principal {
  return { user, isAdmin: user.roles.includes(ADMIN_ROLE) };
}

/** A header sent twice arrives as an array (or joined): that is ambiguous, so it is refused. */
function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw invalidRequest(`the ${name} header was sent more than once`);
  return value;
}

