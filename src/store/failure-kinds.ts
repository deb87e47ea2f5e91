/*
 * Whose fault a driver's error is, decided by where it came from and by its kind, never by a list of the codes seen
 * so far: PostgreSQL's SQLSTATEs by their class (the first two characters), with the few codes that differ from their
 * class named; SQLite's result codes by their primary code; Node's system errors (sockets, files) by errno name;
 * node-postgres's own errors, which carry no code, by their words. What is named nowhere is Gale's bug (500):
 * test/unit/sqlstate-classes.test.ts walks every class and code in PostgreSQL's errcodes.txt so that no class is a
 * 500 by omission.
 */

export type Dependency = 'database' | 'disk';

export type FailureKind =
  /** The database, its server or the disk failed: nobody's mistake, it passes; 503 with Retry-After. */
  | {
      fault: 'dependency';
      dependency: Dependency;
      message: string;
      retryAfterSeconds: number;
      /** The connection broke under the statement (not a timeout): a read may be run again at once on a new one. */
      connectionLost?: boolean;
      /** Only a fault once Gale is running; at start-up it is a wrong setting, which waiting does not mend. */
      whileRunning?: boolean;
    }
  /** What the request asked for cannot be stored, or clashed with a change made at the same time. */
  | { fault: 'caller'; code: 'invalid_request' | 'conflict'; message: string }
  /** Gale asked the database for something wrong: its own bug, 500. */
  | { fault: 'bug' };

const dependency = (message: string, retryAfterSeconds: number, more: Partial<Extract<FailureKind, { fault: 'dependency' }>> = {}): FailureKind => ({
  fault: 'dependency',
  dependency: 'database',
  message,
  retryAfterSeconds,
  ...more,
});
const BUG: FailureKind = { fault: 'bug' };

// The messages name the dependency and what happened to it, never its address or credentials (those are in the log).
const UNREACHABLE = dependency('the database is unreachable or restarting; retry in a few seconds', 5, { connectionLost: true });
const TIMED_OUT = dependency('the database did not answer in time; retry in a few seconds', 5);
const REFUSING = dependency('the database is not accepting connections (an operator or a failover); retry in a few seconds', 5);
const NO_CONNECTION = dependency('the database has no connection to spare; retry in a moment', 1);
const OUT_OF_RESOURCES = dependency('the database is out of resources; retry later', 5);
const SERVER_DISK_FULL = dependency("the database server's disk is full; retry later", 30, { dependency: 'disk' });
const CONTENDED = dependency('the database is too contended to finish the change; retry in a moment', 1);
const READ_ONLY = dependency('the database is read-only (a standby, or a failover under way); retry in a few seconds', 5);
const ACCESS_GONE = dependency("the database refused Gale's access: the database, its role or their rights changed while Gale ran; retry later", 30, {
  whileRunning: true,
});
const SERVER_FAILED = dependency('the database server failed (an I/O, configuration or internal error on its side); retry later', 30);
const UNSTORABLE: FailureKind = {
  fault: 'caller',
  code: 'invalid_request',
  message: 'a value in the request cannot be stored (text with a NUL character, say, or a number out of range); correct it and send again',
};
const CLASH: FailureKind = { fault: 'caller', code: 'conflict', message: 'the change clashes with another made at the same time; read the current state and retry' };

/** PostgreSQL's SQLSTATE classes that are not Gale's bug; every other class is. */
const SQLSTATE_CLASSES = new Map<string, FailureKind>([
  ['08', UNREACHABLE], // connection exception
  ['22', UNSTORABLE], // data exception: a value the request carried that validation let through
  ['28', ACCESS_GONE], // invalid authorization: the password or role changed under a running server
  ['3D', ACCESS_GONE], // invalid catalog name: the database was dropped or renamed
  ['40', CONTENDED], // transaction rollback: serialization failures and deadlocks that outlasted the store's retries
  ['53', OUT_OF_RESOURCES], // insufficient resources
  ['57', UNREACHABLE], // operator intervention: shut down, crashed, terminated, starting
  ['58', SERVER_FAILED], // system error outside PostgreSQL: its files, its disk
  ['72', CONTENDED], // snapshot too old: the same statement on a new snapshot succeeds
  ['F0', SERVER_FAILED], // the server's configuration file
  ['XX', SERVER_FAILED], // PostgreSQL's own internal error, or corrupted data and indexes
]);

/** Codes whose verdict differs from their class's. */
const SQLSTATE_CODES = new Map<string, FailureKind>([
  ['23001', CLASH], // restrict_violation: a row another request still refers to
  ['23503', CLASH], // foreign_key_violation: what it refers to was deleted meanwhile
  ['23505', CLASH], // unique_violation: another request made the same thing first
  ['23P01', CLASH], // exclusion_violation
  ['25006', READ_ONLY], // read_only_sql_transaction: connected to a standby
  ['25P03', UNREACHABLE], // idle_in_transaction_session_timeout: the server ended the session
  ['40002', CLASH], // transaction_integrity_constraint_violation: a deferred constraint at commit
  ['40003', UNREACHABLE], // statement_completion_unknown: the connection went during the commit
  ['42501', ACCESS_GONE], // insufficient_privilege: Gale's rights were revoked
  ['53100', SERVER_DISK_FULL],
  ['53300', NO_CONNECTION], // too_many_connections
  ['53400', NO_CONNECTION], // configuration_limit_exceeded (the role's connection limit)
  ['55000', REFUSING], // object_not_in_prerequisite_state: "database is not currently accepting connections"
  ['55P03', CONTENDED], // lock_not_available
  ['57014', TIMED_OUT], // query_canceled: statement_timeout
  ['57P04', ACCESS_GONE], // database_dropped
]);

