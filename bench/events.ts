/*
 * npx tsx bench/events.ts (after npm run build): what waits, event streams and page tokens cost, each figure with its
 * ratio to a baseline measured in the same run on this machine; no absolute number is compared with anything measured
 * elsewhere. Servers are `gale serve` processes run from the build; the load generator shares the machine with them.
 *
 *   1. At rest on PostgreSQL (one replica): the statements a second the process sends, its CPU time a second and its
 *      RSS, with no waiter or stream open (baseline), then with 1,000 waits and 1,000 streams open, while nothing
 *      changes (instances stay PROVISIONING: the simulator takes an hour per transition), then once they are closed.
 *   2. Event latency: from a status change accepted by replica A (its 202) to the arrival of the event on a stream
 *      open on replica B, against the same on a stream open on A (baseline); both streams are open throughout and
 *      every change is timed on both.
 *   3. Admin list cost by depth on 100,000 instances (SQLite): the last page against the first, by page number
 *      (OFFSET, with COUNT) and by page token (keyset).
 *
 *   BENCH_WINDOW (s, default 20)  GALE_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bearer, startGale } from './lib/gale-scenarios.js';
import type { Child } from './lib/processes.js';
import { startFleet, type BenchFleet } from './lib/replica-fleet.js';
import { openStream, openWait, type LongRequest, type StreamEvent } from './lib/long-requests.js';

const V1 = '/api/compute/v1';
const DATABASE_URL = process.env.GALE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const WINDOW_SEC = Number(process.env.BENCH_WINDOW ?? 20);

// 1. At rest.
const REST_USERS = 100;
/** Per user: half wait for the instance to be RUNNING, half for its create operation to be done. */
const WAITS_PER_USER = 10;
const STREAMS_PER_USER = 10;
/** The longest a wait may be asked to last (the server's maximum): every window with waits open must end before it. */
const WAIT_TIMEOUT_SEC = 60;
/** An hour per simulated transition: nothing that is waited for happens during the run. */
const REST_SIM_DELAY_MS = 3_600_000;
/** How long, after the clients closed their connections, the server may take to count none open (a wait lasts 60 s). */
const CLOSE_GRACE_SEC = 65;
/** Waits and streams are opened this long before their window starts (opening 2,000 takes a few seconds). */
const OPEN_LEAD_MS = 12_000;
/**
 * A replica at rest still does periodic work, on timers set when it started: the resync every 15 s and the janitor
 * (pruning) every 60 s (the defaults of reconciler.resyncIntervalMs and the reconciler's pruneIntervalMs), besides the
 * lease renewal of claimed work every 10 s. A window that caught one resync or prune more than another would differ
 * by more than what is measured; so every window starts at the same point of those cycles, 5 s after a resync, and
 * ends before the next prune: each holds one resync, no prune and (at 20 s) two lease renewals.
 */
const RESYNC_PERIOD_MS = 15_000;
const PRUNE_PERIOD_MS = 60_000;
const SLOT_OFFSET_MS = 5_000;

/** The first window start at or after notBefore that keeps the window clear of the periodic work's edges (see above). */
function nextSlot(startedAt: number, notBefore: number, lengthMs: number): number {
  for (let at = startedAt + SLOT_OFFSET_MS; ; at += RESYNC_PERIOD_MS) {
    const phase = (at - startedAt) % PRUNE_PERIOD_MS;
    // Clear of the next prune by 2 s at least; a window too long for that is not aligned at all.
    if (at >= notBefore && (phase + lengthMs <= PRUNE_PERIOD_MS - 2_000 || lengthMs > PRUNE_PERIOD_MS - SLOT_OFFSET_MS - 2_000)) return at;
  }
}

const sleepUntil = (at: number): Promise<void> => sleep(Math.max(0, at - performance.now()));

// 2. Latency.
const LATENCY_INSTANCES = 20;
const LATENCY_SAMPLES = 300;
const LATENCY_WARMUP = 20;
const LATENCY_SIM_DELAY_MS = 20;

// 3. Admin walk.
const WALK_USERS = 1000; // 100 instances each: 100,000
const PAGE_SIZE = 100;
const WALK_ROUNDS = 4;
const WALK_PER_ROUND = 50;
const WALK_WARMUP = 20;

/* ------------------------------------------------------------------------------------------------------------ */

/**
 * Cleanups of whatever is running (each safe to call again while it runs: it answers the same promise), run when a
 * part ends, on failure, and on SIGINT/SIGTERM. One cleanup of everything at most: a second signal (npm and tsx relay
 * them too) waits for the first instead of exiting halfway through it.
 */
