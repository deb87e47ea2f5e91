/*
 * npm run bench:profile -- [scenario | /path]: where Gale's time goes on one benchmark scenario, or on GETs of a path.
 * Runs `gale serve` under node --cpu-prof on the seeded store, drives the scenario, and prints the functions with the
 * most self time and the same time grouped by package (fastify, pino, better-sqlite3, Gale's own code, Node itself).
 *   BENCH_DURATION (s, default 10)  BENCH_CONNECTIONS (default 50)  BENCH_USERS (default 1000)  BENCH_PER_USER (default 100)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scenarios, startGale } from './lib/gale-scenarios.js';
import { load } from './lib/load.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const USERS = Number(process.env.BENCH_USERS ?? 1000);
const PER_USER = Number(process.env.BENCH_PER_USER ?? 100);
const TOP = 30;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The package a script belongs to: the name under node_modules, "gale" for src/, "node" for Node's own. */
function packageOf(url: string): string {
  if (url === '') return '(native/idle/gc)';
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module) return module[1]!;
  if (url.startsWith('node:')) return 'node';
  const own = /\/(src|dist|bench)\/(.+)$/.exec(url);
  return own ? `gale ${own[1]}/${own[2]!.split('/')[0]}` : url;
}

function summarise(profile: CpuProfile): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url.replace(/^file:\/\/.*?\/(node_modules|src|dist|bench)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    byPackage.set(packageOf(url), (byPackage.get(packageOf(url)) ?? 0) + micros);
  }
  const print = (title: string, table: Map<string, number>, limit: number) => {
    process.stdout.write(`\n${title}\n`);
    for (const [name, micros] of [...table].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
      process.stdout.write(`${((micros / total) * 100).toFixed(1).padStart(6)}%  ${name}\n`);
    }
  };
  print('self time by package', byPackage, 20);
  print(`self time by function (top ${TOP})`, byFunction, TOP);
}

async function main(): Promise<void> {
  const wanted = process.argv[2] ?? 'GET /instances/{id} (bearer)';
  const profileDir = mkdtempSync(join(tmpdir(), 'gale-profile-'));
  const gale = await startGale(USERS, 'profile', ['--cpu-prof', `--cpu-prof-dir=${profileDir}`], PER_USER);
  // A path (/healthz, say) is profiled as a plain GET: the cost of the stack around every route.
  const all = { ...scenarios(gale.seeded), ...(wanted.startsWith('/') ? { [`GET ${wanted}`]: [{ method: 'GET' as const, path: wanted }] } : {}) };
  const name = Object.keys(all).find((key) => key.startsWith(wanted) || key === `GET ${wanted}`);
  if (!name) throw new Error(`no scenario starts with "${wanted}"; scenarios: ${Object.keys(all).join(' | ')}`);
  const result = await load(gale.child.url, { connections: CONNECTIONS, durationSec: DURATION, requests: all[name]! });
  process.stdout.write(`${name}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms (under the profiler)\n`);
  await gale.child.stop();
  // Worker threads (the WAL checkpointer) write profiles of their own: the main thread's is by far the largest.
  const file = readdirSync(profileDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(join(profileDir, b)).size - statSync(join(profileDir, a)).size)[0];
  if (!file) throw new Error(`no profile written to ${profileDir}`);
  summarise(JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile);
  rmSync(profileDir, { recursive: true, force: true });
  rmSync(gale.dataDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`profile failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
