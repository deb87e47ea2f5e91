import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import Fastify from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { registerErrorHandling } from '../../src/api/error-handling.js';
import { STATUS_OF } from '../../src/api/error-envelope.js';
import type { GaleApp, ApiServices } from '../../src/api/services.js';
import type { GaleMetrics } from '../../src/observability/metrics.js';
import { dependencyFailure, storeFailure, withDependencyErrors } from '../../src/store/dependency-errors.js';

/*
 * Every SQLSTATE PostgreSQL can raise, and whose fault it is when a store method fails with it: the caller's (4xx,
 * which), a dependency's (503 with Retry-After) or Gale's bug (500). The list is PostgreSQL's own errcodes.txt
 * (test/fixtures/postgresql-15-errcodes.txt, from PostgreSQL 15.20): a class or a code this table does not decide
 * fails the test, so that a new kind of outage cannot be a 500 by omission. Replace the fixture with a newer
 * errcodes.txt to check a newer server's codes.
 */

type Fault = 400 | 409 | 500 | 503;

/** Each class, and why. */
const CLASSES: Record<string, Fault> = {
  '00': 500, // successful completion: never an error; a driver reporting one as such is a bug
  '01': 500, // warning: idem
  '02': 500, // no data: idem
  '03': 500, // SQL statement not yet complete: Gale's SQL
  '08': 503, // connection exception: the server went away or never came
  '09': 500, // triggered action exception: Gale has no triggers
  '0A': 500, // feature not supported: Gale's SQL
  '0B': 500, // invalid transaction initiation: Gale's transactions
  '0F': 500, // locator exception
  '0L': 500, // invalid grantor: Gale grants nothing
  '0P': 500, // invalid role specification
  '0Z': 500, // diagnostics exception
  '20': 500, // case not found: PL/pgSQL
  '21': 500, // cardinality violation: Gale's SQL
  '22': 400, // data exception: a value the request carried (a NUL in a text, a number out of range)
  '23': 500, // integrity constraint violation: a row Gale built badly (but see the clashes below)
  '24': 500, // invalid cursor state
  '25': 500, // invalid transaction state: Gale's transactions (but see read-only and the idle timeout below)
  '26': 500, // invalid SQL statement name: prepared statements
  '27': 500, // triggered data change violation
  '28': 503, // invalid authorization: credentials or role changed under a running server
  '2B': 500, // dependent privilege descriptors still exist
  '2D': 500, // invalid transaction termination
  '2F': 500, // SQL routine exception
  '34': 500, // invalid cursor name
  '38': 500, // external routine exception
  '39': 500, // external routine invocation exception
  '3B': 500, // savepoint exception
  '3D': 503, // invalid catalog name: the database was dropped or renamed under a running server
  '3F': 500, // invalid schema name: Gale names its schema
  '40': 503, // transaction rollback: contention that outlasted the retries (but see 40002)
  '42': 500, // syntax error or access rule violation: Gale's SQL (but see 42501)
  '44': 500, // WITH CHECK OPTION violation
  '53': 503, // insufficient resources: disk, memory, connections
  '54': 500, // program limit exceeded: Gale's statements are bounded
  '55': 500, // object not in prerequisite state (but see 55000, 55P03)
  '57': 503, // operator intervention: shutdown, crash, terminated, starting, cancelled
  '58': 503, // system error outside PostgreSQL: its files and disk
  '72': 503, // snapshot too old: the statement again succeeds
  F0: 503, // the server's configuration file
  HV: 500, // foreign data wrapper: Gale uses none
  P0: 500, // PL/pgSQL: Gale raises none
  XX: 503, // PostgreSQL's internal error, corrupted data or index: the database's fault, an operator's to mend
};

/** The codes whose fault differs from their class's, and why. */
const CODES: Record<string, Fault> = {
  '23001': 409, // restrict violation: a row another request still refers to
  '23503': 409, // foreign key violation: what the row refers to was deleted meanwhile
  '23505': 409, // unique violation: another request made the same thing first
  '23P01': 409, // exclusion violation
  '25006': 503, // read-only SQL transaction: connected to a standby during a failover
  '25P03': 503, // idle-in-transaction timeout: the server ended the session
  '40002': 409, // integrity constraint violation at commit
  '42501': 503, // insufficient privilege: Gale's rights were revoked while it ran
  '55000': 503, // "database is not currently accepting connections" (ALTER DATABASE ... ALLOW_CONNECTIONS false)
  '55P03': 503, // lock not available
};

const FIXTURE = new URL('../fixtures/postgresql-15-errcodes.txt', import.meta.url);

function errcodes(): { classes: Set<string>; codes: string[] } {
  const classes = new Set<string>();
  const codes = new Set<string>();
  for (const line of readFileSync(FIXTURE, 'utf8').split('\n')) {
    const section = /^Section: Class (\S\S) /.exec(line);
    if (section) classes.add(section[1]!);
    const code = /^([0-9A-Z]{5})\s+[EWS]\s/.exec(line);
    if (code) codes.add(code[1]!);
  }
  return { classes, codes: [...codes] };
}

