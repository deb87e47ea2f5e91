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
    const credential = credentialOf(headers);
    const hit = this.cache.get(credential.cacheKey);
    return this.verify(credential, hit ? hit.value : await this.load(credential));
  }

  /**
   * The same answer at once when the credential's lookup is cached (as it is for every request but a credential's
   * first in cacheMs), or undefined when the store must be asked (authenticate then). Throws as authenticate does.
   */
  authenticateNow(headers: IncomingHttpHeaders): Principal | undefined {
    const credential = credentialOf(headers);
    const hit = this.cache.get(credential.cacheKey);
    return hit ? this.verify(credential, hit.value) : undefined;
  }

  private async load(credential: Credential): Promise<Lookup> {
    let value: Lookup;
    if (credential.kind === 'token') {
      const row = await this.users.findToken(credential.hash);
      value = row ? { user: row.user, expiresAt: row.expiresAt, revoked: row.revokedAt !== null } : null;
    } else {
      const row = await this.users.findApiKey(credential.hash);
      value = row ? { user: row.user, secretHash: row.secretHash, revoked: row.revokedAt !== null } : null;
    }
    this.cache.set(credential.cacheKey, { value });
    return value;
  }

  private verify(credential: Credential, found: Lookup): Principal {
    if (credential.kind === 'token') {
      const token = found as CachedToken | null;
      if (!token || token.revoked) throw unauthenticated('invalid or revoked token');
      if (token.expiresAt <= this.clock.now()) throw unauthenticated('the token has expired; create a new one');
      return principalOf(token.user);
    }
    const key = found as CachedKey | null;
    // The secret is hashed even when the key is unknown, so timing does not tell known keys apart.
    const secretHash = hashCredential(credential.secret);
    if (!key || !sameHash(key.secretHash, secretHash) || key.revoked) throw unauthenticated('invalid api-key or api-secret');
    return principalOf(key.user);
  }
}

/** A request's credential, checked for form: the hash it is looked up by, and the api-key's secret. */
type Credential = { kind: 'token'; hash: string; cacheKey: string } | { kind: 'key'; hash: string; cacheKey: string; secret: string };

function credentialOf(headers: IncomingHttpHeaders): Credential {
  const authorization = single(headers, 'authorization');
  const apiKey = single(headers, 'api-key');
  const apiSecret = single(headers, 'api-secret');
  if (authorization !== undefined && (apiKey !== undefined || apiSecret !== undefined)) {
    throw invalidRequest('send either Authorization: Bearer <token> or api-key and api-secret, not both');
  }
  if (authorization !== undefined) {
    const match = /^Bearer +([^\s]+) *$/i.exec(authorization);
    if (!match) throw unauthenticated('the Authorization header must be "Bearer <token>"');
    const hash = hashCredential(match[1]!);
    return { kind: 'token', hash, cacheKey: `t:${hash}` };
  }
  if (apiKey !== undefined || apiSecret !== undefined) {
    if (!apiKey || !apiSecret) throw unauthenticated('api-key and api-secret must be sent together');
    const hash = hashCredential(apiKey);
    return { kind: 'key', hash, cacheKey: `k:${hash}`, secret: apiSecret };
  }
  throw forbidden('authentication required: send Authorization: Bearer <token>, or api-key and api-secret');
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

