import { randomUUID } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { hashCredential } from '../domain/credentials.js';
import { invalidRequest, notFound } from '../domain/errors.js';
import { newApiKey, newApiSecret, newSessionToken } from '../domain/ids.js';
import { ADMIN_ROLE, type User, type UserStore } from '../domain/store.js';
import type { Tiers } from '../domain/tiers.js';

/*
 * Account administration shared by `gale admin …` and the first-start bootstrap. Secrets are returned
 * to the caller exactly once and only their hashes are stored.
 */

const EMAIL = /^[^\s@]+@[^\s@]+$/;
/** Ten years: a credential meant to outlive that should be replaced, and dates past it stop being printable. */
const MAX_DURATION_MS = 3650 * 86_400_000;
/** What a customer id may be: an id from the operator's own systems (a UUID, a slug, an account number). */
const CUSTOMER_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export async function createUser(
  store: UserStore,
  clock: Clock,
  tiers: Tiers,
  input: { email: string; tier: string; admin: boolean; customerId?: string },
): Promise<User> {
  if (!EMAIL.test(input.email)) throw invalidRequest(`"${input.email}" is not an email address`);
  assertTier(tiers, input.tier);
  assertCustomerId(input.customerId ?? '');
  return store.createUser({
    id: randomUUID(),
    email: input.email,
    tier: input.tier,
    roles: input.admin ? [ADMIN_ROLE] : [],
    customerId: input.customerId ?? '',
    createdAt: clock.now(),
  });
}

/** Moves a user, with their live instances, to a customer; '' takes them out of any. */
export async function setUserCustomer(store: UserStore, userId: string, customerId: string): Promise<User> {
  assertCustomerId(customerId);
  return store.setUserCustomer(userId, customerId);
}

export async function setUserTier(store: UserStore, tiers: Tiers, userId: string, tier: string): Promise<User> {
  assertTier(tiers, tier);
  return store.setUserTier(userId, tier);
}

export async function createApiKey(store: UserStore, clock: Clock, userId: string): Promise<{ apiKey: string; apiSecret: string }> {
  await requireUser(store, userId);
  const apiKey = newApiKey();
  const apiSecret = newApiSecret();
  await store.createApiKey({ id: randomUUID(), userId, keyHash: hashCredential(apiKey), secretHash: hashCredential(apiSecret), createdAt: clock.now() });
  return { apiKey, apiSecret };
}

export async function createToken(store: UserStore, clock: Clock, userId: string, ttlMs: number): Promise<{ token: string; expiresAt: number }> {
  await requireUser(store, userId);
  const token = newSessionToken();
  const expiresAt = clock.now() + ttlMs;
  await store.createToken({ id: randomUUID(), userId, tokenHash: hashCredential(token), expiresAt, createdAt: clock.now() });
  return { token, expiresAt };
}

export async function revokeApiKey(store: UserStore, clock: Clock, apiKey: string): Promise<void> {
  if (!(await store.revokeApiKey(hashCredential(apiKey), clock.now()))) throw notFound('no such api key');
}

export async function revokeToken(store: UserStore, clock: Clock, token: string): Promise<void> {
  if (!(await store.revokeToken(hashCredential(token), clock.now()))) throw notFound('no such token');
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
  if (!tiers[tier]) throw invalidRequest(`unknown tier "${tier}"; known tiers: ${Object.keys(tiers).join(', ')}`);
}

async function requireUser(store: UserStore, userId: string): Promise<User> {
  const user = await store.getUser(userId);
  if (!user) throw notFound(`no user ${userId}`);
  return user;
}
