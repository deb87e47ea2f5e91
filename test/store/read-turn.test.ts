import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { AsyncMutex } from '../../src/store/sqlite/file-locks.js';
import { GroupCommitter } from '../../src/store/sqlite/group-commit.js';
import type { Database } from '../../src/store/schema.js';
import { GaleSqliteDialect } from '../../src/store/sqlite/dialect.js';

/*
 * Reads outside a transaction share one read transaction per turn of the event loop (ReadTurn in sqlite-dialect.ts).
 * What must hold: the reads of a turn share it and it ends with the turn; a read never sees data older than its turn;
 * a write ends it first, and the reads after a write see the write, whichever handle of the file in this process made
 * it; another process's commit is seen from the next turn.
 */

interface Handle {
  sqlite: BetterSqlite3.Database;
  dialect: GaleSqliteDialect;
  kysely: Kysely<Database>;
  writes: GroupCommitter;
  /** The keys, read through Kysely (a read of the turn). */
  keys(): Promise<number[]>;
  /** The keys, read at once (the hot reads' way). */
  keysNow(): number[] | undefined;
  insert(key: number): Promise<void>;
}

function fixture(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'gale-read-turn-'));
  const file = join(dir, 'test.db');
  const setup = new BetterSqlite3(file);
  setup.pragma('journal_mode = WAL');
  setup.exec('create table t (k integer primary key)');
  setup.close();
  const mutex = new AsyncMutex();
  const handles: Handle[] = [];
  const open = (): Handle => {
    const sqlite = new BetterSqlite3(file);
    const dialect = new GaleSqliteDialect(sqlite, () => mutex.commits);
    const kysely = new Kysely<Database>({ dialect });
    const select = sql<{ k: number }>`select k from t order by k`.compile(kysely);
    const handle: Handle = {
      sqlite,
      dialect,
      kysely,
      writes: new GroupCommitter(kysely, mutex, () => sqlite.inTransaction),
      keys: async () => (await kysely.executeQuery(select)).rows.map((row) => row.k),
      keysNow: () => dialect.readNow(select)?.map((row) => row.k),
      insert: (key) => handle.writes.write(async (trx) => void (await sql`insert into t (k) values (${key})`.execute(trx))),
    };
    handles.push(handle);
    return handle;
  };
  t.after(async () => {
    for (const handle of handles) await handle.kysely.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return { file, open };
}

test('the reads of one turn share one read transaction, which ends with the turn', async (t) => {
  const { open } = fixture(t);
  const a = open();
  assert.deepEqual(await a.keys(), []);
  assert.equal(a.sqlite.inTransaction, true, 'the first read of the turn began a read transaction');
  assert.deepEqual(a.keysNow(), []);
  await nextTurn();
  assert.equal(a.sqlite.inTransaction, false, 'the read transaction outlived its turn');
});

test('a read after a write sees it, from the same handle or another handle of the file in this process', async (t) => {
  const { open } = fixture(t);
  const a = open();
  const b = open();
  await nextTurn();
  // a writes; b takes its snapshot in the same turn, after the write began and before it commits (at the turn's
  // end): the reads that follow the write must see it all the same.
  assert.deepEqual(await a.keys(), []);
  const write = a.insert(1);
  assert.deepEqual(b.keysNow(), []);
  await write;
  assert.deepEqual(await a.keys(), [1]);
  assert.deepEqual(b.keysNow(), [1], 'another handle read a snapshot older than a write that had returned');
  assert.deepEqual(await b.keys(), [1]);
});

test("another process's commit is seen from the next turn on", async (t) => {
  const { file, open } = fixture(t);
  const a = open();
  const other = new BetterSqlite3(file);
  t.after(() => other.close());
  assert.deepEqual(a.keysNow(), []);
  other.prepare('insert into t (k) values (7)').run();
  await nextTurn();
  assert.deepEqual(a.keysNow(), [7]);
  assert.deepEqual(await a.keys(), [7]);
});

test('a read queued behind a write batch runs after its commit and sees it; readNow does not run while the connection is lent', async (t) => {
  const { open } = fixture(t);
  const a = open();
  assert.deepEqual(a.keysNow(), []);
  let duringWrite: number[] | undefined = [];
  let queued: Promise<number[]> | undefined;
  await a.writes.write(async (trx) => {
    await sql`insert into t (k) values (5)`.execute(trx);
    // The batch holds the connection: a read at once would see its uncommitted row, so there is none.
    duringWrite = a.keysNow();
    queued = a.keys();
  });
  assert.equal(duringWrite, undefined);
  assert.deepEqual(await queued, [5]);
  assert.deepEqual(a.keysNow(), [5]);
});