const SQLSTATE = /^[0-9A-Z]{5}$/;

export function sqlstateKind(code: string): FailureKind | undefined {
  if (!SQLSTATE.test(code)) return undefined;
  return SQLSTATE_CODES.get(code) ?? SQLSTATE_CLASSES.get(code.slice(0, 2)) ?? BUG;
}

const FILE_TROUBLE = dependency('the database file cannot be read or written; retry later', 5);
const DATA_DISK_FULL = dependency('the data disk is full: changes cannot be saved until space is freed; retry later', 30, { dependency: 'disk' });
const DATA_DIR_DENIED = dependency('the data directory cannot be written: its file system is read-only or its permissions changed; retry later', 30, {
  dependency: 'disk',
});
const OUT_OF_MEMORY = dependency('the server is out of memory; retry later', 5);
const OUT_OF_FILES = dependency('the server has run out of open files; retry in a moment', 5);
const BUSY = dependency('the database is busy; retry in a moment', 1);
const DAMAGED = dependency('the database file is damaged; an operator must restore it', 30);

/**
 * SQLite's primary result codes (better-sqlite3 reports extended ones, SQLITE_IOERR_WRITE and the like). CORRUPT and
 * NOTADB are the file's fault, the disk's or another program's, not a request's nor Gale's code: a dependency that an
 * operator must restore, named as such rather than hidden behind a 500.
 */
const SQLITE_PRIMARY = new Map<string, FailureKind>([
  ['SQLITE_FULL', DATA_DISK_FULL],
  ['SQLITE_BUSY', BUSY],
  ['SQLITE_LOCKED', BUSY],
  ['SQLITE_PROTOCOL', BUSY],
  ['SQLITE_IOERR', FILE_TROUBLE],
  ['SQLITE_CANTOPEN', FILE_TROUBLE],
  ['SQLITE_READONLY', FILE_TROUBLE],
  ['SQLITE_PERM', DATA_DIR_DENIED],
  ['SQLITE_NOMEM', OUT_OF_MEMORY],
  ['SQLITE_CORRUPT', DAMAGED],
  ['SQLITE_NOTADB', DAMAGED],
]);
const SQLITE_CONSTRAINTS = new Map<string, FailureKind>([
  ['SQLITE_CONSTRAINT_UNIQUE', CLASH],
  ['SQLITE_CONSTRAINT_PRIMARYKEY', CLASH],
  ['SQLITE_CONSTRAINT_FOREIGNKEY', CLASH],
]);

export function sqliteKind(code: string): FailureKind | undefined {
  if (!code.startsWith('SQLITE_')) return undefined;
  const primary = /^SQLITE_[A-Z]+/.exec(code)?.[0] ?? code;
  return SQLITE_CONSTRAINTS.get(code) ?? SQLITE_PRIMARY.get(primary) ?? BUG;
}

/** Node's system errors, by errno name: a socket to the database, or the data directory's file system. */
const SYSTEM_ERRORS = new Map<string, FailureKind>([
  ...['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'].map(
    (code) => [code, UNREACHABLE] as const,
  ),
  ['ETIMEDOUT', TIMED_OUT],
  ['ENOSPC', DATA_DISK_FULL],
  ['EDQUOT', DATA_DISK_FULL],
  ['EIO', FILE_TROUBLE],
  ['EROFS', DATA_DIR_DENIED],
  ['EACCES', DATA_DIR_DENIED],
  ['EPERM', DATA_DIR_DENIED],
  ['EMFILE', OUT_OF_FILES],
  ['ENFILE', OUT_OF_FILES],
  ['ENOMEM', OUT_OF_MEMORY],
]);

export function systemErrorKind(code: string, syscall: unknown): FailureKind | undefined {
  // A socket to the database refused for permissions (a unix socket's mode) is the database out of reach.
  if (syscall === 'connect' && (code === 'EACCES' || code === 'EPERM')) return UNREACHABLE;
  return SYSTEM_ERRORS.get(code);
}

/** node-postgres's and its pool's own errors: a connection that died or never came, without a SQLSTATE. */
const DRIVER_MESSAGES: Array<[RegExp, FailureKind]> = [
  [/timeout exceeded when trying to connect|Connection terminated due to connection timeout|Query read timeout|timeout expired/i, TIMED_OUT],
  [/Connection terminated|Client has encountered a connection error|Client was closed|error establishing an SSL connection/i, UNREACHABLE],
  // A store closed under a request still at work ('Cannot use a pool after calling end', 'The database connection is
  // not open') is not here on purpose: shutdown answers what it has received before it closes the store, so meeting a
  // closed one is Gale's bug, 500 (test/http/conflicts.test.ts closes the store to make one).
  // SQLite's words when its code is missing (an error wrapped on the way).
  [/database or disk is full/i, DATA_DISK_FULL],
];

export function driverMessageKind(message: string): FailureKind | undefined {
  return DRIVER_MESSAGES.find(([pattern]) => pattern.test(message))?.[1];
}
