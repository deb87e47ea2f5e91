import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logger.js';
import { startServer } from '../../src/main.js';
import { freePort } from '../replicas/processes.js';

/*
 * The bootstrap admin is made on the first start with an empty store, before the server listens, and its secret is
 * shown once, before the server answers anything. A first start that cannot listen (the port is taken) must still
 * show it: the next start makes no other.
 */

const dataDir = mkdtempSync(join(tmpdir(), 'gale-bootstrap-'));
const otherDataDir = mkdtempSync(join(tmpdir(), 'gale-bootstrap-'));
after(() => {
  for (const dir of [dataDir, otherDataDir]) rmSync(dir, { recursive: true, force: true });
});

test('the credentials are printed before the server answers its first request', async () => {
  const port = await freePort();
  const config = validateConfig({ ...defaultConfig(), host: '127.0.0.1', port, dataDir: otherDataDir, bootstrap: true, logLevel: 'silent', providers: { simulator: { delayMs: 0 } } });
  let printedAt: number | undefined;
  let firstAnswerAt: number | undefined;
  // Knocks until the server answers: from the moment it listens, a request is waiting for it.
  const knocking = (async () => {
    while (firstAnswerAt === undefined) {
      try {
        await fetch(`http://127.0.0.1:${port}/healthz`);
        firstAnswerAt = performance.now();
      } catch {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  })();
  const server = await startServer(config, { logger: createLogger('silent'), print: () => (printedAt ??= performance.now()) });
  try {
    await knocking;
    assert.ok(printedAt !== undefined && firstAnswerAt !== undefined && printedAt < firstAnswerAt, `printed at ${printedAt}, first answer at ${firstAnswerAt}`);
  } finally {
    await server.close();
  }
});

test('a first start that cannot listen still shows the admin it made, whose key works on the next start', async () => {
  const squatter: Server = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const busyPort = (squatter.address() as { port: number }).port;
  const config = (port: number) =>
    validateConfig({ ...defaultConfig(), host: '127.0.0.1', port, dataDir, bootstrap: true, logLevel: 'silent', providers: { simulator: { delayMs: 0 } } });

  let printed = '';
  await assert.rejects(startServer(config(busyPort), { logger: createLogger('silent'), print: (text) => (printed += text) }), /EADDRINUSE/);
  squatter.close();
  const key = /api-key:\s+(\S+)/.exec(printed)?.[1];
  const secret = /api-secret:\s+(\S+)/.exec(printed)?.[1];
  assert.ok(key && secret, `no credentials shown:\n${printed}`);
  assert.match(printed, new RegExp(`curl -s http://127\\.0\\.0\\.1:${busyPort}/api/compute/v1/templates`));

  let printedAgain = '';
  const server = await startServer(config(0), { logger: createLogger('silent'), print: (text) => (printedAgain += text) });
  try {
    assert.equal(printedAgain, '', 'the store has its admin: no second one is made');
    const answer = await fetch(`${server.url}/api/compute/v1/templates`, { headers: { 'api-key': key, 'api-secret': secret } });
    assert.equal(answer.status, 200);
  } finally {
    await server.close();
  }
});
