import { randomBytes, randomInt, randomUUID } from 'node:crypto';

/**
 * Instance ids follow the documented form tw-<first 6 hex digits of the owner's id>-<8 random hex digits>,
 * e.g. tw-550e84-a1b2c3d4 for user 550e8400-e29b-41d4-a716-446655440000.
 */
export function newInstanceId(ownerUserId: string): string {
  const ownerHex = ownerUserId.replace(/-/g, '').slice(0, 6).toLowerCase();
  return `tw-${ownerHex}-${randomBytes(4).toString('hex')}`;
}

export const INSTANCE_ID_PATTERN = /^tw-[0-9a-f]{6}-[0-9a-f]{8}$/;

/**
 * A UUID version 7 (RFC 9562): the first 48 bits are the time in milliseconds, the rest random. Rows keyed by it
 * are appended at the end of their index instead of landing on a random page of it, so a commit writes fewer pages.
 * Built from randomUUID, whose random bits come from a pooled buffer, with the time and version written over it.
 */
export function newTimeOrderedId(now = Date.now()): string {
  const time = (Math.max(0, Math.floor(now)) % 2 ** 48).toString(16).padStart(12, '0');
  const random = randomUUID();
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15)}`;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniformly random alphanumeric string (rejection-free: randomInt is unbiased). */
export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/*
 * Credential lengths: every credential carries at least 256 bits of entropy
 * (log2(62) = 5.95 bits a character). The family's docs show 32-character keys;
 * we make keys 44 characters so that the key alone also clears 256 bits.
 */
export const API_KEY_LENGTH = 44; // 262 bits
export const API_SECRET_LENGTH = 64; // 381 bits
export const SESSION_TOKEN_LENGTH = 64; // 381 bits

export const newApiKey = (): string => randomAlphanumeric(API_KEY_LENGTH);
export const newApiSecret = (): string => randomAlphanumeric(API_SECRET_LENGTH);
export const newSessionToken = (): string => randomAlphanumeric(SESSION_TOKEN_LENGTH);
