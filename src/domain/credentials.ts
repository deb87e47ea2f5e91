import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Credentials are high-entropy random strings, so a fast hash is as safe as a slow one
 * against offline guessing and does not cap request throughput. Only hashes are stored.
 */
export function hashCredential(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests of equal length. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
