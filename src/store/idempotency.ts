import type { Kysely } from 'kysely';
import { GaleError } from '../domain/errors.js';
import {
  IdempotentReplay,
  replayOf,
  type IdempotencyClaim,
  type IdempotentWrite,
  type StoredResponse,
} from '../domain/idempotency.js';
import type { HistoryStore } from '../domain/store.js';
import { isUniqueViolation, type Db } from './db.js';
import { statement } from './precompiled.js';
import type { Database } from './schema.js';

/*
 * The idempotency_keys table (migration 002). Its type lives here rather than in schema.ts: only this module
 * touches the table, and reaches it through withTables.
 */
// A type alias, not an interface: withTables wants a record type.
type IdempotencyKeysTable = {
  user_id: string;
  key: string;
  request_hash: string;
  response_status: number;
  response_body: string;
  /** JSON object of the answer's own headers (migration 005). */
  response_headers: string;
  created_at: number;
  expires_at: number;
};

type KeysTables = { idempotency_keys: IdempotencyKeysTable };

// A duplicate that loses the race on the key's primary key retries once to read the winner; more is a bug.
const MAX_RACE_ATTEMPTS = 3;
// Expired keys are purged in the background of guarded changes, at most this often per store and this many a time,
// so that no timer is needed and an idle server writes nothing.
const PURGE_EVERY_MS = 60_000;
const PURGE_BATCH = 500;
const lastPurge = new WeakMap<Db, number>();

interface Stored {
  requestHash: string;
  response: StoredResponse;
  expiresAt: number;
}

const selectKey = statement((q, { userId, key }: { userId: string; key: string }) =>
  q
    .withTables<KeysTables>()
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'response_status', 'response_body', 'response_headers', 'expires_at'])
    .where('user_id', '=', userId)
    .where('key', '=', key),
);

// Columns named one by one: the builder's argument is a placeholder for each, with nothing to spread.
const insertKey = statement((q, row: IdempotencyKeysTable) =>
  q.withTables<KeysTables>().insertInto('idempotency_keys').values({
    user_id: row.user_id,
    key: row.key,
    request_hash: row.request_hash,
    response_status: row.response_status,
    response_body: row.response_body,
    response_headers: row.response_headers,
    created_at: row.created_at,
    expires_at: row.expires_at,
  }),
);

async function find(q: Kysely<Database>, claim: IdempotencyClaim): Promise<Stored | undefined> {
  const [row] = (await selectKey(q, claim)).rows;
  if (!row) return undefined;
  const headers = JSON.parse(row.response_headers) as Record<string, string>;
  return { requestHash: row.request_hash, response: { status: row.response_status, body: row.response_body, headers }, expiresAt: row.expires_at };
}

/**
 * First statement of a guarded change's transaction: raises IdempotentReplay (or the mismatch error) when the key
 * already answered, so nothing is changed twice. An expired row is removed here so that the key can be used anew.
 */
export async function replayIfAnswered(trx: Kysely<Database>, claim: IdempotencyClaim | undefined): Promise<void> {
  if (!claim) return;
  const stored = await find(trx, claim);
  if (!stored) return;
  if (stored.expiresAt > claim.now) throw replayOf(stored, claim);
  await trx.withTables<KeysTables>().deleteFrom('idempotency_keys').where('user_id', '=', claim.userId).where('key', '=', claim.key).execute();
}

/** Last statement of a guarded change's transaction: the key and the answer commit with the change, or neither does. */
export async function rememberAnswer<T>(trx: Kysely<Database>, write: IdempotentWrite<T> | undefined, outcome: T): Promise<void> {
  if (!write) return;
  const response = write.response(outcome);
  await insertKey(trx, {
    user_id: write.userId,
    key: write.key,
    request_hash: write.requestHash,
    response_status: response.status,
    response_body: response.body,
    response_headers: JSON.stringify(response.headers ?? {}),
    created_at: write.now,
    expires_at: write.expiresAt,
  });
}

/**
 * Runs a guarded change. When it fails for any reason (its key's row inserted by a concurrent duplicate, or a
 * refusal such as a quota or a status that the duplicate's change caused), the transaction has rolled back and
 * the key is looked up once more: if a duplicate committed meanwhile, its answer is this request's answer too.
 * On SQLite writers are serialised and the first statement already sees the winner; on PostgreSQL the primary key
 * is what decides.
 */
export async function guarded<T>(db: Db, claim: IdempotencyClaim | undefined, change: () => Promise<T>): Promise<T> {
  if (!claim) return change();
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await change();
      purgeNowAndThen(db, claim.now);
      return result;
    } catch (error) {
      if (error instanceof IdempotentReplay || (error instanceof GaleError && error.code === 'idempotency_mismatch')) throw error;
      const stored = await find(db.kysely, claim);
      if (stored && stored.expiresAt > claim.now) throw replayOf(stored, claim);
      if (isUniqueViolation(error) && attempt < MAX_RACE_ATTEMPTS) continue;
      throw error;
    }
  }
}

function purgeNowAndThen(db: Db, now: number): void {
  if (now - (lastPurge.get(db) ?? -Infinity) < PURGE_EVERY_MS) return;
  lastPurge.set(db, now);
  // Best effort: a failed purge (the store closing, say) costs nothing but disk, and the next one catches up.
  purgeExpired(db, now, PURGE_BATCH).catch(() => undefined);
}

async function purgeExpired(db: Db, now: number, limit: number): Promise<number> {
  if (limit <= 0) return 0;
  const result = await db.write((trx) =>
    trx
      .withTables<KeysTables>()
      .deleteFrom('idempotency_keys')
      .where(({ eb, refTuple, selectFrom }) =>
        eb(
          refTuple('user_id', 'key'),
          'in',
          selectFrom('idempotency_keys').select(['user_id', 'key']).where('expires_at', '<=', now).orderBy('expires_at').limit(limit).$asTuple('user_id', 'key'),
        ),
      )
      .executeTakeFirst(),
  );
  return Number(result.numDeletedRows);
}

export function idempotencyStore(db: Db): Pick<HistoryStore, 'purgeExpiredIdempotencyKeys'> {
  return {
    purgeExpiredIdempotencyKeys: (now: number, limit: number) => purgeExpired(db, now, limit),
  };
}
