import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Agent, request as httpRequest, validateHeaderName, validateHeaderValue } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { defaultConfig } from '../../src/config/load.js';
import { DEFAULT_TIERS } from '../../src/config/default-tiers.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { call, eventually } from '../helpers/http.js';
import { socketCall, wire, type SocketAnswer } from '../reliability/raw-http.js';
import { requestArb, type FuzzRequest, type Identities } from './arbitraries.js';

/*
 * Hostile input over every route (docs/reliability.md): fast-check throws FUZZ_RUNS (default 10,000) generated requests
 * at an in-process server, one at a time, and checks each answer: never a 5xx; every error in the envelope with its
 * x-error and x-error-id headers; the security headers everywhere; and nothing in the store changed unless the request
 * was accepted (a 2xx on a route that changes things). Then the same at 16 requests at once, and the server still up.
 * fetch would normalise away what matters here, so requests go out through node:http, or a raw socket for bytes that
 * node:http refuses to send.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const PARALLEL_RUNS = Math.max(1, Math.floor(RUNS / 5));
// Printed with the figures, so that any run can be replayed with FUZZ_SEED.
const SEED = process.env.FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED);
const FUZZ_TIER = { name: 'fuzz', requestsPerMinute: 10_000_000, maxInstances: 4, maxVcpus: 64, maxDiskGb: 1000 };
// Tables that requests can change; provider_state only follows the instances, and meta never changes.
const TABLES = ['users', 'api_keys', 'tokens', 'instances', 'operations', 'idempotency_keys'];

// Requests whose body never ends (an unterminated chunked body, a short Content-Length) are answered 408 by the
// server after this long; the client waits well past it, so a 408 is seen as the answer it is, not as a hang.
const SERVER_REQUEST_TIMEOUT_MS = 3_000;
const CLIENT_PATIENCE_MS = SERVER_REQUEST_TIMEOUT_MS + 15_000;

// One connection per request: an answer belongs to its request alone, never to a stray byte of the one before.
const agent = new Agent({ keepAlive: false, maxSockets: 16 });
let sentRaw = 0;

/** True when node:http would send the request as it is; it throws on bytes no method, path or header may hold. */
function sendable(req: FuzzRequest): boolean {
  // node:http's client hands a CONNECT answer to a 'connect' event instead of the callback, and reads no body after a
  // HEAD answer, where the envelope of a request Node could not parse (so could not know was a HEAD) still has one.
  if (['CONNECT', 'HEAD'].includes(req.method.toUpperCase())) return false;
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(req.method) || /[^\u0021-\u00ff]/.test(req.target)) return false;
  try {
    for (const [name, value] of req.headers) {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    }
    return true;
  } catch {
    return false;
  }
}

