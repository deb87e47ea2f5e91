import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createToken, createUser } from '../../src/admin/accounts.js';
import { DEFAULT_TIERS } from '../../src/config/default-tiers.js';
import { systemClock } from '../../src/domain/clock.js';
import type { Tiers } from '../../src/domain/tiers.js';
import { openStore } from '../../src/store/index.js';
import { freePort, startChild, type Child } from './processes.js';

/*
 * A fleet of `gale serve` processes for the replica benchmark: one on SQLite, or one or more on one PostgreSQL schema,
 * seeded with the same users and instances, so that only the store and the replica count differ between runs.
 */

// A tier that never throttles: the limiter still runs (and on PostgreSQL or Redis, queries) on every request.
const TIERS: Tiers = {
  ...DEFAULT_TIERS,
  bench: { name: 'bench', requestsPerMinute: 1_000_000_000, maxInstances: 1_000, maxVcpus: 1_000_000, maxDiskGb: 1_000_000 },
};
const V1 = '/api/compute/v1';

export interface FleetSpec {
  store: 'sqlite' | 'postgres';
  replicas: number;
  databaseUrl: string;
  /** Shares the rate limiter's counts in Redis instead of PostgreSQL. */
  redisUrl?: string;
  /** Settings written to the config file besides the bench tier (sections are merged with the defaults by Gale). */
  config?: Record<string, unknown>;
  /** The simulator's time per transition, GALE_SIM_DELAY_MS (default 0: instant). */
  simulatorDelayMs?: number;
  /** Runs the build (dist/cli/gale.js, as `npm start` does) instead of the sources through tsx. */
  fromBuild?: boolean;
  /** Waits until every seeded instance is RUNNING (default); false leaves them as the create left them. */
  waitRunning?: boolean;
  /** Told the fleet's stop() before anything is started, so that a signal during the start can still clean up. */
  onStop?: (stop: () => Promise<void>) => void;
}

export interface BenchUser {
  userId: string;
  token: string;
  instanceIds: string[];
  /** The create operation of each instance, in the order of instanceIds (x-operation-id). */
  operationIds: string[];
}

export interface BenchFleet {
  urls: string[];
  users: BenchUser[];
  /** The replicas, in the order of urls. */
  children: Child[];
  /** The PostgreSQL schema the fleet keeps its tables in (dropped by stop). */
  schema: string;
  stop(): Promise<void>;
}

async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/** Users are made through the store as `gale admin` makes them; their instances through the API, as users make them. */
async function seedUsers(dataDir: string, spec: FleetSpec, schema: string, count: number): Promise<Array<{ userId: string; token: string }>> {
  const store = await openStore({ dataDir, databaseUrl: spec.store === 'postgres' ? spec.databaseUrl : undefined, schema });
  try {
    const made: Array<{ userId: string; token: string }> = [];
    for (let i = 0; i < count; i++) {
      const user = await createUser(store, systemClock, TIERS, { email: `bench-${i}@bench.local`, tier: 'bench', admin: false });
      made.push({ userId: user.id, token: (await createToken(store, systemClock, user.id, 86_400_000)).token });
    }
    return made;
  } finally {
    await store.close();
  }
}

async function createInstances(url: string, token: string, count: number): Promise<{ instanceIds: string[]; operationIds: string[] }> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const instanceIds: string[] = [];
  const operationIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${url}${V1}/instances`, { method: 'POST', headers, body: JSON.stringify({ template_id: 'debian-12-micro' }) });
    if (response.status !== 201) throw new Error(`seeding: create answered ${response.status}: ${await response.text()}`);
    instanceIds.push(((await response.json()) as { id: string }).id);
    operationIds.push(response.headers.get('x-operation-id') ?? '');
  }
  return { instanceIds, operationIds };
}

async function waitRunning(url: string, token: string, count: number): Promise<void> {
  for (;;) {
    const response = await fetch(`${url}${V1}/instances`, { headers: { authorization: `Bearer ${token}` } });
    const listed = (await response.json()) as Array<{ status: string }>;
    if (listed.length === count && listed.every((instance) => instance.status === 'RUNNING')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startFleet(spec: FleetSpec, seed: { users: number; instancesPerUser: number }): Promise<BenchFleet> {
  const dir = mkdtempSync(join(tmpdir(), `gale-bench-replicas-${spec.store}-`));
  const schema = `bench_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const configFile = join(dir, 'bench.json');
  writeFileSync(configFile, JSON.stringify({ ...spec.config, tiers: TIERS }));
  const children: Child[] = [];
  let stopping: Promise<void> | undefined;
  // Safe to call more than once, and after a failed start: children, schema and files are each cleaned up once.
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      try {
        await Promise.all(children.map((child) => child.stop()));
      } finally {
        if (spec.store === 'postgres') await dropSchema(spec.databaseUrl, schema);
        rmSync(dir, { recursive: true, force: true });
      }
    })());
  spec.onStop?.(stop);
  try {
    const made = await seedUsers(join(dir, 'data'), spec, schema, seed.users);
    for (let i = 0; i < spec.replicas; i++) {
      const port = await freePort();
      const env: Record<string, string> = {
        GALE_PORT: String(port),
        GALE_DATA_DIR: join(dir, 'data'),
        GALE_CONFIG: configFile,
        GALE_BOOTSTRAP: 'false',
        GALE_SIM_DELAY_MS: String(spec.simulatorDelayMs ?? 0),
      };
      if (spec.store === 'postgres') Object.assign(env, { GALE_DATABASE_URL: spec.databaseUrl, GALE_DATABASE_SCHEMA: schema });
      if (spec.redisUrl) env.GALE_REDIS_URL = spec.redisUrl;
      const args = spec.fromBuild ? ['dist/cli/gale.js', 'serve'] : ['--import', 'tsx', 'src/cli/gale.ts', 'serve'];
      children.push(await startChild(args, env, port, '/healthz'));
    }
    const first = children[0]!.url;
    const users: BenchUser[] = [];
    for (const { userId, token } of made) users.push({ userId, token, ...(await createInstances(first, token, seed.instancesPerUser)) });
    if (spec.waitRunning ?? true) for (const user of users) await waitRunning(first, user.token, seed.instancesPerUser);
    return { urls: children.map((child) => child.url), users, children, schema, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
