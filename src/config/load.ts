import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_STOP_GRACE_MS } from '../domain/provider.js';
import { KNOWN_PROVIDERS, PROVIDERS, providerDescriptor } from '../providers/registry.js';
import { DEFAULT_CATALOG } from './default-catalog.js';
import { ConfigError, envValue, parseBoolean, parseInteger, type Env } from '../env-values.js';
import { DEFAULT_TIER, DEFAULT_TIERS } from './default-tiers.js';
import { ConfigSchema, DEGRADED_RATE_LIMIT_MODES, type Config } from './schema.js';

export function defaultConfig(): Config {
  return {
    host: '127.0.0.1',
    port: 8080,
    dataDir: './data',
    databaseUrl: '',
    databaseSchema: '',
    redisUrl: '',
    rateLimits: { degraded: 'fail-open-split' },
    store: { poolSize: 10, queryTimeoutMs: 5_000, connectTimeoutMs: 2_000, startupTimeoutMs: 60_000 },
    provider: 'simulator',
    providers: Object.fromEntries(PROVIDERS.map((descriptor) => [descriptor.name, structuredClone(descriptor.defaults)])),
    bootstrap: true,
    logLevel: 'info',
    credentialCacheMs: 5000,
    bodyLimitBytes: 64 * 1024,
    defaultTier: DEFAULT_TIER,
    tiers: structuredClone(DEFAULT_TIERS),
    catalog: structuredClone(DEFAULT_CATALOG),
    reconciler: { pollIntervalMs: 250, leaseMs: 30_000, concurrency: 32, resyncIntervalMs: 15_000, resyncShare: 0.02, stopGraceMs: DEFAULT_STOP_GRACE_MS, transitionDeadlineMs: 300_000, zones: [], replicaId: '' },
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
  };
}

export { ConfigError };
export type ConfigOverrides = { [K in keyof Config]?: Config[K] extends object ? Partial<Config[K]> : Config[K] };

/** The environment's part: GALE_* variables, each documented in docs/configuration.md. */
export function configFromEnv(env: Env): ConfigOverrides {
  const out: ConfigOverrides = {};
  const str = (name: string): string | undefined => envValue(env, name);
  if (str('GALE_HOST')) out.host = str('GALE_HOST');
  if (str('GALE_PORT')) out.port = parseInteger('GALE_PORT', str('GALE_PORT')!);
  if (str('GALE_DATA_DIR')) out.dataDir = str('GALE_DATA_DIR');
  if (str('GALE_DATABASE_URL')) out.databaseUrl = str('GALE_DATABASE_URL');
  if (str('GALE_DATABASE_SCHEMA')) out.databaseSchema = str('GALE_DATABASE_SCHEMA');
  if (str('GALE_REDIS_URL')) out.redisUrl = str('GALE_REDIS_URL');
  if (str('GALE_RATE_LIMITS_DEGRADED')) out.rateLimits = { degraded: degradedMode(str('GALE_RATE_LIMITS_DEGRADED')!) };
  if (str('GALE_PROVIDER')) out.provider = str('GALE_PROVIDER');
  if (str('GALE_BOOTSTRAP')) out.bootstrap = parseBoolean('GALE_BOOTSTRAP', str('GALE_BOOTSTRAP')!);
  if (str('GALE_LOG_LEVEL')) out.logLevel = str('GALE_LOG_LEVEL') as Config['logLevel'];
  if (str('GALE_REPLICA_ID')) out.reconciler = { replicaId: str('GALE_REPLICA_ID') };
  // Each provider reads its own variables (GALE_SIM_DELAY_MS, GALE_DOCKER_HOST...).
  const providers: Config['providers'] = {};
  for (const descriptor of PROVIDERS) {
    const settings = descriptor.fromEnv?.(env) ?? {};
    if (Object.keys(settings).length > 0) providers[descriptor.name] = settings;
  }
  if (Object.keys(providers).length > 0) out.providers = providers;
  return out;
}

function degradedMode(raw: string): Config['rateLimits']['degraded'] {
  const mode = DEGRADED_RATE_LIMIT_MODES.find((known) => known === raw);
  if (!mode) throw new ConfigError(`GALE_RATE_LIMITS_DEGRADED must be one of ${DEGRADED_RATE_LIMIT_MODES.join(', ')}; got "${raw}"`);
  return mode;
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

/**
 * Shallow-merges each section, so a file may set one field of a section without repeating the rest; providers.<name>
 * likewise. A provider's section at the top level ("docker": {...}) is read as providers.<name>, as Gale's config
 * files had it before providers had their own.
 */
function merge(base: Config, over: ConfigOverrides): Config {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    if (key === 'providers' || (KNOWN_PROVIDERS.includes(key) && !(key in base))) {
      const given = (key === 'providers' ? value : { [key]: value }) as Config['providers'];
      out.providers = mergeProviders(out.providers as Config['providers'], given);
      continue;
    }
    const current = out[key];
    const isSection = ['reconciler', 'http', 'cors', 'compat', 'store', 'retention', 'events', 'rateLimits'].includes(key);
    out[key] = isSection && current && typeof current === 'object' ? { ...current, ...(value as object) } : value;
  }
  return out as Config;
}

function mergeProviders(base: Config['providers'], over: Config['providers']): Config['providers'] {
  const out = { ...base };
  for (const [name, settings] of Object.entries(over)) out[name] = { ...(out[name] ?? {}), ...settings };
  return out;
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

/**
 * Each provider's settings, checked against its own schema and completed with its defaults: a file may set one
 * setting of one provider. The providers named by `provider` and the catalog's zones must exist.
 */
function validateProviders(config: Config): Config['providers'] {
  const known = `known providers: ${KNOWN_PROVIDERS.join(', ')}`;
  for (const name of Object.keys(config.providers)) {
    if (!providerDescriptor(name)) throw new ConfigError(`providers.${name}: no such provider; ${known}`);
  }
  const complete: Config['providers'] = {};
  for (const descriptor of PROVIDERS) {
    const settings = { ...structuredClone(descriptor.defaults), ...(config.providers[descriptor.name] ?? {}) };
    const errors = [...Value.Errors(descriptor.settings, settings)];
    if (errors.length > 0) {
      const lines = errors.slice(0, 10).map((e) => `  /providers/${descriptor.name}${e.path}: ${e.message}`);
      throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
    }
    complete[descriptor.name] = settings;
  }
  if (!providerDescriptor(config.provider)) throw new ConfigError(`provider "${config.provider}" (GALE_PROVIDER) does not exist; ${known}`);
  const zones = new Set(config.catalog.regions.flatMap((region) => region.zones));
  for (const zone of config.reconciler.zones) {
    if (!zones.has(zone)) throw new ConfigError(`reconciler.zones: "${zone}" is not a zone of any region`);
  }
  for (const [zone, provider] of Object.entries(config.catalog.zoneProviders ?? {})) {
    if (!zones.has(zone)) throw new ConfigError(`catalog.zoneProviders: "${zone}" is not a zone of any region`);
    if (!providerDescriptor(provider)) throw new ConfigError(`catalog.zoneProviders.${zone}: provider "${provider}" does not exist; ${known}`);
  }
  return complete;
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
  config = { ...config, providers: validateProviders(config) };
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
