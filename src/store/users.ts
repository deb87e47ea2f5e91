import { GaleError, notFound } from '../domain/errors.js';
import type { ApiKeyMatch, TokenMatch, User, UserStore } from '../domain/store.js';
import { isUniqueViolation, type Db } from './db.js';
import { precompiled } from './precompiled.js';
import { serializeRoles, toUser, USER_COLUMNS } from './rows.js';

/** Users and their credentials. Only hashes of credentials are stored; lookups are by hash. */
export function userStore(db: Db): UserStore {
  const { kysely } = db;

  // Credential lookups run on every authenticated request: one indexed join each, compiled once.
  const apiKeyByHash = precompiled(kysely, (keyHash) =>
    kysely
      .selectFrom('api_keys')
      .innerJoin('users', 'users.id', 'api_keys.user_id')
      .select(['users.id', 'users.email', 'users.tier', 'users.roles', 'users.customer_id', 'users.created_at'])
      .select(['api_keys.secret_hash', 'api_keys.revoked_at'])
      .where('api_keys.key_hash', '=', keyHash),
  );
  const tokenByHash = precompiled(kysely, (tokenHash) =>
    kysely
      .selectFrom('tokens')
      .innerJoin('users', 'users.id', 'tokens.user_id')
      .select(['users.id', 'users.email', 'users.tier', 'users.roles', 'users.customer_id', 'users.created_at'])
      .select(['tokens.expires_at', 'tokens.revoked_at'])
      .where('tokens.token_hash', '=', tokenHash),
  );
  const userById = precompiled(kysely, (id) => kysely.selectFrom('users').select(USER_COLUMNS).where('id', '=', id));

  return {
    async createUser(user: User): Promise<User> {
      try {
        await db.write((trx) =>
          trx
            .insertInto('users')
            .values({
              id: user.id,
              email: user.email,
              tier: user.tier,
              roles: serializeRoles(user.roles),
              customer_id: user.customerId,
              created_at: user.createdAt,
            })
            .execute(),
        );
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Tell which key clashed without echoing the database's message.
        const emailTaken = await kysely.selectFrom('users').select('id').where('email', '=', user.email).executeTakeFirst();
        const message = emailTaken ? `a user with email ${user.email} exists` : `a user with id ${user.id} exists`;
        throw new GaleError('conflict', message);
      }
      return { ...user, roles: [...user.roles] };
    },

    async getUser(id: string): Promise<User | undefined> {
      const [row] = await userById(id);
      return row ? toUser(row) : undefined;
    },

    async setUserTier(id: string, tier: string): Promise<User> {
      const row = await db.write((trx) =>
        trx.updateTable('users').set({ tier }).where('id', '=', id).returning(USER_COLUMNS).executeTakeFirst(),
      );
      if (!row) throw notFound(`user ${id} not found`);
      return toUser(row);
    },

    async setUserCustomer(id: string, customerId: string): Promise<User> {
      const row = await db.write(async (trx) => {
        const updated = await trx.updateTable('users').set({ customer_id: customerId }).where('id', '=', id).returning(USER_COLUMNS).executeTakeFirst();
        // In the same transaction: an instance's customer is always its owner's, so the admin filter never disagrees.
        if (updated) await trx.updateTable('instances').set({ customer_id: customerId }).where('user_id', '=', id).where('deleted_at', 'is', null).execute();
        return updated;
      });
      if (!row) throw notFound(`user ${id} not found`);
      return toUser(row);
    },

    async countUsers(): Promise<number> {
      const row = await kysely.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
      return Number(row.count);
    },

    async createApiKey(key): Promise<void> {
      await db.write((trx) =>
        trx
          .insertInto('api_keys')
          .values({ id: key.id, user_id: key.userId, key_hash: key.keyHash, secret_hash: key.secretHash, created_at: key.createdAt })
          .execute(),
      );
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

    async createToken(token): Promise<void> {
      await db.write((trx) =>
        trx
          .insertInto('tokens')
          .values({
            id: token.id,
            user_id: token.userId,
            token_hash: token.tokenHash,
            expires_at: token.expiresAt,
            created_at: token.createdAt,
          })
          .execute(),
      );
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
