import { once } from 'node:events';
import { newInstanceId } from '../../src/domain/ids.js';
import { openSqliteStore } from '../../src/store/index.js';
import { newInstance, SMALL_TIER } from './fixtures.js';

/*
 * A separate process on a shared SQLite file, driven by sqlite-processes.test.ts:
 *   sqlite-worker.ts <dataDir> open              - waits for "go", opens (migrating), prints the installation id
 *   sqlite-worker.ts <dataDir> create <user> <n> - opens, waits for "go", makes n concurrent creates, prints counts
 * It prints "ready" when it waits, so that the parent can release all workers at the same moment.
 */

const [dataDir, mode, userId, count] = process.argv.slice(2);
if (!dataDir || (mode !== 'open' && mode !== 'create')) throw new Error('usage: sqlite-worker.ts <dataDir> open|create [user n]');

async function waitForGo(): Promise<void> {
  process.stdout.write('ready\n');
  await once(process.stdin, 'data');
}

if (mode === 'open') {
  await waitForGo();
  const store = await openSqliteStore({ dataDir });
  process.stdout.write(`${JSON.stringify({ installationId: await store.installationId() })}\n`);
  await store.close();
} else {
  if (!userId || !count) throw new Error('create needs a user id and a count');
  const store = await openSqliteStore({ dataDir });
  await waitForGo();
  const results = await Promise.allSettled(
    Array.from({ length: Number(count) }, () =>
      store.createInstance(newInstance(userId, { vcpus: 1, diskGb: 1 }), SMALL_TIER, () => newInstanceId(userId)),
    ),
  );
  const created = results.filter((r) => r.status === 'fulfilled').length;
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
  process.stdout.write(`${JSON.stringify({ created, errors })}\n`);
  await store.close();
}
process.stdin.destroy();