const cleanups = new Set<() => Promise<void>>();
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  return (cleaning ??= (async () => {
    for (const cleanup of [...cleanups].reverse()) {
      await cleanup().catch((error: unknown) => process.stderr.write(`cleanup failed: ${String(error)}\n`));
      cleanups.delete(cleanup);
    }
  })());
}
/** Runs once, however often it is called; later calls answer the first call's promise. */
function once(cleanup: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= cleanup());
}
async function withCleanup<T>(cleanup: () => Promise<void>, body: () => Promise<T>): Promise<T> {
  const onlyOnce = once(cleanup);
  cleanups.add(onlyOnce);
  try {
    return await body();
  } finally {
    await onlyOnce();
    cleanups.delete(onlyOnce);
  }
}

/** Surprises in the server's behaviour (a refusal, an error, a leak), reported at the end. */
const observations: string[] = [];
function observe(text: string): void {
  observations.push(text);
  process.stderr.write(`!! ${text}\n`);
}

const log = (text: string): void => void process.stderr.write(`${text}\n`);

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

interface Scrape {
  queries: number;
  streams: number;
  waits: number;
}

async function scrape(url: string): Promise<Scrape> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string): number => {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!match) throw new Error(`/metrics has no ${name}`);
    return Number(match[1]);
  };
  return { queries: value('gale_store_queries_total'), streams: value('gale_event_streams'), waits: value('gale_waits') };
}

/** Polls /metrics (outside any measured window) until the open streams and waits are as expected. */
async function untilGauges(url: string, streams: number, waits: number, timeoutMs: number): Promise<Scrape> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await scrape(url);
    if ((seen.streams === streams && seen.waits === waits) || Date.now() > deadline) return seen;
    await sleep(200);
  }
}

/* ------------------------------------------------------------------------------------------------------------ */
/* 1. Queries, CPU and memory at rest                                                                              */

interface Window {
  seconds: number;
  queries: number;
  queriesPerSec: number;
  cpuMsPerSec: number;
  rssMb: number;
  streamsOpen: number;
  waitsOpen: number;
}

/**
 * The statements a second the process sends over a window, less those of the scrape that opens it (the queue depth
 * and the instance counts run on every scrape; they complete after the counter was read, so they fall in the window).
 */
async function measureWindow(child: Child, url: string, seconds: number, scrapeCost: number): Promise<Window> {
  const before = await scrape(url);
  const cpuBefore = child.cpuSeconds();
  const startedAt = performance.now();
  await sleep(seconds * 1000);
  const after = await scrape(url);
  const cpuAfter = child.cpuSeconds();
  const elapsed = (performance.now() - startedAt) / 1000;
  const queries = after.queries - before.queries - scrapeCost;
  return {
    seconds: elapsed,
    queries,
    queriesPerSec: queries / elapsed,
    cpuMsPerSec: ((cpuAfter - cpuBefore) * 1000) / elapsed,
    rssMb: child.rss() / 2 ** 20,
    streamsOpen: after.streams,
    waitsOpen: after.waits,
  };
}

/** Statements one scrape of /metrics sends: the least growth of the counter over back-to-back scrapes. */
async function measureScrapeCost(url: string): Promise<number> {
  let previous = (await scrape(url)).queries;
  const deltas: number[] = [];
  for (let i = 0; i < 8; i++) {
    const now = (await scrape(url)).queries;
    deltas.push(now - previous);
    previous = now;
  }
  return Math.min(...deltas);
}

interface AtRest {
  users: number;
  instances: number;
  scrapeCost: number;
  without: Window;
  withOpen: Window;
  afterClose: Window;
  opened: { waits: number; streams: number; refused: Record<string, number> };
  answeredEarly: number;
  /** Still counted open CLOSE_GRACE_SEC after every client closed its connection. */
  leaked: { streams: number; waits: number };
  /** Seconds from the clients' leaving to the server counting none open. */
  goneAfterClose: { streamsSec?: number; waitsSec?: number };
  queriesPerSecPerOpen: number;
}

