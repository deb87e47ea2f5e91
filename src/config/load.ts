import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_CATALOG } from './default-catalog.js';
import { DEFAULT_TIER, DEFAULT_TIERS } from './default-tiers.js';
import { ConfigSchema, type Config } from './schema.js';

export function defaultConfig(): Config {
  return {
    host: '127.0.0.1',
    port: 8080,
    dataDir: './data',
    databaseUrl: '',
    databaseSchema: '',
    redisUrl: '',
    store: { poolSize: 10, queryTimeoutMs: 5_000, connectTimeoutMs: 2_000, startupTimeoutMs: 60_000 },
    provider: 'simulator',
    simulator: { delayMs: 2000 },
    bootstrap: true,
    logLevel: 'info',
    credentialCacheMs: 5000,
    bodyLimitBytes: 64 * 1024,
    defaultTier: DEFAULT_TIER,
    tiers: structuredClone(DEFAULT_TIERS),
    catalog: structuredClone(DEFAULT_CATALOG),
    reconciler: { pollIntervalMs: 250, leaseMs: 30_000, concurrency: 8, resyncIntervalMs: 15_000, resyncShare: 0.02, stopGraceMs: 60_000, transitionDeadlineMs: 300_000 },
    http: {
      maxConnections: 1024,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 72_000,
      maxHeaderBytes: 16 * 1024,
      hstsMaxAgeSeconds: 0,
      authFailuresPerMinute: 20,
      trustProxy: false,
    },
    retention: { operationsMs: 7 * 86_400_000, idempotencyKeysMs: 86_400_000, eventsMs: 86_400_000 },
    events: { streamsPerUser: 20, waitsPerUser: 100, heartbeatMs: 15_000, maxBufferedBytes: 1024 * 1024 },
    compat: { emptyAccepted: false },
    cors: { origins: [] },
    docker: { endpoints: { '*': '/var/run/docker.sock' }, publishHost: '', network: '', recreateVanished: false },
  };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;
export type ConfigOverrides = { [K in keyof Config]?: Config[K] extends object ? Partial<Config[K]> : Config[K] };

function parseInteger(name: string, raw: string): number {
  if (!/^-?[0-9]+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  return Number(raw);
}

function parseBoolean(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** The environment's part: GALE_* variables, each documented in docs/configuration.md. */
export function configFromEnv(env: Env): ConfigOverrides {
  const out: ConfigOverrides = {};
  const str = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  if (str('GALE_HOST')) out.host = str('GALE_HOST');
  if (str('GALE_PORT')) out.port = parseInteger('GALE_PORT', str('GALE_PORT')!);
  if (str('GALE_DATA_DIR')) out.dataDir = str('GALE_DATA_DIR');
  if (str('GALE_DATABASE_URL')) out.databaseUrl = str('GALE_DATABASE_URL');
  if (str('GALE_DATABASE_SCHEMA')) out.databaseSchema = str('GALE_DATABASE_SCHEMA');
  if (str('GALE_REDIS_URL')) out.redisUrl = str('GALE_REDIS_URL');
  if (str('GALE_PROVIDER')) out.provider = str('GALE_PROVIDER');
  if (str('GALE_SIM_DELAY_MS')) out.simulator = { delayMs: parseInteger('GALE_SIM_DELAY_MS', str('GALE_SIM_DELAY_MS')!) };
  if (str('GALE_BOOTSTRAP')) out.bootstrap = parseBoolean('GALE_BOOTSTRAP', str('GALE_BOOTSTRAP')!);
  if (str('GALE_LOG_LEVEL')) out.logLevel = str('GALE_LOG_LEVEL') as Config['logLevel'];
  if (str('GALE_DOCKER_HOST')) out.docker = { endpoints: { '*': str('GALE_DOCKER_HOST')!.replace(/^unix:\/\//, '') } };
  return out;
}

function readConfigFile(path: string): ConfigOverrides {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as ConfigOverrides;
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Shallow-merges each section, so a file may set one field of a section without repeating the rest. */
function merge(base: Config, over: ConfigOverrides): Config {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = out[key];
    const isSection = ['simulator', 'reconciler', 'docker', 'http', 'cors', 'compat', 'store', 'retention', 'events'].includes(key);
    out[key] = isSection && current && typeof current === 'object' ? { ...current, ...(value as object) } : value;
  }
  return out as Config;
}

/** defaults < file (GALE_CONFIG) < environment < flags, validated once at boot. */
export function loadConfig(options: { env?: Env; flags?: ConfigOverrides } = {}): Config {
  const env = options.env ?? process.env;
  let config = defaultConfig();
  const file = env.GALE_CONFIG;
  if (file) config = merge(config, readConfigFile(file));
  config = merge(config, configFromEnv(env));
  if (options.flags) config = merge(config, options.flags);
  return validateConfig(config);
}

function isUrlOf(text: string, protocols: readonly string[]): boolean {
  try {
    const url = new URL(text);
    return protocols.includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

export function validateConfig(config: Config): Config {
  const errors = [...Value.Errors(ConfigSchema, config)];
  if (errors.length > 0) {
    const lines = errors.slice(0, 10).map((e) => `  ${e.path || '/'}: ${e.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  if (!config.tiers[config.defaultTier]) throw new ConfigError(`defaultTier "${config.defaultTier}" is not one of the tiers`);
  if (config.http.headersTimeoutMs > config.http.requestTimeoutMs) {
    throw new ConfigError(`http.headersTimeoutMs (${config.http.headersTimeoutMs}) must not exceed http.requestTimeoutMs (${config.http.requestTimeoutMs})`);
  }
  for (const [key, tier] of Object.entries(config.tiers)) {
    if (tier.name !== key) throw new ConfigError(`tier "${key}" has name "${tier.name}"; they must be equal`);
  }
  for (const [setting, variable, protocols] of [
    ['databaseUrl', 'GALE_DATABASE_URL', ['postgres:', 'postgresql:']],
    ['redisUrl', 'GALE_REDIS_URL', ['redis:', 'rediss:']],
  ] as const) {
    const url = config[setting];
    if (url !== '' && !isUrlOf(url, protocols)) {
      throw new ConfigError(`${setting} (${variable}) must be a ${protocols[0]}//… URL, e.g. ${protocols[0]}//user:password@host:port/…; got something else`);
    }
  }
  return config;
}
