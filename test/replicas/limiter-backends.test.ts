import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import { openLimiterBackend, RATE_LIMIT_TABLE, type LimiterBackend } from '../../src/api/limiter/backends.js';
import { RateLimitedError, RequestLimiter } from '../../src/api/limiter/request-limiter.js';
import { createLogger } from '../../src/logger.js';
import { openPostgresStore } from '../../src/store/index.js';
import { postgresTestUrl } from '../helpers/matrix.js';
import { call, eventually } from '../helpers/http.js';
import { describeWith, dropSchema, freshSchema, redisUrlForTests, schemaPool, startFleet, type Fleet } from './fleet.js';
import { TcpProxy } from './tcp-proxy.js';

/* The shared limiter's stores: the PostgreSQL table made by the store's migrations, and an outage of either costs no request. */

const tier = { name: 'free', requestsPerMinute: 5, maxInstances: 1, maxVcpus: 2, maxDiskGb: 50 };

function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { logger: createLogger('warn', stream), lines: () => text };
}

/** Spends the whole allowance and one more: the allowance is exactly tier.requestsPerMinute, wherever it is counted. */
async function spendAllowance(limiter: RequestLimiter, user: string): Promise<void> {
  for (let i = 0; i < tier.requestsPerMinute; i++) assert.equal((await limiter.consume(user, tier)).remaining, tier.requestsPerMinute - 1 - i);
  await assert.rejects(limiter.consume(user, tier), RateLimitedError);
}

