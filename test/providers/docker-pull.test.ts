// Image pulls against a fake engine on a unix socket: no registry is reachable here, so a successful pull,
// in-band pull errors and a stalled pull can only be exercised this way.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { pino } from 'pino';
import { PermanentProviderError } from '../../src/domain/provider.js';
import { DockerUnavailableError } from '../../src/providers/docker/index.js';
import { ensureImage } from '../../src/providers/docker/pull.js';

const dir = mkdtempSync(join(tmpdir(), 'gale-docker-pull-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

type Pull = (res: ServerResponse) => void;

/** Answers image inspect (404 until a pull completed) and image create with the given behaviour. */
async function withEngine(pull: Pull, body: (docker: Dockerode) => Promise<void>): Promise<void> {
  const socket = join(dir, `engine-${++n}.sock`);
  let present = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && /^\/images\/.+\/json/.test(req.url ?? '')) {
      res.writeHead(present ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(present ? { Id: 'sha256:1' } : { message: 'No such image' }));
    } else if (req.method === 'POST' && req.url?.startsWith('/images/create?')) {
      res.on('finish', () => (present = !req.url?.includes('fromImage=missing')));
      pull(res);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  try {
    await body(new Dockerode({ socketPath: socket }));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function loggerInto(messages: string[]) {
  return pino({ level: 'info' }, { write: (line: string) => void messages.push(JSON.parse(line).msg) });
}

const lines = (res: ServerResponse, objects: object[]) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  for (const o of objects) res.write(`${JSON.stringify(o)}\r\n`);
  res.end();
};

test('a missing image is pulled, with progress in the log', async () => {
  const progress = [
    { status: 'Pulling from library/demo', id: 'latest' },
    { status: 'Downloading', progressDetail: { current: 1, total: 2 }, progress: '[=>  ] 1B/2B', id: 'abc' },
    { status: 'Pull complete', id: 'abc' },
    { status: 'Status: Downloaded newer image for demo:latest' },
  ];
  await withEngine((res) => lines(res, progress), async (docker) => {
    const messages: string[] = [];
    const logger = loggerInto(messages);
    await ensureImage({ docker, endpoint: 'fake', image: 'demo:latest', timeoutMs: 5_000, logger });
    assert.ok(messages.includes('pull: Pull complete'), messages.join(' | '));
    assert.ok(messages.includes('image pulled'));
  });
});

test('an error reported inside the pull stream is permanent and says why', async () => {
  const failure = [{ status: 'Pulling' }, { error: 'manifest unknown', errorDetail: { message: 'manifest unknown' } }];
  await withEngine((res) => lines(res, failure), async (docker) => {
    const messages: string[] = [];
    await assert.rejects(
      ensureImage({ docker, endpoint: 'fake', image: 'missing:1', timeoutMs: 5_000, logger: loggerInto(messages) }),
      (error: Error) => error instanceof PermanentProviderError && /manifest unknown/.test(error.message),
    );
  });
});

test('a registry the engine cannot reach (HTTP 500) is permanent', async () => {
  const refuse: Pull = (res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: 'Get "https://registry.invalid/v2/": no such host' }));
  };
  await withEngine(refuse, async (docker) => {
    const messages: string[] = [];
    await assert.rejects(
      ensureImage({ docker, endpoint: 'fake', image: 'missing:1', timeoutMs: 5_000, logger: loggerInto(messages) }),
      (error: Error) => error instanceof PermanentProviderError && /no such host/.test(error.message),
    );
  });
});

test('a pull that stalls past the timeout is permanent, and the request is abandoned', async () => {
  const stall: Pull = (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(`${JSON.stringify({ status: 'Waiting', id: 'abc' })}\n`);
  };
  await withEngine(stall, async (docker) => {
    const messages: string[] = [];
    const begun = Date.now();
    await assert.rejects(
      ensureImage({ docker, endpoint: 'fake', image: 'missing:1', timeoutMs: 300, logger: loggerInto(messages) }),
      (error: Error) => error instanceof PermanentProviderError && /within 300 ms/.test(error.message),
    );
    assert.ok(Date.now() - begun < 3_000);
  });
});

test('an engine that is not there is retryable, not permanent', async () => {
  const docker = new Dockerode({ socketPath: join(dir, 'absent.sock') });
  await assert.rejects(
    ensureImage({ docker, endpoint: 'fake', image: 'demo:1', timeoutMs: 1_000, logger: loggerInto([]) }),
    (error: Error) => error instanceof DockerUnavailableError,
  );
});
