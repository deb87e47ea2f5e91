// Types only: the clients are loaded when configured (about 40 MB of modules a SQLite-only server never needs).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterPostgres, RateLimiterRedis } from 'rate-limiter-flexible';
import type { Config } from '../../config/schema.js';
import type { Tier } from '../../domain/tiers.js';
import { memoryLimiterFactory, type LimiterFactory } from './request-limiter.js';
import { Circuit, SharedLimiter } from './circuit-limiter.js';
import { ALONE, describeDegraded, type DegradedPolicy } from './degraded.js';

/*
 * Where the rate limiter keeps its counts. One replica can count in memory; several must share the counts, or a
 * user's 60 requests a minute become 60 per replica. Redis when GALE_REDIS_URL is set, else the PostgreSQL the
 * store already uses (both through rate-limiter-flexible), else this replica's memory (memory-limiter.ts).
 *
 * A limiter outage must not take the API down, nor slow it: each shared backend has a circuit (circuit-limiter.ts)
 * that, at the first failure or timeout, has every limiter count on this replica alone, in memory, at once, and a
 * warning is logged; a probe in the background closes it when the store answers again. While it lasts each replica
 * allows what rateLimits.degraded says (degraded.ts): by default its share of the limit, so that N replicas counting
 * apart still allow a user no more than the limit.
 */

export type LimiterBackendName = 'redis' | 'postgres' | 'memory';

export interface LimiterBackend {
  readonly name: LimiterBackendName;
  readonly factory: LimiterFactory;
  /** For /readyz: 'ok (redis)', or 'degraded: …' while counts fall back to this replica's memory. */
  status(): string;
  /** Ends the backend's own connections; the limiters must not be used afterwards. */
  close(): Promise<void>;
}

export interface LimiterBackendOptions {
  logger: Logger;
  /** Called for every request counted in memory because the shared store did not answer (for a metric). */
  onFallback?: (backend: LimiterBackendName) => void;
  /** Called when the backend's circuit opens (counting falls back to memory) or closes. */
  onCircuit?: (backend: LimiterBackendName, open: boolean) => void;
  /** What each limiter allows while the circuit is open; the whole limit, this replica alone, when not given. */
  degraded?: DegradedPolicy;
}

/**
 * The table rate-limiter-flexible's PostgreSQL limiter keeps its counts in, made by the store's migration 011_rate_limits;
 * every tier shares it, keys are prefixed.
 */
export const RATE_LIMIT_TABLE = 'gale_rate_limits';
// A slow answer from the shared store costs every request that long: past this, the request is counted in memory.
const STORE_TIMEOUT_MS = 1000;
const WARN_EVERY_MS = 60_000;
/** How often an open circuit asks the store whether it answers again: the most a hung store costs is one timeout per this. */
const PROBE_INTERVAL_MS = 2000;
/** PostgreSQL's undefined_table and invalid_schema_name. */
const TABLE_MISSING: ReadonlySet<unknown> = new Set(['42P01', '3F000']);

type LimiterConfig = Pick<Config, 'redisUrl' | 'databaseUrl' | 'databaseSchema'>;

export async function openLimiterBackend(config: LimiterConfig, options: LimiterBackendOptions): Promise<LimiterBackend> {
  if (config.redisUrl) return openRedisBackend(config.redisUrl, options);
  if (config.databaseUrl) return openPostgresBackend(config.databaseUrl, config.databaseSchema, options);
  return { name: 'memory', factory: memoryLimiterFactory, status: () => 'ok (memory: this replica alone)', close: async () => undefined };
}

/** Logs the first of a run of failures at once and the rest at most once a minute, so an outage cannot flood the log. */
function throttledWarning(logger: Logger, message: string): (fields?: Record<string, unknown>) => void {
  let lastAt = 0;
  let suppressed = 0;
  return (fields = {}) => {
    const now = Date.now();
    if (now - lastAt < WARN_EVERY_MS) {
      suppressed += 1;
      return;
    }
    logger.warn({ ...fields, suppressedSinceLast: suppressed }, message);
    lastAt = now;
    suppressed = 0;
  };
}

/**
 * The semantics every backend keeps: requestsPerMinute points per 60 s window, counted per tier; and an in-memory
 * block once a user is over the allowance, so that a client hammering through a 429 is refused by this replica until
 * the window ends without asking the store each time.
 */
function sharedShape(tier: Tier) {
  return { keyPrefix: `gale-rl-${tier.name}`, points: tier.requestsPerMinute, duration: 60, inMemoryBlockOnConsumed: tier.requestsPerMinute + 1 };
}

