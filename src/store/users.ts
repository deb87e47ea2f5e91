import type { Kysely } from 'kysely';
import { GaleError, notFound } from '../domain/errors.js';
import type { IdempotentWrite } from '../domain/idempotency.js';
import type { ApiKeyInfo, ApiKeyMatch, CreatedCursor, NewApiKey, NewToken, TokenInfo, TokenMatch, User, UserFilter, UserStore } from '../domain/store.js';
import { isUniqueViolation, type Db } from './db.js';
import { guarded, rememberAnswer, replayIfAnswered } from './idempotency.js';
import { precompiled } from './precompiled.js';
import { serializeRoles, toUser, USER_COLUMNS } from './rows.js';
import type { Database } from './schema.js';

/** Users and their credentials. Only hashes of credentials are stored; lookups are by hash. */

const KEY_COLUMNS = ['id', 'user_id', 'key_prefix', 'created_at', 'revoked_at'] as const;
const TOKEN_COLUMNS = ['id', 'user_id', 'token_prefix', 'created_at', 'revoked_at', 'expires_at'] as const;

interface KeyRow {
  id: string;
  user_id: string;
  key_prefix: string;
  created_at: number;
  revoked_at: number | null;
}
interface TokenRow {
  id: string;
  user_id: string;
  token_prefix: string;
  created_at: number;
  revoked_at: number | null;
  expires_at: number;
}

const toKeyInfo = (row: KeyRow): ApiKeyInfo => ({ id: row.id, userId: row.user_id, prefix: row.key_prefix, createdAt: row.created_at, revokedAt: row.revoked_at });
const toTokenInfo = (row: TokenRow): TokenInfo => ({
  id: row.id,
  userId: row.user_id,
  prefix: row.token_prefix,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
  expiresAt: row.expires_at,
});

/** The user must exist: a foreign key would refuse the insert too, but in the database's words rather than ours. */
async function requireUser(trx: Kysely<Database>, userId: string): Promise<void> {
  const row = await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
  if (!row) throw notFound(`no user ${userId}`);
}

