import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, eventually } from '../helpers/http.js';

/*
 * Gale as a real child process, killed with SIGKILL in the middle of transitions and started again
 * on the same data directory: every accepted request must still be carried out.
 */

const dataDir = mkdtempSync(join(tmpdir(), 'gale-recovery-'));
const configFile = join(dataDir, 'gale.json');
writeFileSync(configFile, JSON.stringify({ reconciler: { leaseMs: 2000, pollIntervalMs: 50, resyncIntervalMs: 500 } }));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function startGale(port: number): Promise<{ child: ChildProcess; stdout: () => string }> {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/gale.ts', 'serve'], {
    env: { ...process.env, GALE_PORT: String(port), GALE_DATA_DIR: dataDir, GALE_SIM_DELAY_MS: '1500', GALE_CONFIG: configFile, GALE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await eventually('the server to answer', async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/api/compute/v1/openapi.json`)).status;
    } catch {
      return 0;
    }
  }, (status) => status === 200, 60_000);
  return { child, stdout: () => out };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

test('a server killed mid-transition converges after a restart, and bootstrap credentials work', async () => {
  const port = await freePort();
  const first = await startGale(port);
  // The pipe's bytes reach this process on their own schedule, not with the HTTP answer's: wait for them.
  const printed = await eventually('the bootstrap credentials', async () => first.stdout(), (out) => /api-secret:\s+\S+/.test(out), 10_000);
  const key = /api-key:\s+(\S+)/.exec(printed)?.[1];
  const secret = /api-secret:\s+(\S+)/.exec(printed)?.[1];
  assert.ok(key && secret, `bootstrap printed no credentials:\n${printed}`);
  assert.match(printed, /curl -s http:\/\/127\.0\.0\.1:\d+\/api\/compute\/v1\/templates -H 'api-key: /);
  const auth = { 'api-key': key, 'api-secret': secret };
  const base = `http://127.0.0.1:${port}`;
  const get = async (id: string) => (await call<{ status: string }>(base, 'GET', `/api/compute/v1/instances/${id}`, { headers: auth })).body.status;

  const b = await call<{ id: string }>(base, 'POST', '/api/compute/v1/instances', { headers: auth, body: { template_id: 'debian-12-micro' } });
  assert.equal(b.status, 201);
  await eventually('b to run', () => get(b.body.id), (s) => s === 'RUNNING');
  // Two requests answered just before the crash: b's stop (now STOPPING) and a's create (now PROVISIONING).
  assert.equal((await call(base, 'POST', `/api/compute/v1/instances/${b.body.id}/stop`, { headers: auth })).status, 202);
  const a = await call<{ id: string }>(base, 'POST', '/api/compute/v1/instances', { headers: auth, body: { template_id: 'ubuntu-22-standard' } });
  assert.equal(a.status, 201);
  assert.equal(await get(b.body.id), 'STOPPING');
  assert.notEqual(await get(a.body.id), 'RUNNING', 'a is still mid-transition when the server dies');
  await kill(first.child);

  const second = await startGale(port);
  assert.doesNotMatch(second.stdout(), /api-secret/, 'bootstrap runs only on an empty store');
  await eventually('a to converge to RUNNING', () => get(a.body.id), (s) => s === 'RUNNING');
  await eventually('b to converge to TERMINATED', () => get(b.body.id), (s) => s === 'TERMINATED');

  // A delete answered just before a crash is still carried out.
  assert.equal((await call(base, 'DELETE', `/api/compute/v1/instances/${a.body.id}`, { headers: auth })).status, 204);
  await kill(second.child);
  const third = await startGale(port);
  assert.equal((await call(base, 'GET', `/api/compute/v1/instances/${a.body.id}`, { headers: auth })).status, 404);
  const listed = await call<Array<{ id: string }>>(base, 'GET', '/api/compute/v1/admin/instances', { headers: auth });
  assert.deepEqual((listed.body as unknown as { instances: Array<{ id: string }> }).instances.map((i) => i.id), [b.body.id]);

  // SIGTERM is a graceful shutdown: the process exits 0.
  const exited = new Promise<number | null>((resolve) => third.child.once('exit', (code) => resolve(code)));
  third.child.kill('SIGTERM');
  assert.equal(await exited, 0);
});
