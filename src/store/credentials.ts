import type { ExpressionBuilder, Insertable, Kysely, Selectable } from 'kysely';
import { notFound } from '../domain/errors.js';
import type { IdempotentWrite } from '../domain/idempotency.js';
import type { ApiKeyInfo, ApiKeyMatch, CreatedCursor, NewApiKey, NewToken, TokenInfo, TokenMatch } from '../domain/store.js';
import type { Db } from './db.js';
import { guarded, rememberAnswer, replayIfAnswered } from './idempotency.js';
import { precompiled } from './precompiled.js';
import { toUser, type UserRow } from './rows.js';
import type { ApiKeysTable, Database, TokensTable, UsersTable } from './schema.js';

/*
 * api_keys and tokens are one kind of row twice: a user's credential, stored as hashes only, found by the hash of its
 * value on every authenticated request, listed newest first, revoked once (the first revocation time is kept). A
 * CredentialKind names what differs between the two tables; credentialRows writes the rest once, for both.
 */

type CredentialTable = 'api_keys' | 'tokens';
/** A column of either table, with its type (the columns they share have the same type in both). */
type CredentialColumns = Selectable<ApiKeysTable> & Selectable<TokensTable>;
/** Read beside the user's columns, unqualified in the join: so none may share a name with a column of users. */
type MatchedColumn = Exclude<keyof CredentialColumns, keyof UsersTable>;

export interface CredentialKind<New extends { userId: string }, Info, Listed extends keyof CredentialColumns, Matched extends MatchedColumn, Match> {
  readonly table: CredentialTable;
  /** Names the credential in a not_found message. */
  readonly noun: string;
  /** The column holding the hash of the credential's value, which every lookup and revocation by value uses. */
  readonly hashColumn: 'key_hash' | 'token_hash';
  /** The row a new credential is stored as (each kind says which table's row it makes: Insertable<ApiKeysTable>…). */
  row(credential: New): Insertable<Database[CredentialTable]>;
  /** What a creation, a list and a revocation answer with: read back from the row, never made from the secret. */
  readonly listed: readonly Listed[];
  toInfo(row: Pick<CredentialColumns, Listed>): Info;
  /** What authentication reads beside the user. */
  readonly matched: readonly Matched[];
  toMatch(row: Pick<CredentialColumns, Matched> & UserRow): Match;
}

/** Infers a kind's types from its own fields: the column lists and the functions that read them stay in step. */
function credentialKind<New extends { userId: string }, Info, Listed extends keyof CredentialColumns, Matched extends MatchedColumn, Match>(
  kind: CredentialKind<New, Info, Listed, Matched, Match>,
): CredentialKind<New, Info, Listed, Matched, Match> {
  return kind;
}

export const API_KEYS = credentialKind({
  table: 'api_keys',
  noun: 'api key',
  hashColumn: 'key_hash',
  row: (key: NewApiKey): Insertable<ApiKeysTable> => ({ id: key.id, user_id: key.userId, key_hash: key.keyHash, secret_hash: key.secretHash, key_prefix: key.prefix ?? '', created_at: key.createdAt }),
  listed: ['id', 'user_id', 'key_prefix', 'created_at', 'revoked_at'] as const,
  toInfo: (row): ApiKeyInfo => ({ id: row.id, userId: row.user_id, prefix: row.key_prefix, createdAt: row.created_at, revokedAt: row.revoked_at }),
  matched: ['secret_hash', 'revoked_at'] as const,
  toMatch: (row): ApiKeyMatch => ({ user: toUser(row), secretHash: row.secret_hash, revokedAt: row.revoked_at }),
});

