import type { AdminUsers } from '../client/index.js';
import type { AccountsBackend, CredentialRef } from './backend.js';

/*
 * `gale admin` over a server's admin routes (docs/api.md, "Accounts (admins)"), through the typed client: for admins
 * without a shell on the server's host. The routes answer in the shapes the local backend builds (contracts/account.ts),
 * so the commands print the same either way. The caller must be a compute admin; the server says 403 otherwise.
 */

/** A credential named by its value, which the routes never take (a key or token never goes in a URL). */
export class ValueRefOverHttpError extends Error {
  override readonly name = 'ValueRefOverHttpError';
}

function idOf(ref: CredentialRef, what: string, list: string): string {
  if ('id' in ref) return ref.id;
  throw new ValueRefOverHttpError(
    `over the API a ${what} is revoked by its id, never by its value (which would travel in a URL): find the id with \`${list} --user <userId>\` and use --id`,
  );
}

/** `users` is the client's admin.users; `endpoint` is what it talks to, for the line on stderr. */
export function httpBackend(users: AdminUsers, endpoint: string): AccountsBackend {
  return {
    target: `the API at ${endpoint}`,
    // The server's credentialCacheMs is not published: the commands then say "takes effect" without a bound.
    propagationMs: undefined,
    createUser: (input) =>
      users.create({
        email: input.email,
        ...(input.tier !== undefined ? { tier: input.tier } : {}),
        admin: input.admin,
        ...(input.customerId ? { customerId: input.customerId } : {}),
      }),
    listUsers: (filter) =>
      users.all({
        ...(filter.tier !== undefined ? { tier: filter.tier } : {}),
        ...(filter.customerId !== undefined ? { customerID: filter.customerId } : {}),
        ...(filter.email !== undefined ? { email: filter.email } : {}),
      }),
    getUser: (userId) => users.get(userId),
    setUserTier: (userId, tier) => users.setTier(userId, { tier }),
    setUserCustomer: (userId, customerId) => users.setCustomer(userId, { customerId }),
    createApiKey: (userId) => users.createApiKey(userId),
    listApiKeys: (userId) => users.apiKeys(userId),
    revokeApiKey: (key) => users.revokeApiKey(idOf(key, 'key pair', 'gale admin keys list')),
    createToken: (userId, ttl) => users.createToken(userId, { ttl }),
    listTokens: (userId) => users.tokens(userId),
    revokeToken: (token) => users.revokeToken(idOf(token, 'token', 'gale admin tokens list')),
    close: async () => undefined,
  };
}
