import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { defaultConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { LOCAL_BACKEND } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { assertError, call, type Credentials } from '../helpers/http.js';
import { httpCall, parseAnswer, socketCall, wire, type SocketAnswer } from './raw-http.js';

/*
 * Limits and headers (docs/api.md "Limits", docs/configuration.md `http` and `cors`): body and header size, slow
 * clients, connection count, security headers on every answer, CORS off by default, and the brake on guessing
 * credentials per client address. Never a wall-clock assertion: timeouts are only waited for.
 */

const V1 = '/api/compute/v1';

function httpOverrides(http: Partial<Config['http']>, extra: Partial<Config> = {}): Partial<Config> {
  return { providers: { simulator: { delayMs: 0 } }, http: { ...defaultConfig().http, ...http }, ...extra };
}

/** The envelope and the headers every error has, for an answer read off a raw socket. */
function assertRawEnvelope(answer: SocketAnswer, status: number, code: string): void {
  assert.equal(answer.status, status, answer.text);
  const body = answer.json as { error?: { code?: string; error_id?: string; type?: string } };
  assert.equal(body.error?.code, code);
  assert.equal(body.error?.type, 'WARNING');
  assert.equal(answer.headers['x-error-id'], body.error?.error_id);
  assert.ok(answer.headers['x-error']);
  // Answered before there is a request object, and still with a request id of its own.
  assert.match(answer.headers['x-request-id'] ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(answer.headers['x-content-type-options'], 'nosniff');
  assert.equal(answer.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'");
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

function assertSecurityHeaders(headers: Headers, what: string): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(headers.get(name), value, `${name} on ${what}`);
  assert.equal(headers.get('server'), null, `no Server banner on ${what}`);
  assert.equal(headers.get('x-powered-by'), null, `no X-Powered-By on ${what}`);
}

describe('limits and headers', () => {
  let gale: TestGale;
  let user: Credentials;
  before(async () => {
    gale = await startTestGale(LOCAL_BACKEND, httpOverrides({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, hstsMaxAgeSeconds: 31_536_000 }));
    user = await gale.user('pro');
  });
  after(async () => gale?.close());

  test('a body over bodyLimitBytes answers 413 with the envelope', async () => {
    const huge = JSON.stringify({ template_id: 'debian-12-micro', pad: 'x'.repeat(gale.config.bodyLimitBytes) });
    assertError(await call(gale.url, 'POST', `${V1}/instances`, { headers: user.keyPair, rawBody: huge }), 413, 'payload_too_large');
  });

  test('headers over maxHeaderBytes answer 431 with the envelope, before Fastify sees the request', async () => {
    const big = 'a'.repeat(gale.config.http.maxHeaderBytes + 1);
    const answer = await socketCall(gale.url, wire('GET', `${V1}/templates`, [['x-padding', big]]));
    assertRawEnvelope(answer, 431, 'headers_too_large');
    assert.equal(answer.headers.connection, 'close');
    // A request just under the limit is served.
    const fine = await socketCall(gale.url, wire('GET', '/healthz', [['x-padding', 'a'.repeat(1000)]]));
    assert.equal(fine.status, 200);
  });

  test('a client that closes its sending side after its request still gets the answer', async () => {
    // socketCall ends its side as soon as the request is written; /readyz and a create answer after some I/O.
    for (let i = 0; i < 5; i++) assert.equal((await socketCall(gale.url, wire('GET', '/readyz', []))).status, 200);
    const body = JSON.stringify({ template_id: 'debian-12-micro' });
    const created = await socketCall(gale.url, wire('POST', `${V1}/instances`, [['authorization', user.bearer.authorization!], ['content-type', 'application/json']], body));
    assert.equal(created.status, 201, created.text);
  });

  test('bytes that are not HTTP answer 400 with the envelope', async () => {
    assertRawEnvelope(await socketCall(gale.url, 'NOT HTTP AT ALL\r\n\r\n'), 400, 'invalid_request');
    assertRawEnvelope(await socketCall(gale.url, `GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n`), 400, 'invalid_request');
  });

  test('a client too slow to send its headers, or its body, is answered 408 and disconnected', async () => {
    const dribble = (first: string, drip: string): Promise<SocketAnswer> =>
      new Promise((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: Number(new URL(gale.url).port) });
        const chunks: Buffer[] = [];
        let timer: NodeJS.Timeout | undefined;
        socket.on('connect', () => {
          socket.write(first);
          // One byte every 200 ms: each arrives well within any idle timeout, the whole never within the deadline.
          timer = setInterval(() => socket.writable && socket.write(drip), 200);
        });
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(timer);
          resolve(parseAnswer(Buffer.concat(chunks)));
        });
      });
    assertRawEnvelope(await dribble(`GET ${V1}/templates HTTP/1.1\r\nHost: x\r\nx-slow: `, 'a'), 408, 'request_timeout');
    const slowBody = `POST ${V1}/instances HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nauthorization: Bearer ${user.token}\r\n\r\n`;
    assertRawEnvelope(await dribble(slowBody, ' '), 408, 'request_timeout');
  });

  test('every answer carries the security headers and HSTS when configured; no version banner', async () => {
    const answers: Array<[string, Response | Awaited<ReturnType<typeof call>>]> = [
      ['200', await call(gale.url, 'GET', `${V1}/templates`, { headers: user.bearer })],
      ['201', await call(gale.url, 'POST', `${V1}/instances`, { headers: user.bearer, body: { template_id: 'debian-12-micro' } })],
      ['400', await call(gale.url, 'POST', `${V1}/instances`, { headers: user.bearer, rawBody: '{' })],
      ['401', await call(gale.url, 'GET', `${V1}/instances`, { headers: { authorization: 'Bearer nope' } })],
      ['403', await call(gale.url, 'GET', `${V1}/instances`)],
      ['404', await call(gale.url, 'GET', `${V1}/nowhere`)],
      ['405', await call(gale.url, 'PUT', `${V1}/instances`)],
      ['openapi', await call(gale.url, 'GET', `${V1}/openapi.json`)],
      ['healthz', await call(gale.url, 'GET', '/healthz')],
      ['metrics', await call(gale.url, 'GET', '/metrics')],
    ];
    for (const [what, answer] of answers) {
      assertSecurityHeaders(answer.headers, what);
      assert.equal(answer.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains', what);
    }
    // Off by default.
    const plain = await startTestGale(LOCAL_BACKEND, { providers: { simulator: { delayMs: 0 } } });
    try {
      const answer = await call(plain.url, 'GET', '/healthz');
      assertSecurityHeaders(answer.headers, 'default config');
      assert.equal(answer.headers.get('strict-transport-security'), null);
    } finally {
      await plain.close();
    }
  });

  test('CORS is off by default: no allow-origin header, and a preflight is not answered as one', async () => {
    const preflight = await httpCall(gale.url, {
      method: 'OPTIONS',
      path: `${V1}/instances`,
      headers: { origin: 'https://console.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 405);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    const simple = await call(gale.url, 'GET', `${V1}/templates`, { headers: { ...user.bearer, origin: 'https://console.example' } });
    assert.equal(simple.headers.get('access-control-allow-origin'), null);
  });
});

describe('limits that need a server of their own', () => {
  test('CORS, when configured, answers preflights without credentials and marks answers for listed origins only', async (t) => {
    const gale = await startTestGale(LOCAL_BACKEND, httpOverrides({}, { cors: { origins: ['https://console.example'] } }));
    t.after(() => gale.close());
    const user = await gale.user('pro');
    const preflight = await httpCall(gale.url, {
      method: 'OPTIONS',
      path: `${V1}/instances/tw-000000-00000000/stop`,
      headers: { origin: 'https://console.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, idempotency-key' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://console.example');
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    assert.match(String(preflight.headers['access-control-allow-headers']), /idempotency-key/);
    assert.equal(preflight.headers['access-control-allow-credentials'], undefined, 'credentials travel in headers, never cookies');
    assert.equal(preflight.headers['x-frame-options'], 'DENY');
    const ok = await call(gale.url, 'GET', `${V1}/templates`, { headers: { ...user.bearer, origin: 'https://console.example' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://console.example');
    assert.match(ok.headers.get('access-control-expose-headers') ?? '', /x-error-id/);
    const refused = await call(gale.url, 'GET', `${V1}/instances`, { headers: { origin: 'https://console.example' } });
    assertError(refused, 403, 'forbidden');
    assert.equal(refused.headers.get('access-control-allow-origin'), 'https://console.example', 'errors are readable by the console too');
    const stranger = await httpCall(gale.url, { method: 'OPTIONS', path: `${V1}/instances`, headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(stranger.headers['access-control-allow-origin'], undefined);
    assert.notEqual(stranger.status, 204);
  });

  test('a CONNECT is refused with the envelope and its connection closed by the server, so shutdown never waits on it', { timeout: 30_000 }, async () => {
    const gale = await startTestGale(LOCAL_BACKEND, httpOverrides({}));
    // The client writes its request and keeps its own side open, as a proxy client waiting for a tunnel would.
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(gale.url).port), allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => socket.once('end', resolve));
    socket.write('CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    await ended;
    assertRawEnvelope(parseAnswer(Buffer.concat(chunks)), 405, 'method_not_allowed');
    // Node stops tracking a CONNECT socket, so a half-open one would hold server.close() until the client let go.
    await gale.close();
    assert.equal(socket.writable, true, 'the client still had its side open while the server closed');
    socket.destroy();
  });

  test('maxConnections: connections beyond it are closed unanswered, and served again once one is free', async (t) => {
    const gale = await startTestGale(LOCAL_BACKEND, httpOverrides({ maxConnections: 4 }));
    t.after(() => gale.close());
    const held: Socket[] = [];
    t.after(() => held.forEach((socket) => socket.destroy()));
    for (let i = 0; i < 4; i++) held.push(await keptAlive(gale.url));
    const refused = await socketCall(gale.url, wire('GET', '/healthz', []));
    assert.equal(refused.status, 0, 'no answer');
    held.pop()!.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await socketCall(gale.url, wire('GET', '/healthz', []))).status, 200);
  });

  test('failed authentications past the allowance answer 429, per address and per credential; valid credentials always pass', async (t) => {
    const gale = await startTestGale(LOCAL_BACKEND, httpOverrides({ authFailuresPerMinute: 5 }));
    t.after(() => gale.close());
    const user = await gale.user('pro');
    const other = await gale.user('pro');
    const templates = (headers: Record<string, string>, localAddress?: string) =>
      httpCall(gale.url, { method: 'GET', path: `${V1}/templates`, headers, localAddress });
    for (let i = 0; i < 20; i++) assert.equal((await templates(user.bearer)).status, 200, 'successes do not count');
    for (let i = 0; i < 5; i++) assert.equal((await templates({ 'api-key': user.apiKey, 'api-secret': `guess-${i}` })).status, 401);
    const blocked = await templates({ 'api-key': user.apiKey, 'api-secret': 'guess-6' });
    assert.equal(blocked.status, 429);
    assert.equal((blocked.json as { error: { code: string } }).error.code, 'rate_limited');
    assert.ok(Number(blocked.headers['retry-after']) >= 1);
    // Valid credentials pass, from the very address that failed: the owner's, and another tenant's behind the same NAT.
    assert.equal((await templates(user.keyPair)).status, 200, "the owner's right secret passes");
    assert.equal((await templates(other.bearer)).status, 200, "another tenant's valid token passes");
    // Every further failure from that address is slowed, whatever credential it names ...
    assert.equal((await templates({ 'api-key': other.apiKey, 'api-secret': 'wrong' })).status, 429);
    // ... and so are further guesses at the same key from elsewhere, while another address's own mistakes are its own.
    assert.equal((await templates({ 'api-key': user.apiKey, 'api-secret': 'guess-7' }, '127.0.0.2')).status, 429, 'the key is being guessed');
    assert.equal((await templates({ 'api-key': other.apiKey, 'api-secret': 'typo' }, '127.0.0.3')).status, 401, 'an unrelated mistake elsewhere');
    assert.equal((await templates(user.keyPair, '127.0.0.2')).status, 200);
    assert.equal((await call(gale.url, 'GET', '/healthz')).status, 200, 'public routes are not affected');
  });

  test('with http.trustProxy, X-Forwarded-For names the client; without it, a forged one buys no extra guesses', async (t) => {
    const direct = await startTestGale(LOCAL_BACKEND, httpOverrides({ authFailuresPerMinute: 3 }));
    t.after(() => direct.close());
    const wrong = (gale: TestGale, forwardedFor: string) =>
      httpCall(gale.url, { method: 'GET', path: `${V1}/templates`, headers: { authorization: `Bearer ${forwardedFor.replace(/\./g, '')}-nope`, 'x-forwarded-for': forwardedFor } });
    const forged = [];
    for (let i = 0; i < 5; i++) forged.push((await wrong(direct, `203.0.113.${i}`)).status);
    assert.deepEqual(forged, [401, 401, 401, 429, 429], 'each forged address is still the one peer');

    const proxied = await startTestGale(LOCAL_BACKEND, httpOverrides({ authFailuresPerMinute: 3, trustProxy: ['127.0.0.1'] }));
    t.after(() => proxied.close());
    const clients = [];
    for (let i = 0; i < 5; i++) clients.push((await wrong(proxied, `203.0.113.${i}`)).status);
    assert.deepEqual(clients, [401, 401, 401, 401, 401], 'behind a trusted proxy, each client counts on its own');
  });
});

/** A connection that has been served once and is kept open. */
function keptAlive(base: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(base).port) });
    socket.once('error', reject);
    socket.on('connect', () => socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`));
    socket.once('data', () => resolve(socket));
  });
}
