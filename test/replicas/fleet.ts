import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createApiKey, createToken, createUser } from '../../src/admin/accounts.js';
import { defaultConfig, validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { systemClock } from '../../src/domain/clock.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type GaleServer } from '../../src/main.js';
import { postgresProblem, postgresTestUrl, skipOrFail } from '../helpers/matrix.js';
import type { Credentials } from '../helpers/http.js';

/*
 * Several Gale replicas on one PostgreSQL schema, as an operator runs them behind a load balancer. Every fleet gets a
 * fresh schema, dropped by close(), so that nothing leaks between tests.
 */

export type Service = 'postgres' | 'redis';

export function redisUrlForTests(): string {
  return process.env.GALE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

async function redisProblem(): Promise<string | undefined> {
  // No retries: a probe should answer once, quickly, either way.
  const client = new Redis(redisUrlForTests(), { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // connect() only says "Connection is closed."; the error event says why (refused, unknown host, …).
  let cause = '';
  client.on('error', (error: Error) => (cause ||= error.message));
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return `Redis at ${redisUrlForTests()} is unreachable (${cause || (error as Error).message}); set GALE_TEST_REDIS_URL`;
  } finally {
    client.disconnect();
  }
}

const probes = new Map<Service, Promise<string | undefined>>();

/** Why these services cannot be used here, or undefined when they can. */
export async function missing(services: Service[]): Promise<string | undefined> {
  const problems = await Promise.all(
    services.map((service) => {
      if (!probes.has(service)) probes.set(service, service === 'postgres' ? postgresProblem() : redisProblem());
      return probes.get(service)!;
    }),
  );
  const found = problems.filter((p): p is string => p !== undefined);
  return found.length > 0 ? found.join('; ') : undefined;
}

/**
 * describe() when the services are there; otherwise a skip with the reason, and with CI=true a failing test as well
 * (../helpers/matrix.ts decides): a suite that silently tested nothing must not pass.
 */
export async function describeWith(services: Service[], name: string, define: () => void): Promise<void> {
  const reason = skipOrFail(`${name}: ${services.join(' and ')}`, await missing(services));
  if (reason === undefined) describe(name, define);
  else describe(name, { skip: `skipped: ${reason}` }, () => {});
}

export function freshSchema(): string {
  return `replicas_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}

/** A connection pool whose unqualified names resolve in the schema, for looking at the store as the replicas see it. */
export function schemaPool(schema: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: postgresTestUrl(), max: 2, options: `-c search_path=${schema}` });
  pool.on('error', () => undefined);
  return pool;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresTestUrl() });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/** The configuration of one replica of a test fleet: quiet, quick, the rest as shipped. */
export function replicaConfig(schema: string, overrides: Partial<Config> = {}): Config {
  const base = defaultConfig();
  return validateConfig({
    ...base,
    port: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'gale-replica-')),
    databaseUrl: postgresTestUrl(),
    databaseSchema: schema,
    bootstrap: false,
    logLevel: (process.env.GALE_TEST_LOG_LEVEL as Config['logLevel']) ?? 'silent',
    providers: { simulator: { delayMs: 100 } },
    reconciler: { ...base.reconciler, pollIntervalMs: 50, leaseMs: 5_000, resyncIntervalMs: 1_000, stopGraceMs: 5_000 },
    ...overrides,
  });
}

export interface Fleet {
  schema: string;
  servers: GaleServer[];
  urls: string[];
  /** A user with a key pair and a token, made through the store as `gale admin` does. */
  user(tier?: string): Promise<Credentials>;
  close(): Promise<void>;
}

/** Starts replicas in-process on one fresh schema; they start together, as a rollout would start them. */
export async function startFleet(options: { replicas?: number; overrides?: Partial<Config> } = {}): Promise<Fleet> {
  const schema = freshSchema();
  const configs = Array.from({ length: options.replicas ?? 2 }, () => replicaConfig(schema, options.overrides));
  const started = await Promise.allSettled(configs.map((config, i) => startServer(config, { logger: createLogger(config.logLevel), replicaId: `replica-${i}` })));
  const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const close = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.close()));
    for (const config of configs) rmSync(config.dataDir, { recursive: true, force: true });
    await dropSchema(schema);
  };
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }
  const first = servers[0]!;
  return {
    schema,
    servers,
    urls: servers.map((server) => server.url),
    async user(tier = 'pro') {
      const config = configs[0]!;
      const user = await createUser(first.store, systemClock, config.tiers, { email: `u-${randomUUID().slice(0, 8)}@example.com`, tier, admin: false });
      const { apiKey, apiSecret } = await createApiKey(first.store, systemClock, user.id);
      const { token } = await createToken(first.store, systemClock, user.id, 3_600_000);
      return { userId: user.id, apiKey, token, bearer: { authorization: `Bearer ${token}` }, keyPair: { 'api-key': apiKey, 'api-secret': apiSecret } };
    },
    close,
  };
}