/** Sends through node:http when it can send the request as is; otherwise writes the bytes on a raw socket. */
async function send(base: string, req: FuzzRequest): Promise<SocketAnswer> {
  // A request left unanswered is a finding too (a hung handler, a connection held open): fail rather than wait.
  let timer: NodeJS.Timeout | undefined;
  const unanswered = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CLIENT_PATIENCE_MS} ms`)), CLIENT_PATIENCE_MS);
  });
  try {
    return await Promise.race([sendOnce(base, req), unanswered]);
  } finally {
    clearTimeout(timer);
  }
}

async function sendOnce(base: string, req: FuzzRequest): Promise<SocketAnswer> {
  if (!sendable(req)) {
    sentRaw += 1;
    return socketCall(base, wire(req.method, req.target, req.headers, req.body));
  }
  const url = new URL(base);
  const flat = req.headers.flatMap(([name, value]) => [name, value]);
  return new Promise<SocketAnswer>((resolve, reject) => {
    const outgoing = httpRequest({ host: url.hostname, port: url.port, method: req.method, path: req.target, headers: flat, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      const answered = () => {
        // The answer is complete: a body the server chose not to read (it answered early) is not worth sending.
        outgoing.destroy();
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        const headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
        resolve({ status: res.statusCode ?? 0, headers, text, json, empty: false });
      };
      res.on('end', answered);
      // As with raw sockets: a reset after the status line still leaves an answer. Node's server closes a connection
      // whose request body it never read (a GET with a body) as soon as it has answered, and the kernel then resets
      // it; the tail of a large answer (/metrics) still in flight is lost with it.
      res.on('error', answered);
    });
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

function checkAnswer(req: FuzzRequest, answer: SocketAnswer): void {
  const what = `${req.method} ${req.target.slice(0, 200)} -> ${answer.status} ${answer.text.slice(0, 300)}`;
  assert.ok(answer.status >= 100, `an answer: ${what}`);
  assert.ok(answer.status < 500, `no 5xx: ${what}`);
  assert.equal(answer.headers['x-content-type-options'], 'nosniff', what);
  assert.equal(answer.headers['x-frame-options'], 'DENY', what);
  assert.equal(answer.headers.server, undefined, what);
  if (answer.status < 400) return;
  const errorId = answer.headers['x-error-id'];
  assert.match(errorId ?? '', /^[0-9a-f-]{36}$/, `x-error-id: ${what}`);
  assert.ok(answer.headers['x-error'], `x-error: ${what}`);
  if (req.method.toUpperCase() === 'HEAD') return;
  const envelope = answer.json as { error?: { code?: unknown; error_id?: unknown; message?: unknown; type?: unknown } } | undefined;
  assert.equal(typeof envelope?.error?.code, 'string', `envelope: ${what}`);
  assert.equal(typeof envelope?.error?.message, 'string', `envelope: ${what}`);
  assert.equal(envelope?.error?.type, 'WARNING', what);
  assert.equal(envelope?.error?.error_id, errorId, what);
}

describe('fuzzing every route with hostile requests', () => {
  let gale: TestGale;
  let ids: Identities;
  let db: Database.Database;
  const stats = { sent: 0, byStatus: new Map<number, number>(), accepted: 0 };

  const digest = (): string => {
    const hash = createHash('sha256');
    for (const table of TABLES) hash.update(JSON.stringify(db.prepare(`select * from ${table} order by 1, 2`).all()));
    return hash.digest('hex');
  };
  const idle = () => eventually('the reconciler to be idle', () => gale.server.store.countPendingWork(Date.now()), (n) => n === 0);

  before(async () => {
    gale = await startTestGale(
      { store: 'sqlite', provider: 'simulator' },
      {
        providers: { simulator: { delayMs: 0 } },
        tiers: { ...DEFAULT_TIERS, fuzz: FUZZ_TIER },
        // The brake on failed authentications would soon answer 429 to everything: limits.test.ts proves it.
        http: {
          ...defaultConfig().http,
          authFailuresPerMinute: 10_000_000,
          headersTimeoutMs: SERVER_REQUEST_TIMEOUT_MS - 1_000,
          requestTimeoutMs: SERVER_REQUEST_TIMEOUT_MS,
        },
      },
    );
    const [fuzzer, admin, victim] = [await gale.user('fuzz'), await gale.user('fuzz', { admin: true }), await gale.user('pro')];
    const made: string[] = [];
    for (const who of [fuzzer, fuzzer, victim]) {
      const answer = await call<{ id: string }>(gale.url, 'POST', '/api/compute/v1/instances', { headers: who.bearer, body: { template_id: 'debian-12-micro' } });
      assert.equal(answer.status, 201);
      made.push(answer.body.id);
    }
    ids = {
      good: [Object.entries(fuzzer.bearer), Object.entries(fuzzer.keyPair), Object.entries(admin.bearer)],
      apiKey: fuzzer.apiKey,
      token: fuzzer.token,
      instanceIds: made,
    };
    db = new Database(join(gale.config.dataDir, 'gale.db'), { readonly: true });
    await idle();
  });
  after(async () => {
    db?.close();
    agent.destroy();
    await gale?.close();
    const statuses = [...stats.byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ');
    console.log(`fuzz figures (seed ${SEED}): ${stats.sent} requests (${sentRaw} over raw sockets), ${stats.accepted} accepted changes, statuses ${statuses}`);
  });

  test(`${RUNS} requests one at a time: no 5xx, the envelope on every error, the store untouched by every refusal`, async () => {
    let baseline = digest();
    await fc.assert(
      fc.asyncProperty(requestArb(ids), async (req) => {
        const answer = await send(gale.url, req);
        stats.sent += 1;
        stats.byStatus.set(answer.status, (stats.byStatus.get(answer.status) ?? 0) + 1);
        checkAnswer(req, answer);
        const changes = ['POST', 'DELETE'].includes(req.method.toUpperCase()) && answer.status >= 200 && answer.status < 300;
        const now = digest();
        if (!changes) {
          assert.equal(now, baseline, `the store changed for ${req.method} ${req.target.slice(0, 200)} -> ${answer.status}`);
          return;
        }
        stats.accepted += 1;
        await idle();
        baseline = digest();
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true, includeErrorInReport: true },
    );
  });

  test(`${PARALLEL_RUNS} requests 16 at a time: no 5xx, the envelope on every error, and the server still answers`, async () => {
    const batch = fc.sample(requestArb(ids), { numRuns: PARALLEL_RUNS, seed: SEED });
    for (let i = 0; i < batch.length; i += 16) {
      const answers = await Promise.all(batch.slice(i, i + 16).map(async (req) => [req, await send(gale.url, req)] as const));
      for (const [req, answer] of answers) checkAnswer(req, answer);
      stats.sent += answers.length;
    }
    assert.equal((await call(gale.url, 'GET', '/healthz')).status, 200);
    assert.equal((await call(gale.url, 'GET', '/readyz')).status, 200);
  });
});