/** What pg hands over for a server's error: a DatabaseError with the SQLSTATE in `code`. */
const serverError = (code: string): Error => Object.assign(new Error(`synthetic ${code}`), { code, severity: 'ERROR' });

const expected = (code: string): Fault => CODES[code] ?? CLASSES[code.slice(0, 2)]!;

function statusOf(error: Error): { status: number; retryAfter?: number } {
  const typed = storeFailure(error);
  return typed ? { status: STATUS_OF[typed.code], retryAfter: typed.retryAfterSeconds } : { status: 500 };
}

test('the table decides every class and every code of errcodes.txt, and names nothing PostgreSQL does not have', () => {
  const { classes, codes } = errcodes();
  assert.ok(classes.size >= 40 && codes.length >= 250, `the fixture parsed: ${classes.size} classes, ${codes.length} codes`);
  assert.deepEqual([...classes].filter((c) => !(c in CLASSES)), [], 'classes in errcodes.txt that the table does not decide');
  assert.deepEqual(Object.keys(CLASSES).filter((c) => !classes.has(c)), [], 'classes in the table that errcodes.txt does not have');
  assert.deepEqual(Object.keys(CODES).filter((c) => !codes.includes(c)), [], 'codes in the table that errcodes.txt does not have');
});

test('every SQLSTATE is classified as the table says: the caller 4xx, a dependency 503 with Retry-After, a bug 500', () => {
  const wrong: string[] = [];
  for (const code of errcodes().codes) {
    const { status, retryAfter } = statusOf(serverError(code));
    if (status !== expected(code)) wrong.push(`${code}: ${status}, not ${expected(code)}`);
    if (status === 503 && !(retryAfter !== undefined && retryAfter >= 1)) wrong.push(`${code}: 503 without Retry-After`);
  }
  assert.deepEqual(wrong, []);
});

test('over HTTP: each answer has the status, the envelope and the Retry-After the table says, naming no address', async () => {
  const app = Fastify({ logger: false }).withTypeProvider<TypeBoxTypeProvider>() as GaleApp;
  // The metrics and tiers are read only for quota errors, which a store never raises.
  registerErrorHandling(app, {} as GaleMetrics, {} as Pick<ApiServices, 'tiers' | 'defaultTier'>);
  const store = withDependencyErrors({
    async getThing(code: string): Promise<never> {
      throw Object.assign(serverError(code), { message: `synthetic ${code} from 10.1.2.3:5432` });
    },
  });
  app.get<{ Params: { code: string } }>('/fail/:code', async (request) => store.getThing(request.params.code));
  const wrong: string[] = [];
  for (const code of errcodes().codes) {
    const answer = await app.inject({ method: 'GET', url: `/fail/${code}` });
    const body = answer.json<{ error: { code: string; message: string } }>();
    if (answer.statusCode !== expected(code)) wrong.push(`${code}: ${answer.statusCode}, not ${expected(code)}`);
    if (answer.statusCode === 503 && !(Number(answer.headers['retry-after']) >= 1)) wrong.push(`${code}: no Retry-After`);
    if (answer.statusCode !== 503 && answer.headers['retry-after'] !== undefined) wrong.push(`${code}: Retry-After on a ${answer.statusCode}`);
    if (/10\.1\.2\.3|synthetic/.test(answer.body)) wrong.push(`${code}: the driver's words reached the caller: ${body.error.message}`);
  }
  await app.close();
  assert.deepEqual(wrong, []);
});

test('a refused login or a missing database fails start-up at once, but passes as a 503 once Gale runs', () => {
  for (const code of ['28P01', '28000', '3D000', '42501']) {
    assert.equal(dependencyFailure(serverError(code), 'starting'), undefined, `${code} at start-up: a wrong setting`);
    assert.equal(dependencyFailure(serverError(code))?.retryAfterSeconds, 30, `${code} while running`);
  }
  // Refusals that waiting mends are waited out at start-up too.
  for (const code of ['55000', '57P03', '08006', '53300']) assert.ok(dependencyFailure(serverError(code), 'starting'), code);
});

const systemError = (code: string, syscall: string): Error => Object.assign(new Error(`${syscall} ${code}`), { code, syscall, errno: -1 });

