/*
 * Reading GALE_* variables: the config loader reads Gale's own, each provider's descriptor reads its provider's. Here,
 * below both, because config/ stands above providers/ (it completes and checks providers.<name> with each descriptor,
 * through the registry): were these helpers in config/, the descriptors would import back up into it.
 */

/** A setting that cannot be used as given; the message says which and why. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** An environment variable's value, with empty read as unset. */
export function envValue(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

export function parseInteger(name: string, raw: string): number {
  if (!/^-?[0-9]+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  return Number(raw);
}

export function parseBoolean(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}
