import type { CompiledQuery, Kysely, LogEvent } from 'kysely';
import type { Clock } from '../domain/clock.js';
import type { IdRange } from '../domain/provider.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

/** Restricts a query to ids in (after, through]; ids compare bytewise on both engines (migration 003). */
export function whereInIdRange<Q extends { where(column: C, op: '>' | '<=', value: string): Q }, C extends string>(query: Q, column: C, range: IdRange | undefined): Q {
  let restricted = query;
  if (range?.after !== undefined) restricted = restricted.where(column, '>', range.after);
  if (range?.through !== undefined) restricted = restricted.where(column, '<=', range.through);
  return restricted;
}

/**
 * What the shared data-access code needs from an engine. The engine files (sqlite.ts, postgres.ts) build it;
 * everything else is written once against it.
 */
export interface Db {
  readonly dialect: DialectName;
  /** For reads outside a transaction. Never write through it: writes must go through write(). */
  readonly kysely: Kysely<Database>;
  readonly clock: Clock;
  /**
   * Runs fn in one write transaction. SQLite: BEGIN IMMEDIATE, so the transaction holds the database's
   * write lock from its first read and two processes can never both act on the same snapshot.
   * PostgreSQL: READ COMMITTED plus explicit row locks (see lockRows), retried on serialization failures
   * and deadlocks, so fn must be safe to run again.
   */
  write<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * True when reads inside write() must lock the rows they decide on (SELECT … FOR UPDATE). SQLite has no
   * row locks and needs none: its write transaction already excludes every other writer.
   */
  readonly lockRows: boolean;
  /** A write that appended events has committed (events.ts). PostgreSQL's NOTIFY has told everyone already. */
  eventsCommitted(): void;
  /** PostgreSQL: the channel this store's events are notified on (one per schema, so that stores sharing a database don't wake each other). */
  readonly eventChannel?: string;
  /** Hears of events appended by this process (SQLite) or any process on the database (PostgreSQL's LISTEN). */
  subscribeToEvents(listener: () => void): () => void;
  readonly queries: QueryCounter;
  /**
   * SQLite: runs a read at once, without Kysely's executor, when the connection is free (undefined when it is not,
   * and the read goes through Kysely). Used by the precompiled hot reads (precompiled.ts).
   */
  readonly readNow?: <R>(query: CompiledQuery<R>) => R[] | undefined;
}

/** Counts the statements a store sends (Kysely's log hook sees every one, in transactions too): gale_store_queries_total. */
export class QueryCounter {
  count = 0;
  readonly log = (event: LogEvent): void => {
    if (event.level === 'query') this.count++;
  };
}

/** The in-process side of event notification: SQLite's, and every process's own listeners. */
export class EventListeners {
  private readonly listeners = new Set<() => void>();

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.listeners.size;
  }

  notify(): void {
    for (const listener of this.listeners) listener();
  }
}

interface CodedError {
  code?: unknown;
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as CodedError).code : undefined;
}

/** A UNIQUE or PRIMARY KEY violation on either engine. */
export function isUniqueViolation(error: unknown): boolean {
  const code = errorCode(error);
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** PostgreSQL errors after which running the whole transaction again is the documented remedy. */
export function isRetryableTransactionError(error: unknown): boolean {
  const code = errorCode(error);
  return code === '40001' || code === '40P01';
}
