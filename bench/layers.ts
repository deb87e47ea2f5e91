/*
 * npm run bench:layers: what the request path's layers cost on their own, each in the form Gale used before issue 17
 * and in the form it uses now, measured in the same run as CPU time (process.cpuUsage, user + system) per call over
 * a loop of calls. A loop keeps the CPU's caches warm, so these figures are lower bounds: under load, between other
 * requests, every layer costs more (docs/performance.md has the whole-request figures of npm run bench).
 *   BENCH_CALLS (default 200,000)
 */
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Counter, Histogram, Registry } from 'prom-client';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { pino } from 'pino';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticator } from '../src/api/authenticator.js';
import { RequestLimiter } from '../src/api/limiter/request-limiter.js';
import { RequestLines } from '../src/api/request-log.js';
import { DEFAULT_TIERS } from '../src/config/default-tiers.js';
import { createLogger, serializeRequest } from '../src/logger.js';
import { RequestTally } from '../src/observability/request-tally.js';
import { seed } from './lib/seed.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 200_000);

/** CPU microseconds per call of fn(i), after a warm-up of a tenth as many calls. */
function perCall(fn: (i: number) => void): number {
  for (let i = 0; i < CALLS / 10; i++) fn(i);
  const start = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) fn(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / CALLS;
}

/**
 * The same, with the event loop let run every perTurn calls, as a server under load does between the requests of one
 * turn (37 a turn were counted under the bench's load): lines batched per turn are written then, as they would be.
 */
