import type BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';

/**
 * Kysely's SQLite dialect, with its driver replaced. Kysely's own driver is correct but not made for a
 * server under load: its mutex wakes every waiting query on each release (quadratic with the number of
 * concurrent requests) and it prepares each statement afresh. Ours differs in three ways:
 * - waiting queries are served first come, first served, one wake-up each;
 * - prepared statements are kept by SQL text: parsing and planning costs more than a primary-key lookup;
 * - transactions BEGIN IMMEDIATE: a deferred BEGIN takes the write lock only at its first write, so two
 *   processes could both read the same quota usage, and the loser's lock upgrade fails with SQLITE_BUSY
 *   without waiting (busy_timeout does not apply to it). IMMEDIATE takes the lock up front, waiting for it.
 * The adapter also reports transactional DDL, which SQLite has, so that Kysely's Migrator runs pending
 * migrations in such a transaction: that is its lock against a second process migrating at the same time.
 */
export class GaleSqliteDialect implements Dialect {
  readonly #db: BetterSqlite3.Database;

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
  }

  createDriver(): Driver {
    return new QueuedSqliteDriver(this.#db);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new TransactionalDdlAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

class TransactionalDdlAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/** One connection, lent to one query or transaction at a time, in arrival order. */
class QueuedSqliteDriver implements Driver {
  readonly #db: BetterSqlite3.Database;
  readonly #connection: CachedStatementConnection;
  readonly #waiting = new FifoQueue<() => void>();
  #lent = false;

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
    this.#connection = new CachedStatementConnection(db);
  }

  async init(): Promise<void> {}

  acquireConnection(): Promise<DatabaseConnection> {
    if (!this.#lent) {
      this.#lent = true;
      return Promise.resolve(this.#connection);
    }
    return new Promise((resolve) => this.#waiting.push(() => resolve(this.#connection)));
  }

  async releaseConnection(): Promise<void> {
    const next = this.#waiting.shift();
    // Handed straight to the next in line: #lent stays true, so nobody can slip in between.
    if (next) next();
    else this.#lent = false;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async destroy(): Promise<void> {
    this.#connection.clear();
    this.#db.close();
  }
}

// Enough for every distinct statement the store issues; lists of varying length (IN (...)) add more.
const MAX_CACHED_STATEMENTS = 256;

/** Safe to share prepared statements: the driver runs one statement at a time and never leaves one mid-iteration. */
class CachedStatementConnection implements DatabaseConnection {
  readonly #db: BetterSqlite3.Database;
  readonly #statements = new Map<string, BetterSqlite3.Statement>();

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.#prepare(compiledQuery.sql);
    if (statement.reader) return { rows: statement.all(compiledQuery.parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(compiledQuery.parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const statement = this.#db.prepare(compiledQuery.sql);
    if (!statement.reader) throw new Error('only statements that return rows can be streamed');
    for (const row of statement.iterate(compiledQuery.parameters)) yield { rows: [row as R] };
  }

  clear(): void {
    this.#statements.clear();
  }

  #prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      // Crude but bounded: clearing costs re-preparing the hot few, which refill at once.
      if (this.#statements.size >= MAX_CACHED_STATEMENTS) this.#statements.clear();
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/** An array queue with O(1) shift: a plain Array#shift copies the rest, quadratic under a deep queue. */
class FifoQueue<T> {
  #items: Array<T | undefined> = [];
  #head = 0;

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
