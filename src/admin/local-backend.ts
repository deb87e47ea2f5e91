import type { Config } from '../config/schema.js';
import { systemClock } from '../domain/clock.js';
import type { CreatedCursor, Store } from '../domain/store.js';
import { describeStore, storeExists, type StoreLocation } from '../store/existing.js';
import { openStore } from '../store/index.js';
import { createApiKey, createToken, createUser, parseDuration, requireUser, revokeApiKey, revokeToken, setUserCustomer, setUserTier } from './accounts.js';
import type { AccountsBackend, CredentialRef } from './backend.js';
import { apiKeyView, createdApiKeyView, createdTokenView, tokenView, userView } from './views.js';

/** There is no store where the configuration points: `gale admin` will not make a new, empty one. */
export class NoStoreError extends Error {
  constructor(readonly target: string) {
    super(`no Gale store here: ${target} does not exist`);
    this.name = 'NoStoreError';
  }
}

const PAGE = 500;

/** Reads a newest-first listing to its end, a page at a time. */
async function* everyPage<T extends CreatedCursor, V>(page: (after: CreatedCursor | undefined) => Promise<T[]>, view: (row: T) => V): AsyncIterable<V> {
  let after: CreatedCursor | undefined;
  for (;;) {
    const rows = await page(after);
    for (const row of rows) yield view(row);
    const last = rows.at(-1);
    if (rows.length < PAGE || !last) return;
    after = { createdAt: last.createdAt, id: last.id };
  }
}

export function storeLocation(config: Config): StoreLocation {
  return { dataDir: config.dataDir, databaseUrl: config.databaseUrl || undefined, schema: config.databaseSchema || undefined };
}

/** The accounts of the store the configuration names, which must exist (NoStoreError otherwise); works with or without a server. */
export async function openLocalBackend(config: Config): Promise<AccountsBackend> {
  const location = storeLocation(config);
  const target = describeStore(location);
  if (!(await storeExists(location))) throw new NoStoreError(target);
  const store: Store = await openStore({ ...location, postgres: config.store });
  // PostgreSQL's clock when the store has one, as the servers use it, so that dates agree with theirs.
  const clock = store.clock ?? systemClock;
  return {
    target,
    propagationMs: config.credentialCacheMs,
    createUser: async (input) =>
      userView(await createUser(store, clock, config.tiers, { email: input.email, tier: input.tier ?? config.defaultTier, admin: input.admin, customerId: input.customerId })),
    listUsers: (filter) => everyPage((after) => store.listUsers(filter, after, PAGE), userView),
    getUser: async (userId) => userView(await requireUser(store, userId)),
    setUserTier: async (userId, tier) => userView(await setUserTier(store, config.tiers, userId, tier)),
    setUserCustomer: async (userId, customerId) => userView(await setUserCustomer(store, userId, customerId)),
    createApiKey: async (userId) => createdApiKeyView(await createApiKey(store, clock, userId)),
    listApiKeys: (userId) => checkedThenEveryPage(store, userId, (after) => store.listApiKeys(userId, after, PAGE), apiKeyView),
    revokeApiKey: async (key: CredentialRef) => {
      if ('value' in key) await revokeApiKey(store, clock, key.value);
      else await store.revokeApiKeyById(key.id, clock.now());
    },
    createToken: async (userId, ttl) => createdTokenView(await createToken(store, clock, userId, parseDuration(ttl))),
    listTokens: (userId) => checkedThenEveryPage(store, userId, (after) => store.listTokens(userId, after, PAGE), tokenView),
    revokeToken: async (token: CredentialRef) => {
      if ('value' in token) await revokeToken(store, clock, token.value);
      else await store.revokeTokenById(token.id, clock.now());
    },
    close: () => store.close(),
  };
}

/** A user's credentials, after checking that the user exists: an unknown user is not_found, not an empty list. */
async function* checkedThenEveryPage<T extends CreatedCursor, V>(
  store: Store,
  userId: string,
  page: (after: CreatedCursor | undefined) => Promise<T[]>,
  view: (row: T) => V,
): AsyncIterable<V> {
  await requireUser(store, userId);
  yield* everyPage(page, view);
}
