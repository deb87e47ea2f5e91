import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticator } from '../../src/api/authenticator.js';
import { MemoryLimiter } from '../../src/api/limiter/memory-limiter.js';
import { RequestLines } from '../../src/api/request-log.js';
import { RequestLimiter } from '../../src/api/limiter/request-limiter.js';
import { hashCredential } from '../../src/domain/credentials.js';
import type { User } from '../../src/domain/store.js';
import { createLogger } from '../../src/logger.js';

/*
 * The request path's synchronous shortcuts (docs/performance.md) answer exactly what the long way answers: the cached
 * credential, the in-memory limiter, the request line written by hand.
 */

const tier = { name: 'tiny', requestsPerMinute: 3, maxInstances: 1, maxVcpus: 1, maxDiskGb: 1 };

test('the in-memory limiter: a window from the first request, refusals counted, answered at once or through a promise', async () => {
  const limiter = new MemoryLimiter(3, 60);
  assert.deepEqual([1, 2, 3].map(() => limiter.consumeNow('u').remainingPoints), [2, 1, 0]);
  assert.throws(() => limiter.consumeNow('u'), (res: { consumedPoints: number; msBeforeNext: number }) => res.consumedPoints === 4 && res.msBeforeNext > 59_000);
  await assert.rejects(limiter.consume('u'), (res: { consumedPoints: number }) => res.consumedPoints === 5);
  assert.equal((await limiter.get('u'))?.consumedPoints, 5);
  assert.equal(await limiter.get('nobody'), null);
  assert.equal((await limiter.consume('v')).remainingPoints, 2, 'another key has its own window');

  // When the window ends, the next request starts a new one.
  const now = Date.now;
  Date.now = () => now() + 60_001;
  try {
    assert.equal(limiter.consumeNow('u').remainingPoints, 2);
  } finally {
    Date.now = now;
  }
});

test('the request limiter answers at once from memory, and not at all (undefined) from a shared store', async () => {
  const limiter = new RequestLimiter();
  assert.deepEqual(limiter.consumeNow('user-1', tier), { limit: 3, remaining: 2, resetSeconds: 60 });
  assert.equal((await limiter.consume('user-1', tier)).remaining, 1);
  const shared = new RequestLimiter(() => ({ points: 3, consume: async () => { throw new Error('unused'); }, penalty: async () => { throw new Error('unused'); }, get: async () => null }) as never);
  assert.equal(shared.consumeNow('user-1', tier), undefined);
});

test('a cached credential is answered at once; the first use of one and a malformed one are not', async () => {
  const user: User = { id: 'u-1', email: 'a@b.c', tier: 'pro', roles: [], customerId: '', createdAt: 0 } as unknown as User;
  let lookups = 0;
  const store = {
    findToken: async (hash: string) => {
      lookups++;
      return hash === hashCredential('good') ? { user, expiresAt: Date.now() + 60_000, revokedAt: null } : undefined;
    },
    findApiKey: async () => undefined,
  };
  const auth = new Authenticator(store as never, { now: () => Date.now() }, 5_000);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  assert.equal(auth.authenticateNow(bearer('good')), undefined, 'nothing is cached yet');
  assert.equal((await auth.authenticate(bearer('good'))).user.id, 'u-1');
  assert.equal(auth.authenticateNow(bearer('good'))?.user.id, 'u-1');
  assert.equal(lookups, 1);
  // A miss is cached too, and refused at once the second time.
  await assert.rejects(auth.authenticate(bearer('bad')), /invalid or revoked token/);
  assert.throws(() => auth.authenticateNow(bearer('bad')), /invalid or revoked token/);
  assert.throws(() => auth.authenticateNow({ authorization: 'Basic xyz' }), /must be "Bearer <token>"/);
  assert.throws(() => auth.authenticateNow({ 'api-key': 'k' }), /must be sent together/);
  assert.equal(lookups, 2);
});

test('the request line written by hand is the line pino would write, field for field', async () => {
  let text = '';
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const logger = createLogger('info', stream);
  const request = {
    id: 'req-"1"',
    method: 'GET',
    url: '/api/compute/v1/instances?pageSize=5&token=secret"\\',
    host: 'localhost:8080',
    ip: '127.0.0.1',
    headers: { 'accept-version': '2' },
    socket: { remotePort: 5555 },
    principal: { user: { id: 'user-1' } },
  } as unknown as FastifyRequest;
  const reply = { statusCode: 200, elapsedTime: 1.2345 } as unknown as FastifyReply;
  new RequestLines(logger).completed(request, reply);
  assert.equal(text, '', 'the line waits for the end of the turn');
  await nextTurn();
  const byHand = JSON.parse(text.trim()) as Record<string, unknown>;

  text = '';
  logger.info(
    {
      reqId: request.id,
      req: { method: 'GET', url: '/api/compute/v1/instances?pageSize=5&[redacted]', version: '2', host: 'localhost:8080', remoteAddress: '127.0.0.1', remotePort: 5555 },
      res: { statusCode: 200 },
      responseTime: 1.2345,
      userId: 'user-1',
    },
    'request completed',
  );
  const byPino = JSON.parse(text.trim()) as Record<string, unknown>;
  delete byHand.time;
  delete byPino.time;
  assert.deepEqual(byHand, byPino);
  assert.deepEqual(Object.keys(byHand), Object.keys(byPino), 'the fields come in the same order');

  // Below its level, no line at all.
  text = '';
  new RequestLines(createLogger('warn', stream)).completed(request, reply);
  await nextTurn();
  assert.equal(text, '');
});

test('request lines still pending when the process exits are written before it ends', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gale-exit-flush-'));
  try {
    const file = join(dir, 'log.jsonl');
    // A process that logs a request line and exits in the same turn, before the line's batch would be written.
    const script = `
      import { pino } from 'pino';
      import { createLogger } from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'src/logger.ts')).href)};
      import { RequestLines } from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'src/api/request-log.ts')).href)};
      const destination = pino.destination({ dest: ${JSON.stringify(file)}, sync: false });
      await new Promise((resolve) => destination.once('ready', resolve));
      const logger = createLogger('info', destination);
      new RequestLines(logger).completed(
        { id: 'exit-1', method: 'GET', url: '/x', host: 'h', ip: '127.0.0.1', headers: {}, socket: { remotePort: 1 } },
        { statusCode: 200, elapsedTime: 1 },
      );
      process.exit(0);
    `;
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd() });
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { reqId?: string; msg?: string });
    assert.deepEqual(lines.map((line) => [line.reqId, line.msg]), [['exit-1', 'request completed']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
