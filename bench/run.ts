/*
 * npm run bench: Gale's API path against a bare node:http server, in one run on this machine.
 * Every figure is printed with its ratio to the baseline measured minutes before it; no absolute
 * number is compared with anything measured elsewhere.
 *   BENCH_DURATION (s, default 10)  BENCH_CONNECTIONS (default 50)  BENCH_USERS (default 1000, 100 instances each)
 */
import { mkdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { bearer, getById, PER_USER, scenarios, startGale } from './lib/gale-scenarios.js';
import { load, type LoadResult } from './lib/load.js';
import { freePort, startChild } from './lib/processes.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const USERS = Number(process.env.BENCH_USERS ?? 1000);
const FLAT_ROUNDS = 5;

type Row = { scenario: string; result: LoadResult };

function printTable(rows: Row[], baseline: LoadResult): void {
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (n: number, d = 0) => n.toFixed(d).padStart(10);
  process.stdout.write(`\n${pad('scenario', 52)}${'req/s'.padStart(10)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}${'vs bare'.padStart(10)}${'non-2xx'.padStart(10)}\n`);
  for (const { scenario, result } of rows) {
    process.stdout.write(`${pad(scenario, 52)}${num(result.rps)}${num(result.p50, 2)}${num(result.p99, 2)}${num(result.rps / baseline.rps, 2)}${num(result.non2xx)}\n`);
  }
}

/** The run with the median requests/second of several. */
const medianRun = (runs: LoadResult[]): LoadResult => [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)]!;

async function main(): Promise<void> {
  const rows: Row[] = [];
  const run = async (scenario: string, url: string, requests: Parameters<typeof load>[1]['requests']) => {
    // Each scenario gets its own warm-up: its code paths compiled, its files grown, before anything is counted.
    await load(url, { connections: CONNECTIONS, durationSec: 2, requests });
    const result = await load(url, { connections: CONNECTIONS, durationSec: DURATION, requests });
    rows.push({ scenario, result });
    process.stderr.write(`${scenario}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, non-2xx ${result.non2xx}\n`);
    return result;
  };

  // Both Gales are seeded and started first; each is paused (SIGSTOP) while anything else is measured, so that its
  // background work (the reconciler's resync) never lands in another server's figures.
  // The small store has as many users as the big one, one instance each: only the number of instances differs.
  const small = await startGale(USERS, 'small', [], 1);
  small.child.pause();
  const big = await startGale(USERS, 'big');
  big.child.pause();
  const bigScenarios = scenarios(big.seeded);

  // The baseline is sent the very request stream of GET by id (random paths and credentials built per request), so
  // that the load generator does the same work on both sides of the ratio. A fixed request is cheaper to generate:
  // it is shown too, as the ceiling of the load generator itself.
  const basePort = await freePort();
  const bare = await startChild(['--import', 'tsx', 'bench/lib/baseline-server.ts'], { PORT: String(basePort) }, basePort, '/');
  await run('bare node:http, one fixed request', bare.url, [{ method: 'GET', path: '/' }]);
  const baseline = await run('bare node:http (baseline)', bare.url, getById(big.seeded.users, bearer));
  await bare.stop();

  // Flat scaling: the same GET at 1,000 and at 100,000 instances, in alternating runs, compared by their medians,
  // so that a slow minute of a shared machine does not fall on one side only.
  const sides = [
    { gale: small, requests: getById(small.seeded.users, bearer), runs: [] as LoadResult[] },
    { gale: big, requests: bigScenarios['GET /instances/{id} (bearer)']!, runs: [] as LoadResult[] },
  ];
  const measureFlat = async (side: (typeof sides)[number], durationSec: number): Promise<LoadResult> => {
    side.gale.child.resume();
    const result = await load(side.gale.child.url, { connections: CONNECTIONS, durationSec, requests: side.requests });
    side.gale.child.pause();
    return result;
  };
  for (const side of sides) await measureFlat(side, 2);
  for (let round = 0; round < FLAT_ROUNDS; round++) {
    for (const side of sides) side.runs.push(await measureFlat(side, Math.max(3, DURATION / 2)));
  }
  small.child.resume();
  await small.child.stop();
  rmSync(small.dataDir, { recursive: true, force: true });
  const [smallMedian, bigMedian] = sides.map((side) => {
    const result = medianRun(side.runs);
    rows.push({ scenario: `GET /instances/{id} (bearer) at ${side.gale.instances}, median of ${FLAT_ROUNDS}`, result });
    return result;
  });
  process.stderr.write(`flat scaling: ${sides.map((side) => `at ${side.gale.instances} ${side.runs.map((r) => r.rps.toFixed(0)).join(', ')}`).join('; ')} req/s\n`);

  big.child.resume();
  const results: Record<string, LoadResult> = {};
  for (const [name, requests] of Object.entries(bigScenarios)) results[name] = await run(name, big.child.url, requests);
  const peakRss = big.child.peakRss();
  await big.child.stop();
  const dbBytes = ['gale.db', 'gale.db-wal'].map((f) => join(big.dataDir, f)).filter(existsSync).reduce((sum, f) => sum + statSync(f).size, 0);
  rmSync(big.dataDir, { recursive: true, force: true });

  printTable(rows, baseline);
  const getBig = results['GET /instances/{id} (bearer)']!;
  const creates = results['POST /instances + DELETE']!;
  const summary = {
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
    connections: CONNECTIONS,
    durationSec: DURATION,
    instances: USERS * PER_USER,
    getByIdVsBaseline: getBig.rps / baseline.rps,
    listVsBaseline: results['GET /instances (100 instances)']!.rps / baseline.rps,
    createsPerSecond: creates.rps / 2,
    flatScaling: bigMedian!.rps / smallMedian!.rps,
    flatScalingRuns: { small: sides[0]!.runs.map((r) => r.rps), big: sides[1]!.runs.map((r) => r.rps) },
    peakRssMb: peakRss / 2 ** 20,
    storeMb: dbBytes / 2 ** 20,
    rows,
  };
  process.stdout.write(`\nGET by id at ${summary.instances} vs bare: ${summary.getByIdVsBaseline.toFixed(2)} (target >= 0.60), p99 ${getBig.p99} ms (target < 5)\n`);
  process.stdout.write(`GET list vs bare: ${summary.listVsBaseline.toFixed(2)} (target >= 0.30)\n`);
  process.stdout.write(`creates/s: ${summary.createsPerSecond.toFixed(0)} (target >= 2000)\n`);
  process.stdout.write(`GET by id at ${summary.instances} / at ${small.instances}, medians of ${FLAT_ROUNDS} alternating runs: ${summary.flatScaling.toFixed(2)} (target >= 0.90)\n`);
  process.stdout.write(`peak RSS: ${summary.peakRssMb.toFixed(0)} MB (target < 250); store on disk: ${summary.storeMb.toFixed(1)} MB\n`);
  mkdirSync('.bench', { recursive: true });
  writeFileSync(join('.bench', 'latest.json'), JSON.stringify(summary, null, 2));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
