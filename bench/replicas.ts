/*
 * npx tsx bench/replicas.ts: the same request mix against one replica on SQLite, one on PostgreSQL and two on
 * PostgreSQL (plus two sharing rate limits in Redis, when Redis answers), in one run, on this machine. Each figure is
 * printed with its ratio to the first fleet, measured minutes before; no absolute number is compared with anything
 * measured elsewhere. Replicas are separate `gale serve` processes; the load generator shares the machine with them.
 *   BENCH_DURATION (s, default 10)  BENCH_CONNECTIONS (default 50)  BENCH_USERS (default 20, 5 instances each)
 *   GALE_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)  GALE_TEST_REDIS_URL (default redis://127.0.0.1:6379)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { load, type LoadResult } from './lib/load.js';
import { startFleet, type FleetSpec } from './lib/replica-fleet.js';
import { requestMix } from './lib/replica-load.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const USERS = Number(process.env.BENCH_USERS ?? 20);
const PER_USER = 5;
const WARMUP_SEC = 2;
const DATABASE_URL = process.env.GALE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.GALE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Row {
  fleet: string;
  result: LoadResult;
}

async function redisAnswers(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function measure(name: string, spec: FleetSpec): Promise<Row> {
  const fleet = await startFleet(spec, { users: USERS, instancesPerUser: PER_USER });
  try {
    const requests = requestMix(fleet.users);
    // JIT, connection pools and prepared statements warm up before anything is recorded.
    await load(fleet.urls, { connections: CONNECTIONS, durationSec: WARMUP_SEC, requests });
    const result = await load(fleet.urls, { connections: CONNECTIONS, durationSec: DURATION, requests });
    process.stderr.write(`${name}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors}\n`);
    return { fleet: name, result };
  } finally {
    await fleet.stop();
  }
}

function printTable(rows: Row[]): void {
  const first = rows[0]!.result;
  const col = (text: string, width = 11): string => text.padStart(width);
  process.stdout.write(
    `\n${'fleet'.padEnd(36)}${col('req/s')}${col('p50 ms')}${col('p99 ms')}${col('req/s x')}${col('p99 x')}${col('non-2xx')}${col('errors')}\n`,
  );
  for (const { fleet, result } of rows) {
    process.stdout.write(
      `${fleet.padEnd(36)}${col(result.rps.toFixed(0))}${col(result.p50.toFixed(2))}${col(result.p99.toFixed(2))}` +
        `${col((result.rps / first.rps).toFixed(2))}${col((result.p99 / first.p99).toFixed(2))}${col(String(result.non2xx))}${col(String(result.errors))}\n`,
    );
  }
  process.stdout.write(`\n(ratios are to "${rows[0]!.fleet}"; mix: 80% GET /instances/{id}, 10% GET /instances, 10% POST .../reset)\n`);
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  rows.push(await measure('1 replica, SQLite', { store: 'sqlite', replicas: 1, databaseUrl: DATABASE_URL }));
  rows.push(await measure('1 replica, PostgreSQL', { store: 'postgres', replicas: 1, databaseUrl: DATABASE_URL }));
  rows.push(await measure('2 replicas, PostgreSQL', { store: 'postgres', replicas: 2, databaseUrl: DATABASE_URL }));
  if (await redisAnswers()) {
    rows.push(await measure('2 replicas, PostgreSQL + Redis limits', { store: 'postgres', replicas: 2, databaseUrl: DATABASE_URL, redisUrl: REDIS_URL }));
  } else {
    process.stderr.write(`Redis at ${REDIS_URL} does not answer: the Redis-limited fleet is left out\n`);
  }
  printTable(rows);
  const summary = {
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
    connections: CONNECTIONS,
    durationSec: DURATION,
    users: USERS,
    instancesPerUser: PER_USER,
    rows: rows.map(({ fleet, result }) => ({ fleet, ...result, rpsRatio: result.rps / rows[0]!.result.rps, p99Ratio: result.p99 / rows[0]!.result.p99 })),
  };
  mkdirSync('.bench', { recursive: true });
  writeFileSync(join('.bench', 'replicas.json'), JSON.stringify(summary, null, 2));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