export const TOKENS = credentialKind({
  table: 'tokens',
  noun: 'token',
  hashColumn: 'token_hash',
  row: (token: NewToken): Insertable<TokensTable> => ({
    id: token.id,
    user_id: token.userId,
    token_hash: token.tokenHash,
    token_prefix: token.prefix ?? '',
    expires_at: token.expiresAt,
    created_at: token.createdAt,
  }),
  listed: ['id', 'user_id', 'token_prefix', 'created_at', 'revoked_at', 'expires_at'] as const,
  toInfo: (row): TokenInfo => ({ id: row.id, userId: row.user_id, prefix: row.token_prefix, createdAt: row.created_at, revokedAt: row.revoked_at, expiresAt: row.expires_at }),
  matched: ['expires_at', 'revoked_at'] as const,
  toMatch: (row): TokenMatch => ({ user: toUser(row), expiresAt: row.expires_at, revokedAt: row.revoked_at }),
});

/** Where a newest-first page ends: rows strictly older than the cursor, ties broken by id. */
function olderThan(after: CreatedCursor) {
  return (eb: ExpressionBuilder<Database, CredentialTable>) =>
    eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]);
}

/** The user must exist: a foreign key would refuse the insert too, but in the database's words rather than ours. */
async function requireUser(trx: Kysely<Database>, userId: string): Promise<void> {
  const row = await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
  if (!row) throw notFound(`no user ${userId}`);
}

/** The store's operations on one credential table. */
export function credentialRows<New extends { userId: string }, Info, Listed extends keyof CredentialColumns, Matched extends MatchedColumn, Match>(
  db: Db,
  kind: CredentialKind<New, Info, Listed, Matched, Match>,
) {
  const { kysely } = db;
  const { table, hashColumn } = kind;
  // Widened to every column of either table: Kysely types a selection over a generic column list without resolving
  // it; over all columns, each row is assignable to what the kind's readers take (its own columns, a subset).
  const listed: readonly (keyof CredentialColumns)[] = kind.listed;
  const matched: readonly MatchedColumn[] = kind.matched;
  // Runs on every authenticated request: one indexed join, compiled once.
  const byHash = precompiled(db, (hash) =>
    kysely
      .selectFrom(table)
      .innerJoin('users', 'users.id', `${table}.user_id`)
      .select(['users.id', 'users.email', 'users.tier', 'users.roles', 'users.customer_id', 'users.created_at'])
      .select(matched)
      .where(hashColumn, '=', hash),
  );
  // The first revocation time is the one that counts; revoking again changes nothing.
  const revoked = (at: number) => (eb: ExpressionBuilder<Database, CredentialTable>) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)) });

  return {
    create(credential: New, idempotency?: IdempotentWrite<Info>): Promise<Info> {
      const row = kind.row(credential);
      return guarded(db, idempotency, () =>
        db.write(async (trx) => {
          await replayIfAnswered(trx, idempotency);
          await requireUser(trx, credential.userId);
          const info = kind.toInfo(await trx.insertInto(table).values(row).returning(listed).executeTakeFirstOrThrow());
          await rememberAnswer(trx, idempotency, info);
          return info;
        }),
      );
    },

    async list(userId: string, after: CreatedCursor | undefined, limit: number): Promise<Info[]> {
      let query = kysely.selectFrom(table).select(listed).where('user_id', '=', userId);
      if (after) query = query.where(olderThan(after));
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map(kind.toInfo);
    },

    async revoke(hash: string, at: number): Promise<boolean> {
      const result = await db.write((trx) => trx.updateTable(table).set(revoked(at)).where(hashColumn, '=', hash).executeTakeFirst());
      return result.numUpdatedRows > 0n;
    },

    revokeById(id: string, at: number, idempotency?: IdempotentWrite<Info>): Promise<Info> {
      return guarded(db, idempotency, () =>
        db.write(async (trx) => {
          await replayIfAnswered(trx, idempotency);
          const row = await trx.updateTable(table).set(revoked(at)).where('id', '=', id).returning(listed).executeTakeFirst();
          if (!row) throw notFound(`no ${kind.noun} ${id}`);
          const info = kind.toInfo(row);
          await rememberAnswer(trx, idempotency, info);
          return info;
        }),
      );
    },

    async find(hash: string): Promise<Match | undefined> {
      const [row] = await byHash(hash);
      return row ? kind.toMatch(row) : undefined;
    },
  };
}