async function atRest(): Promise<AtRest> {
  log(`\n== 1. at rest, PostgreSQL, one replica: ${REST_USERS} users with one pending instance each`);
  const fleet: BenchFleet = await startFleet(
    {
      store: 'postgres',
      replicas: 1,
      databaseUrl: DATABASE_URL,
      fromBuild: true,
      onStop: (stop) => cleanups.add(once(stop)),
      simulatorDelayMs: REST_SIM_DELAY_MS,
      waitRunning: false,
      config: {
        // The hour-long transitions must not be cut off as overdue while the bench runs.
        reconciler: { transitionDeadlineMs: 2 * REST_SIM_DELAY_MS },
        // 2,000 long requests at once, more than the default cap on connections.
        http: { maxConnections: 0 },
        events: { streamsPerUser: 2 * STREAMS_PER_USER, waitsPerUser: 2 * WAITS_PER_USER },
      },
    },
    { users: REST_USERS, instancesPerUser: 1 },
  );
  return withCleanup(fleet.stop, async () => {
    const url = fleet.urls[0]!;
    const gale = fleet.children[0]!;
    // The reconciler claims what it can (its concurrency), and the simulator's creates begin their hour: from then on
    // nothing changes. Every window sees this same fleet: the same instances, the same work claimed and pending.
    const windowMs = WINDOW_SEC * 1000;
    const slot = (notBefore: number) => nextSlot(gale.readyAt, notBefore, windowMs);
    await sleep(5_000);
    const scrapeCost = await measureScrapeCost(url);
    log(`a scrape of /metrics sends ${scrapeCost} statements (taken off each window)`);

    await sleepUntil(slot(performance.now()));
    const without = await measureWindow(gale, url, WINDOW_SEC, scrapeCost);
    log(`without: ${without.queriesPerSec.toFixed(2)} queries/s, CPU ${without.cpuMsPerSec.toFixed(1)} ms/s, RSS ${without.rssMb.toFixed(0)} MB`);

    // Open the waits and the streams, shortly before the window (they must not time out before it ends). Each wait
    // reads the state once as it opens, outside the window.
    const withStart = slot(performance.now() + OPEN_LEAD_MS);
    await sleepUntil(withStart - OPEN_LEAD_MS);
    const firstOpenedAt = performance.now();
    const refused: Record<string, number> = {};
    const count = (key: string) => (refused[key] = (refused[key] ?? 0) + 1);
    const waits: LongRequest[] = [];
    for (const user of fleet.users) {
      const headers = { authorization: `Bearer ${user.token}` };
      for (let i = 0; i < WAITS_PER_USER; i++) {
        waits.push(
          i % 2 === 0
            ? openWait('GET', `${url}${V1}/instances/${user.instanceIds[0]}/wait?status=RUNNING&timeout=${WAIT_TIMEOUT_SEC}s`, headers)
            : openWait('POST', `${url}${V1}/operations/${user.operationIds[0]}/wait?timeout=${WAIT_TIMEOUT_SEC}s`, headers),
        );
      }
    }
    const streams: LongRequest[] = [];
    for (let u = 0; u < fleet.users.length; u += 10) {
      const opened = await Promise.all(
        fleet.users.slice(u, u + 10).flatMap((user) =>
          Array.from({ length: STREAMS_PER_USER }, () => openStream(`${url}${V1}/events?timeout=10m`, { authorization: `Bearer ${user.token}` })),
        ),
      );
      for (const stream of opened) {
        streams.push(stream);
        if (stream.status !== 200) count(`stream answered ${stream.status}`);
      }
    }
    const wantedWaits = REST_USERS * WAITS_PER_USER;
    const wantedStreams = streams.filter((s) => s.status === 200).length;
    const open = await untilGauges(url, wantedStreams, wantedWaits, 30_000);
    if (open.waits !== wantedWaits || open.streams !== REST_USERS * STREAMS_PER_USER) {
      observe(`after opening: the server counts ${open.waits} waits and ${open.streams} streams open, not ${wantedWaits} and ${REST_USERS * STREAMS_PER_USER}`);
    }
    for (const [key, count] of Object.entries(refused)) observe(`while opening: ${count} x ${key}`);
    const openedFor = (performance.now() - firstOpenedAt) / 1000;
    log(`opened ${open.waits} waits and ${open.streams} streams in ${openedFor.toFixed(1)} s`);
    // The initial reads of the waits are done once they are counted open; a moment more for the last ones' statements.
    if (performance.now() > withStart - 1_000) observe(`opening took ${openedFor.toFixed(1)} s, into the window's lead of ${OPEN_LEAD_MS / 1000} s`);
    if ((withStart + windowMs - firstOpenedAt) / 1000 + 2 > WAIT_TIMEOUT_SEC) observe(`the window ends within 2 s of the waits' timeout`);
    await sleepUntil(withStart);

    const withOpen = await measureWindow(gale, url, WINDOW_SEC, scrapeCost);
    log(`with: ${withOpen.queriesPerSec.toFixed(2)} queries/s, CPU ${withOpen.cpuMsPerSec.toFixed(1)} ms/s, RSS ${withOpen.rssMb.toFixed(0)} MB`);
    if (withOpen.waitsOpen !== wantedWaits || withOpen.streamsOpen !== wantedStreams) {
      observe(`at the end of the window the server counts ${withOpen.waitsOpen} waits and ${withOpen.streamsOpen} streams open`);
    }
    const streamsEndedByServer = streams.filter((s) => s.status === 200 && s.ended).length;
    if (streamsEndedByServer > 0) observe(`${streamsEndedByServer} streams were ended by the server during the window (${streams.find((s) => s.ended)?.error})`);
    const answeredEarly = waits.filter((w) => w.ended);
    for (const wait of answeredEarly.slice(0, 3)) observe(`a wait ended while nothing changed: status ${wait.status} ${wait.error ?? ''} ${wait.body.slice(0, 200)}`);

    // Every client goes away as clients do (its connection closed); the server should soon count nothing open.
    for (const request of [...waits, ...streams]) request.close();
    await Promise.all([...waits, ...streams].map((r) => r.finished));
    const closedAt = performance.now();
    const goneAfter: { streamsSec?: number; waitsSec?: number } = {};
    let left = await scrape(url);
    while ((left.streams > 0 || left.waits > 0) && performance.now() - closedAt < CLOSE_GRACE_SEC * 1000) {
      await sleep(250);
      left = await scrape(url);
      const since = (performance.now() - closedAt) / 1000;
      if (left.streams === 0) goneAfter.streamsSec ??= since;
      if (left.waits === 0) goneAfter.waitsSec ??= since;
    }
    const firstScrape = (performance.now() - closedAt) / 1000;
    if (left.streams === 0) goneAfter.streamsSec ??= firstScrape;
    if (left.waits === 0) goneAfter.waitsSec ??= firstScrape;
    log(`after the clients left, the server counted no stream open after ${goneAfter.streamsSec?.toFixed(1) ?? 'never'} s, no wait after ${goneAfter.waitsSec?.toFixed(1) ?? 'never'} s`);
    if ((goneAfter.streamsSec ?? Infinity) > 2 || (goneAfter.waitsSec ?? Infinity) > 2) {
      observe(
        `streams and waits outlive their clients: after every connection was closed (FIN), the server counted streams open for ` +
          `${goneAfter.streamsSec?.toFixed(1) ?? `over ${CLOSE_GRACE_SEC}`} s and waits for ${goneAfter.waitsSec?.toFixed(1) ?? `over ${CLOSE_GRACE_SEC}`} s ` +
          `(their slots count against events.streamsPerUser / waitsPerUser meanwhile)`,
      );
    }
    await sleepUntil(slot(performance.now() + 1_000));
    const afterClose = await measureWindow(gale, url, WINDOW_SEC, scrapeCost);
    log(`after closing: ${afterClose.queriesPerSec.toFixed(2)} queries/s, CPU ${afterClose.cpuMsPerSec.toFixed(1)} ms/s, RSS ${afterClose.rssMb.toFixed(0)} MB`);

    const openCount = open.waits + open.streams;
    return {
      users: REST_USERS,
      instances: REST_USERS,
      scrapeCost,
      without,
      withOpen,
      afterClose,
      opened: { waits: open.waits, streams: open.streams, refused },
      answeredEarly: answeredEarly.length,
      leaked: { streams: left.streams, waits: left.waits },
      goneAfterClose: goneAfter,
      queriesPerSecPerOpen: openCount > 0 ? (withOpen.queriesPerSec - without.queriesPerSec) / openCount : NaN,
    };
  });
}

