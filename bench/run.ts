/*
 * npm run bench: the CPU Gale's server process spends per request (all its threads, user + system, from
 * /proc/<pid>/stat) beside its requests/second, against two references measured in the same run on this machine:
 *   - bare node:http (lib/baseline-server.ts), which does no job at all;
 *   - the floor (lib/floor-server.ts), a plain node:http server doing the same job as Gale's GET /instances/{id} and
 *     GET /instances on the same SQLite file: the least that job can cost. Gale/floor is the cost of Gale's layers.
 * The load generator is wrk (one thread; requests built per request by the Lua scripts of lib/wrk/), whose own CPU per
 * request is a few µs, where autocannon's was 55-85 µs taken from the same cores. No absolute figure is compared with
 * anything measured elsewhere.
 *   BENCH_DURATION (s, default 10)  BENCH_CONNECTIONS (default 50)  BENCH_USERS (default 1000, 100 instances each)
 */
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { PER_USER, startGale } from './lib/gale-scenarios.js';
import { freePort, startChild, type Child } from './lib/processes.js';
import { requireWrk, wrk, writeWrkData, type WrkOptions, type WrkResult } from './lib/wrk.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const USERS = Number(process.env.BENCH_USERS ?? 1000);
const FLAT_ROUNDS = 5;
/** Rounds of the other Gale/floor pairs (GET list, GET by api-key). */
const PAIR_ROUNDS = 3;
const WARM_UP_SEC = 2;
const V1 = '/api/compute/v1';

/** One wrk run with the server's CPU over it. */
interface Measured extends WrkResult {
  /** CPU seconds of the server process (all threads, user + system) over the run. */
  serverCpuSeconds: number;
  /** The server's CPU per completed request, in microseconds. */
  cpuUsPerRequest: number;
  /** wrk's own CPU per request, in microseconds (for information: it runs on the same cores). */
  wrkCpuUsPerRequest: number;
}

interface Row {
  scenario: string;
  result: Measured;
  /** The floor row this one is compared with (Gale/floor), if any. */
  floor?: string;
  /** Requests completed in each run when the row is a median of several. */
  runs?: Measured[];
}

/** Requests each server answered to wrk (warm-ups included), to check its log against: one line per request. */
const answered = new Map<Child, number>();

async function drive(child: Child, options: Omit<WrkOptions, 'connections' | 'durationSec'>, durationSec: number): Promise<WrkResult> {
  const result = await wrk(child.url, { ...options, connections: CONNECTIONS, durationSec });
  answered.set(child, (answered.get(child) ?? 0) + result.requests);
  return result;
}

