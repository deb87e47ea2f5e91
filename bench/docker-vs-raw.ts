/*
 * npx tsx bench/docker-vs-raw.ts: create -> RUNNING and delete -> gone through Gale's HTTP API (an in-process Gale with
 * the docker provider and SQLite) against the same container made and removed straight through the Docker Engine API
 * with dockerode, in one run on the same engine. The two are interleaved, alternating which goes first, so that
 * engine warm-up and background load fall on both alike. Target: Gale within 20% of raw Docker (ratio <= 1.20).
 *   BENCH_CYCLES (default 10)  BENCH_POLL_MS (default 10: how often both sides look for the end state)
 *   BENCH_RECONCILER_POLL_MS (default 20; it hardly matters, since every API write wakes the reconciler at once)
 * "paired" is the median of per-cycle ratios, steadier than the ratio of medians when the host is busy.
 *   BENCH_CONCURRENT=20,100: instead, for each N, N creates at once through Gale (from the first POST until every
 *   instance's GET /instances/{id}/wait answered RUNNING) against N concurrent dockerode create+start of the same
 *   containers, and N deletes at once against N removes (until the engine has none of them, looked for every
 *   BENCH_SWEEP_MS, default 100). BENCH_ROUNDS rounds (default 3), alternating which side goes first. Target there:
 *   ratio <= 1.10.
 *   BENCH_TRACE=1 also prints, per batch, when each container's engine calls were sent and answered, and this process's
 *   CPU time. BENCH_RECONCILER_CONCURRENCY sets reconciler.concurrency (default: the config default, 32): with fewer
 *   slots than N, Gale works the batch in waves where raw Docker takes it all at once.
 * Needs the busybox-micro image (`npx tsx src/cli/gale.ts images build`). Container addresses are never contacted.
 */
import { randomUUID } from 'node:crypto';
import Dockerode from 'dockerode';
import { containerConfig } from '../src/providers/docker/container-config.js';
import { BUSYBOX_IMAGE_TAG, buildBusyboxImage, containerName, LABELS } from '../src/providers/docker/index.js';
import { startBenchGale, type BenchGale } from './lib/docker-gale.js';
import { formatRow, pairedRatio, summarize } from './lib/docker-stats.js';
import { cpuMs, phases, traceEngineCalls } from './lib/docker-trace.js';
import { instanceSpec } from '../src/domain/instance-spec.js';

const CYCLES = Number(process.env.BENCH_CYCLES ?? 10);
const POLL_MS = Number(process.env.BENCH_POLL_MS ?? 10);
const TIMEOUT_MS = 120_000;
const TARGET_RATIO = 1.2;
const docker = new Dockerode({ socketPath: '/var/run/docker.sock' });
const rawInstallation = `bench-raw-${randomUUID().slice(0, 8)}`;