/* ------------------------------------------------------------------------------------------------------------ */
/* 2. Event latency, across replicas and on one                                                                    */

interface LatencySide {
  samples: number;
  missing: number;
  from202: { p50: number; p99: number; max: number; mean: number };
  fromSend: { p50: number; p99: number; max: number; mean: number };
}

interface Latency {
  instances: number;
  cross: LatencySide;
  same: LatencySide;
  settleWaits: number;
  errors: Record<string, number>;
}

const summary = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values), mean: mean(values) });

async function latency(): Promise<Latency> {
  log(`\n== 2. event latency, PostgreSQL, two replicas: ${LATENCY_INSTANCES} instances stopped and started one change at a time`);
  const fleet = await startFleet(
    { store: 'postgres', replicas: 2, databaseUrl: DATABASE_URL, fromBuild: true, simulatorDelayMs: LATENCY_SIM_DELAY_MS, onStop: (stop) => cleanups.add(once(stop)) },
    { users: 1, instancesPerUser: LATENCY_INSTANCES },
  );
  return withCleanup(fleet.stop, async () => {
    const [urlA, urlB] = fleet.urls as [string, string];
    const user = fleet.users[0]!;
    const headers = { authorization: `Bearer ${user.token}` };
    const ids = user.instanceIds;
    /** Each instance's last status seen on replica A's stream, and the status it settles at after the last change made. */
    const seen = new Map<string, string>(ids.map((id) => [id, 'RUNNING']));
    const settlesAt = new Map<string, 'RUNNING' | 'TERMINATED'>(ids.map((id) => [id, 'RUNNING']));
    const errors: Record<string, number> = {};
    const count = (key: string) => (errors[key] = (errors[key] ?? 0) + 1);
    let settleWaits = 0;

    // One stream on each replica for the whole run, so that both sides of the ratio are measured under the same
    // conditions, on the same changes: B's is the cross-replica figure, A's (the replica that took the change) the baseline.
    type Expected = { instanceId: string; status: string; arrived(at: number): void };
    const expected: { A?: Expected; B?: Expected } = {};
    const onEventOf = (side: 'A' | 'B') => (event: StreamEvent, at: number) => {
      if (event.type !== 'instance.status' || !event.instanceId) return;
      const status = String(event.data.status);
      if (side === 'A') seen.set(event.instanceId, status);
      const wanted = expected[side];
      if (wanted && wanted.instanceId === event.instanceId && wanted.status === status) {
        expected[side] = undefined;
        wanted.arrived(at);
      }
    };
    const streams: LongRequest[] = [];
    for (const [side, url] of [['A', urlA], ['B', urlB]] as const) {
      const stream = await openStream(`${url}${V1}/events?type=instance.status&timeout=10m`, headers, onEventOf(side));
      streams.push(stream);
      if (stream.status !== 200) throw new Error(`GET /events on replica ${side} answered ${stream.status}: ${stream.body}`);
    }
    const arrivalOn = (side: 'A' | 'B', instanceId: string, status: string): Promise<number | undefined> => {
      const arrival = new Promise<number>((arrived) => (expected[side] = { instanceId, status, arrived }));
      return Promise.race([arrival, sleep(10_000).then(() => undefined)]);
    };

    let k = 0;
    type Sample = { fromSend: number; from202: number };
    const change = async (): Promise<{ A?: Sample; B?: Sample } | undefined> => {
      const id = ids[k++ % ids.length]!;
      const settled = settlesAt.get(id)!;
      // Usually long settled (the other instances' changes came in between); if not, wait for it through the API.
      if (seen.get(id) !== settled) {
        settleWaits++;
        const response = await fetch(`${urlA}${V1}/instances/${id}/wait?status=${settled}&timeout=30s`, { headers });
        const body = await response.text();
        if (response.status !== 200) {
          count(`wait ${response.status}`);
          observe(`waiting for ${id} to be ${settled} answered ${response.status}: ${body.slice(0, 200)}`);
        }
        seen.set(id, settled);
      }
      const action = settled === 'RUNNING' ? 'stop' : 'start';
      const status = action === 'stop' ? 'STOPPING' : 'STAGING';
      const onA = arrivalOn('A', id, status);
      const onB = arrivalOn('B', id, status);
      const sentAt = performance.now();
      const response = await fetch(`${urlA}${V1}/instances/${id}/${action}`, { method: 'POST', headers });
      const acceptedAt = performance.now();
      const body = await response.text();
      if (response.status !== 202) {
        expected.A = expected.B = undefined;
        count(`${action} ${response.status}`);
        observe(`${action} of ${id} answered ${response.status}: ${body.slice(0, 200)}`);
        return undefined;
      }
      settlesAt.set(id, action === 'stop' ? 'TERMINATED' : 'RUNNING');
      const [atA, atB] = await Promise.all([onA, onB]);
      const sample = (at: number | undefined, side: string): Sample | undefined => {
        if (at === undefined) count(`no ${status} event within 10 s on replica ${side}`);
        return at === undefined ? undefined : { fromSend: at - sentAt, from202: at - acceptedAt };
      };
      return { A: sample(atA, 'A'), B: sample(atB, 'B') };
    };

    for (let i = 0; i < LATENCY_WARMUP; i++) await change();
    const samples = { A: [] as Sample[], B: [] as Sample[] };
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const result = await change();
      if (result?.A) samples.A.push(result.A);
      if (result?.B) samples.B.push(result.B);
    }
    for (const stream of streams) stream.close();
    for (const [side, stream] of [['A', streams[0]!], ['B', streams[1]!]] as const) if (stream.error) observe(`the stream on replica ${side} ended: ${stream.error}`);
    const sideOf = (name: 'A' | 'B'): LatencySide => ({
      samples: samples[name].length,
      missing: LATENCY_SAMPLES - samples[name].length,
      from202: summary(samples[name].map((s) => s.from202)),
      fromSend: summary(samples[name].map((s) => s.fromSend)),
    });
    const result = { instances: LATENCY_INSTANCES, cross: sideOf('B'), same: sideOf('A'), settleWaits, errors };
    log(
      `from the 202: cross-replica p50 ${result.cross.from202.p50.toFixed(2)} ms, p99 ${result.cross.from202.p99.toFixed(2)} ms; ` +
        `same replica p50 ${result.same.from202.p50.toFixed(2)} ms, p99 ${result.same.from202.p99.toFixed(2)} ms`,
    );
    return result;
  });
}

