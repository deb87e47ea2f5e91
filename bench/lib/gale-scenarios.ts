/*
 * Gale as the benchmarks drive it: a seeded SQLite store (100 instances per user, written straight into the file),
 * a `gale serve` child process run from the build as `npm start` runs it, and the request mixes of each scenario.
 * Shared by run.ts and profile.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TIERS } from '../../src/config/default-tiers.js';
import type { Tiers } from '../../src/domain/tiers.js';
import { pick, type RawRequest, type Request } from './load.js';
import { freePort, startChild, type Child } from './processes.js';
import { seed, type Seed, type SeededUser } from './seed.js';

export const PER_USER = 100;
const V1 = '/api/compute/v1';

// A tier that never throttles: the limiter still runs on every request, it just never says no.
const TIERS: Tiers = {
  ...DEFAULT_TIERS,
  bench: { name: 'bench', requestsPerMinute: 1_000_000_000, maxInstances: 10_000_000, maxVcpus: 1_000_000_000, maxDiskGb: 1_000_000_000 },
};

type Context = { user?: SeededUser; id?: string };

export const bearer = (u: SeededUser) => ({ authorization: `Bearer ${u.token}` });
export const keyPair = (u: SeededUser) => ({ 'api-key': u.apiKey, 'api-secret': u.apiSecret });

export async function startGale(users: number, label: string, nodeOptions: string[] = [], perUser = PER_USER): Promise<{ child: Child; seeded: Seed; dataDir: string; instances: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), `gale-bench-${label}-`));
  const configFile = join(dataDir, 'bench.json');
  const extra = process.env.BENCH_GALE_CONFIG ? (JSON.parse(process.env.BENCH_GALE_CONFIG) as object) : {};
  writeFileSync(configFile, JSON.stringify({ tiers: TIERS, ...extra }));
  const started = Date.now();
  const seeded = await seed(dataDir, TIERS, users, perUser);
  process.stderr.write(`seeded ${users * perUser} instances over ${users} users in ${Date.now() - started} ms\n`);
  const port = await freePort();
  const child = await startChild(
    [...nodeOptions, 'dist/cli/gale.js', 'serve'],
    { GALE_PORT: String(port), GALE_DATA_DIR: dataDir, GALE_CONFIG: configFile, GALE_BOOTSTRAP: 'false', GALE_SIM_DELAY_MS: '0' },
    port,
    '/healthz',
    // Gale's JSON log goes to a file, as the floor server's does: both pay for real writes, neither for /dev/null.
    { stdoutFile: join(dataDir, 'gale.log') },
  );
  return { child, seeded, dataDir, instances: users * perUser };
}

export function getById(users: SeededUser[], auth: (u: SeededUser) => Record<string, string>): Request[] {
  return [{ method: 'GET' as const, setupRequest: (req: RawRequest) => {
    const user = pick(users);
    return { ...req, path: `${V1}/instances/${pick(user.instanceIds)}`, headers: auth(user) };
  } }];
}

export function scenarios(seeded: Seed): Record<string, Request[]> {
  const { users, admin } = seeded;
  const deepPage = Math.max(1, Math.floor((users.length * PER_USER) / 100) - 5);
  return {
    'GET /instances/{id} (bearer)': getById(users, bearer),
    'GET /instances/{id} (api-key)': getById(users, keyPair),
    'GET /instances (100 instances)': [{ method: 'GET' as const, setupRequest: (req: RawRequest) => {
      const user = pick(users);
      return { ...req, path: `${V1}/instances`, headers: bearer(user) };
    } }],
    [`GET /admin/instances?pageSize=100&page=${deepPage}`]: [{ method: 'GET' as const, path: `${V1}/admin/instances?pageSize=100&page=${deepPage}`, headers: bearer(admin) }],
    'POST /instances + DELETE': [
      { method: 'POST' as const, setupRequest: (req: RawRequest, context: object) => {
        const user = pick(users);
        (context as Context).user = user;
        return { ...req, path: `${V1}/instances`, body: JSON.stringify({ template_id: 'debian-12-micro' }),
          headers: { ...bearer(user), 'content-type': 'application/json', 'idempotency-key': randomUUID() } };
      }, onResponse: (status: number, body: string, context: object) => {
        (context as Context).id = status === 201 ? (JSON.parse(body) as { id: string }).id : 'missing';
      } },
      { method: 'DELETE' as const, setupRequest: (req: RawRequest, context: object) => ({
        ...req, path: `${V1}/instances/${String((context as Context).id)}`, headers: bearer((context as Context).user!) }) },
    ],
    'mix 90% GET / 10% power': [{ method: 'GET' as const, setupRequest: (req: RawRequest) => {
      const user = pick(users);
      const id = pick(user.instanceIds);
      const roll = Math.random();
      if (roll < 0.9) return { ...req, method: 'GET', path: `${V1}/instances/${id}`, headers: bearer(user) };
      return { ...req, method: 'POST', path: `${V1}/instances/${id}/${roll < 0.95 ? 'reset' : 'start'}`, headers: bearer(user) };
    } }],
  };
}

