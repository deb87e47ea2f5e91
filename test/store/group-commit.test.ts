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
 * Writes started in one turn of the event loop share one SQLite transaction, each in its own savepoint. What must
 * hold: one commit for the turn; a write's promise settles only once its commit is on disk (another connection sees
 * it); a failing write is undone alone; a transaction the database threw away fails every write it carried, and
 * the next turn writes again.
 */

interface Fixture {
  writes: GroupCommitter;
  /** The keys committed, read through a second connection: what another process would see. */
  committed(): number[];
  insert(key: number): (trx: Kysely<Database>) => Promise<void>;
}

function open(t: TestContext): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'gale-group-commit-'));
  const file = join(dir, 'test.db');
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.exec('create table t (k integer primary key)');
  const kysely = new Kysely<Database>({ dialect: new GaleSqliteDialect(sqlite) });
  const reader = new BetterSqlite3(file, { readonly: true });
  t.after(async () => {
    reader.close();
    await kysely.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    writes: new GroupCommitter(kysely, new AsyncMutex(), () => sqlite.inTransaction),
    committed: () => (reader.prepare('select k from t order by k').all() as Array<{ k: number }>).map((row) => row.k),
    insert: (key) => async (trx) => {
      await sql`insert into t (k) values (${key})`.execute(trx);
    },
  };
}

test('the writes of one turn share one commit, and each settles only once it is committed', async (t) => {
  const { writes, committed, insert } = open(t);
  const seenWhenSettled: number[][] = [];
  await Promise.all(
    Array.from({ length: 20 }, (_, key) => writes.write(insert(key)).then(() => seenWhenSettled.push(committed()))),
  );
  assert.deepEqual(writes.counts, { commits: 1, writes: 20 });
  assert.deepEqual(committed(), Array.from({ length: 20 }, (_, key) => key));
  for (const seen of seenWhenSettled) assert.equal(seen.length, 20, 'a write was answered before its commit');

  await writes.write(insert(100));
  await nextTurn();
  await writes.write(insert(101));
  assert.equal(writes.counts.commits, 3, 'a write of a later turn goes into a transaction of its own');
});

test('a write that fails is undone alone: the rest of its batch commits', async (t) => {
  const { writes, committed, insert } = open(t);
  const outcomes = await Promise.allSettled([
    writes.write(insert(1)),
    writes.write(async (trx) => {
      await insert(2)(trx);
      throw new Error('refused after writing');
    }),
    // The same key again: SQLite refuses the statement, the transaction lives on.
    writes.write(insert(1)),
    writes.write(insert(3)),
  ]);
  assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
  assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /refused after writing/);
  assert.match(String((outcomes[2] as PromiseRejectedResult).reason), /UNIQUE/);
  assert.deepEqual(committed(), [1, 3]);
  assert.deepEqual(writes.counts, { commits: 1, writes: 2 });
});

test('a transaction the database ends fails every write it carried, and the next turn writes again', async (t) => {
  const { writes, committed, insert } = open(t);
  const outcomes = await Promise.allSettled([
    writes.write(insert(1)),
    writes.write(async (trx) => {
      await sql`rollback`.execute(trx);
    }),
    writes.write(insert(3)),
  ]);
  assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected', 'rejected'], 'nobody is told a lost write is done');
  assert.deepEqual(committed(), []);
  await writes.write(insert(4));
  assert.deepEqual(committed(), [4]);
});
