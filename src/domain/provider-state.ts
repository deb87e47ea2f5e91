import type { IdRange } from './provider.js';

/*
 * What a provider may keep in Gale's database: a few keyed JSON values of its own (the simulator's machines, QEMU's
 * bridge addresses), and nothing else of the store. Every write is conditional on what the caller read, so that two
 * processes or replicas sharing the database never both win one change: they meet in the database, not in memory.
 * Implementation: src/store/provider-state.ts.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface StateEntry {
  key: string;
  value: JsonValue;
  /** 1 when inserted, one more on each put: what a compare-and-set compares. */
  version: number;
  /** When it was last written (epoch milliseconds, the store's clock). */
  updatedAt: number;
}

/**
 * One provider's keys: a provider sees only its own. Keys are printable ASCII (space to tilde), at most
 * STATE_KEY_MAX_LENGTH characters, and order bytewise on every engine, so that a provider can page through them by
 * key. A write that loses a race answers undefined or false, never throws: the caller reads again and decides.
 */
export interface ProviderState {
  get(key: string): Promise<StateEntry | undefined>;
  /** Insert if absent: the new entry (version 1), or undefined when the key exists already. */
  insert(key: string, value: JsonValue): Promise<StateEntry | undefined>;
  /** Compare-and-set: writes when the key is still at `version` (as read); undefined when it moved on or is gone. */
  put(key: string, value: JsonValue, version: number): Promise<StateEntry | undefined>;
  /** Removes the key (with a version, only while still at it); false when there was nothing (left) to remove. */
  delete(key: string, version?: number): Promise<boolean>;
  /**
   * The entries whose key starts with prefix, by key in byte order; with a range, only those whose rest of the key
   * (after the prefix) is in (after, through], as the resync pages instance ids.
   */
  list(prefix: string, range?: IdRange): Promise<StateEntry[]>;
}

export const STATE_KEY_MAX_LENGTH = 512;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Throws for a key the port cannot order the same way on every engine: a provider's bug, not a user's. */
export function checkStateKey(key: string, what: 'key' | 'prefix' = 'key'): void {
  const least = what === 'key' ? 1 : 0;
  if (key.length < least || key.length > STATE_KEY_MAX_LENGTH || !PRINTABLE_ASCII.test(key)) {
    throw new Error(`provider state ${what} ${JSON.stringify(key.slice(0, 80))} must be printable ASCII, ${least} to ${STATE_KEY_MAX_LENGTH} characters`);
  }
}
