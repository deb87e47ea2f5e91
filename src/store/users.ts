import type { Kysely } from 'kysely';
import { GaleError, notFound } from '../domain/errors.js';
import type { IdempotentWrite } from '../domain/idempotency.js';
import type { CreatedCursor, User, UserFilter, UserStore } from '../domain/store.js';
import { API_KEYS, credentialRows, TOKENS } from './credentials.js';
import { isUniqueViolation, type Db } from './db.js';
import { guarded, rememberAnswer, replayIfAnswered } from './idempotency.js';
import { precompiled } from './precompiled.js';
import { serializeRoles, toUser, USER_COLUMNS } from './rows.js';
import type { Database } from './schema.js';

/** Users and their credentials. Only hashes of credentials are stored; lookups are by hash (credentials.ts). */

export function userStore(db: Db): UserStore {
  const { kysely } = db;

  const apiKeys = credentialRows(db, API_KEYS);
  const tokens = credentialRows(db, TOKENS);
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

    createApiKey: apiKeys.create,
    listApiKeys: apiKeys.list,
    revokeApiKey: apiKeys.revoke,
    revokeApiKeyById: apiKeys.revokeById,
    findApiKey: apiKeys.find,
    createToken: tokens.create,
    listTokens: tokens.list,
    revokeToken: tokens.revoke,
    revokeTokenById: tokens.revokeById,
    findToken: tokens.find,
  };
}
