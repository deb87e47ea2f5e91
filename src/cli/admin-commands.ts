import type { Command } from 'commander';
import { createApiKey, createToken, createUser, parseDuration, revokeApiKey, revokeToken, setUserCustomer, setUserTier } from '../admin/accounts.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { formatTimestamp, systemClock } from '../domain/clock.js';
import type { Store, User } from '../domain/store.js';
import { openConfiguredStore } from '../main.js';

/**
 * `gale admin …` works straight on the store (the same data directory or database as the server),
 * so it works whether or not a server is running.
 */
async function withStore<T>(run: (store: Store, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = await openConfiguredStore(config);
  try {
    return await run(store, config);
  } finally {
    await store.close();
  }
}

function print(json: boolean, value: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

const userView = (user: User) => ({ userId: user.id, email: user.email, tier: user.tier, roles: user.roles, customerId: user.customerId });
const ofCustomer = (user: User) => (user.customerId === '' ? '' : `, customer ${user.customerId}`);

export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('manage users and credentials (works with or without a running server)');

  const users = admin.command('users').description('users and their tiers');
  users
    .command('create')
    .requiredOption('--email <email>', 'the user\'s email')
    .option('--tier <tier>', 'subscription tier', 'free')
    .option('--admin', 'grant the compute_admin role', false)
    .option('--customer <id>', 'the customer (organisation) the user belongs to; instances carry it as customerId', '')
    .option('--json', 'print JSON', false)
    .action(async (o: { email: string; tier: string; admin: boolean; customer: string; json: boolean }) =>
      withStore(async (store, config) => {
        const user = await createUser(store, systemClock, config.tiers, { email: o.email, tier: o.tier, admin: o.admin, customerId: o.customer });
        print(o.json, userView(user), `created user ${user.id} (${user.email}, tier ${user.tier}${o.admin ? ', compute_admin' : ''}${ofCustomer(user)})`);
      }),
    );
  users
    .command('set-customer')
    .description("move a user to a customer (organisation), their live instances with them; '' for none")
    .requiredOption('--user <id>', 'user id')
    .requiredOption('--customer <id>', "the customer id, or '' for none")
    .option('--json', 'print JSON', false)
    .action(async (o: { user: string; customer: string; json: boolean }) =>
      withStore(async (store) => {
        const user = await setUserCustomer(store, o.user, o.customer);
        print(o.json, userView(user), user.customerId === '' ? `user ${user.id} belongs to no customer` : `user ${user.id} belongs to customer ${user.customerId}`);
      }),
    );
  users
    .command('set-tier')
    .requiredOption('--user <id>', 'user id')
    .requiredOption('--tier <tier>', 'new tier')
    .option('--json', 'print JSON', false)
    .action(async (o: { user: string; tier: string; json: boolean }) =>
      withStore(async (store, config) => {
        const user = await setUserTier(store, config.tiers, o.user, o.tier);
        print(o.json, userView(user), `user ${user.id} is now on tier ${user.tier} (takes effect within ${config.credentialCacheMs / 1000} s)`);
      }),
    );

  const keys = admin.command('keys').description('API keys and secrets');
  keys
    .command('create')
    .requiredOption('--user <id>', 'user id')
    .option('--json', 'print JSON', false)
    .action(async (o: { user: string; json: boolean }) =>
      withStore(async (store) => {
        const pair = await createApiKey(store, systemClock, o.user);
        print(o.json, pair, `api-key:    ${pair.apiKey}\napi-secret: ${pair.apiSecret}\n(the secret is shown only now)`);
      }),
    );
  keys
    .command('revoke')
    .requiredOption('--key <apiKey>', 'the api-key to revoke')
    .option('--json', 'print JSON', false)
    .action(async (o: { key: string; json: boolean }) =>
      withStore(async (store, config) => {
        await revokeApiKey(store, systemClock, o.key);
        print(o.json, { revoked: true }, `revoked; every server refuses it within ${config.credentialCacheMs / 1000} s`);
      }),
    );

  const tokens = admin.command('tokens').description('bearer session tokens');
  tokens
    .command('create')
    .requiredOption('--user <id>', 'user id')
    .option('--ttl <duration>', 'lifetime, e.g. 30m, 24h, 7d', '24h')
    .option('--json', 'print JSON', false)
    .action(async (o: { user: string; ttl: string; json: boolean }) =>
      withStore(async (store) => {
        const { token, expiresAt } = await createToken(store, systemClock, o.user, parseDuration(o.ttl));
        const view = { token, expiresAt: formatTimestamp(expiresAt) };
        print(o.json, view, `token: ${token}\nexpires: ${view.expiresAt}`);
      }),
    );
  tokens
    .command('revoke')
    .requiredOption('--token <token>', 'the token to revoke')
    .option('--json', 'print JSON', false)
    .action(async (o: { token: string; json: boolean }) =>
      withStore(async (store, config) => {
        await revokeToken(store, systemClock, o.token);
        print(o.json, { revoked: true }, `revoked; every server refuses it within ${config.credentialCacheMs / 1000} s`);
      }),
    );
}
