import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore } from '../../src/store/index.js';
import { eventually } from '../helpers/http.js';
import { addUser, create } from './fixtures.js';

/*
 * The server's connection only appends to the write-ahead log (its own automatic checkpoint is a backstop at 10,000
 * pages); a worker copies the log into the database file. Writing 300 large rows (about ten frames each), short of the backstop, must still
 * reach gale.db: only the worker can have put it there. (Each commit appends every page it changed, so the log
 * holds several frames per row.) Closing the store must also stop the worker.
 */
test('a worker checkpoints the write-ahead log into the database file, and stops with the store', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gale-wal-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const store = await openSqliteStore({ dataDir });
  const database = join(dataDir, 'gale.db');
  const before = statSync(database).size;
  const user = await addUser(store);
  // Distinct long zone names make each row large, so that a few thousand rows fill thousands of pages.
  for (let i = 0; i < 300; i++) await create(store, user.id, { zone: `zone-${i}-${'z'.repeat(1_500)}`, createdAt: i });
  const walPages = statSync(`${database}-wal`).size / 4096;
  assert.ok(walPages < 10_000, `the log holds ${walPages.toFixed(0)} pages, short of the backstop`);
  await eventually('the log to reach the database file', async () => statSync(database).size, (size) => size > before + 400_000, 10_000);
  await store.close();
  assert.equal((await openSqliteStore({ dataDir }).then(async (again) => {
    const count = (await again.listUserInstances(user.id)).length;
    await again.close();
    return count;
  })), 300, 'every row is there after a reopen');
});
