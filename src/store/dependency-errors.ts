import { GaleError } from '../domain/errors.js';

/*
 * Failures of the database itself, as opposed to Gale's own bugs: the server restarted, hung, ran out of connections
 * or disk. They are nobody's mistake and pass: the caller is told 503 `unavailable` with a Retry-After, never 500.
 * The message names the dependency and what happened to it, never its address or credentials (those are in the log).
 */

interface Coded {
  code?: unknown;
  message?: unknown;
}

const codeOf = (error: unknown): string => (typeof error === 'object' && error !== null ? String((error as Coded).code ?? '') : '');
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** PostgreSQL SQLSTATEs and Node socket errors that mean the database, not the request, is at fault. */
const POSTGRES_UNREACHABLE = new Set(['57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** pg's own words for a connection that died or never came. */
const POSTGRES_CONNECTION_MESSAGES = [/Connection terminated/i, /Client has encountered a connection error/i, /timeout exceeded when trying to connect/i, /Query read timeout/i, /Client was closed/i];

export type Dependency = 'database' | 'disk';

export class DependencyUnavailable extends GaleError {
  constructor(
    readonly dependency: Dependency,
    message: string,
    retryAfterSeconds: number,
    cause: unknown,
    /** The connection broke under the statement (not a timeout): a read may be run again at once on a new one. */
    readonly connectionLost = false,
  ) {
    super('unavailable', message, { retryAfterSeconds, cause });
    this.name = 'DependencyUnavailable';
  }
}

/** The failure as a DependencyUnavailable when it is one, else undefined (it is then Gale's to explain). */
export function dependencyFailure(error: unknown): DependencyUnavailable | undefined {
  if (error instanceof GaleError) return error instanceof DependencyUnavailable ? error : undefined;
  const code = codeOf(error);
  const message = messageOf(error);
  const unavailable = (dependency: Dependency, what: string, retryAfter: number, connectionLost = false) =>
    new DependencyUnavailable(dependency, what, retryAfter, error, connectionLost);

  // SQLite: the disk, and the other processes sharing the file.
  if (code === 'SQLITE_FULL' || /database or disk is full/i.test(message)) {
    return unavailable('disk', 'the data disk is full: changes cannot be saved until space is freed; retry later', 30);
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return unavailable('database', 'the database is busy; retry in a moment', 1);
  if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY_DBMOVED') {
    return unavailable('database', 'the database file cannot be read or written; retry later', 5);
  }

  // PostgreSQL: connections, timeouts, resources.
  if (code.startsWith('08') || POSTGRES_UNREACHABLE.has(code) || POSTGRES_CONNECTION_MESSAGES.some((pattern) => pattern.test(message))) {
    const timedOut = /timeout/i.test(message) || code === 'ETIMEDOUT';
    return unavailable('database', 'the database is unreachable or restarting; retry in a few seconds', 5, !timedOut);
  }
  if (code === '57014') return unavailable('database', 'the database did not answer in time; retry in a few seconds', 5);
  if (code === '53300' || code === '53400') return unavailable('database', 'the database has no connection to spare; retry in a moment', 1);
  if (code === '53100') return unavailable('disk', "the database server's disk is full; retry later", 30);
  if (code.startsWith('53')) return unavailable('database', 'the database is out of resources; retry later', 5);
  // Serialization failures and deadlocks are retried inside the store; one that outlasts the retries is load.
  if (code === '40001' || code === '40P01' || code === '55P03') return unavailable('database', 'the database is too contended to finish the change; retry in a moment', 1);
  return undefined;
}

/** Methods that only read: run again once when their connection broke under them, as a new one will not. */
const READS = /^(get|list|find|count|ping|installationId|resyncPageEnd)/;

/**
 * Every method of a store, with its driver's failures of the database told apart from Gale's own errors. A read
 * whose connection the server ended (a restart, pg_terminate_backend: the pool finds out only by using it) is run
 * once more on a fresh one; a write is not, since its commit may have happened before the connection went.
 */
export function withDependencyErrors<S extends object>(store: S): S {
  const wrapped: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(store)) {
    if (typeof value !== 'function') {
      wrapped[name] = value;
      continue;
    }
    const method = value as (...args: unknown[]) => unknown;
    const read = READS.test(name);
    wrapped[name] = (...args: unknown[]) => {
      const result = method(...args);
      // Not every method goes to the database (subscribeToEvents hands back a function).
      if (!(result instanceof Promise)) return result;
      return result.catch((error: unknown) => {
        const failure = dependencyFailure(error);
        if (failure?.connectionLost && read) {
          return (method(...args) as Promise<unknown>).catch((again: unknown) => {
            throw dependencyFailure(again) ?? again;
          });
        }
        throw failure ?? error;
      });
    };
  }
  return wrapped as S;
}