await describeWith(['postgres'], 'the PostgreSQL rate-limit table', () => {
  const schema = freshSchema();
  // As a replica starts: the store first, whose migrations make the table; then the limiter.
  before(async () => {
    const store = await openPostgresStore({ url: postgresTestUrl(), schema });
    await store.close();
  });
  after(() => dropSchema(schema));

  test("the store's migrations make it, in the shape rate-limiter-flexible makes, unlogged", async () => {
    const reference = freshSchema();
    const pool = schemaPool(schema);
    try {
      // The library's own table, made by the library, in a schema of its own: the shape its queries expect.
      await pool.query(`create schema "${reference}"`);
      await new Promise<void>((resolve, reject) => {
        const options = { storeClient: pool, storeType: 'pool', tableName: RATE_LIMIT_TABLE, schemaName: reference, clearExpiredByTimeout: false, points: 1, duration: 1 };
        new RateLimiterPostgres(options, (error?: unknown) => (error ? reject(error) : resolve()));
      });
      const shapeIn = async (where: string) =>
        (
          await pool.query(
            `select column_name, data_type, character_maximum_length, is_nullable, column_default from information_schema.columns
              where table_schema = $1 and table_name = $2 order by ordinal_position`,
            [where, RATE_LIMIT_TABLE],
          )
        ).rows;
      const made = await shapeIn(schema);
      assert.deepEqual(made.map((column: { column_name: string }) => column.column_name), ['key', 'points', 'expire']);
      assert.deepEqual(made, await shapeIn(reference));
      const primaryKeyOf = async (where: string) =>
        (
          await pool.query(
            `select kcu.column_name from information_schema.table_constraints tc
              join information_schema.key_column_usage kcu using (constraint_schema, constraint_name)
              where tc.table_schema = $1 and tc.table_name = $2 and tc.constraint_type = 'PRIMARY KEY'`,
            [where, RATE_LIMIT_TABLE],
          )
        ).rows;
      assert.deepEqual(await primaryKeyOf(schema), [{ column_name: 'key' }]);
      assert.deepEqual(await primaryKeyOf(schema), await primaryKeyOf(reference));
      const { rows } = await pool.query(
        'select c.relpersistence from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2',
        [schema, RATE_LIMIT_TABLE],
      );
      assert.deepEqual(rows, [{ relpersistence: 'u' }], 'unlogged: a WAL flush per request would be paid for counts worth nothing a minute later');
    } finally {
      await pool.query(`drop schema if exists "${reference}" cascade`);
      await pool.end();
    }
  });

  test('replicas starting together use the table the migrations made, and share one count', async () => {
    const config = { redisUrl: '', databaseUrl: postgresTestUrl(), databaseSchema: schema };
    const backends = await Promise.all(Array.from({ length: 6 }, () => openLimiterBackend(config, { logger: createLogger('silent') })));
    try {
      assert.deepEqual(new Set(backends.map((backend) => backend.name)), new Set(['postgres']));
      const limiters = backends.map((backend) => new RequestLimiter(backend.factory));
      for (let i = 0; i < tier.requestsPerMinute; i++) await limiters[i % limiters.length]!.consume('user-1', tier);
      for (const limiter of limiters) await assert.rejects(limiter.consume('user-1', tier), RateLimitedError);
    } finally {
      await Promise.all(backends.map((backend) => backend.close()));
    }
  });

  test('an installation whose limiter made the table before migration 011 keeps it, counts and all', async () => {
    const older = freshSchema();
    const pool = schemaPool(older);
    try {
      // As the limiter made it itself before the table was a migration.
      await pool.query(`create schema "${older}"`);
      await pool.query(`create unlogged table "${older}"."${RATE_LIMIT_TABLE}" (key varchar(255) primary key, points integer not null default 0, expire bigint)`);
      await pool.query(`insert into "${older}"."${RATE_LIMIT_TABLE}" values ('gale-rl-free:user-9', 3, $1)`, [Date.now() + 60_000]);
      const store = await openPostgresStore({ url: postgresTestUrl(), schema: older });
      await store.close();
      const { rows } = await pool.query(`select key, points from "${older}"."${RATE_LIMIT_TABLE}"`);
      assert.deepEqual(rows, [{ key: 'gale-rl-free:user-9', points: 3 }]);
    } finally {
      await pool.query(`drop schema if exists "${older}" cascade`);
      await pool.end();
    }
  });

  test('a limiter pointed at a schema the store never migrated refuses to start, and says which table is missing', async () => {
    const config = { redisUrl: '', databaseUrl: postgresTestUrl(), databaseSchema: freshSchema() };
    await assert.rejects(openLimiterBackend(config, { logger: createLogger('silent') }), /cannot use the rate-limit table .*gale_rate_limits.*011_rate_limits/);
  });

  test('a table that does not answer at start: the limiter starts counting in memory, then shares once it answers', async () => {
    const { logger, lines } = capturedLogger();
    const config = { redisUrl: '', databaseUrl: postgresTestUrl(), databaseSchema: schema };
    const pool = schemaPool(schema);
    const holder = await pool.connect();
    let backend: LimiterBackend | undefined;
    try {
      // A lock no read can pass: the limiter's first read waits out its timeout, as on a stalled server.
      await holder.query('begin');
      await holder.query(`lock table ${RATE_LIMIT_TABLE} in access exclusive mode`);
      backend = await openLimiterBackend(config, { logger });
      assert.match(backend.status(), /^degraded: postgres is not answering/);
      assert.match(lines(), /counting in this replica's memory/);
      await spendAllowance(new RequestLimiter(backend.factory), 'user-4');
      await holder.query('commit');
      await eventually('the circuit to close', async () => backend!.status(), (status) => status === 'ok (postgres)', 10_000);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      holder.release();
      await pool.end();
      await backend?.close();
    }
  });

  test('while the table cannot be used, requests are counted in memory and logged; then shared again', async () => {
    const { logger, lines } = capturedLogger();
    let fallbacks = 0;
    const config = { redisUrl: '', databaseUrl: postgresTestUrl(), databaseSchema: schema };
    const backend = await openLimiterBackend(config, { logger, onFallback: () => (fallbacks += 1) });
    const pool = schemaPool(schema);
    try {
      const limiter = new RequestLimiter(backend.factory);
      // Renaming the table makes every limiter query fail, as an outage would, without disturbing anyone else.
      await pool.query(`alter table ${RATE_LIMIT_TABLE} rename to ${RATE_LIMIT_TABLE}_away`);
      await spendAllowance(limiter, 'user-2');
      assert.equal(fallbacks, tier.requestsPerMinute + 1);
      assert.match(lines(), /counting in this replica's memory/);
      // The first failure opened the circuit: the rest were counted in memory without asking the store at all.
      assert.match(backend.status(), /^degraded: postgres is not answering/);
      await pool.query(`alter table ${RATE_LIMIT_TABLE}_away rename to ${RATE_LIMIT_TABLE}`);
      // A probe in the background closes it once the table answers again.
      await eventually('the circuit to close', async () => backend.status(), (status) => status === 'ok (postgres)', 10_000);
      const before = fallbacks;
      await limiter.consume('user-3', tier);
      assert.equal(fallbacks, before, 'back on the shared table');
    } finally {
      await pool.end();
      await backend.close();
    }
  });
});

await describeWith(['redis'], 'the Redis rate limiter', () => {
  test('Redis unreachable at start: the limiter still answers, from memory, and says so', async () => {
    const { logger, lines } = capturedLogger();
    let fallbacks = 0;
    // Port 1 on loopback: nothing listens there, so connecting is refused at once.
    const backend: LimiterBackend = await openLimiterBackend(
      { redisUrl: 'redis://127.0.0.1:1', databaseUrl: '', databaseSchema: '' },
      { logger, onFallback: () => (fallbacks += 1) },
    );
    try {
      assert.equal(backend.name, 'redis');
      await spendAllowance(new RequestLimiter(backend.factory), 'user-1');
      assert.equal(fallbacks, tier.requestsPerMinute + 1);
      assert.match(lines(), /Redis for rate limits is unreachable/);
    } finally {
      await backend.close();
    }
  });
});

await describeWith(['postgres', 'redis'], 'a Redis outage under a running replica', () => {
  const target = new URL(redisUrlForTests());
  const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  let fleet: Fleet;
  before(async () => {
    await proxy.open();
    fleet = await startFleet({ replicas: 1, overrides: { redisUrl: `redis://127.0.0.1:${proxy.port}` } });
  });
  after(async () => {
    await fleet?.close();
    await proxy.cut();
  });

  test('requests keep being answered and limited, and the shared count resumes when Redis is back', async () => {
    const base = fleet.urls[0]!;
    const user = await fleet.user('free');
    const redis = new Redis(redisUrlForTests());
    const key = `gale-rl-free:${user.userId}`;
    const quotas = () => call(base, 'GET', '/api/compute/v1/quotas', { headers: user.bearer });
    try {
      assert.equal((await quotas()).status, 200);
      assert.equal(await redis.get(key), '1');

      await proxy.cut();
      for (let i = 0; i < 3; i++) {
        const answer = await quotas();
        assert.equal(answer.status, 200, answer.text);
        assert.ok(answer.headers.get('ratelimit-remaining'), 'still limited, from memory');
      }
      assert.equal(await redis.get(key), '1', 'nothing reached Redis during the outage');
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /gale_rate_limit_fallbacks_total\{backend="redis"\} 3/);

      await proxy.open();
      await eventually('requests to be counted in Redis again', async () => {
        assert.equal((await quotas()).status, 200);
        return Number(await redis.get(key));
      }, (count) => count > 1, 30_000);
    } finally {
      redis.disconnect();
    }
  });
});
