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
  readonly #writesDone: () => number;
  #driver: QueuedSqliteDriver | undefined;

  /** @param writesDone how many write batches this process has finished on the file (ReadTurn): AsyncMutex.commits. */
  constructor(db: BetterSqlite3.Database, writesDone: () => number = () => 0) {
    this.#db = db;
    this.#writesDone = writesDone;
  }

  createDriver(): Driver {
    this.#driver = new QueuedSqliteDriver(this.#db, this.#writesDone);
    return this.#driver;
  }

  /**
   * Runs a read at once, without Kysely's executor, when the connection is free: its rows, or undefined when the
   * connection is lent (the caller then goes through Kysely and waits its turn). Kysely's executor, with the promises
   * of lending and returning the connection, cost about a third of a primary-key read.
   */
  readNow<R>(query: CompiledQuery<R>): R[] | undefined {
    return this.#driver?.readNow(query);
  }

  /** Lets go of this turn's read snapshot now, if the connection is free (a checkpoint cannot truncate past it). */
  endReadTurn(): void {
    this.#driver?.endReadTurn();
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

  constructor(db: BetterSqlite3.Database, writesDone: () => number) {
    this.#db = db;
    this.#connection = new CachedStatementConnection(db, new ReadTurn(db, writesDone, () => this.#lent));
  }

  readNow<R>(query: CompiledQuery<R>): R[] | undefined {
    if (this.#lent) return undefined;
    return this.#connection.read(query);
  }

  endReadTurn(): void {
    if (!this.#lent) this.#connection.endTurn();
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
    this.#connection.endExpiredTurn();
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
  readonly #turn: ReadTurn;
  readonly #statements = new Map<string, BetterSqlite3.Statement>();

  constructor(db: BetterSqlite3.Database, turn: ReadTurn) {
    this.#db = db;
    this.#turn = turn;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.#prepare(compiledQuery.sql);
    this.#turn.before(statement);
    if (statement.reader) return { rows: statement.all(compiledQuery.parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(compiledQuery.parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  /** A read run synchronously, by a caller that checked the connection is not lent. */
  read<R>(compiledQuery: CompiledQuery<R>): R[] {
    const statement = this.#prepare(compiledQuery.sql);
    if (!statement.reader) throw new Error('readNow runs only statements that return rows');
    this.#turn.before(statement);
    return statement.all(compiledQuery.parameters) as R[];
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const statement = this.#db.prepare(compiledQuery.sql);
    if (!statement.reader) throw new Error('only statements that return rows can be streamed');
    this.#turn.before(statement);
    for (const row of statement.iterate(compiledQuery.parameters)) yield { rows: [row as R] };
  }

  endExpiredTurn(): void {
    this.#turn.endIfExpired();
  }

  endTurn(): void {
    this.#turn.end();
  }

  clear(): void {
    this.#turn.end();
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

/**
 * Reads outside a transaction share one read transaction per turn of the event loop. Each read on its own is a
 * transaction of its own, and beginning one in WAL mode costs three system calls (two locks and a stat of the file),
 * about a quarter of a primary-key read whose pages are cached (measured: 7.3 against 5.5 µs); the reads of one turn
 * (every request whose bytes arrived together) now pay them once. What a read sees is unchanged in every way a caller can tell:
 * - the snapshot is taken at the turn's first read and let go when the turn ends (setImmediate) or, if the connection
 *   is lent then, when it is given back, so a read never sees data older than the turn it runs in;
 * - any statement but a read-only one returning rows (BEGIN IMMEDIATE of a write batch, any write) ends it
 *   first, so writes start from the latest data and reads after them see them;
 * - another handle of the same file in this process finishing a write ends it too (writesDone counts those), so a
 *   read that follows a write in program order sees it, whichever handle wrote it. Another process's commit is seen
 *   from the next turn: no message from that process can have arrived in this one's earlier.
 */
class ReadTurn {
  readonly #begin: BetterSqlite3.Statement;
  readonly #commit: BetterSqlite3.Statement;
  #open = false;
  #expired = false;
  #writesDoneAtStart = 0;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly writesDone: () => number,
    private readonly lent: () => boolean,
  ) {
    this.#begin = db.prepare('begin');
    this.#commit = db.prepare('commit');
  }

  /** Before any statement run outside Kysely's transactions as well as in them (those it leaves alone). */
  before(statement: BetterSqlite3.Statement): void {
    // Transaction control (BEGIN IMMEDIATE among it) counts as read-only in SQLite's eyes, but returns no rows.
    if (!statement.reader || !statement.readonly) {
      this.end();
      return;
    }
    if (this.#open && this.#writesDoneAtStart !== this.writesDone()) this.end();
    if (this.#open || this.db.inTransaction) return;
    this.#begin.run();
    this.#open = true;
    this.#expired = false;
    this.#writesDoneAtStart = this.writesDone();
    setImmediate(() => {
      this.#expired = true;
      if (!this.lent()) this.end();
    });
  }

  endIfExpired(): void {
    if (this.#expired) this.end();
  }

  end(): void {
    if (!this.#open) return;
    this.#open = false;
    if (!this.db.open || !this.db.inTransaction) return;
    try {
      this.#commit.run();
    } catch {
      // Ending a read-only transaction cannot lose anything: if COMMIT is refused, ROLLBACK ends it all the same.
      try {
        this.db.exec('rollback');
      } catch {
        // Nothing is left to end.
      }
    }
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
