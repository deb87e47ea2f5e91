import { CompiledQuery, type ControlledTransaction, type Kysely } from 'kysely';
import type { AsyncMutex } from './file-locks.js';
import type { Database } from '../schema.js';

/*
 * Group commit for SQLite. A commit appends every page the transaction changed to the WAL, two write calls a page,
 * and that is most of what a small write transaction costs. Writes that arrive in the same turn of the event loop
 * (the requests of every socket that had data) therefore share one transaction: each runs in a savepoint of its own,
 * so a write that fails is undone alone, and the transaction commits once the turn is over (setImmediate). A write's
 * promise settles only after that commit, so nobody is told "done" before the write is durable.
 *
 * Between its writes the batch holds the store's one connection: reads issued meanwhile wait for the commit, at most
 * the rest of the turn, and never see a write that is not committed.
 */

// Every write opens and releases a savepoint: compiled once rather than at each write.
const SAVEPOINT = CompiledQuery.raw('savepoint gale_write');
const RELEASE = CompiledQuery.raw('release gale_write');
const ROLLBACK_TO = CompiledQuery.raw('rollback to gale_write');

/** A bound on one batch, so that its WAL growth and the wait of its first writer stay small. */
const MAX_WRITES_PER_BATCH = 256;

type Write = (trx: Kysely<Database>) => Promise<void>;

interface Batch {
  /** The writes of the batch, run one after another; never rejects (each write catches its own failure). */
  tail: Promise<void>;
  trx?: ControlledTransaction<Database>;
  /** Set when the transaction itself is lost (BEGIN failed, or SQLite rolled it back): nothing more may run in it. */
  lost?: unknown;
  writes: number;
  closing: boolean;
  /** Settles each write that succeeded, once the commit has (or has not) happened. */
  settle: Array<(commitError: unknown) => void>;
}

export class GroupCommitter {
  #open: Batch | undefined;
  /** Transactions committed and writes they carried, for tests and for the performance notes. */
  readonly counts = { commits: 0, writes: 0 };

  /**
   * @param mutex held for the whole batch: other handles of the same file in this process write after it.
   * @param inTransaction whether the connection is still in a transaction (SQLite ends it itself on some errors).
   */
  constructor(
    private readonly kysely: Kysely<Database>,
    private readonly mutex: AsyncMutex,
    private readonly inTransaction: () => boolean,
  ) {}

  write<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    const batch = this.#batchToJoin();
    batch.writes++;
    return new Promise<T>((resolve, reject) => {
      const step: Write = async (trx) => {
        await trx.executeQuery(SAVEPOINT);
        let result: T;
        try {
          result = await fn(trx);
        } catch (error) {
          await this.#undo(batch, trx);
          reject(error);
          return;
        }
        await trx.executeQuery(RELEASE);
        batch.settle.push((commitError) => (commitError === undefined ? resolve(result) : reject(commitError)));
      };
      batch.tail = batch.tail.then(() => this.#run(batch, step, reject));
    });
  }

  #batchToJoin(): Batch {
    const open = this.#open;
    if (open && !open.closing && open.writes < MAX_WRITES_PER_BATCH) return open;
    const batch: Batch = { tail: Promise.resolve(), writes: 0, closing: false, settle: [] };
    this.#open = batch;
    let releaseMutex: () => void = () => {};
    const committed = new Promise<void>((resolve) => {
      releaseMutex = resolve;
    });
    const acquired = new Promise<void>((resolve) => {
      void this.mutex.run(() => {
        resolve();
        return committed;
      });
    });
    batch.tail = acquired.then(async () => {
      try {
        batch.trx = await this.kysely.startTransaction().execute();
      } catch (error) {
        batch.lost = error;
      }
    });
    // Whatever joins before the loop's check phase shares the commit; later writes open the next batch.
    setImmediate(() => {
      batch.closing = true;
      if (this.#open === batch) this.#open = undefined;
      void batch.tail.then(() => this.#commit(batch)).finally(releaseMutex);
    });
    return batch;
  }

  async #run(batch: Batch, step: Write, reject: (error: unknown) => void): Promise<void> {
    if (batch.lost !== undefined || !batch.trx) {
      reject(batch.lost);
      return;
    }
    try {
      await step(batch.trx);
    } catch (error) {
      // The savepoint statements themselves failed: the transaction is in no state to go on.
      batch.lost = error;
      reject(error);
    }
  }

  /** Undoes a failed write alone; if SQLite has already rolled back the whole transaction, the batch is lost. */
  async #undo(batch: Batch, trx: Kysely<Database>): Promise<void> {
    if (!this.inTransaction()) {
      batch.lost = new Error('the write transaction was rolled back by the database after an error');
      return;
    }
    try {
      await trx.executeQuery(ROLLBACK_TO);
      await trx.executeQuery(RELEASE);
    } catch (error) {
      batch.lost = error;
    }
  }

  async #commit(batch: Batch): Promise<void> {
    let commitError: unknown = batch.lost;
    if (batch.trx) {
      if (commitError === undefined) {
        try {
          await batch.trx.commit().execute();
          this.mutex.commits++;
          this.counts.commits++;
          this.counts.writes += batch.settle.length;
        } catch (error) {
          commitError = error;
        }
      }
      if (!batch.trx.isCommitted && !batch.trx.isRolledBack) await batch.trx.rollback().execute().catch(() => {});
    }
    // A write whose effects did not reach the disk is told so, with the reason, never "done".
    for (const settle of batch.settle) settle(commitError ?? undefined);
  }
}