test("node-postgres's own errors, sockets, SQLite's result codes and the file system: each a dependency, the caller's or a bug", () => {
  const cases: Array<[string, Error, Fault, string?]> = [
    // pg and pg-pool, which give no SQLSTATE.
    ['pg', new Error('Connection terminated unexpectedly'), 503, 'unreachable'],
    ['pg', new Error('Connection terminated'), 503, 'unreachable'],
    ['pg', new Error('Connection terminated due to connection timeout'), 503, 'did not answer in time'],
    ['pg-pool', new Error('timeout exceeded when trying to connect'), 503, 'did not answer in time'],
    ['pg', new Error('Client has encountered a connection error and is not queryable'), 503, 'unreachable'],
    ['pg', new Error('Query read timeout'), 503, 'did not answer in time'],
    ['pg', new Error('Client was closed and is not queryable'), 503, 'unreachable'],
    ['pg', new Error('Query values must be an array'), 500],
    // A store closed under a request: shutdown must answer what it received first, so this is Gale's bug.
    ['pg-pool', new Error('Cannot use a pool after calling end on the pool'), 500],
    ['better-sqlite3', new TypeError('The database connection is not open'), 500],
    // Sockets.
    ...['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].map(
      (code): [string, Error, Fault, string] => ['socket', systemError(code, 'connect'), 503, 'unreachable'],
    ),
    ['socket', systemError('ETIMEDOUT', 'connect'), 503, 'did not answer in time'],
    ['socket', systemError('EACCES', 'connect'), 503, 'unreachable'],
    // The data directory's file system.
    ['fs', systemError('ENOSPC', 'write'), 503, 'data disk is full'],
    ['fs', systemError('EDQUOT', 'write'), 503, 'data disk is full'],
    ['fs', systemError('EIO', 'read'), 503, 'cannot be read or written'],
    ['fs', systemError('EROFS', 'open'), 503, 'read-only'],
    ['fs', systemError('EACCES', 'open'), 503, 'permissions'],
    ['fs', systemError('EMFILE', 'open'), 503, 'open files'],
    ['fs', systemError('ENFILE', 'open'), 503, 'open files'],
    ['fs', systemError('ENOENT', 'open'), 500],
    // SQLite, as better-sqlite3 reports it: extended result codes.
    ...['SQLITE_FULL', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_LOCKED_SHAREDCACHE', 'SQLITE_PROTOCOL'].map(
      (code): [string, Error, Fault] => ['sqlite', Object.assign(new Error(code), { code }), 503],
    ),
    ...['SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_PERM', 'SQLITE_NOMEM'].map(
      (code): [string, Error, Fault] => ['sqlite', Object.assign(new Error(code), { code }), 503],
    ),
    ['sqlite', Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' }), 503, 'damaged'],
    ['sqlite', Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' }), 503, 'damaged'],
    ['sqlite', Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }), 409],
    ['sqlite', Object.assign(new Error('FOREIGN KEY constraint failed'), { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' }), 409],
    ['sqlite', Object.assign(new Error('NOT NULL constraint failed'), { code: 'SQLITE_CONSTRAINT_NOTNULL' }), 500],
    ...['SQLITE_ERROR', 'SQLITE_MISUSE', 'SQLITE_RANGE', 'SQLITE_MISMATCH', 'SQLITE_INTERRUPT', 'SQLITE_SCHEMA', 'SQLITE_TOOBIG'].map(
      (code): [string, Error, Fault] => ['sqlite', Object.assign(new Error(code), { code }), 500],
    ),
    // What a wrapper (a failed migration) holds.
    ['migration', new Error('database migration (setup) failed: refused', { cause: serverError('55000') }), 503, 'not accepting connections'],
    ['migration', new Error('database migration 012 failed: bad', { cause: serverError('42P01') }), 500],
    // Gale's own errors are not a dependency's.
    ['gale', new TypeError("Cannot read properties of undefined (reading 'id')"), 500],
  ];
  const wrong: string[] = [];
  for (const [source, error, fault, words] of cases) {
    const { status, retryAfter } = statusOf(error);
    const said = storeFailure(error)?.message ?? '';
    if (status !== fault) wrong.push(`${source} ${error.message}: ${status}, not ${fault}`);
    if (status === 503 && !(retryAfter !== undefined && retryAfter >= 1)) wrong.push(`${source} ${error.message}: no Retry-After`);
    if (words && !said.includes(words)) wrong.push(`${source} ${error.message}: says "${said}", not "${words}"`);
  }
  assert.deepEqual(wrong, []);
  // The disk, told apart: the SQLite store truncates its log when the disk fills.
  assert.equal(dependencyFailure(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))?.dependency, 'disk');
});

test('a read whose connection was ended is run once more; one refused, or a write, is not', async () => {
  let calls = 0;
  const failing = (code: string) => async (): Promise<string> => {
    calls += 1;
    if (calls === 1) throw serverError(code);
    return 'again';
  };
  calls = 0;
  assert.equal(await withDependencyErrors({ getThing: failing('57P01') }).getThing(), 'again', 'terminated: a read retried');
  calls = 0;
  await assert.rejects(withDependencyErrors({ getThing: failing('55000') }).getThing(), { code: 'unavailable', retryAfterSeconds: 5 });
  calls = 0;
  await assert.rejects(withDependencyErrors({ updateThing: failing('57P01') }).updateThing(), { code: 'unavailable' }, 'a write is not retried');
});