/* ------------------------------------------------------------------------------------------------------------ */
/* 3. Admin list: a deep page by page number and by token                                                          */

interface PageCase {
  key: string;
  name: string;
  query: string;
  requests: number;
  cpuMsPerRequest: number;
  meanMs: number;
  p50Ms: number;
}

interface AdminWalk {
  instances: number;
  pages: number;
  walkSeconds: number;
  walkComplete: boolean;
  /** Why paging by token could not be measured, if it could not. */
  tokenError: string | undefined;
  cases: PageCase[];
  offsetLastVsFirst: { cpu: number; mean: number; p50: number };
  tokenLastVsFirst: { cpu: number; mean: number; p50: number };
  tokenLastVsSecond: { cpu: number; mean: number; p50: number };
}

async function adminWalk(): Promise<AdminWalk> {
  log(`\n== 3. admin list by depth, SQLite, ${WALK_USERS * 100} instances`);
  const gale = await startGale(WALK_USERS, 'events-admin');
  const cleanup = async () => {
    await gale.child.stop();
    rmSync(gale.dataDir, { recursive: true, force: true });
  };
  return withCleanup(cleanup, async () => {
    const url = gale.child.url;
    const headers = bearer(gale.seeded.admin);
    type AdminList = { pages: number; items: number; instances: Array<{ id: string }>; nextPageToken?: string };
    const get = async (query: string): Promise<{ ms: number; body: AdminList }> => {
      const startedAt = performance.now();
      const response = await fetch(`${url}${V1}/admin/instances?${query}`, { headers });
      const text = await response.text();
      const ms = performance.now() - startedAt;
      if (response.status !== 200) throw new Error(`GET /admin/instances?${query} answered ${response.status}: ${text.slice(0, 300)}`);
      return { ms, body: JSON.parse(text) as AdminList };
    };

    // The walk: the first page's call, then each page by the token of the one before, to the last. A server that
    // refuses its own tokens leaves only the page-number figures (reported, not fatal).
    const walkStarted = performance.now();
    const first = await get(`pageSize=${PAGE_SIZE}`);
    const { pages, items } = first.body;
    const seenIds = new Set(first.body.instances.map((i) => i.id));
    let walked = 1;
    const secondToken: string | undefined = first.body.nextPageToken;
    let lastToken: string | undefined;
    let lastByToken: AdminList | undefined;
    let tokenError: string | undefined;
    try {
      for (let token = secondToken; token; ) {
        const page = await get(`pageSize=${PAGE_SIZE}&pageToken=${encodeURIComponent(token)}`);
        walked++;
        for (const instance of page.body.instances) seenIds.add(instance.id);
        if (!page.body.nextPageToken) {
          lastToken = token;
          lastByToken = page.body;
        }
        token = page.body.nextPageToken;
        if (walked > pages + 5) throw new Error(`the token walk went past ${pages} pages`);
      }
    } catch (error) {
      tokenError = error instanceof Error ? error.message : String(error);
      observe(`paging by token failed at page ${walked + 1}: ${tokenError}`);
    }
    const walkSeconds = (performance.now() - walkStarted) / 1000;
    const lastByNumber = (await get(`pageSize=${PAGE_SIZE}&page=${pages}`)).body;
    const sameLast = JSON.stringify(lastByNumber.instances.map((i) => i.id)) === JSON.stringify(lastByToken?.instances.map((i) => i.id));
    const walkComplete = !tokenError && walked === pages && seenIds.size === items && sameLast && lastByNumber.nextPageToken === undefined;
    if (!tokenError) log(`walked ${walked} pages by token in ${walkSeconds.toFixed(1)} s; ${seenIds.size} distinct instances of ${items}; last pages alike: ${sameLast}`);
    if (!tokenError && !walkComplete) {
      observe(
        `the token walk is not the offset listing: ${walked} pages of ${pages}, ${seenIds.size} instances of ${items}, last pages alike: ${sameLast}, ` +
          `last page by number has a nextPageToken: ${lastByNumber.nextPageToken !== undefined}`,
      );
    }
    if (!secondToken) observe('the first page of 100,000 instances has no nextPageToken');

    const cases = [
      { key: 'numberFirst', name: 'page 1 by number', query: `pageSize=${PAGE_SIZE}&page=1` },
      { key: 'numberLast', name: `page ${pages} (last) by number`, query: `pageSize=${PAGE_SIZE}&page=${pages}` },
      { key: 'tokenFirst', name: 'page 1 by token (the first call)', query: `pageSize=${PAGE_SIZE}` },
      ...(secondToken && !tokenError ? [{ key: 'tokenSecond', name: 'page 2 by token', query: `pageSize=${PAGE_SIZE}&pageToken=${encodeURIComponent(secondToken)}` }] : []),
      ...(lastToken ? [{ key: 'tokenLast', name: `page ${pages} (last) by token`, query: `pageSize=${PAGE_SIZE}&pageToken=${encodeURIComponent(lastToken)}` }] : []),
    ].map((c) => ({ ...c, latencies: [] as number[], cpuSeconds: 0 }));
    for (const c of cases) for (let i = 0; i < WALK_WARMUP; i++) await get(c.query);
    // Rounds alternate the cases, so that a slow moment of the machine (or the reconciler's paced resync) is shared.
    for (let round = 0; round < WALK_ROUNDS; round++) {
      for (const c of cases) {
        const cpuBefore = gale.child.cpuSeconds();
        for (let i = 0; i < WALK_PER_ROUND; i++) c.latencies.push((await get(c.query)).ms);
        c.cpuSeconds += gale.child.cpuSeconds() - cpuBefore;
      }
    }
    const measured: PageCase[] = cases.map((c) => ({
      key: c.key,
      name: c.name,
      query: c.query.length > 80 ? `${c.query.slice(0, 77)}...` : c.query,
      requests: c.latencies.length,
      cpuMsPerRequest: (c.cpuSeconds * 1000) / c.latencies.length,
      meanMs: mean(c.latencies),
      p50Ms: percentile(c.latencies, 50),
    }));
    for (const c of measured) log(`${c.name}: CPU ${c.cpuMsPerRequest.toFixed(2)} ms/request, mean ${c.meanMs.toFixed(2)} ms, p50 ${c.p50Ms.toFixed(2)} ms`);
    const byKey = (key: string) => measured.find((c) => c.key === key);
    const ratio = (a: PageCase | undefined, b: PageCase | undefined) =>
      a && b ? { cpu: a.cpuMsPerRequest / b.cpuMsPerRequest, mean: a.meanMs / b.meanMs, p50: a.p50Ms / b.p50Ms } : { cpu: NaN, mean: NaN, p50: NaN };
    return {
      instances: WALK_USERS * 100,
      pages,
      walkSeconds,
      walkComplete,
      tokenError,
      cases: measured,
      offsetLastVsFirst: ratio(byKey('numberLast'), byKey('numberFirst')),
      tokenLastVsFirst: ratio(byKey('tokenLast'), byKey('tokenFirst')),
      tokenLastVsSecond: ratio(byKey('tokenLast'), byKey('tokenSecond')),
    };
  });
}

