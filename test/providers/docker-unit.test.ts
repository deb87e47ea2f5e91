// Parts of the Docker provider that need no real engine: endpoint parsing, the tar writer, state mapping,
// errors while the engine is down, and the event stream's reconnection (against a fake engine on a unix socket).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { PermanentProviderError } from '../../src/domain/provider.js';
import { createDockerProvider, describeEndpoint, DockerUnavailableError, parseEndpoint } from '../../src/providers/docker/index.js';
import { EndpointSet } from '../../src/providers/docker/endpoints.js';
import { statusOf, startedAtOf } from '../../src/providers/docker/observe.js';
import { packTar } from '../../src/providers/docker/tar.js';
import { instanceSpec } from '../../src/domain/instance-spec.js';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'gale-docker-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function waitFor(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('endpoints', () => {
  test('parses socket paths and URLs, and names them without secrets', () => {
    assert.deepEqual(parseEndpoint('/var/run/docker.sock'), { socketPath: '/var/run/docker.sock' });
    assert.deepEqual(parseEndpoint('unix:///run/podman/podman.sock'), { socketPath: '/run/podman/podman.sock' });
    assert.deepEqual(parseEndpoint('tcp://10.0.0.5:2375'), { host: '10.0.0.5', port: 2375, protocol: 'http' });
    assert.equal(describeEndpoint(parseEndpoint('ssh://ops:secret@host-b')), 'ssh://ops@host-b:22');
    assert.throws(() => parseEndpoint('ftp://x'), /unsupported scheme/);
  });

  test('zones fall back to "*", share one client per engine, and an unknown zone is permanent', () => {
    const set = new EndpointSet({ 'zone-a': '/a.sock', 'zone-b': 'unix:///a.sock', '*': 'tcp://h:2375' });
    assert.equal(set.all().length, 2);
    assert.equal(set.forZone('zone-b'), set.forZone('zone-a'));
    assert.equal(set.forZone('zone-z').name, 'tcp://h:2375');
    assert.throws(() => new EndpointSet({ 'zone-a': '/a.sock' }).forZone('zone-z'), PermanentProviderError);
  });
});

test('the tar writer produces an archive GNU tar reads back', () => {
  const path = join(dir, 'context.tar');
  writeFileSync(
    path,
    packTar([
      { type: 'dir', name: 'rootfs/bin' },
      { type: 'file', name: 'rootfs/bin/tool', data: Buffer.alloc(1000, 7), mode: 0o755 },
      { type: 'symlink', name: 'rootfs/bin/sh', target: 'tool' },
    ]),
  );
  const listing = execFileSync('tar', ['-tvf', path], { encoding: 'utf8' });
  assert.match(listing, /^drwxr-xr-x root\/root\s+0 .* rootfs\/bin\/$/m);
  assert.match(listing, /^-rwxr-xr-x root\/root\s+1000 .* rootfs\/bin\/tool$/m);
  assert.match(listing, /rootfs\/bin\/sh -> tool$/m);
});

test('Docker states map to GCE statuses', () => {
  const pairs = { running: 'RUNNING', paused: 'SUSPENDED', restarting: 'STAGING', removing: 'STOPPING' } as const;
  for (const [state, status] of Object.entries(pairs)) assert.equal(statusOf(state), status);
  for (const state of ['created', 'exited', 'dead']) assert.equal(statusOf(state), 'TERMINATED');
  assert.equal(startedAtOf('0001-01-01T00:00:00Z'), undefined);
  assert.equal(startedAtOf('2026-01-02T03:04:05.123456789Z'), Date.parse('2026-01-02T03:04:05.123Z'));
});

describe('engine down', () => {
  const socket = join(dir, 'nobody-listens.sock');
  const provider = createDockerProvider({ endpoints: { 'zone-a': socket }, installationId: 'unit', logger });
  after(() => provider.close());
  const retryable = (error: Error): boolean => {
    assert.ok(error instanceof DockerUnavailableError, `${error.name}: ${error.message}`);
    assert.ok(!(error instanceof PermanentProviderError));
    assert.ok(error.message.includes(`unix://${socket}`), error.message);
    return true;
  };

  test('probe names the zones to anyone, and the endpoint only to the log', async () => {
    await assert.rejects(provider.probe(), (error: Error & { detail?: string }) => {
      assert.equal(error.message, 'the docker engine of zones zone-a is not answering');
      assert.match(error.detail ?? '', new RegExp(`docker endpoint unix://${socket} \\(zones: zone-a\\) is not answering`));
      return true;
    });
  });

  test('every operation fails retryably, never permanently', async () => {
    const spec = { instanceId: 'i-1', userId: 'u', zone: 'zone-a', templateId: 't', image: 'x', machineType: 'm', vcpus: 1, memoryMb: 64, diskGb: 1, spec: instanceSpec() };
    await assert.rejects(provider.create(spec), retryable);
    await assert.rejects(provider.inspect('i-1'), retryable);
    await assert.rejects(provider.list(), retryable);
    await assert.rejects(provider.stop('i-1', { graceMs: 0 }), retryable);
    await assert.rejects(provider.delete('i-1'), retryable);
  });
});

/** A fake engine serving only /events: each connection is recorded and can be ended like an engine restart. */
function fakeEngine(socket: string) {
  const requests: string[] = [];
  const open: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    open.push(res);
  });
  const event = (res: ServerResponse, instanceId: string, time: number) =>
    res.write(`${JSON.stringify({ Type: 'container', Action: 'die', Actor: { ID: 'c', Attributes: { 'gale.instance-id': instanceId } }, time })}\n`);
  return { server, requests, open, event, listen: () => new Promise<void>((resolve) => server.listen(socket, resolve)) };
}

describe('watch', () => {
  test('reconnects when the stream ends, asking for what it missed, and stops when unsubscribed', async () => {
    const socket = join(dir, 'engine.sock');
    const engine = fakeEngine(socket);
    const provider = createDockerProvider({ endpoints: { '*': socket }, installationId: 'unit', logger });
    const seen: string[] = [];
    // The engine is not up yet: the watcher must keep trying, not give up.
    const unwatch = provider.watch((id) => seen.push(id));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await engine.listen();
    await waitFor('the first connection', () => engine.open.length === 1);
    assert.match(decodeURIComponent(engine.requests[0]!), /"label":\["gale.installation=unit"\]/);
    engine.event(engine.open[0]!, 'i-1', 1_700_000_000);
    await waitFor('the first event', () => seen.includes('i-1'));
    engine.open[0]!.end(); // as when dockerd restarts
    await waitFor('a reconnection', () => engine.open.length === 2);
    assert.match(engine.requests[1]!, /since=1700000000/);
    engine.event(engine.open[1]!, 'i-2', 1_700_000_001);
    await waitFor('the event after reconnecting', () => seen.includes('i-2'));
    unwatch();
    await provider.close();
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(engine.open.length, 2, 'no reconnection after unsubscribing');
    await new Promise<void>((resolve) => engine.server.close(() => resolve()));
  });
});
