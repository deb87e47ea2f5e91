import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { hashCredential } from '../domain/credentials.js';
import { invalidRequest, notFound } from '../domain/errors.js';
import type { IdempotentWrite } from '../domain/idempotency.js';
import { newApiKey, newApiSecret, newSessionToken } from '../domain/ids.js';
import { ADMIN_ROLE, type ApiKeyInfo, type TokenInfo, type User, type UserStore } from '../domain/store.js';
import type { Tiers } from '../domain/tiers.js';

/*
 * Account administration shared by `gale admin …`, the admin HTTP routes (api/routes/admin-accounts*.ts) and the
 * first-start bootstrap. Secrets are returned to the caller exactly once and only their hashes are stored, with the
 * first few characters of each (CREDENTIAL_PREFIX_LENGTH) so that a list can show which is which.
 */

/** Something@somewhere, without spaces or control characters (PostgreSQL refuses a NUL in text; nobody types one). */
const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u;
const MAX_EMAIL_LENGTH = 254;
/** Ten years: a credential meant to outlive that should be replaced, and dates past it stop being printable. */
export const MAX_DURATION_MS = 3650 * 86_400_000;
/** What a customer id may be: an id from the operator's own systems (a UUID, a slug, an account number). */
const CUSTOMER_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/**
 * Characters of a key or token kept in clear to recognise it by: as many as the brake on failed authentications names
 * credentials by (api/auth-failures.ts). Of a 44-character key that leaves 214 random bits unknown, of a token 333.
 */
export const CREDENTIAL_PREFIX_LENGTH = 8;

/** A new key pair: the secret is in this value and nowhere else, ever. */
export interface NewKeyPair extends ApiKeyInfo {
  apiKey: string;
  apiSecret: string;
}

/** A new session token: the token is in this value and nowhere else, ever. */
export interface NewSessionToken extends TokenInfo {
  token: string;
}

export async function createUser(
  store: UserStore,
  clock: Clock,
  tiers: Tiers,
  input: { email: string; tier: string; admin: boolean; customerId?: string },
  idempotency?: IdempotentWrite<User>,
): Promise<User> {
  if (!EMAIL.test(input.email)) throw invalidRequest(`"${input.email}" is not an email address`);
  if (input.email.length > MAX_EMAIL_LENGTH) throw invalidRequest(`an email address has at most ${MAX_EMAIL_LENGTH} characters`);
  assertTier(tiers, input.tier);
  assertCustomerId(input.customerId ?? '');
  return store.createUser(
    {
      id: randomUUID(),
      email: input.email,
      tier: input.tier,
      roles: input.admin ? [ADMIN_ROLE] : [],
      customerId: input.customerId ?? '',
      createdAt: clock.now(),
    },
    idempotency,
  );
}

/** Moves a user, with their live instances, to a customer; '' takes them out of any. */
export async function setUserCustomer(store: UserStore, userId: string, customerId: string, idempotency?: IdempotentWrite<User>): Promise<User> {
  assertCustomerId(customerId);
  return store.setUserCustomer(userId, customerId, idempotency);
}

export async function setUserTier(store: UserStore, tiers: Tiers, userId: string, tier: string, idempotency?: IdempotentWrite<User>): Promise<User> {
  assertTier(tiers, tier);
  return store.setUserTier(userId, tier, idempotency);
}

/**
 * A new key pair for a user (not_found for an unknown one). An idempotency answer is built from the stored ApiKeyInfo
 * alone: the secret never reaches the store, so a repeat cannot be answered with it.
 */
export async function createApiKey(store: UserStore, clock: Clock, userId: string, idempotency?: IdempotentWrite<ApiKeyInfo>): Promise<NewKeyPair> {
  const apiKey = newApiKey();
  const apiSecret = newApiSecret();
  const info = await store.createApiKey(
    {
      id: randomUUID(),
      userId,
      keyHash: hashCredential(apiKey),
      secretHash: hashCredential(apiSecret),
      prefix: apiKey.slice(0, CREDENTIAL_PREFIX_LENGTH),
      createdAt: clock.now(),
    },
    idempotency,
  );
  return { ...info, apiKey, apiSecret };
}

/** A new session token for a user (not_found for an unknown one); as for keys, the token never reaches the store. */
export async function createToken(store: UserStore, clock: Clock, userId: string, ttlMs: number, idempotency?: IdempotentWrite<TokenInfo>): Promise<NewSessionToken> {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_DURATION_MS) throw invalidRequest('a token lives from 1 second to 3650 days (ten years)');
  const token = newSessionToken();
  const now = clock.now();
  const info = await store.createToken(
    { id: randomUUID(), userId, tokenHash: hashCredential(token), prefix: token.slice(0, CREDENTIAL_PREFIX_LENGTH), expiresAt: now + ttlMs, createdAt: now },
    idempotency,
  );
  return { ...info, token };
}

/** Revokes by the key itself (what `gale admin keys revoke --key` is given). */
export async function revokeApiKey(store: UserStore, clock: Clock, apiKey: string): Promise<void> {
  if (!(await store.revokeApiKey(hashCredential(apiKey), clock.now()))) throw notFound('no such api key');
}

export async function revokeToken(store: UserStore, clock: Clock, token: string): Promise<void> {
  if (!(await store.revokeToken(hashCredential(token), clock.now()))) throw notFound('no such token');
}

/** A user, or not_found naming the id. */
export async function requireUser(store: Pick<UserStore, 'getUser'>, userId: string): Promise<User> {
  const user = await store.getUser(userId);
  if (!user) throw notFound(`no user ${userId}`);
  return user;
}

/** "24h", "30m", "90s", "7d" or plain seconds. */
export function parseDuration(text: string): number {
  const match = /^([0-9]+)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!match) throw invalidRequest(`"${text}" is not a duration; use e.g. 90s, 30m, 24h or 7d`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  const ms = Number(match[1]) * unit;
  if (ms <= 0) throw invalidRequest('a duration must be positive');
  if (ms > MAX_DURATION_MS) throw invalidRequest(`"${text}" is too long: at most 3650d (ten years)`);
  return ms;
}

function assertCustomerId(customerId: string): void {
  if (customerId !== '' && !CUSTOMER_ID.test(customerId)) {
    throw invalidRequest(`"${customerId}" is not a customer id: 1-64 letters, digits and . _ : -, starting with a letter or digit`);
  }
}

function assertTier(tiers: Tiers, tier: string): void {
  // Own keys only: "constructor" or "__proto__" is no tier, whatever the object behind the table inherits.
  if (!Object.hasOwn(tiers, tier)) throw invalidRequest(`unknown tier "${tier}"; known tiers: ${Object.keys(tiers).join(', ')}`);
}
