import type { AccountUserView, ApiKeyView, CreatedApiKeyView, CreatedTokenView, TokenView } from '../contracts/account.js';
import { formatTimestamp } from '../domain/clock.js';
import type { ApiKeyInfo, TokenInfo, User } from '../domain/store.js';
import type { NewKeyPair, NewSessionToken } from './accounts.js';

/*
 * Accounts as the admin routes answer them and `gale admin` prints them: one shape for both, so that the CLI can talk
 * to the store or to a server and print the same thing.
 */

export function userView(user: User): AccountUserView {
  return { id: user.id, email: user.email, tier: user.tier, roles: [...user.roles], customerId: user.customerId, createdAt: formatTimestamp(user.createdAt) };
}

export function apiKeyView(key: ApiKeyInfo): ApiKeyView {
  const view: ApiKeyView = { id: key.id, userId: key.userId, prefix: key.prefix, createdAt: formatTimestamp(key.createdAt) };
  if (key.revokedAt !== null) view.revokedAt = formatTimestamp(key.revokedAt);
  return view;
}

export function tokenView(token: TokenInfo): TokenView {
  const view: TokenView = { id: token.id, userId: token.userId, prefix: token.prefix, createdAt: formatTimestamp(token.createdAt), expiresAt: formatTimestamp(token.expiresAt) };
  if (token.revokedAt !== null) view.revokedAt = formatTimestamp(token.revokedAt);
  return view;
}

/** The one answer that carries the secret: the creating one. */
export function createdApiKeyView(pair: NewKeyPair): CreatedApiKeyView {
  return { ...apiKeyView(pair), apiKey: pair.apiKey, apiSecret: pair.apiSecret };
}

export function createdTokenView(token: NewSessionToken): CreatedTokenView {
  return { ...tokenView(token), token: token.token };
}
