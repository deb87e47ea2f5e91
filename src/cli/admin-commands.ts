import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { AccountsBackend, CredentialRef } from '../admin/backend.js';
import { loadConfig, type ConfigOverrides } from '../config/load.js';
import type { AccountUserView, ApiKeyView, TokenView } from '../contracts/account.js';
import { httpBackend, ValueRefOverHttpError } from '../admin/http-backend.js';
import { GaleApiError } from '../client/index.js';
import { clientFor } from './context.js';
import { AuthError, EXIT, reportError } from './exit-codes.js';
import { DEFAULT_PROFILE, resolveProfile } from './profiles.js';

/*
 * `gale admin …`: users and credentials. The commands speak to an AccountsBackend (admin/backend.ts); today that is the
 * store itself (the server's data directory or database), so they work whether or not a server is running. Which
 * store is never guessed: run from the wrong directory, a default would open (and make) an empty one and report
 * "no user …". So a store must be named (--data-dir, --database-url, GALE_DATA_DIR, GALE_DATABASE_URL, or the GALE_CONFIG
 * file) and must exist; the one used is said on stderr. A refusal exits 2, before anything is done.
 *
 * When no store is named, the commands go to a server's admin routes instead (admin/http-backend.ts), with the
 * credentials of a user profile or the GALE_ENDPOINT/GALE_TOKEN environment, as the user commands do: the caller must
 * be a compute admin. Errors there are reported as the user commands report them (exit-codes.ts).
 */

interface StoreFlags {
  dataDir?: string;
  databaseUrl?: string;
  databaseSchema?: string;
  profile?: string;
}

/** Refused before anything was done (no store named, or none there): exit status 2, as for a usage error. */
class Refusal extends Error {}

const EXIT_REFUSED = 2;

/** The store was named on purpose: by a flag, a GALE_ variable, or the configuration file. */
function storeNamed(flags: StoreFlags, env: NodeJS.ProcessEnv): boolean {
  if (flags.dataDir || flags.databaseUrl || env.GALE_DATA_DIR || env.GALE_DATABASE_URL) return true;
  if (!env.GALE_CONFIG) return false;
  try {
    const file = JSON.parse(readFileSync(env.GALE_CONFIG, 'utf8')) as Record<string, unknown>;
    return Boolean(file.dataDir || file.databaseUrl);
  } catch {
    // loadConfig reports an unreadable file in its own words.
    return false;
  }
}

/** Where the credentials come from, for the line on stderr (never the credentials themselves). */
function credentialSource(flags: StoreFlags, env: NodeJS.ProcessEnv): string {
  if (env.GALE_TOKEN) return 'GALE_TOKEN';
  if (env.GALE_API_KEY) return 'GALE_API_KEY';
  return `profile ${flags.profile ?? env.GALE_PROFILE ?? DEFAULT_PROFILE}`;
}

/** No store named: a server's admin routes, with the profile's (or the environment's) credentials. */
function openApiBackend(flags: StoreFlags): AccountsBackend {
  let endpoint: string;
  try {
    endpoint = resolveProfile(flags.profile).endpoint;
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    throw new Refusal(
      'which store? gale admin works on the store of a Gale server, named with --data-dir DIR (its data directory) or ' +
        '--database-url postgres://… (or GALE_DATA_DIR, GALE_DATABASE_URL, or dataDir/databaseUrl in the GALE_CONFIG file), or ' +
        "through a server's admin API as a compute admin, with a profile (`gale login --endpoint URL`, then --profile NAME if " +
        `not the default) or GALE_ENDPOINT and GALE_TOKEN. Neither is here (${error.message.replace(/: (run|set) .*$/, '')}); nothing was done`,
    );
  }
  return httpBackend(clientFor({ profile: flags.profile }).admin.users, `${endpoint} (${credentialSource(flags, process.env)})`);
}

