import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createApiKey, createToken, createUser } from '../../src/admin/accounts.js';
import { defaultConfig, validateConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/domain/clock.js';
import { hashCredential } from '../../src/domain/credentials.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type GaleServer } from '../../src/main.js';
import { LOCAL_BACKEND, simulatorOverEveryStore } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { assertError, call, eventually } from '../helpers/http.js';
import { missingTool, run } from '../helpers/tools.js';

const noPromtool = missingTool('promtool', "Debian's prometheus package; .ci/run installs it");

/* The unauthenticated probes, the Prometheus scrape, request ids and what reaches the log. */

const V1 = '/api/compute/v1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// The probes and metrics read the store: run them over every store under test, with the simulator.
for (const { backend, skip } of await simulatorOverEveryStore()) {
  describe(`operability over ${backend.store}`, { skip }, () => {
    let gale: TestGale;
    before(async () => {
      gale = await startTestGale(backend);
    });
    after(() => gale?.close());

    test('/healthz and /readyz answer without credentials; /readyz names its checks', async () => {
      const health = await call<{ status: string }>(gale.url, 'GET', '/healthz');
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok' });
      const ready = await call<{ status: string; checks: Record<string, string> }>(gale.url, 'GET', '/readyz');
      assert.equal(ready.status, 200, ready.text);
      assert.equal(ready.body.status, 'ready');
      const { database, disk, rateLimits, provider, ...others } = ready.body.checks;
      assert.deepEqual({ database, rateLimits, provider, others }, {
        database: 'ok',
        rateLimits: backend.store === 'postgres' ? 'ok (postgres)' : 'ok (memory: this replica alone)',
        provider: 'ok',
        others: {},
      });
      if (backend.store === 'sqlite') assert.match(disk ?? '', /^ok, [\d.]+ [KMG]B free$/);
      else assert.equal(disk, undefined, "PostgreSQL's disk is the server's: its failures show as the database's");
    });

    test('/metrics has every family after traffic, a 429 and a quota 403 included', async () => {
      const free = await gale.user('free');
      const created = await call<{ id: string }>(gale.url, 'POST', `${V1}/instances`, { headers: free.bearer, body: { template_id: 'debian-12-micro' } });
      assert.equal(created.status, 201, created.text);
      assertError(await call(gale.url, 'POST', `${V1}/instances`, { headers: free.bearer, body: { template_id: 'debian-12-micro' } }), 403, 'quota_exceeded');
      await eventually('the instance to run', async () => (await call<{ status: string }>(gale.url, 'GET', `${V1}/instances/${created.body.id}`, { headers: free.bearer })).body.status, (s) => s === 'RUNNING');
      // A free user has 60 requests a minute: spend what is left, then one more.
      let answer = await call(gale.url, 'GET', `${V1}/quotas`, { headers: free.bearer });
      while (answer.status === 200) answer = await call(gale.url, 'GET', `${V1}/quotas`, { headers: free.bearer });
      assertError(answer, 429, 'rate_limited');

      const scrape = await call(gale.url, 'GET', '/metrics');
      assert.equal(scrape.status, 200);
      assert.match(scrape.headers.get('content-type') ?? '', /^text\/plain/);
      const text = scrape.text;
      const expected = [
        /^gale_http_requests_total\{method="POST",route="\/api\/compute\/v1\/instances",status="201"\} 1$/m,
        /^gale_http_requests_total\{method="POST",route="\/api\/compute\/v1\/instances",status="403"\} 1$/m,
        /^gale_http_requests_total\{method="GET",route="\/api\/compute\/v1\/instances\/:id",status="200"\} [1-9]\d*$/m,
        /^gale_http_requests_total\{method="GET",route="\/api\/compute\/v1\/quotas",status="429"\} 1$/m,
        /^gale_http_request_duration_seconds_bucket\{le="[0-9.]+",method="GET",route="\/api\/compute\/v1\/quotas",status="200"\} \d+$/m,
        /^gale_http_request_duration_seconds_count\{method="POST",route="\/api\/compute\/v1\/instances",status="201"\} 1$/m,
        /^gale_rate_limit_rejections_total\{tier="free"\} 1$/m,
        /^gale_quota_rejections_total\{tier="free"\} 1$/m,
        /^gale_reconciler_queue_depth \d+$/m,
        /^gale_reconciler_operations_total\{action="create",outcome="completed"\} 1$/m,
        /^gale_instances\{status="RUNNING",provider="simulator"\} 1$/m,
        /^# TYPE gale_rate_limit_fallbacks_total counter$/m,
        /^gale_operation_duration_seconds_count\{kind="create",provider="simulator",outcome="done"\} 1$/m,
        /^gale_operation_duration_seconds_bucket\{le="\+Inf",kind="create",provider="simulator",outcome="done"\} 1$/m,
        /^gale_build_info\{version="\d+\.\d+\.\d+",nodejs="\d+\.\d+\.\d+"\} 1$/m,
        // The standard names, which stock dashboards query.
        /^process_cpu_seconds_total \d/m,
        /^process_resident_memory_bytes \d/m,
        /^nodejs_heap_size_used_bytes \d/m,
        /^nodejs_eventloop_lag_seconds \d/m,
      ];
      for (const pattern of expected) assert.match(text, pattern);
      assert.doesNotMatch(text, /^gale_(process|nodejs)_/m, 'default metrics keep their standard names');
      const gauges = [...text.matchAll(/^# TYPE (\S+) gauge$/gm)].map((match) => match[1]!);
      assert.deepEqual(gauges.filter((name) => name.endsWith('_total')), [], 'a gauge ends in _total');
    });

    test('the exposition passes promtool check metrics', { skip: noPromtool }, async () => {
      const scrape = await call(gale.url, 'GET', '/metrics');
      assert.equal(scrape.status, 200);
      const checked = run('promtool', ['check', 'metrics'], scrape.text);
      assert.equal(checked.output.trim(), '', `promtool found problems:\n${checked.output}`);
      assert.equal(checked.status, 0);
    });
  });
}

describe('readiness with a provider that cannot be reached', () => {
  let gale: TestGale;
  before(async () => {
    // The registry reports an unusable provider instead of failing the start: the replica runs, but is not ready.
    gale = await startTestGale(
      LOCAL_BACKEND,
      { provider: 'docker', providers: { docker: { endpoints: { '*': '/nonexistent.sock' } } } },
    );
  });
  after(() => gale?.close());

  test('/readyz answers 503 in the error envelope, naming the failing check; /healthz stays 200', async () => {
    const ready = await call(gale.url, 'GET', '/readyz');
    assertError(ready, 503, 'unavailable', /not ready: provider failed: the docker engine of zones \* is not answering/);
    assert.doesNotMatch(ready.text, /nonexistent\.sock/, 'readiness, which anyone may read, names no address');
    assert.doesNotMatch(ready.text, /database failed/);
    assert.equal(ready.headers.get('retry-after'), '5');
    assert.equal((await call(gale.url, 'GET', '/healthz')).status, 200);
  });
});

describe('request ids and logs', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gale-logs-'));
  const stream = new PassThrough();
  let logged = '';
  stream.on('data', (chunk: Buffer) => (logged += chunk.toString()));
  let server: GaleServer;
  let keyPair: Record<string, string>;
  let secret = '';
  let token = '';

  before(async () => {
    const config = validateConfig({ ...defaultConfig(), port: 0, dataDir, bootstrap: false, logLevel: 'info', providers: { simulator: { delayMs: 0 } } });
    server = await startServer(config, { logger: createLogger(config.logLevel, stream) });
    const user = await createUser(server.store, systemClock, config.tiers, { email: 'logs@example.com', tier: 'pro', admin: false });
    const pair = await createApiKey(server.store, systemClock, user.id);
    token = (await createToken(server.store, systemClock, user.id, 3_600_000)).token;
    secret = pair.apiSecret;
    keyPair = { 'api-key': pair.apiKey, 'api-secret': pair.apiSecret };
  });
  after(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a request id is generated, or the caller\'s echoed, on every answer (errors too)', async () => {
    const generated = await call(server.url, 'GET', `${V1}/templates`, { headers: keyPair });
    assert.match(generated.headers.get('x-request-id') ?? '', UUID);
    const given = `client-${randomUUID()}`;
    const echoed = await call(server.url, 'GET', `${V1}/instances/nope`, { headers: { ...keyPair, 'x-request-id': given } });
    assert.equal(echoed.status, 404);
    assert.equal(echoed.headers.get('x-request-id'), given);
    // An id a log reader could be fooled by (spaces, newlines, length) is replaced, not echoed.
    const unsafe = await call(server.url, 'GET', '/healthz', { headers: { 'x-request-id': 'a b'.repeat(100) } });
    assert.match(unsafe.headers.get('x-request-id') ?? '', UUID);
  });

  test('log lines are JSON, carry the request id, and never a secret or token', async () => {
    const id = `trace-${randomUUID()}`;
    assert.equal((await call(server.url, 'GET', `${V1}/quotas`, { headers: { ...keyPair, 'x-request-id': id } })).status, 200);
    assert.equal((await call(server.url, 'GET', `${V1}/quotas`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': `${id}-b` } })).status, 200);
    assert.equal((await call(server.url, 'GET', `${V1}/quotas`, { headers: { ...keyPair, 'api-secret': 'wrong-secret-value' } })).status, 401);
    // Even a line that logs the headers wholesale has them censored.
    server.logger.info({ req: { headers: { ...keyPair, authorization: `Bearer ${token}` } } }, 'headers logged on purpose');
    await eventually('the lines to be written', async () => logged, (text) => text.includes(`${id}-b`) && text.includes('headers logged on purpose'));

    const lines = logged.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const mine = lines.filter((line) => line.reqId === id);
    assert.ok(mine.length >= 1, 'no line with the request id');
    assert.ok(mine.some((line) => line.msg === 'request completed' && (line.res as { statusCode: number }).statusCode === 200));
    for (const needle of [secret, token, 'wrong-secret-value']) assert.ok(!logged.includes(needle), 'a credential reached the log');
    assert.match(logged, /\[redacted\]/);
  });

  test('the line of a failed request carries its error code and id, and the caller\'s user id', async () => {
    const id = `fail-${randomUUID()}`;
    const missing = await call(server.url, 'GET', `${V1}/instances/tw-000000-00000000`, { headers: { ...keyPair, 'x-request-id': id } });
    assert.equal(missing.status, 404);
    const refused = await call(server.url, 'GET', `${V1}/quotas`, { headers: { ...keyPair, 'api-secret': 'wrong', 'x-request-id': `${id}-401` } });
    assert.equal(refused.status, 401);
    const fine = await call(server.url, 'GET', `${V1}/quotas`, { headers: { ...keyPair, 'x-request-id': `${id}-ok` } });
    assert.equal(fine.status, 200);
    await eventually('the lines to be written', async () => logged, (text) => text.includes(`${id}-ok`));
    const lines = logged.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const lineOf = (reqId: string) => lines.find((line) => line.reqId === reqId && line.msg === 'request completed');
    const userId = (await server.store.findApiKey(hashCredential(keyPair['api-key']!)))?.user.id;
    assert.ok(userId);
    assert.deepEqual(
      { code: lineOf(id)?.errorCode, id: lineOf(id)?.errorId, user: lineOf(id)?.userId },
      { code: 'not_found', id: missing.headers.get('x-error-id'), user: userId },
    );
    // Not authenticated: there is no user to name, and the failed attempt's credentials are not logged either.
    assert.deepEqual({ code: lineOf(`${id}-401`)?.errorCode, user: lineOf(`${id}-401`)?.userId }, { code: 'unauthenticated', user: undefined });
    assert.equal(lineOf(`${id}-401`)?.errorId, refused.headers.get('x-error-id'));
    assert.deepEqual({ code: lineOf(`${id}-ok`)?.errorCode, user: lineOf(`${id}-ok`)?.userId }, { code: undefined, user: userId });
  });
});

describe('shutdown', () => {
  test('a request that arrives on an open connection while the server closes is served, with Connection: close', async () => {
    const gale = await startTestGale(LOCAL_BACKEND);
    const user = await gale.user('pro');
    const port = Number(new URL(gale.url).port);
    const auth = Object.entries(user.bearer).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    const body = JSON.stringify({ template_id: 'debian-12-micro' });
    const socket = connect({ host: '127.0.0.1', port });
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    // A create whose body is still arriving when the shutdown begins, with a second request pipelined behind it.
    socket.write(`POST ${V1}/instances HTTP/1.1\r\nHost: x\r\n${auth}content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const shutdown = gale.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.write(`${body.slice(5)}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    await closed;
    await shutdown;
    const text = Buffer.concat(received).toString('utf8');
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, text);
    assert.match(answers[0]!, /^HTTP\/1\.1 201 /);
    // Gale's answer, not Fastify's 503 of its own: the store was still open for it.
    assert.match(answers[1]!, /^HTTP\/1\.1 200 /);
    assert.match(answers[1]!, /\r\nconnection: close\r\n/i);
    assert.match(answers[1]!, /\r\nx-request-id: /i);
    assert.match(answers[1]!, /\{"status":"ok"\}$/);
  });
});

describe('shutdown and connections that carry no request', () => {
  test('a connection opened and never used is closed at once; one whose request has begun arriving is answered first', async () => {
    const gale = await startTestGale(LOCAL_BACKEND);
    const port = Number(new URL(gale.url).port);
    const serverSide = new Map<number, Socket>();
    gale.server.app.server.on('connection', (socket: Socket) => serverSide.set(socket.remotePort!, socket));
    const open = async () => {
      const socket = connect({ host: '127.0.0.1', port });
      const received: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(Buffer.concat(received).toString('utf8'))));
      await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
      return { socket, closed };
    };
    // What a client's connection pool does: a connection opened ahead, that no request has used.
    const unused = await open();
    // One that has served a request and rests, kept alive, then one whose next request is half sent.
    const kept = await open();
    kept.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually('the first answer', async () => kept.socket.bytesRead, (read) => read > 0);
    const begun = await open();
    begun.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    await eventually('the half request at the server', async () => serverSide.get(begun.socket.localPort!)?.bytesRead ?? 0, (read) => read > 0);

    const shutdown = gale.close();
    assert.equal(await unused.closed, '', 'closed unanswered: it asked nothing');
    assert.match(await kept.closed, /^HTTP\/1\.1 200 /);
    assert.equal(begun.socket.destroyed, false, 'the half-sent request is still awaited');
    begun.socket.write('\r\n');
    const answer = await begun.closed;
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /\r\nconnection: close\r\n/i);
    await shutdown;
  });
});