/* ------------------------------------------------------------------------------------------------------------ */

function printTable(rest: AtRest, lat: Latency, walk: AdminWalk): void {
  const rows: Array<[string, string, string, string]> = [];
  const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  const x = (a: number, b: number) => (b !== 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : '-');
  rows.push(['1. PostgreSQL at rest, 1 replica', 'measured', 'baseline', 'ratio']);
  const open = `${rest.opened.waits} waits + ${rest.opened.streams} streams open`;
  rows.push([`queries/s, ${open} (vs none open)`, f(rest.withOpen.queriesPerSec), f(rest.without.queriesPerSec), x(rest.withOpen.queriesPerSec, rest.without.queriesPerSec)]);
  rows.push(['  difference per open waiter/stream, queries/s', f(rest.queriesPerSecPerOpen, 5), '', '']);
  rows.push(['  queries in each window (with / without)', String(rest.withOpen.queries), String(rest.without.queries), '']);
  rows.push(['  queries/s after all were closed (vs none open)', f(rest.afterClose.queriesPerSec), f(rest.without.queriesPerSec), x(rest.afterClose.queriesPerSec, rest.without.queriesPerSec)]);
  rows.push([`CPU ms/s of the process, ${open}`, f(rest.withOpen.cpuMsPerSec, 1), f(rest.without.cpuMsPerSec, 1), x(rest.withOpen.cpuMsPerSec, rest.without.cpuMsPerSec)]);
  rows.push(['  CPU ms/s after all were closed', f(rest.afterClose.cpuMsPerSec, 1), f(rest.without.cpuMsPerSec, 1), x(rest.afterClose.cpuMsPerSec, rest.without.cpuMsPerSec)]);
  rows.push([`RSS MB, ${open}`, f(rest.withOpen.rssMb, 0), f(rest.without.rssMb, 0), x(rest.withOpen.rssMb, rest.without.rssMb)]);
  const openCount = rest.opened.waits + rest.opened.streams;
  rows.push(['  RSS difference per open waiter/stream, KB', f(((rest.withOpen.rssMb - rest.without.rssMb) * 1024) / openCount, 1), '', '']);
  rows.push(['  RSS MB after all were closed', f(rest.afterClose.rssMb, 0), f(rest.without.rssMb, 0), x(rest.afterClose.rssMb, rest.without.rssMb)]);
  const gone = (sec: number | undefined) => (sec === undefined ? `>${CLOSE_GRACE_SEC}` : sec.toFixed(1));
  rows.push(['  s until the server counted none open after the clients left (streams / waits)', gone(rest.goneAfterClose.streamsSec), gone(rest.goneAfterClose.waitsSec), '']);
  rows.push(['', '', '', '']);
  rows.push([`2. event latency, ms (${lat.cross.samples} + ${lat.same.samples} samples)`, 'B (cross)', 'A (same)', 'cross/same']);
  for (const [from, label] of [['from202', "from A's 202"], ['fromSend', 'from the request sent']] as const) {
    for (const p of ['p50', 'p99', 'max'] as const) {
      rows.push([`${p} ${label}`, f(lat.cross[from][p]), f(lat.same[from][p]), x(lat.cross[from][p], lat.same[from][p])]);
    }
  }
  rows.push(['', '', '', '']);
  rows.push([`3. admin list, ${walk.instances} instances, ${walk.pages} pages of ${PAGE_SIZE}`, 'CPU ms/req', 'mean ms', 'p50 ms']);
  for (const c of walk.cases) rows.push([c.name, f(c.cpuMsPerRequest, 3), f(c.meanMs), f(c.p50Ms)]);
  const r = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : 'n/a');
  const ratios = (label: string, q: { cpu: number; mean: number; p50: number }) => rows.push([label, r(q.cpu), r(q.mean), r(q.p50)]);
  ratios('last / first by page number (offset)', walk.offsetLastVsFirst);
  ratios('last / first by token (the first call counts)', walk.tokenLastVsFirst);
  ratios('last / page 2 by token', walk.tokenLastVsSecond);
  if (walk.tokenError) rows.push(['  (paging by token failed: see below)', '', '', '']);
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  process.stdout.write('\n');
  for (const [label, a, b, c] of rows) process.stdout.write(`${label.padEnd(width)}${a.padStart(12)}${b.padStart(12)}${c.padStart(12)}\n`);
  process.stdout.write(
    `\n(1: windows of ${WINDOW_SEC} s at the same point of the replica's resync and prune cycles, ${rest.scrapeCost} statements of the opening scrape taken off each; ` +
      `2: both streams open throughout, each change timed on both; ${lat.settleWaits} changes waited for their instance to settle first; ` +
      `3: ${WALK_ROUNDS} alternating rounds of ${WALK_PER_ROUND} sequential requests per case)\n`,
  );
}