interface Timings {
  create: number[];
  delete: number[];
  /** Gale only: until the API answered (201 / 204), for reference. */
  createAnswer: number[];
  deleteAnswer: number[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

async function exists(name: string): Promise<boolean> {
  try {
    await docker.getContainer(name).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

async function request(gale: BenchGale, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { ...gale.headers, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${gale.api}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

async function galeCycle(gale: BenchGale, into: Timings): Promise<void> {
  const t0 = performance.now();
  const created = await request(gale, 'POST', '/instances', { template_id: 'busybox-micro' });
  if (created.status !== 201) throw new Error(`create answered ${created.status}: ${JSON.stringify(created.json)}`);
  into.createAnswer.push(performance.now() - t0);
  const id = (created.json as { id: string }).id;
  await until(`${id} RUNNING`, () => request(gale, 'GET', `/instances/${id}`), (r) => (r.json as { status?: string }).status === 'RUNNING');
  into.create.push(performance.now() - t0);

  const t1 = performance.now();
  const deleted = await request(gale, 'DELETE', `/instances/${id}`);
  if (deleted.status !== 204) throw new Error(`delete answered ${deleted.status}`);
  into.deleteAnswer.push(performance.now() - t1);
  // Gone means gone from the engine, not merely hidden by the API.
  await until(`${id} removed`, () => exists(containerName(id)), (present) => !present);
  into.delete.push(performance.now() - t1);
}

let rawSeq = 0;
/** The very container Gale would make (labels, limits, console, stop timeout), under another installation id so
 * that the Gale under test never takes it for an orphan of its own. */
function rawOptions(): Dockerode.ContainerCreateOptions {
  rawSeq += 1;
  const instanceId = `${rawInstallation}-${rawSeq}`;
  return containerConfig(
    { instanceId, userId: 'bench', zone: 'us-central1-a', templateId: 'busybox-micro', image: BUSYBOX_IMAGE_TAG, machineType: 'e2-micro', vcpus: 2, memoryMb: 1024, diskGb: 10, spec: instanceSpec() },
    { installationId: rawInstallation, network: undefined, stopGraceMs: 60_000, storageOpt: undefined },
  );
}

async function rawCycle(into: Timings): Promise<void> {
  const options = rawOptions();
  const instanceId = options.Labels![LABELS.instanceId]!;
  const t0 = performance.now();
  const container = await docker.createContainer(options);
  await container.start();
  await until(`${instanceId} running`, () => container.inspect(), (info) => info.State.Running);
  into.create.push(performance.now() - t0);

  const t1 = performance.now();
  await container.remove({ force: true, v: true });
  await until(`${instanceId} removed`, () => exists(options.name!), (present) => !present);
  into.delete.push(performance.now() - t1);
}

async function cleanUp(installationId: string | undefined): Promise<void> {
  const labels = [rawInstallation, ...(installationId ? [installationId] : [])];
  for (const label of labels) {
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.installation}=${label}`] } });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  }
}

const CONCURRENT = (process.env.BENCH_CONCURRENT ?? '').split(',').filter((x) => x.trim() !== '').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TRACE = process.env.BENCH_TRACE === '1';
const CONCURRENT_TARGET = 1.1;
// Removals are looked for in sweeps over the engine: at 10 ms with 100 containers that would be 10,000 engine calls a
// second on the host's 2 cores, which the engine under test shares.
const SWEEP_MS = Number(process.env.BENCH_SWEEP_MS ?? 100);

interface Batch {
  /** From the first request until the last of the N runs (Gale: its wait answered RUNNING; raw: its start answered). */
  create: number;
  /** From the first delete until the engine has none of the N containers. */
  delete: number;
}

/** Until every one of the names is gone from the engine, looking at those still there every POLL_MS. */
async function allGone(names: string[]): Promise<void> {
  let left = names;
  const deadline = Date.now() + TIMEOUT_MS;
  while (left.length > 0) {
    const present = await Promise.all(left.map((name) => exists(name)));
    left = left.filter((_, i) => present[i]);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${left.length} containers to go`);
    await sleep(SWEEP_MS);
  }
}

async function galeBatch(gale: BenchGale, n: number): Promise<Batch> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const answered: number[] = [];
  const runningAt = new Map<string, number>();
  // Each create is waited for as an API client waits (GET /instances/{id}/wait), from the moment it is answered: the
  // wait answers when the instance reads RUNNING, with no polling load on the Gale under test (it shares this process)
  // and no sweep interval added to the figure.
  const ids = await Promise.all(
    Array.from({ length: n }, async () => {
      const created = await request(gale, 'POST', '/instances', { template_id: 'busybox-micro' });
      if (created.status !== 201) throw new Error(`create answered ${created.status}: ${JSON.stringify(created.json)}`);
      answered.push(performance.now() - t0);
      const id = (created.json as { id: string }).id;
      const waited = await request(gale, 'GET', `/instances/${id}/wait?status=RUNNING&timeout=${TIMEOUT_MS / 1000}s`);
      if (waited.status !== 200) throw new Error(`the wait for ${id} answered ${waited.status}: ${JSON.stringify(waited.json)}`);
      runningAt.set(id, performance.now() - t0);
      return id;
    }),
  );
  const create = performance.now() - t0;
  const names = ids.map(containerName);
  if (TRACE) {
    console.log(`gale ${n}: this process used ${cpuMs(cpu0)} ms of CPU`);
    console.log(phases(`gale ${n}`, names, t0, { 'POST answered': answered, 'RUNNING (wait answered)': ids.map((id) => runningAt.get(id)) }));
  }

  const t1 = performance.now();
  await Promise.all(
    ids.map(async (id) => {
      const deleted = await request(gale, 'DELETE', `/instances/${id}`);
      if (deleted.status !== 204) throw new Error(`delete answered ${deleted.status}`);
    }),
  );
  await allGone(names);
  return { create, delete: performance.now() - t1 };
}

async function rawBatch(n: number): Promise<Batch> {
  const all = Array.from({ length: n }, () => rawOptions());
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const containers = await Promise.all(
    all.map(async (options) => {
      const container = await docker.createContainer(options);
      await container.start();
      await until(`${options.name} running`, () => container.inspect(), (info) => info.State.Running);
      return container;
    }),
  );
  const create = performance.now() - t0;
  if (TRACE) console.log(`raw ${n}: this process used ${cpuMs(cpu0)} ms of CPU`);
  if (TRACE) console.log(phases(`raw ${n}`, all.map((o) => o.name!), t0, {}));
  const t1 = performance.now();
  await Promise.all(containers.map((c) => c.remove({ force: true, v: true })));
  await allGone(all.map((o) => o.name!));
  return { create, delete: performance.now() - t1 };
}

async function concurrentMain(): Promise<void> {
  await docker.ping();
  await buildBusyboxImage({ docker });
  if (TRACE) traceEngineCalls(docker);
  const gale = await startBenchGale();
  const results: string[] = [];
  let worst = 0;
  try {
    // Unmeasured: the first create pays for image and storage-driver look-ups on both sides.
    await rawBatch(2);
    await galeBatch(gale, 2);
    for (const n of CONCURRENT) {
      const gales: Batch[] = [];
      const raws: Batch[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 2 === 0) {
          gales.push(await galeBatch(gale, n));
          raws.push(await rawBatch(n));
        } else {
          raws.push(await rawBatch(n));
          gales.push(await galeBatch(gale, n));
        }
        const [g, r] = [gales.at(-1)!, raws.at(-1)!];
        process.stderr.write(`N=${n} round ${round + 1}/${ROUNDS}: gale ${g.create.toFixed(0)}/${g.delete.toFixed(0)} ms, raw ${r.create.toFixed(0)}/${r.delete.toFixed(0)} ms\n`);
      }
      const create = [summarize(gales.map((b) => b.create)), summarize(raws.map((b) => b.create))] as const;
      const del = [summarize(gales.map((b) => b.delete)), summarize(raws.map((b) => b.delete))] as const;
      results.push(formatRow(`${n} x create->RUNNING`, create[0], create[1], pairedRatio(gales.map((b) => b.create), raws.map((b) => b.create))));
      results.push(formatRow(`${n} x delete->gone`, del[0], del[1], pairedRatio(gales.map((b) => b.delete), raws.map((b) => b.delete))));
      worst = Math.max(worst, create[0].median / create[1].median);
    }
  } finally {
    await gale.close();
    await cleanUp(gale.installationId);
  }
  console.log(`\nGale vs raw dockerode, N concurrent creates (all RUNNING) and deletes (all gone), ${ROUNDS} rounds, removals looked for every ${SWEEP_MS} ms`);
  for (const line of results) console.log(line);
  console.log(`target: create Gale/raw median <= ${CONCURRENT_TARGET.toFixed(2)}: ${worst <= CONCURRENT_TARGET ? 'met' : 'NOT met'} (worst ${worst.toFixed(2)})`);
}

async function main(): Promise<void> {
  await docker.ping();
  await buildBusyboxImage({ docker });
  const gale = await startBenchGale();
  const gales: Timings = { create: [], delete: [], createAnswer: [], deleteAnswer: [] };
  const raws: Timings = { create: [], delete: [], createAnswer: [], deleteAnswer: [] };
  try {
    // One unmeasured cycle each: the first create pays for image and storage-driver look-ups on both sides.
    await rawCycle({ create: [], delete: [], createAnswer: [], deleteAnswer: [] });
    await galeCycle(gale, { create: [], delete: [], createAnswer: [], deleteAnswer: [] });
    for (let i = 0; i < CYCLES; i++) {
      if (i % 2 === 0) {
        await galeCycle(gale, gales);
        await rawCycle(raws);
      } else {
        await rawCycle(raws);
        await galeCycle(gale, gales);
      }
      process.stderr.write(`cycle ${i + 1}/${CYCLES}: gale ${gales.create.at(-1)!.toFixed(0)}/${gales.delete.at(-1)!.toFixed(0)} ms, raw ${raws.create.at(-1)!.toFixed(0)}/${raws.delete.at(-1)!.toFixed(0)} ms\n`);
    }
  } finally {
    await gale.close();
    await cleanUp(gale.installationId);
  }

  const rows = [
    ['create -> RUNNING', summarize(gales.create), summarize(raws.create), pairedRatio(gales.create, raws.create)],
    ['delete -> gone', summarize(gales.delete), summarize(raws.delete), pairedRatio(gales.delete, raws.delete)],
  ] as const;
  console.log(`\nGale (docker provider, sqlite) vs raw Docker Engine API, ${CYCLES} interleaved cycles, polling every ${POLL_MS} ms`);
  for (const [label, g, r, paired] of rows) console.log(formatRow(label, g, r, paired));
  const answer = (xs: number[]) => summarize(xs).median.toFixed(1);
  console.log(`Gale API answers: POST /instances median ${answer(gales.createAnswer)} ms, DELETE median ${answer(gales.deleteAnswer)} ms`);
  const worst = Math.max(...rows.map(([, g, r]) => g.median / r.median));
  console.log(`target: Gale/raw median <= ${TARGET_RATIO.toFixed(2)}: ${worst <= TARGET_RATIO ? 'met' : 'NOT met'} (worst ${worst.toFixed(2)})`);
}

(CONCURRENT.length > 0 ? concurrentMain() : main()).catch(async (error: unknown) => {
  console.error(error);
  await cleanUp(undefined).catch(() => undefined);
  process.exitCode = 1;
});
