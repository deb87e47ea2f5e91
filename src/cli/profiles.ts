import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { AuthError, UsageError } from './exit-codes.js';

/*
 * Where `gale` finds its server and credentials: a profile written by `gale login`, in
 * $XDG_CONFIG_HOME/gale/profiles.json (else ~/.config/gale/profiles.json), mode 0600 in a 0700 directory.
 * GALE_ENDPOINT, GALE_TOKEN, GALE_API_KEY and GALE_API_SECRET take precedence over the profile.
 */

export type ProfileCredentials = { token: string } | { apiKey: string; apiSecret: string };
export type Profile = { endpoint: string } & ProfileCredentials;

interface ProfileFile {
  profiles: Record<string, Profile>;
}

export const DEFAULT_PROFILE = 'default';

export function profilesPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.trim() !== '' ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(base, 'gale', 'profiles.json');
}

export function readProfiles(path = profilesPath()): ProfileFile {
  if (!existsSync(path)) return { profiles: {} };
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<ProfileFile>;
    return { profiles: parsed.profiles ?? {} };
  } catch (error) {
    throw new UsageError(`${path} is not a profile file gale can read (${(error as Error).message}): fix it or delete it and log in again`);
  }
}

/** Writes the file whole (a temporary file renamed over it), never readable by others. */
export function writeProfiles(file: ProfileFile, path = profilesPath()): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

export function saveProfile(name: string, profile: Profile, path = profilesPath()): void {
  const file = readProfiles(path);
  file.profiles[name] = profile;
  writeProfiles(file, path);
}

/** Forgets a profile; false when there was none of that name. */
export function removeProfile(name: string, path = profilesPath()): boolean {
  const file = readProfiles(path);
  if (!(name in file.profiles)) return false;
  delete file.profiles[name];
  writeProfiles(file, path);
  return true;
}

/** The server and credentials to use: the environment's, else the profile's. */
export function resolveProfile(name: string | undefined, env: NodeJS.ProcessEnv = process.env): Profile {
  const chosen = name ?? env.GALE_PROFILE ?? DEFAULT_PROFILE;
  const stored = readProfiles(profilesPath(env)).profiles[chosen];
  if (name !== undefined && stored === undefined && !env.GALE_ENDPOINT) {
    throw new AuthError(`no profile "${name}": run \`gale login --endpoint URL --profile ${name}\``);
  }
  const endpoint = env.GALE_ENDPOINT || stored?.endpoint;
  if (!endpoint) throw new AuthError('not logged in: run `gale login --endpoint URL`, or set GALE_ENDPOINT and GALE_TOKEN (or GALE_API_KEY and GALE_API_SECRET)');
  let credentials: ProfileCredentials | undefined;
  if (env.GALE_TOKEN) credentials = { token: env.GALE_TOKEN };
  else if (env.GALE_API_KEY || env.GALE_API_SECRET) {
    if (!env.GALE_API_KEY || !env.GALE_API_SECRET) throw new AuthError('GALE_API_KEY and GALE_API_SECRET go together: set both');
    credentials = { apiKey: env.GALE_API_KEY, apiSecret: env.GALE_API_SECRET };
  } else if (stored) credentials = 'token' in stored ? { token: stored.token } : { apiKey: stored.apiKey, apiSecret: stored.apiSecret };
  if (!credentials) throw new AuthError(`no credentials for ${endpoint}: run \`gale login --endpoint ${endpoint}\`, or set GALE_TOKEN`);
  return { endpoint, ...credentials };
}