/** An error from the admin routes, told as the user commands tell theirs, with what a 403 means here. */
function reportApiError(error: unknown, backend: AccountsBackend): void {
  if (error instanceof ValueRefOverHttpError) {
    process.stderr.write(`gale admin: ${error.message}\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  const forbidden = error instanceof GaleApiError && error.status === 403;
  reportError(
    error,
    forbidden
      ? `${backend.target} refused: these credentials are not a compute admin's, and gale admin over the API needs one ` +
          '(log in with an admin\'s token or key pair, or name the store with --data-dir / --database-url on the server\'s host): '
      : '',
  );
}

async function openBackend(flags: StoreFlags): Promise<AccountsBackend> {
  if (!storeNamed(flags, process.env)) return openApiBackend(flags);
  const overrides: ConfigOverrides = {};
  if (flags.dataDir) overrides.dataDir = flags.dataDir;
  if (flags.databaseUrl) overrides.databaseUrl = flags.databaseUrl;
  if (flags.databaseSchema) overrides.databaseSchema = flags.databaseSchema;
  const config = loadConfig({ flags: overrides });
  // Loaded here: the store's modules are for commands that open one, not for every start of the CLI.
  const local = await import('../admin/local-backend.js');
  try {
    return await local.openLocalBackend(config);
  } catch (error) {
    if (!(error instanceof local.NoStoreError)) throw error;
    throw new Refusal(
      `${error.target} does not exist; gale admin works on an existing store (a server's) and does not make a new, empty one. ` +
        'Check --data-dir or --database-url; nothing was done',
    );
  }
}

/** Runs one command on the backend the flags name, saying which on stderr; a refusal exits 2. */
async function withBackend(command: Command, run: (backend: AccountsBackend) => Promise<void>): Promise<void> {
  let backend: AccountsBackend;
  try {
    backend = await openBackend(command.optsWithGlobals<StoreFlags>());
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    process.stderr.write(`gale admin: ${error.message}\n`);
    process.exitCode = EXIT_REFUSED;
    return;
  }
  process.stderr.write(`gale admin: using ${backend.target}\n`);
  try {
    await run(backend);
  } catch (error) {
    // The local backend's errors go on as they always have (gale.ts reports them, exit 1).
    if (storeNamed(command.optsWithGlobals<StoreFlags>(), process.env)) throw error;
    reportApiError(error, backend);
  } finally {
    await backend.close();
  }
}

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The CLI has printed a user's id as userId since its first version: scripts read it so. */
const cliUser = (user: AccountUserView) => ({ userId: user.id, email: user.email, tier: user.tier, roles: user.roles, customerId: user.customerId, createdAt: user.createdAt });
const ofCustomer = (user: AccountUserView) => (user.customerId === '' ? '' : `, customer ${user.customerId}`);
const within = (backend: AccountsBackend) => (backend.propagationMs === undefined ? '' : ` within ${backend.propagationMs / 1000} s`);
function stateOf(credential: ApiKeyView | TokenView): string {
  if (credential.revokedAt) return `revoked ${credential.revokedAt}`;
  return 'expiresAt' in credential && Date.parse(credential.expiresAt) <= Date.now() ? 'expired' : 'active';
}

/** --id or the value itself, exactly one. */
function credentialRef(id: string | undefined, value: string | undefined, valueFlag: string): CredentialRef {
  if ((id === undefined) === (value === undefined)) throw new Error(`name the credential with --id <id> or ${valueFlag}, one of them`);
  return id !== undefined ? { id } : { value: value! };
}

/** What `gale admin keys` and `gale admin tokens` differ in, for their list and revoke commands. */
interface CredentialCommands<V extends ApiKeyView | TokenView> {
  /** What the list is of, in its description and when there is none. */
  readonly plural: string;
  readonly listDescription: string;
  list(backend: AccountsBackend, userId: string): AsyncIterable<V>;
  /** The date a listed credential shows beside its id and prefix. */
  dated(credential: V): string;
  /** The option naming the credential by its id: its flag (with its placeholder) and help. */
  readonly id: { flag: string; help: string };
  /** The option naming the credential by its value: its flag, the name commander gives it, its help. */
  readonly value: { flag: string; name: 'key' | 'token'; help: string };
  revoke(backend: AccountsBackend, ref: CredentialRef): Promise<void>;
}

const KEY_PAIRS: CredentialCommands<ApiKeyView> = {
  plural: 'key pairs',
  listDescription: "a user's key pairs, newest first: ids, prefixes and dates, never secrets",
  list: (backend, userId) => backend.listApiKeys(userId),
  dated: (key) => `created ${key.createdAt}`,
  id: { flag: '--id <keyId>', help: 'the id of the key pair (keys list shows it)' },
  value: { flag: '--key <apiKey>', name: 'key', help: 'the api-key itself' },
  revoke: (backend, ref) => backend.revokeApiKey(ref),
};

const TOKENS: CredentialCommands<TokenView> = {
  plural: 'tokens',
  listDescription: "a user's session tokens, newest first: ids, prefixes and expiry, never the tokens",
  list: (backend, userId) => backend.listTokens(userId),
  dated: (token) => `expires ${token.expiresAt}`,
  id: { flag: '--id <tokenId>', help: 'the id of the token (tokens list shows it)' },
  value: { flag: '--token <token>', name: 'token', help: 'the token itself' },
  revoke: (backend, ref) => backend.revokeToken(ref),
};

/** `list` and `revoke` under a credential group (keys, tokens). */
function listAndRevoke<V extends ApiKeyView | TokenView>(group: Command, kind: CredentialCommands<V>): void {
  group
    .command('list')
    .description(kind.listDescription)
    .requiredOption('--user <id>', 'user id')
    .option('--json', 'print a JSON array', false)
    .action(async (o: { user: string; json: boolean }, command: Command) =>
      withBackend(command, async (backend) => {
        const found = await collect(kind.list(backend, o.user));
        const lines = found.map((c) => `${c.id}  ${c.prefix ? `${c.prefix}…` : '(no prefix)'}  ${kind.dated(c)}  ${stateOf(c)}`);
        print(o.json, found, lines.length > 0 ? lines.join('\n') : `user ${o.user} has no ${kind.plural}`);
      }),
    );
  group
    .command('revoke')
    .option(kind.id.flag, kind.id.help)
    .option(kind.value.flag, kind.value.help)
    .option('--json', 'print JSON', false)
    .action(async (o: { id?: string; key?: string; token?: string; json: boolean }, command: Command) => {
      const ref = credentialRef(o.id, o[kind.value.name], kind.value.flag);
      await withBackend(command, async (backend) => {
        await kind.revoke(backend, ref);
        print(o.json, { revoked: true }, `revoked; every server refuses it${within(backend)}`);
      });
    });
}

export function registerAdminCommands(program: Command): void {
  const admin = program
    .command('admin')
    .description("manage users and credentials: on a server's store (with or without a running server), or else through its admin API")
    .option('--data-dir <dir>', 'the data directory of the SQLite store (GALE_DATA_DIR); it must exist')
    .option('--database-url <url>', 'the PostgreSQL store, postgres://… (GALE_DATABASE_URL); it must exist')
    .option('--database-schema <name>', 'the PostgreSQL schema Gale keeps its tables in (GALE_DATABASE_SCHEMA)')
    .option('--profile <name>', 'without a store: the profile whose server and (compute admin) credentials to use (default: $GALE_PROFILE or "default")');

  const users = admin.command('users').description('users and their tiers');
  users
    .command('create')
    .requiredOption('--email <email>', "the user's email")
    .option('--tier <tier>', "subscription tier (default: the configured defaultTier, 'free' unless changed)")
    .option('--admin', 'grant the compute_admin role', false)
    .option('--customer <id>', 'the customer (organisation) the user belongs to; instances carry it as customerId', '')
    .option('--json', 'print JSON', false)
    .action(async (o: { email: string; tier?: string; admin: boolean; customer: string; json: boolean }, command: Command) =>
      withBackend(command, async (backend) => {
        const user = await backend.createUser({ email: o.email, tier: o.tier, admin: o.admin, customerId: o.customer });
        print(o.json, cliUser(user), `created user ${user.id} (${user.email}, tier ${user.tier}${o.admin ? ', compute_admin' : ''}${ofCustomer(user)})`);
      }),
    );
  users
    .command('list')
    .description('every user, newest first')
    .option('--tier <tier>', 'only users on this tier')
    .option('--customer <id>', 'only users of this customer')
    .option('--email <email>', 'only the user with this email')
    .option('--json', 'print a JSON array', false)
    .action(async (o: { tier?: string; customer?: string; email?: string; json: boolean }, command: Command) =>
      withBackend(command, async (backend) => {
        const found = await collect(backend.listUsers({ tier: o.tier, customerId: o.customer, email: o.email }));
        const lines = found.map((u) => `${u.id}  ${u.email}  ${u.tier}${u.roles.length > 0 ? `  ${u.roles.join(',')}` : ''}${ofCustomer(u)}  created ${u.createdAt}`);
        print(o.json, found.map(cliUser), lines.length > 0 ? lines.join('\n') : 'no users');
      }),
    );
  users
    .command('set-customer')
    .description("move a user to a customer (organisation), their live instances with them; '' for none")
    .requiredOption('--user <id>', 'user id')
    .requiredOption('--customer <id>', "the customer id, or '' for none")
    .option('--json', 'print JSON', false)
    .action(async (o: { user: string; customer: string; json: boolean }, command: Command) =>
      withBackend(command, async (backend) => {
        const user = await backend.setUserCustomer(o.user, o.customer);
        print(o.json, cliUser(user), user.customerId === '' ? `user ${user.id} belongs to no customer` : `user ${user.id} belongs to customer ${user.customerId}`);
      }),
    );
  users
    .command('set-tier')
    .requiredOption('--user <id>', 'user id')
    .requiredOption('--tier <tier>', 'new tier')
    .option('--json', 'print JSON', false)
    .action(async (o: { user: string; tier: string; json: boolean }, command: Command) =>
      withBackend(command, async (backend) => {
        const user = await backend.setUserTier(o.user, o.tier);
        print(o.json, cliUser(user), `user ${user.id} is now on tier ${user.tier} (takes effect${within(backend)})`);
      }),
    );

  const keys = admin.command('keys').description('API keys and secrets');
  keys
    .command('create')
    .requiredOption('--user <id>', 'user id')
    .option('--json', 'print JSON', false)
    .action(async (o: { user: string; json: boolean }, command: Command) =>
      withBackend(command, async (backend) => {
        const pair = await backend.createApiKey(o.user);
        print(o.json, pair, `api-key:    ${pair.apiKey}\napi-secret: ${pair.apiSecret}\nkey id:     ${pair.id}\n(the secret is shown only now)`);
      }),
    );
  listAndRevoke(keys, KEY_PAIRS);

  const tokens = admin.command('tokens').description('bearer session tokens');
  tokens
    .command('create')
    .requiredOption('--user <id>', 'user id')
    .option('--ttl <duration>', 'lifetime, e.g. 30m, 24h, 7d', '24h')
    .option('--json', 'print JSON', false)
    .action(async (o: { user: string; ttl: string; json: boolean }, command: Command) =>
      withBackend(command, async (backend) => {
        const made = await backend.createToken(o.user, o.ttl);
        print(o.json, made, `token:    ${made.token}\nexpires:  ${made.expiresAt}\ntoken id: ${made.id}\n(the token is shown only now)`);
      }),
    );
  listAndRevoke(tokens, TOKENS);
}