async function perCallInTurns(fn: (i: number) => void, perTurn = 37): Promise<number> {
  const run = async (calls: number) => {
    for (let i = 0; i < calls; i++) {
      fn(i);
      if (i % perTurn === perTurn - 1) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await run(CALLS / 10);
  const start = process.cpuUsage();
  await run(CALLS);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / CALLS;
}

async function perCallAsync(fn: (i: number) => Promise<void>): Promise<number> {
  for (let i = 0; i < CALLS / 10; i++) await fn(i);
  const start = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) await fn(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / CALLS;
}

const rows: Array<[string, string, number, number]> = [];
function compare(layer: string, how: string, before: number, after: number): void {
  rows.push([layer, how, before, after]);
  process.stderr.write(`${layer}: ${before.toFixed(2)} -> ${after.toFixed(2)} µs\n`);
}

// ---- the request line: pino's child and info call, against the line built by hand and batched per turn ----
const devNull = pino.destination({ dest: openSync('/dev/null', 'w'), sync: false });
const logger = createLogger('info', devNull as unknown as NodeJS.WritableStream);
const request = {
  id: '5f0c6a0e-6a51-4c0f-9d59-0b7e0f2d8c11',
  method: 'GET',
  url: '/api/compute/v1/instances/tw-550e84-a1b2c3d4',
  host: '127.0.0.1:8080',
  ip: '127.0.0.1',
  headers: {},
  socket: { remotePort: 40_000 },
  principal: { user: { id: '550e8400-e29b-41d4-a716-446655440000' } },
} as unknown as FastifyRequest;
const reply = { statusCode: 200, elapsedTime: 0.8123 } as unknown as FastifyReply;
const unredacted = logger.child({}, { redact: { paths: [] } } as Parameters<typeof logger.child>[1]);
const viaPino = await perCallInTurns(() => {
  // What Fastify and the old RequestLines did: a child logger with the request id for every request, then the line.
  logger.child({ reqId: request.id });
  unredacted.info(
    { reqId: request.id, req: serializeRequest(request), res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime, userId: request.principal?.user.id },
    'request completed',
  );
});
const lines = new RequestLines(logger);
const byHand = await perCallInTurns(() => lines.completed(request, reply));
compare('request log line', "pino child + info → fixed-format text, one write a turn", viaPino, byHand);

// ---- access control on a cached credential: awaited lookups and RateLimiterMemory against the synchronous path ----
const user = { id: '550e8400-e29b-41d4-a716-446655440000', email: 'a@b.c', tier: 'bench', roles: [], customerId: '', createdAt: 0 };
const users = { findToken: async () => ({ user, expiresAt: Date.now() + 3_600_000, revokedAt: null }), findApiKey: async () => undefined };
const authenticator = new Authenticator(users as never, { now: () => Date.now() }, 60_000);
const headers = { authorization: 'Bearer 7dN2kq9XbV4tLm8sYc1Rw6Hz3Jp0Fg5A' };
await authenticator.authenticate(headers);
const tier = { name: 'bench', requestsPerMinute: 1e9, maxInstances: 1, maxVcpus: 1, maxDiskGb: 1 };
const rateLimiterMemory = new RateLimiterMemory({ points: tier.requestsPerMinute, duration: 60 });
const awaited = await perCallAsync(async () => {
  const principal = await authenticator.authenticate(headers);
  await rateLimiterMemory.consume(principal.user.id, 1);
});
const limiter = new RequestLimiter();
const atOnce = perCall(() => limiter.consumeNow(authenticator.authenticateNow(headers)!.user.id, tier));
compare('authenticate + rate limit, cached', 'awaited, RateLimiterMemory → synchronous, MemoryLimiter', awaited, atOnce);

// ---- request metrics: prom-client's inc and observe against the tally ----
const bounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const registry = new Registry();
const counter = new Counter({ name: 'c', help: 'c', labelNames: ['method', 'route', 'status'], registers: [registry] });
const histogram = new Histogram({ name: 'h', help: 'h', labelNames: ['method', 'route', 'status'], buckets: bounds, registers: [registry] });
const route = '/api/compute/v1/instances/:id';
const viaPromClient = perCall((i) => {
  const labels = { method: 'GET', route, status: String(200 + (i & 1)) };
  counter.inc(labels);
  histogram.observe(labels, 0.0008);
});
const tally = new RequestTally(new Registry(), { counter: 'c', counterHelp: 'c', histogram: 'h', histogramHelp: 'h' }, bounds);
const viaTally = perCall((i) => tally.observe('GET', route, 200 + (i & 1), 0.0008));
compare('request metrics', "prom-client inc + observe → RequestTally", viaPromClient, viaTally);

// ---- a primary-key read of 100,000 instances: its own transaction each, against one read transaction per 20 ----
const dir = mkdtempSync(join(tmpdir(), 'gale-bench-layers-'));
try {
  const tiers = { ...DEFAULT_TIERS, bench: { name: 'bench', requestsPerMinute: 1e9, maxInstances: 1e7, maxVcpus: 1e9, maxDiskGb: 1e9 } };
  const seeded = await seed(dir, tiers, 1000, 100);
  const ids = seeded.users.flatMap((user) => user.instanceIds);
  const db = new BetterSqlite3(join(dir, 'gale.db'));
  const summary = db.prepare(
    'select "id", "user_id", "customer_id", "zone", "machine_type", "template_id", "status", "external_ip", "internal_ip", "created_at" from "instances" where "id" = ? and "deleted_at" is null',
  );
  const begin = db.prepare('begin');
  const commit = db.prepare('commit');
  // Random ids, as the bench's requests pick them: a stride coprime with the count visits every one.
  const idOf = (i: number) => ids[(i * 7919) % ids.length]!;
  const autocommit = perCall((i) => summary.all([idOf(i)]));
  db.pragma('cache_size = -49152');
  perCall((i) => summary.all([idOf(i)]));
  const perTurn = perCall((i) => {
    if (i % 20 === 0) begin.run();
    summary.all([idOf(i)]);
    if (i % 20 === 19) commit.run();
  });
  compare('SQLite read by id, 100,000 instances', 'a transaction each, 2 MiB cache → one per 20 reads, 48 MiB cache', autocommit, perTurn);
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

process.stdout.write(`\n${'layer'.padEnd(40)}${'before µs'.padStart(11)}${'after µs'.padStart(10)}  change\n`);
for (const [layer, how, before, after] of rows) {
  process.stdout.write(`${layer.padEnd(40)}${before.toFixed(2).padStart(11)}${after.toFixed(2).padStart(10)}  ${how}\n`);
}
devNull.flushSync();