async function main(): Promise<void> {
  const started = Date.now();
  const rest = await atRest();
  const lat = await latency();
  const walk = await adminWalk();
  printTable(rest, lat, walk);
  if (observations.length > 0) process.stdout.write(`\nobserved:\n${observations.map((o) => `  - ${o}`).join('\n')}\n`);
  const result = {
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
    durationSec: (Date.now() - started) / 1000,
    windowSec: WINDOW_SEC,
    atRest: {
      ...rest,
      queriesPerSecRatio: rest.withOpen.queriesPerSec / rest.without.queriesPerSec,
      cpuRatio: rest.withOpen.cpuMsPerSec / rest.without.cpuMsPerSec,
      rssRatio: rest.withOpen.rssMb / rest.without.rssMb,
    },
    latency: {
      ...lat,
      crossVsSame: {
        p50From202: lat.cross.from202.p50 / lat.same.from202.p50,
        p99From202: lat.cross.from202.p99 / lat.same.from202.p99,
        p50FromSend: lat.cross.fromSend.p50 / lat.same.fromSend.p50,
        p99FromSend: lat.cross.fromSend.p99 / lat.same.fromSend.p99,
      },
    },
    adminWalk: walk,
    observations,
  };
  mkdirSync('.bench', { recursive: true });
  writeFileSync(join('.bench', 'events-latest.json'), JSON.stringify(result, null, 2));
  process.stdout.write(`\nwritten to .bench/events-latest.json (${result.durationSec.toFixed(0)} s in all)\n`);
}

// Not once: npm and tsx relay a terminal's signal as well, and a signal that came with no listener left would end the
// process in the middle of its cleanup.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!cleaning) process.stderr.write(`${signal}: cleaning up\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}

main()
  .catch(async (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    await cleanUp();
    process.exitCode = 1;
  })
  .finally(() => {
    // Open sockets (a stream a failed step left behind) must not keep the bench alive.
    setTimeout(() => process.exit(), 1_000).unref();
  });