/** The circuit of a backend, which logs when it opens and closes, and the fallback count that goes with it. */
function circuitFor(name: LimiterBackendName, logger: Logger, options: LimiterBackendOptions, probe: () => Promise<void>) {
  const degraded = options.degraded ?? ALONE;
  const circuit = new Circuit({
    probe,
    probeIntervalMs: PROBE_INTERVAL_MS,
    onChange: (open, reason) => {
      if (open) logger.warn({ reason, degraded: degraded.mode }, `${name} did not answer the rate limiter; ${describeDegraded(degraded)} until it does`);
      else logger.info(`${name} answers the rate limiter again; limits are shared across replicas again`);
      options.onCircuit?.(name, open);
    },
  });
  const status = () => (circuit.open ? `degraded: ${name} is not answering (${circuit.why}); ${describeDegraded(degraded)}` : `ok (${name})`);
  return { circuit, status, degraded, onFallback: () => options.onFallback?.(name) };
}

async function openRedisBackend(url: string, options: LimiterBackendOptions): Promise<LimiterBackend> {
  const logger = options.logger.child({ component: 'rate-limiter', backend: 'redis' });
  const { Redis: RedisClient } = await import('ioredis');
  const client = new RedisClient(url, {
    // Fail fast while disconnected instead of queueing: the insurance limiter answers meanwhile.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: STORE_TIMEOUT_MS,
    connectTimeout: 2000,
    // Keep trying to reconnect for as long as the process lives, backing off to every 5 s.
    retryStrategy: (times) => Math.min(times * 200, 5000),
  });
  const connectionError = throttledWarning(logger, 'Redis for rate limits is unreachable; retrying');
  const { circuit, status, degraded, onFallback } = circuitFor('redis', logger, options, async () => {
    await client.ping();
  });
  let lost = false;
  client.on('error', (error: Error) => {
    lost = true;
    connectionError({ reason: error.message });
  });
  // A connection Redis closed cleanly (a restart) emits no error, only a reconnection.
  client.on('reconnecting', () => (lost = true));
  client.on('ready', () => {
    if (lost) logger.info('Redis for rate limits is reachable again; limits are shared across replicas again');
    lost = false;
  });
  await firstConnection(client, 3000).then(
    () => options.onCircuit?.('redis', false),
    (error: unknown) => {
      logger.warn({ err: error }, 'Redis for rate limits not reachable at start; serving with in-memory limits until it is');
      circuit.trip(error);
    },
  );

  return {
    name: 'redis',
    factory: (tier) => new SharedLimiter(new RateLimiterRedis({ ...sharedShape(tier), storeClient: client, rejectIfRedisNotReady: true }), circuit, onFallback, degraded),
    status,
    async close() {
      circuit.close();
      // quit waits for replies to commands already sent; without a connection there is nothing to wait for.
      if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
      else client.disconnect();
    },
  };
}

function firstConnection(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

async function openPostgresBackend(url: string, schema: string, options: LimiterBackendOptions): Promise<LimiterBackend> {
  const logger = options.logger.child({ component: 'rate-limiter', backend: 'postgres' });
  // Its own small pool: limiter queries then never wait behind the store's transactions, nor hold its connections.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: STORE_TIMEOUT_MS * 2,
    query_timeout: STORE_TIMEOUT_MS * 2,
    idleTimeoutMillis: 10_000,
  });
  const poolError = throttledWarning(logger, 'a PostgreSQL connection of the rate limiter failed; it is replaced on next use');
  // Idle connections report on the pool, lent-out ones on the client: unheard, either would end the process.
  pool.on('error', (error: Error) => poolError({ reason: error.message }));
  pool.on('connect', (client) => client.on('error', (error: Error) => poolError({ reason: error.message })));
  const table = schema ? `"${schema}"."${RATE_LIMIT_TABLE}"` : `"${RATE_LIMIT_TABLE}"`;
  // A read of the table itself: the server answering is not enough if the table cannot be used.
  const readTable = async (): Promise<void> => {
    await pool.query(`select 1 from ${table} limit 1`);
  };
  const { circuit, status, degraded, onFallback } = circuitFor('postgres', logger, options, readTable);
  try {
    await readTable();
    options.onCircuit?.('postgres', false);
  } catch (error) {
    // No table is a store that was never migrated (or another schema named): no wait mends that.
    if (TABLE_MISSING.has(codeOf(error))) {
      await pool.end().catch(() => undefined);
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `cannot use the rate-limit table ${schema ? `${schema}.` : ''}${RATE_LIMIT_TABLE} in PostgreSQL (the store's migration 011_rate_limits makes it): ${reason}`,
        { cause: error },
      );
    }
    // Any other failure (a timeout, a lost connection) is an outage like a later one: count in memory until a probe
    // is answered, as a Redis unreachable at start does. The circuit says so in the log.
    circuit.trip(error);
  }

  return {
    name: 'postgres',
    factory: (tier) =>
      new SharedLimiter(
        new RateLimiterPostgres({
          ...sharedShape(tier),
          storeClient: pool,
          storeType: 'pool',
          tableName: RATE_LIMIT_TABLE,
          schemaName: schema || undefined,
          // Made by the store's migrations, before any limiter exists: the library must not make it (011_rate_limits).
          tableCreated: true,
        }),
        circuit,
        onFallback,
        degraded,
      ),
    status,
    close: async () => {
      circuit.close();
      await pool.end();
    },
  };
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}
