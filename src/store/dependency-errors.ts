import { GaleError } from '../domain/errors.js';
import { driverMessageKind, sqliteKind, sqlstateKind, systemErrorKind, type Dependency, type FailureKind } from './failure-kinds.js';

/*
 * Failures of the database itself, as opposed to Gale's own bugs: the server restarted, hung, refused connections, ran
 * out of connections or disk. They are nobody's mistake and pass: the caller is told 503 `unavailable` with a
 * Retry-After, never 500. The message names the dependency and what happened to it, never its address or credentials
 * (those are in the log). Which errors they are is decided by kind in failure-kinds.ts, not listed one by one.
 */

interface Coded {
  code?: unknown;
  syscall?: unknown;
}

const codeOf = (error: unknown): string => (typeof error === 'object' && error !== null ? String((error as Coded).code ?? '') : '');
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export type { Dependency };

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

/**
 * What a driver's error is, by where it came from: Node's system errors, SQLite, PostgreSQL's SQLSTATE, pg itself;
 * else what it wraps (a failed migration wraps the driver's error), else Gale's bug.
 */
export function failureKind(error: unknown, depth = 0): FailureKind {
  const code = codeOf(error);
  const syscall = typeof error === 'object' && error !== null ? (error as Coded).syscall : undefined;
  const kind = systemErrorKind(code, syscall) ?? sqliteKind(code) ?? sqlstateKind(code) ?? driverMessageKind(messageOf(error));
  if (kind) return kind;
  const wraps = error instanceof Error && error.cause !== undefined && !(error.cause instanceof GaleError) && depth < 5;
  return wraps ? failureKind(error.cause, depth + 1) : { fault: 'bug' };
}

/**
 * The failure as a DependencyUnavailable when it is one, else undefined (it is then Gale's or the caller's).
 * `starting`: the first contact at start-up, where a refused password or a missing database is a wrong setting that
 * waiting cannot mend; once running, the same refusal means the database changed under Gale, and passes.
 */
export function dependencyFailure(error: unknown, when: 'running' | 'starting' = 'running'): DependencyUnavailable | undefined {
  if (error instanceof GaleError) return error instanceof DependencyUnavailable ? error : undefined;
  const kind = failureKind(error);
  if (kind.fault !== 'dependency' || (kind.whileRunning && when === 'starting')) return undefined;
  return new DependencyUnavailable(kind.dependency, kind.message, kind.retryAfterSeconds, error, kind.connectionLost ?? false);
}

/**
 * A driver's error as the typed error it is: a dependency's (503 with Retry-After) or the caller's (a value the
 * database cannot store, 400; a clash with a concurrent change, 409); undefined for Gale's own bugs, which stay 500.
 */
export function storeFailure(error: unknown): GaleError | undefined {
  if (error instanceof GaleError) return error;
  const kind = failureKind(error);
  if (kind.fault === 'caller') return new GaleError(kind.code, kind.message, { cause: error });
  return dependencyFailure(error);
}

/** Methods that only read: run again once when their connection broke under them, as a new one will not. */
const READS = /^(get|list|find|count|ping|installationId|resyncPageEnd)/;

/**
 * Every method of a store, with its driver's failures of the database (and the caller's, see storeFailure) told apart
 * from Gale's own errors. A read whose connection the server ended (a restart, pg_terminate_backend: the pool finds
 * out only by using it) is run once more on a fresh one; a write is not, since its commit may have happened before the
 * connection went.
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
        const failure = storeFailure(error);
        if (failure instanceof DependencyUnavailable && failure.connectionLost && read) {
          return (method(...args) as Promise<unknown>).catch((again: unknown) => {
            throw storeFailure(again) ?? again;
          });
        }
        throw failure ?? error;
      });
    };
  }
  return wrapped as S;
}