export function userStore(db: Db): UserStore {
  const { kysely } = db;

  // Credential lookups run on every authenticated request: one indexed join each, compiled once.
  const apiKeyByHash = precompiled(db, (keyHash) =>
    kysely
      .selectFrom('api_keys')
      .innerJoin('users', 'users.id', 'api_keys.user_id')
      .select(['users.id', 'users.email', 'users.tier', 'users.roles', 'users.customer_id', 'users.created_at'])
      .select(['api_keys.secret_hash', 'api_keys.revoked_at'])
      .where('api_keys.key_hash', '=', keyHash),
  );
  const tokenByHash = precompiled(db, (tokenHash) =>
    kysely
      .selectFrom('tokens')
      .innerJoin('users', 'users.id', 'tokens.user_id')
      .select(['users.id', 'users.email', 'users.tier', 'users.roles', 'users.customer_id', 'users.created_at'])
      .select(['tokens.expires_at', 'tokens.revoked_at'])
      .where('tokens.token_hash', '=', tokenHash),
  );
  const userById = precompiled(db, (id) => kysely.selectFrom('users').select(USER_COLUMNS).where('id', '=', id));

  /** A change to one user, guarded by an Idempotency-Key when one is given. */
  function updateUser(id: string, idempotency: IdempotentWrite<User> | undefined, change: (trx: Kysely<Database>) => Promise<User | undefined>): Promise<User> {
    return guarded(db, idempotency, () =>
      db.write(async (trx) => {
        await replayIfAnswered(trx, idempotency);
        const user = await change(trx);
        if (!user) throw notFound(`user ${id} not found`);
        await rememberAnswer(trx, idempotency, user);
        return user;
      }),
    );
  }

  return {
    async createUser(user: User, idempotency?: IdempotentWrite<User>): Promise<User> {
      const created = { ...user, roles: [...user.roles] };
      return guarded(db, idempotency, async () => {
        try {
          return await db.write(async (trx) => {
            await replayIfAnswered(trx, idempotency);
            await trx
              .insertInto('users')
              .values({
                id: user.id,
                email: user.email,
                tier: user.tier,
                roles: serializeRoles(user.roles),
                customer_id: user.customerId,
                created_at: user.createdAt,
              })
              .execute();
            await rememberAnswer(trx, idempotency, created);
            return created;
          });
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          // Tell which key clashed without echoing the database's message. Neither: the Idempotency-Key's row, raced
          // by a duplicate request, which guarded() reads back and answers with.
          const emailTaken = await kysely.selectFrom('users').select('id').where('email', '=', user.email).executeTakeFirst();
          const idTaken = emailTaken ? undefined : await kysely.selectFrom('users').select('id').where('id', '=', user.id).executeTakeFirst();
          if (emailTaken) throw new GaleError('conflict', `a user with email ${user.email} exists`);
          if (idTaken) throw new GaleError('conflict', `a user with id ${user.id} exists`);
          throw error;
        }
      });
    },

    async getUser(id: string): Promise<User | undefined> {
      const [row] = await userById(id);
      return row ? toUser(row) : undefined;
    },

    async listUsers(filter: UserFilter, after: CreatedCursor | undefined, limit: number): Promise<User[]> {
      let query = kysely.selectFrom('users').select(USER_COLUMNS);
      if (filter.tier !== undefined) query = query.where('tier', '=', filter.tier);
      if (filter.customerId !== undefined) query = query.where('customer_id', '=', filter.customerId);
      if (filter.email !== undefined) query = query.where('email', '=', filter.email);
      if (after) {
        query = query.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]));
      }
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toUser);
    },

    setUserTier(id: string, tier: string, idempotency?: IdempotentWrite<User>): Promise<User> {
      return updateUser(id, idempotency, async (trx) => {
        const row = await trx.updateTable('users').set({ tier }).where('id', '=', id).returning(USER_COLUMNS).executeTakeFirst();
        return row ? toUser(row) : undefined;
      });
    },

    setUserCustomer(id: string, customerId: string, idempotency?: IdempotentWrite<User>): Promise<User> {
      return updateUser(id, idempotency, async (trx) => {
        const updated = await trx.updateTable('users').set({ customer_id: customerId }).where('id', '=', id).returning(USER_COLUMNS).executeTakeFirst();
        // In the same transaction: an instance's customer is always its owner's, so the admin filter never disagrees.
        if (updated) await trx.updateTable('instances').set({ customer_id: customerId }).where('user_id', '=', id).where('deleted_at', 'is', null).execute();
        return updated ? toUser(updated) : undefined;
      });
    },

    async countUsers(): Promise<number> {
      const row = await kysely.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
      return Number(row.count);
    },

    createApiKey(key: NewApiKey, idempotency?: IdempotentWrite<ApiKeyInfo>): Promise<ApiKeyInfo> {
      const info: ApiKeyInfo = { id: key.id, userId: key.userId, prefix: key.prefix ?? '', createdAt: key.createdAt, revokedAt: null };
      return guarded(db, idempotency, () =>
        db.write(async (trx) => {
          await replayIfAnswered(trx, idempotency);
          await requireUser(trx, key.userId);
          await trx
            .insertInto('api_keys')
            .values({ id: key.id, user_id: key.userId, key_hash: key.keyHash, secret_hash: key.secretHash, key_prefix: info.prefix, created_at: key.createdAt })
            .execute();
          await rememberAnswer(trx, idempotency, info);
          return info;
        }),
      );
    },

    async listApiKeys(userId: string, after: CreatedCursor | undefined, limit: number): Promise<ApiKeyInfo[]> {
      let query = kysely.selectFrom('api_keys').select(KEY_COLUMNS).where('user_id', '=', userId);
      if (after) {
        query = query.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]));
      }
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toKeyInfo);
    },

    async revokeApiKey(keyHash: string, at: number): Promise<boolean> {
      const result = await db.write((trx) =>
        trx
          .updateTable('api_keys')
          // The first revocation time is the one that counts; revoking again changes nothing.
          .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)) }))
          .where('key_hash', '=', keyHash)
          .executeTakeFirst(),
      );
      return result.numUpdatedRows > 0n;
    },

    revokeApiKeyById(id: string, at: number, idempotency?: IdempotentWrite<ApiKeyInfo>): Promise<ApiKeyInfo> {
      return guarded(db, idempotency, () =>
        db.write(async (trx) => {
          await replayIfAnswered(trx, idempotency);
          const row = await trx
            .updateTable('api_keys')
            .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)) }))
            .where('id', '=', id)
            .returning(KEY_COLUMNS)
            .executeTakeFirst();
          if (!row) throw notFound(`no api key ${id}`);
          const info = toKeyInfo(row);
          await rememberAnswer(trx, idempotency, info);
          return info;
        }),
      );
    },

    createToken(token: NewToken, idempotency?: IdempotentWrite<TokenInfo>): Promise<TokenInfo> {
      const info: TokenInfo = { id: token.id, userId: token.userId, prefix: token.prefix ?? '', createdAt: token.createdAt, revokedAt: null, expiresAt: token.expiresAt };
      return guarded(db, idempotency, () =>
        db.write(async (trx) => {
          await replayIfAnswered(trx, idempotency);
          await requireUser(trx, token.userId);
          await trx
            .insertInto('tokens')
            .values({
              id: token.id,
              user_id: token.userId,
              token_hash: token.tokenHash,
              token_prefix: info.prefix,
              expires_at: token.expiresAt,
              created_at: token.createdAt,
            })
            .execute();
          await rememberAnswer(trx, idempotency, info);
          return info;
        }),
      );
    },

    async listTokens(userId: string, after: CreatedCursor | undefined, limit: number): Promise<TokenInfo[]> {
      let query = kysely.selectFrom('tokens').select(TOKEN_COLUMNS).where('user_id', '=', userId);
      if (after) {
        query = query.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]));
      }
      const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
      return rows.map(toTokenInfo);
    },

    async revokeToken(tokenHash: string, at: number): Promise<boolean> {
      const result = await db.write((trx) =>
        trx
          .updateTable('tokens')
          .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)) }))
          .where('token_hash', '=', tokenHash)
          .executeTakeFirst(),
      );
      return result.numUpdatedRows > 0n;
    },

    revokeTokenById(id: string, at: number, idempotency?: IdempotentWrite<TokenInfo>): Promise<TokenInfo> {
      return guarded(db, idempotency, () =>
        db.write(async (trx) => {
          await replayIfAnswered(trx, idempotency);
          const row = await trx
            .updateTable('tokens')
            .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)) }))
            .where('id', '=', id)
            .returning(TOKEN_COLUMNS)
            .executeTakeFirst();
          if (!row) throw notFound(`no token ${id}`);
          const info = toTokenInfo(row);
          await rememberAnswer(trx, idempotency, info);
          return info;
        }),
      );
    },

    async findApiKey(keyHash: string): Promise<ApiKeyMatch | undefined> {
      const [row] = await apiKeyByHash(keyHash);
      return row ? { user: toUser(row), secretHash: row.secret_hash, revokedAt: row.revoked_at } : undefined;
    },

    async findToken(tokenHash: string): Promise<TokenMatch | undefined> {
      const [row] = await tokenByHash(tokenHash);
      return row ? { user: toUser(row), expiresAt: row.expires_at, revokedAt: row.revoked_at } : undefined;
    },
  };
}
