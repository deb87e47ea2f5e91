import { createHash } from 'node:crypto';
import { GaleError } from './errors.js';

/*
 * Idempotent requests. A client names one attempt of a change with a key; repeats of that attempt get the first
 * answer instead of a second change. The key row is written in the same transaction as the change it answers, so
 * "changed but no key" and "key but not changed" cannot exist, whatever crashes.
 */

/** How long a key is remembered by default, as Stripe does; a repeat after it is a new request. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** 1-64 printable ASCII characters (space to tilde): fits a header and an index, and any client's UUIDs or ULIDs. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,64}$/;

/** GCE's requestId: a UUID (any version), the zero UUID excepted as GCE does. */
export const REQUEST_ID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** An answer as it was sent: replayed byte for byte. body is '' for answers without one (204). */
export interface StoredResponse {
  status: number;
  body: string;
  /** Headers that are part of the answer itself (Location, x-operation-id), replayed with it. */
  headers?: Record<string, string>;
}

/** What a request with a key asks the store to guard. */
export interface IdempotencyClaim {
  /** Keys are scoped per user: two users may use the same key for unrelated requests. */
  userId: string;
  key: string;
  /** Digest of method, route, path parameters and body: a repeat must carry the same. */
  requestHash: string;
  now: number;
  /** When the key is forgotten (now + the configured retention, 24 h by default). */
  expiresAt: number;
}

/** A claim plus the answer to keep, made from the change's own outcome inside its transaction. */
export interface IdempotentWrite<T> extends IdempotencyClaim {
  response(outcome: T): StoredResponse;
}

/**
 * Raised by a store method whose key was already used for the same request: nothing was changed, and the first
 * answer is to be sent again. An exception rather than a return value, so the store's methods keep their results
 * and the transaction is rolled back by the same path as every other refusal.
 */
export class IdempotentReplay extends Error {
  constructor(readonly response: StoredResponse) {
    super('idempotent replay');
    this.name = 'IdempotentReplay';
  }
}

export function idempotencyMismatch(key: string): GaleError {
  return new GaleError(
    'idempotency_mismatch',
    `Idempotency-Key "${key}" was already used for a different request in the last 24 hours; use a new key for a new request`,
  );
}

/** The stored answer for a claim, or the mismatch error when the key was used for something else. */
export function replayOf(stored: { requestHash: string; response: StoredResponse }, claim: IdempotencyClaim): IdempotentReplay | GaleError {
  return stored.requestHash === claim.requestHash ? new IdempotentReplay(stored.response) : idempotencyMismatch(claim.key);
}

/**
 * sha256 of a JSON value in canonical form (object keys sorted, no whitespace), so that the same request sent with
 * other spacing or key order hashes the same. Walked with an explicit stack: a body may nest as deep as its size
 * allows, deeper than a recursive walk (or JSON.stringify) survives.
 */
export function canonicalHash(parts: readonly unknown[]): string {
  const hash = createHash('sha256');
  type Item = { literal: string } | { value: unknown };
  const stack: Item[] = [];
  for (let i = parts.length - 1; i >= 0; i--) stack.push({ value: parts[i] }, ...(i > 0 ? [{ literal: '\n' }] : []));
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ('literal' in item) {
      hash.update(item.literal);
      continue;
    }
    const value = item.value;
    if (Array.isArray(value)) {
      stack.push({ literal: ']' });
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i] });
        if (i > 0) stack.push({ literal: ',' });
      }
      stack.push({ literal: '[' });
    } else if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      stack.push({ literal: '}' });
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push({ value: record[keys[i]!] });
        stack.push({ literal: `${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:` });
      }
      stack.push({ literal: '{' });
    } else {
      // No body (undefined) has no JSON form: it hashes as a word no JSON value spells, so it differs from null.
      hash.update(value === undefined ? 'undefined' : (JSON.stringify(value) ?? 'null'));
    }
  }
  return hash.digest('hex');
}