/** Lines in a log file (newlines counted in chunks: Gale's log reaches a few hundred MB). */
function lineCount(file: string): number {
  if (!existsSync(file)) return 0;
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(1 << 20);
  let lines = 0;
  for (let read; (read = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) {
    for (let at = buffer.indexOf(10); at >= 0 && at < read; at = buffer.indexOf(10, at + 1)) lines += 1;
  }
  closeSync(fd);
  return lines;
}

interface Backlog {
  /** Instances the reconciler had still to finish when wrk stopped. */
  left: number;
  seconds: number;
  /** The server's CPU while it finished them. */
  cpuSeconds: number;
}

/**
 * Waits until the reconciler has caught up after a create-delete run: no deleted instance left to purge, no new one
 * left to make. Under a full load of requests the API takes the CPU first and the reconciler falls behind; its work
 * is part of what a create costs.
 */
async function drainBacklog(child: Child, dbFile: string): Promise<Backlog> {
  const db = new BetterSqlite3(dbFile, { readonly: true });
  const pending = db.prepare<[], { n: number }>('select count(*) as n from instances where deleted_at is not null or provisioned = 0');
  const started = performance.now();
  const cpu = child.cpuSeconds();
  const left = pending.get()!.n;
  while (pending.get()!.n > 0) {
    if (performance.now() - started > 300_000) throw new Error('the reconciler did not catch up within 5 minutes');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  db.close();
  return { left, seconds: (performance.now() - started) / 1000, cpuSeconds: child.cpuSeconds() - cpu };
}

const logChecks: Array<{ server: string; logLines: number; requestsCounted: number }> = [];

/** Both servers write one line per request: a log with fewer lines than wrk counted answers would mean one did not. */
function checkLog(server: string, child: Child, file: string): void {
  const check = { server, logLines: lineCount(file), requestsCounted: answered.get(child) ?? 0 };
  logChecks.push(check);
  process.stderr.write(`${server}: ${check.logLines} log lines for ${check.requestsCounted} answers counted by wrk (plus those in flight when each run stopped)\n`);
}

async function measure(child: Child, options: Omit<WrkOptions, 'connections' | 'durationSec'>, durationSec: number): Promise<Measured> {
  const before = child.cpuSeconds();
  const result = await drive(child, options, durationSec);
  const serverCpuSeconds = child.cpuSeconds() - before;
  const requests = Math.max(1, result.requests);
  return { ...result, serverCpuSeconds, cpuUsPerRequest: (serverCpuSeconds * 1e6) / requests, wrkCpuUsPerRequest: (result.wrkCpuSeconds * 1e6) / requests };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** Each figure the median of its own over several runs (requests and non-2xx summed). */
function medianOf(runs: Measured[]): Measured {
  const m = (pick: (r: Measured) => number) => median(runs.map(pick));
  const sum = (pick: (r: Measured) => number) => runs.reduce((total, r) => total + pick(r), 0);
  return {
    requests: sum((r) => r.requests),
    rps: m((r) => r.rps),
    p50: m((r) => r.p50),
    p99: m((r) => r.p99),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    durationSec: sum((r) => r.durationSec),
    wrkCpuSeconds: sum((r) => r.wrkCpuSeconds),
    counters: {},
    serverCpuSeconds: sum((r) => r.serverCpuSeconds),
    cpuUsPerRequest: m((r) => r.cpuUsPerRequest),
    wrkCpuUsPerRequest: m((r) => r.wrkCpuUsPerRequest),
  };
}

function printTable(rows: Row[], bare: Measured): void {
  const byName = new Map(rows.map((row) => [row.scenario, row]));
  const cols: Array<[string, number]> = [['scenario', 58], ['req/s', 9], ['CPU µs/req', 12], ['p50 ms', 9], ['p99 ms', 9], ['non-2xx', 9], ['Gale/floor', 12], ['Gale/bare', 11], ['wrk µs/req', 12]];
  const line = (cells: string[]) => `${cells.map((cell, i) => (i === 0 ? cell.padEnd(cols[i]![1]) : cell.padStart(cols[i]![1]))).join('')}\n`;
  process.stdout.write(`\n${line(cols.map(([name]) => name))}`);
  for (const { scenario, result, floor } of rows) {
    const floorRow = floor ? byName.get(floor) : undefined;
    process.stdout.write(
      line([
        scenario,
        result.rps.toFixed(0),
        result.cpuUsPerRequest.toFixed(1),
        result.p50.toFixed(2),
        result.p99.toFixed(2),
        String(result.non2xx),
        floorRow ? (result.cpuUsPerRequest / floorRow.result.cpuUsPerRequest).toFixed(2) : '-',
        (result.cpuUsPerRequest / bare.cpuUsPerRequest).toFixed(2),
        result.wrkCpuUsPerRequest.toFixed(1),
      ]),
    );
  }
}

async function startFloor(dataDir: string): Promise<Child> {
  const port = await freePort();
  return startChild(
    ['--import', 'tsx', 'bench/lib/floor-server.ts'],
    { PORT: String(port), FLOOR_DB: join(dataDir, 'gale.db'), FLOOR_CONFIG: join(dataDir, 'bench.json'), FLOOR_LOG: join(dataDir, 'floor.log') },
    port,
    '/',
  );
}

/** What a failed run must undo: servers first (in reverse order of start), then their directories. */
const cleanups: Array<() => unknown> = [];

async function main(): Promise<void> {
  requireWrk();
  const rows: Row[] = [];
  const report = (row: Row) => {
    rows.push(row);
    const r = row.result;
    process.stderr.write(`${row.scenario}: ${r.rps.toFixed(0)} req/s, ${r.cpuUsPerRequest.toFixed(1)} µs CPU/req, p99 ${r.p99.toFixed(2)} ms, non-2xx ${r.non2xx}, errors ${r.errors}\n`);
    return r;
  };
  /** A scenario's own warm-up (its code paths compiled, its files grown), then the measured run, the others paused. */
  const run = async (scenario: string, child: Child, options: Omit<WrkOptions, 'connections' | 'durationSec'>, floor?: string): Promise<Measured> => {
    await drive(child, options, WARM_UP_SEC);
    return report({ scenario, result: await measure(child, options, DURATION), ...(floor ? { floor } : {}) });
  };

  const work = mkdtempSync(join(tmpdir(), 'gale-bench-wrk-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  // Both Gales are seeded and started first; every server is paused (SIGSTOP) while another is measured, so that its
  // background work (Gale's reconciler) never lands in another server's figures.
  // The small store has as many users as the big one, one instance each: only the number of instances differs.
  const small = await startGale(USERS, 'small', [], 1);
  cleanups.push(() => small.child.stop(), () => rmSync(small.dataDir, { recursive: true, force: true }));
  small.child.pause();
  const big = await startGale(USERS, 'big');
  cleanups.push(() => big.child.stop(), () => rmSync(big.dataDir, { recursive: true, force: true }));
  big.child.pause();
  const smallData = writeWrkData(work, 'small', small.seeded.users);
  const bigData = writeWrkData(work, 'big', big.seeded.users);
  const floorSmall = await startFloor(small.dataDir);
  cleanups.unshift(() => floorSmall.stop());
  floorSmall.pause();
  const floorBig = await startFloor(big.dataDir);
  cleanups.unshift(() => floorBig.stop());
  floorBig.pause();

  // The baseline is sent the very request stream of GET by id (random paths and credentials built per request), so
  // that the load generator does the same work for it; a fixed request is shown too.
  const basePort = await freePort();
  const bare = await startChild(['--import', 'tsx', 'bench/lib/baseline-server.ts'], { PORT: String(basePort) }, basePort, '/');
  cleanups.unshift(() => bare.stop());
  await run('bare node:http, one fixed request', bare, {});
  const baseline = await run('bare node:http (GET by id request stream)', bare, { script: 'get-by-id.lua', scriptArgs: [bigData, 'bearer'] });
  await bare.stop();

  // Gale and its floor are compared in alternating runs, by their medians, so that a slow minute of a shared machine
  // does not fall on one side only: every measured server runs alone (the others paused).
  type Side = { name: string; child: Child; options: Omit<WrkOptions, 'connections' | 'durationSec'>; floor?: string; runs: Measured[] };
  const roundSec = Math.max(3, DURATION / 2);
  const measureSide = async (side: Side, durationSec: number): Promise<Measured> => {
    side.child.resume();
    const result = await measure(side.child, side.options, durationSec);
    side.child.pause();
    return result;
  };
  const alternate = async (sides: Side[], rounds: number): Promise<Row[]> => {
    for (const side of sides) side.child.pause();
    for (const side of sides) await measureSide(side, WARM_UP_SEC);
    for (let round = 0; round < rounds; round++) {
      for (const side of sides) side.runs.push(await measureSide(side, roundSec));
      process.stderr.write(`round ${round + 1}/${rounds}: ${sides.map((s) => `${s.runs.at(-1)!.cpuUsPerRequest.toFixed(1)} µs`).join(', ')}\n`);
    }
    return sides.map((side) => {
      const row: Row = { scenario: `${side.name}, median of ${rounds}`, result: medianOf(side.runs), runs: side.runs };
      if (side.floor !== undefined) row.floor = `${side.floor}, median of ${rounds}`;
      report(row);
      return row;
    });
  };

  // GET by id at 1,000 and at 100,000 instances, floor and Gale: the flat-scaling comparison too.
  const byId = (data: string, auth = 'bearer') => ({ script: 'get-by-id.lua', scriptArgs: [data, auth] });
  const floorSmallName = `floor GET /instances/{id} at ${small.instances}`;
  const floorBigName = `floor GET /instances/{id} at ${big.instances}`;
  const [floorSmallRow, galeSmallRow, floorBigRow, galeBigRow] = await alternate(
    [
      { name: floorSmallName, child: floorSmall, options: byId(smallData), runs: [] },
      { name: `Gale GET /instances/{id} (bearer) at ${small.instances}`, child: small.child, options: byId(smallData), floor: floorSmallName, runs: [] },
      { name: floorBigName, child: floorBig, options: byId(bigData), runs: [] },
      { name: `Gale GET /instances/{id} (bearer) at ${big.instances}`, child: big.child, options: byId(bigData), floor: floorBigName, runs: [] },
    ],
    FLAT_ROUNDS,
  );
  for (const child of [small.child, floorSmall]) await child.stop();
  checkLog(`Gale at ${small.instances}`, small.child, join(small.dataDir, 'gale.log'));
  checkLog(`floor at ${small.instances}`, floorSmall, join(small.dataDir, 'floor.log'));
  rmSync(small.dataDir, { recursive: true, force: true });

  // The rest at 100,000 instances. The list and api-key GETs against their floors, alternating as above.
  const floorList = 'floor GET /instances (100 instances)';
  const [floorListRow, galeListRow] = await alternate(
    [
      { name: floorList, child: floorBig, options: { script: 'list.lua', scriptArgs: [bigData] }, runs: [] },
      { name: 'Gale GET /instances (100 instances)', child: big.child, options: { script: 'list.lua', scriptArgs: [bigData] }, floor: floorList, runs: [] },
    ],
    PAIR_ROUNDS,
  );
  const floorKey = `floor GET /instances/{id} (api-key) at ${big.instances}`;
  await alternate(
    [
      { name: floorKey, child: floorBig, options: byId(bigData, 'api-key'), runs: [] },
      { name: `Gale GET /instances/{id} (api-key) at ${big.instances}`, child: big.child, options: byId(bigData, 'api-key'), floor: floorKey, runs: [] },
    ],
    PAIR_ROUNDS,
  );
  await floorBig.stop();
  checkLog(`floor at ${big.instances}`, floorBig, join(big.dataDir, 'floor.log'));
  big.child.resume();
  const deepPage = Math.max(1, Math.floor((USERS * PER_USER) / 100) - 5);
  // A fixed request: the admin's token (admins are not rate limited on admin routes), the same deep page every time.
  await run(`Gale GET /admin/instances?pageSize=100&page=${deepPage}`, big.child, {
    path: `${V1}/admin/instances?pageSize=100&page=${deepPage}`,
    headers: { authorization: `Bearer ${big.seeded.admin.token}` },
  });
  // Creates: the warm-up's backlog is worked off before the measured run, whose own is then timed to its end.
  const createDelete = { script: 'create-delete.lua', scriptArgs: [bigData] };
  await drive(big.child, createDelete, WARM_UP_SEC);
  await drainBacklog(big.child, join(big.dataDir, 'gale.db'));
  const creates = report({ scenario: 'Gale POST /instances + DELETE', result: await measure(big.child, createDelete, DURATION) });
  const backlog = await drainBacklog(big.child, join(big.dataDir, 'gale.db'));
  await run('Gale mix 90% GET / 10% power', big.child, { script: 'mix.lua', scriptArgs: [bigData] });
  const peakRss = big.child.peakRss();
  await big.child.stop();
  checkLog(`Gale at ${big.instances}`, big.child, join(big.dataDir, 'gale.log'));
  const dbBytes = ['gale.db', 'gale.db-wal'].map((f) => join(big.dataDir, f)).filter(existsSync).reduce((sum, f) => sum + statSync(f).size, 0);
  rmSync(big.dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });

  printTable(rows, baseline);
  // Creates answered 201 within the run (a POST still in flight when wrk stops is not one), per second; and the same
  // with the time and CPU the reconciler took afterwards to finish what the run left it.
  const created = creates.counters.created ?? creates.requests / 2;
  const createsPerSecond = created / creates.durationSec;
  const createsFinishedPerSecond = created / (creates.durationSec + backlog.seconds);
  const cpuUsPerCreate = ((creates.serverCpuSeconds + backlog.cpuSeconds) * 1e6) / created;
  const summary = {
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
    loadGenerator: 'wrk -t1',
    connections: CONNECTIONS,
    durationSec: DURATION,
    instances: USERS * PER_USER,
    getByIdCpuVsFloor: {
      small: galeSmallRow!.result.cpuUsPerRequest / floorSmallRow!.result.cpuUsPerRequest,
      big: galeBigRow!.result.cpuUsPerRequest / floorBigRow!.result.cpuUsPerRequest,
    },
    listCpuVsFloor: galeListRow!.result.cpuUsPerRequest / floorListRow!.result.cpuUsPerRequest,
    getByIdVsBaseline: galeBigRow!.result.rps / baseline.rps,
    getByIdCpuVsBaseline: galeBigRow!.result.cpuUsPerRequest / baseline.cpuUsPerRequest,
    listVsBaseline: galeListRow!.result.rps / baseline.rps,
    createsPerSecond,
    createsFinishedPerSecond,
    cpuUsPerCreate,
    createBacklog: backlog,
    createCounters: creates.counters,
    flatScaling: galeBigRow!.result.rps / galeSmallRow!.result.rps,
    flatScalingCpu: galeBigRow!.result.cpuUsPerRequest / galeSmallRow!.result.cpuUsPerRequest,
    // The floor's own ratios, for reference: what the store alone does between the two sizes.
    floorFlatScaling: floorBigRow!.result.rps / floorSmallRow!.result.rps,
    floorFlatScalingCpu: floorBigRow!.result.cpuUsPerRequest / floorSmallRow!.result.cpuUsPerRequest,
    flatScalingRuns: { small: galeSmallRow!.runs!.map((r) => r.rps), big: galeBigRow!.runs!.map((r) => r.rps) },
    flatScalingCpuRuns: { small: galeSmallRow!.runs!.map((r) => r.cpuUsPerRequest), big: galeBigRow!.runs!.map((r) => r.cpuUsPerRequest) },
    peakRssMb: peakRss / 2 ** 20,
    storeMb: dbBytes / 2 ** 20,
    logChecks,
    rows,
  };
  const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
  const out = (text: string) => process.stdout.write(`${text}\n`);
  out('');
  for (const [label, ratio] of [[small.instances, summary.getByIdCpuVsFloor.small], [summary.instances, summary.getByIdCpuVsFloor.big]] as const) {
    out(`GET by id at ${label}, CPU/req Gale/floor: ${ratio.toFixed(2)} (target <= 1.3) ${verdict(ratio <= 1.3)}`);
  }
  out(`GET by id at ${summary.instances}: p99 ${galeBigRow!.result.p99.toFixed(2)} ms (target < 5) ${verdict(galeBigRow!.result.p99 < 5)}`);
  out(`GET list, CPU/req Gale/floor: ${summary.listCpuVsFloor.toFixed(2)} (target <= 1.5) ${verdict(summary.listCpuVsFloor <= 1.5)}`);
  out(
    `creates/s: ${createsPerSecond.toFixed(0)} answered, ${createsFinishedPerSecond.toFixed(0)} with the reconciler's backlog finished ` +
      `(${backlog.left} left, ${backlog.seconds.toFixed(1)} s), ${cpuUsPerCreate.toFixed(0)} µs of CPU a create with its delete ` +
      `(target >= 2000) ${verdict(createsFinishedPerSecond >= 2000)}`,
  );
  out(
    `flat scaling, Gale GET by id at ${summary.instances} / at ${small.instances}, medians of ${FLAT_ROUNDS} alternating runs: ` +
      `req/s ${summary.flatScaling.toFixed(2)} (target >= 0.90) ${verdict(summary.flatScaling >= 0.9)}, ` +
      `CPU/req ${summary.flatScalingCpu.toFixed(2)} (target <= 1.10) ${verdict(summary.flatScalingCpu <= 1.1)}; ` +
      `the floor's own: req/s ${summary.floorFlatScaling.toFixed(2)}, CPU/req ${summary.floorFlatScalingCpu.toFixed(2)}`,
  );
  out(`peak RSS: ${summary.peakRssMb.toFixed(0)} MB (target < 250) ${verdict(summary.peakRssMb < 250)}; store on disk: ${summary.storeMb.toFixed(1)} MB`);
  mkdirSync('.bench', { recursive: true });
  writeFileSync(join('.bench', 'latest.json'), JSON.stringify(summary, null, 2));
}

main().catch(async (error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  // No server is left running (or paused) behind a failed run, nor its files. Stopping a stopped child is a no-op.
  for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => undefined);
  process.exit(1);
});
