import type { AccountUserView, ApiKeyView, CreatedApiKeyView, CreatedTokenView, TokenView } from '../contracts/account.js';

/*
 * What `gale admin` does, whatever it talks to. Today: the store itself (local-backend.ts), for operators on the
 * server's host. Next: a server's admin routes (/api/compute/v1/admin/users…), through a user profile; the answers are
 * the routes' own shapes (contracts/account.ts), so the commands print the same either way.
 */

export interface NewUserInput {
  email: string;
  /** The configured default tier when absent. */
  tier?: string;
  admin: boolean;
  customerId?: string;
}

export interface UserListFilter {
  tier?: string;
  customerId?: string;
  email?: string;
}

/** A credential named by its id (what lists and the admin routes use), or by its value (what the holder has). */
export type CredentialRef = { id: string } | { value: string };

export interface AccountsBackend {
  /** What it works on, for the line on stderr: "the SQLite store at …", "https://gale.example.com". */
  readonly target: string;
  /** How long a revocation or a tier change takes to reach every server (credentialCacheMs), when known. */
  readonly propagationMs: number | undefined;
  createUser(input: NewUserInput): Promise<AccountUserView>;
  /** Every matching user, newest first, a page at a time underneath. */
  listUsers(filter: UserListFilter): AsyncIterable<AccountUserView>;
  getUser(userId: string): Promise<AccountUserView>;
  setUserTier(userId: string, tier: string): Promise<AccountUserView>;
  setUserCustomer(userId: string, customerId: string): Promise<AccountUserView>;
  /** The only answer that carries the secret. */
  createApiKey(userId: string): Promise<CreatedApiKeyView>;
  listApiKeys(userId: string): AsyncIterable<ApiKeyView>;
  revokeApiKey(key: CredentialRef): Promise<void>;
  /** ttl as the routes take it: 90s, 30m, 24h, 7d or seconds. */
  createToken(userId: string, ttl: string): Promise<CreatedTokenView>;
  listTokens(userId: string): AsyncIterable<TokenView>;
  revokeToken(token: CredentialRef): Promise<void>;
  close(): Promise<void>;
}
