import type { Command } from 'commander';
import { Gale } from '../client/index.js';
import { action, formatOf, withCommon, type CommonOptions } from './context.js';
import { UsageError } from './exit-codes.js';
import { print, table } from './output.js';
import { DEFAULT_PROFILE, profilesPath, readProfiles, removeProfile, saveProfile, type Profile, type ProfileCredentials } from './profiles.js';
import { ask, askSecret } from './prompt.js';

/* `gale login`, `gale logout` and `gale profiles`: where the server is and who the user is, kept in a profile. */

interface LoginOptions {
  endpoint: string;
  profile?: string;
  token?: string;
  apiKey?: string;
  apiSecret?: string;
}

/** The credentials from the flags, else asked for on the terminal; without one, the flags are required. */
async function credentialsOf(options: LoginOptions): Promise<ProfileCredentials> {
  if (options.token !== undefined && (options.apiKey !== undefined || options.apiSecret !== undefined)) throw new UsageError('give --token, or --api-key and --api-secret, not both');
  if (options.token !== undefined) return { token: options.token };
  if (options.apiKey !== undefined || options.apiSecret !== undefined) {
    const apiKey = options.apiKey ?? (process.stdin.isTTY ? await ask('API key: ') : undefined);
    const apiSecret = options.apiSecret ?? (process.stdin.isTTY ? await askSecret('API secret: ') : undefined);
    if (!apiKey || !apiSecret) throw new UsageError('--api-key and --api-secret go together');
    return { apiKey, apiSecret };
  }
  if (process.stdin.isTTY !== true) throw new UsageError('there is no terminal to ask for credentials on: give --token, or --api-key and --api-secret');
  const apiKey = await ask('API key (leave empty to use a session token instead): ');
  if (apiKey === '') {
    const token = await askSecret('Session token: ');
    if (!token) throw new UsageError('no token given');
    return { token };
  }
  const apiSecret = await askSecret('API secret: ');
  if (!apiSecret) throw new UsageError('no API secret given');
  return { apiKey, apiSecret };
}

export function registerLoginCommands(program: Command): void {
  program
    .command('login')
    .description('check credentials against a Gale server and keep them in a profile')
    .requiredOption('--endpoint <url>', 'the server, e.g. https://gale.example.com')
    .option('--profile <name>', 'the profile to keep them in', DEFAULT_PROFILE)
    .option('--token <token>', 'a session token (from `gale admin tokens create`)')
    .option('--api-key <key>', 'an API key (from `gale admin keys create`)')
    .option('--api-secret <secret>', 'its secret (asked for, unechoed, when left out on a terminal)')
    .action(
      action(async (options: LoginOptions) => {
        let endpoint: string;
        try {
          endpoint = new URL(options.endpoint).toString().replace(/\/+$/, '');
        } catch {
          throw new UsageError(`--endpoint "${options.endpoint}" is not a URL (e.g. http://127.0.0.1:8080)`);
        }
        const credentials = await credentialsOf(options);
        const profile: Profile = { endpoint, ...credentials };
        const gale = 'token' in credentials ? new Gale({ baseUrl: endpoint, token: credentials.token }) : new Gale({ baseUrl: endpoint, apiKey: credentials.apiKey, apiSecret: credentials.apiSecret });
        const quotas = await gale.quotas();
        const name = options.profile ?? DEFAULT_PROFILE;
        saveProfile(name, profile);
        process.stderr.write(`Logged in to ${endpoint} (tier ${quotas.tier}); profile "${name}" saved in ${profilesPath()}\n`);
      }),
    );

  program
    .command('logout')
    .description('forget a profile (the credentials stay valid on the server until revoked there)')
    .option('--profile <name>', 'the profile to forget', DEFAULT_PROFILE)
    .action(
      action(async (options: { profile: string }) => {
        const removed = removeProfile(options.profile);
        process.stderr.write(removed ? `Profile "${options.profile}" forgotten\n` : `No profile "${options.profile}": nothing to forget\n`);
      }),
    );

  withCommon(program.command('profiles').description('the profiles kept by `gale login` (never their secrets)')).action(
    action(async (options: CommonOptions) => {
      const entries = Object.entries(readProfiles().profiles).map(([name, p]) => ({ name, endpoint: p.endpoint, credentials: 'token' in p ? 'token' : `api key ${p.apiKey.slice(0, 8)}…` }));
      print(entries, formatOf(options), () => table(['PROFILE', 'ENDPOINT', 'CREDENTIALS'], entries.map((e) => [e.name, e.endpoint, e.credentials])));
    }),
  );
}
