import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { call, eventually } from '../helpers/http.js';
import { assertAllAlive, assertCarriedOut, startFaultFleet, type FaultFleet } from './fleet.js';
import { Workload } from './workload.js';
import { skipOrFail } from '../helpers/matrix.js';

/*
 * SQLite's disk filled up under a replica at work, then freed. While it is full: writes answer 503 with Retry-After
 * naming the disk, reads go on, readiness fails naming the disk, and the write-ahead log is cut back so that it does
 * not keep the space it grew into. Once space is freed, readiness recovers on its own and everything accepted is
 * carried out. The data directory is a small tmpfs the test mounts (root, as CI runs).
 */

const SIZE = '6m';
const V1 = '/api/compute/v1';

function mountProblem(): string | undefined {
  let reason: string | undefined;
  if (process.getuid?.() !== 0) reason = 'mounting a tmpfs for the disk-full test needs root';
  return skipOrFail('root', reason);
}

/** Fills the filesystem with a file of junk until it refuses more; returns the file. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const chunk = Buffer.alloc(16 * 1024, 1);
  for (;;) {
    try {
      appendFileSync(filler, chunk);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return filler;
      throw error;
    }
  }
}

const skip = mountProblem();

describe('the data disk full under a replica at work', { skip }, () => {
  const mountPoint = mkdtempSync(join(tmpdir(), 'gale-disk-'));
  let fleet: FaultFleet;
  let load: Workload;
  const figures: string[] = [];

  before(async () => {
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE}`, 'tmpfs', mountPoint], { encoding: 'utf8' });
    assert.equal(mounted.status, 0, `mount: ${mounted.stderr}`);
    fleet = await startFaultFleet({ dataDir: join(mountPoint, 'data'), replicas: 1, users: 4 });
    // The first user is the test's own probe; the others are at work.
    load = new Workload({ bases: [fleet.replicas[0]!.base], users: fleet.users.slice(1), template: 'debian-12-micro', deadlineMs: 10_000 });
    load.start();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  });
  after(async () => {
    await load?.stop();
    console.log(`disk faults: ${figures.join('; ')}`);
    await fleet?.close();
    spawnSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  const base = () => fleet.replicas[0]!.base;
  const wal = () => {
    const path = join(mountPoint, 'data', 'gale.db-wal');
    return existsSync(path) ? statSync(path).size : 0;
  };

  test('full: writes answer 503 naming the disk with Retry-After, reads go on, readiness fails naming it', async () => {
    const filler = fill(mountPoint);
    figures.push(`filled with ${(statSync(filler).size / 1024 / 1024).toFixed(1)} MB of junk, the log at ${(wal() / 1024).toFixed(0)} KB`);
    const user = fleet.users[0]!;
    const refused = await eventually(
      'a create to be refused for space',
      () => call(base(), 'POST', `${V1}/instances`, { headers: user.bearer, body: { template_id: 'debian-12-micro' } }),
      (answer) => answer.status === 503,
      30_000,
    );
    assert.equal((refused.body as { error: { code: string; message: string } }).error.code, 'unavailable');
    assert.match((refused.body as { error: { message: string } }).error.message, /the data disk is full/);
    assert.equal(refused.headers.get('retry-after'), '30');
    assert.equal((await call(base(), 'GET', `${V1}/quotas`, { headers: user.bearer })).status, 200, 'reads need no space');
    // The log was cut back when the write failed, and gave its space back: take that too, as other files on a full
    // disk would. Readiness then holds: a disk with less than a whole log's room is not ready.
    fill(mountPoint);
    const ready = await fetch(`${base()}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /disk failed: full: writes fail for space since/);
    figures.push(`while full the log was ${(wal() / 1024).toFixed(0)} KB`);
    assertAllAlive(fleet);
  });

  test('freed: readiness recovers on its own, the log stays small, accepted work is carried out', async () => {
    rmSync(join(mountPoint, 'filler'));
    await eventually('readiness to recover', async () => (await fetch(`${base()}/readyz`)).status, (status) => status === 200, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await load.stop();
    assertAllAlive(fleet);
    const answered = load.assertAnswered('with the disk full and freed');
    const carried = await assertCarriedOut(fleet, load.accepted);
    // The log is cut back to 1 MiB each time it starts over: a burst does not keep the space it took.
    await eventually('the log to be cut back', async () => wal(), (bytes) => bytes <= 1024 * 1024, 30_000);
    const db = new Database(join(mountPoint, 'data', 'gale.db'), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }
    // The test's own create met the full disk (above); the load's writes may or may not have, by chance of timing.
    figures.push(`${answered.requests} requests (${answered.byStatus}), slowest ${answered.maxMs} ms; ${carried.instances} instances carried out; log ${(wal() / 1024).toFixed(0)} KB after`);
  });
});
