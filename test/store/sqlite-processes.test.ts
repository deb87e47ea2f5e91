import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../../src/store/index.js';
import { storeNames } from '../helpers/stores.js';
import { addUser } from './fixtures.js';

/*
 * Several processes on one SQLite file (the CLI beside the server, or a mistaken second server): the
 * quota and the migrations must hold across processes, which in-process tests cannot show because one
 * process's writers already queue on the same file lock.
 */

const WORKER = fileURLToPath(new URL('./sqlite-worker.ts', import.meta.url));
const skip = storeNames().includes('sqlite') ? false : 'STORES does not include sqlite';

interface Worker {
  child: ChildProcessWithoutNullStreams;
  lines: AsyncIterator<string>;
}

async function startWorker(args: string[]): Promise<Worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done || first.value !== 'ready') throw new Error(`worker did not start: ${stderr}`);
  child.on('exit', (code) => {
    if (code !== 0) process.stderr.write(`worker exited ${code}: ${stderr}\n`);
  });
  return { child, lines };
}

async function runTogether<T>(workers: Worker[]): Promise<T[]> {
  for (const worker of workers) worker.child.stdin.write('go\n');
  return Promise.all(
    workers.map(async ({ child, lines }) => {
      const line = await lines.next();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (child.exitCode === null) await exited;
      assert.equal(child.exitCode, 0);
      assert.ok(!line.done, 'worker printed a result');
      return JSON.parse(line.value) as T;
    }),
  );
}

test('processes opening a fresh SQLite database together migrate it once and agree on the installation id', { skip }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gale-store-procs-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const workers = await Promise.all(Array.from({ length: 3 }, () => startWorker([dataDir, 'open'])));
  const results = await runTogether<{ installationId: string }>(workers);
  assert.equal(new Set(results.map((r) => r.installationId)).size, 1);
});

test('the quota holds across processes sharing one SQLite file', { skip }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gale-store-procs-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const store = await openSqliteStore({ dataDir });
  t.after(() => store.close());
  const user = await addUser(store);

  const workers = await Promise.all(Array.from({ length: 3 }, () => startWorker([dataDir, 'create', user.id, '8'])));
  const results = await runTogether<{ created: number; errors: string[] }>(workers);
  for (const { errors } of results) {
    for (const error of errors) assert.match(error, /quota exceeded: instances 3\/3/);
  }
  assert.equal(results.reduce((sum, r) => sum + r.created, 0), 3);
  assert.equal((await store.listUserInstances(user.id)).length, 3);
});
