/*
 * The floor: the least a plain Node server must spend to answer what Gale answers on its two hottest reads,
 *   GET /api/compute/v1/instances/{id}   (one instance of the caller's; 404 for a missing or foreign id)
 *   GET /api/compute/v1/instances        (the caller's live instances, newest first; 404 when none)
 * doing the same work, with the same checks, and nothing else. `npm run bench` divides Gale's CPU per request by this
 * server's, measured in the same run on the same SQLite file: what Gale spends above it is the cost of its framework
 * and layering, not of the job. Below the floor there is only bare node:http (baseline-server.ts), which does no job.
 *
 * Per request, as Gale does it:
 *   - node:http, keep-alive; the same checks before routing: no escaped control character in the target, a Host header
 *     on HTTP/1.1, a credential header sent once, Bearer syntax, api-key and api-secret together;
 *   - a request id: the client's x-request-id when it is well formed (Gale's genReqId rule), else crypto.randomUUID();
 *   - authentication through a cache of SHA-256 credential hashes (hashCredential) kept 5 s (Gale's credentialCacheMs
 *     default, misses cached too); on a miss, the tokens (or api_keys) row joined to its user, the same SQL as
 *     src/store/users.ts findToken/findApiKey; expiry and revocation checked on every request, the api-secret hashed
 *     and compared in constant time on every request (sameHash);
 *   - a per-user counter per minute (the window starts at the user's first request, as rate-limiter-flexible's does),
 *     its limit the user's tier's requestsPerMinute read from Gale's own configuration file, answered in
 *     RateLimit-Limit / RateLimit-Remaining / RateLimit-Reset, 429 past it;
 *   - a prepared better-sqlite3 statement on the very WAL file Gale uses (opened read-write, as Gale opens it),
 *     selecting the columns of Gale's SUMMARY_COLUMNS (src/store/rows.ts) that the answer shows (not the spec, which
 *     the view does not show yet) by primary key, or by user on the partial index for the list,
 *     newest first, exactly as summaryById / liveByUser (src/store/instances.ts);
 *   - the instance view of src/api/views.ts (same fields, same order, formatTimestamp, machineTypePath), JSON.stringify;
 *   - Gale's security headers, cache-control: no-store, x-request-id; errors in Gale's envelope with x-error/x-error-id;
 *   - one JSON access-log line per request (pino's shape: level, time, service, reqId, req, res, responseTime, userId,
 *     msg), the lines of one event-loop turn written to a file in one write (as pino's asynchronous destination does).
 * Env: PORT, FLOOR_DB (Gale's gale.db), FLOOR_CONFIG (Gale's configuration file, for the tiers), FLOOR_LOG (log file).
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { machineTypePath } from '../../src/domain/catalog.js';
import { formatTimestamp } from '../../src/domain/clock.js';
import { hashCredential, sameHash } from '../../src/domain/credentials.js';
import type { User } from '../../src/domain/store.js';

const V1 = '/api/compute/v1';
const CREDENTIAL_CACHE_MS = 5_000;

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
};
const ESCAPED_CONTROL = /%(?:[01][0-9a-f]|7f)/i;
const REQUEST_ID = /^[\w.:-]{1,128}$/;
const BEARER = /^Bearer +([^\s]+) *$/i;
const LOGGED_QUERY_PARAMETERS = new Set(['requestId', 'page', 'pageSize', 'limit', 'userID', 'customerID', 'status', 'zone', 'templateID']);

// ---- store: the same file, the same statements ----

const db = new Database(process.env.FLOOR_DB!);
// The page cache Gale's connection has (src/store/sqlite/store.ts): the same SQLite, configured alike.
db.pragma('cache_size = -49152');
const SUMMARY = 'select "id", "user_id", "customer_id", "zone", "machine_type", "template_id", "status", "external_ip", "internal_ip", "created_at" from "instances"';
const summaryById = db.prepare(`${SUMMARY} where "id" = ? and "deleted_at" is null`);
const liveByUser = db.prepare(`${SUMMARY} where "user_id" = ? and "deleted_at" is null order by "created_at" desc, "id" desc`);
const USER = 'select "users"."id", "users"."email", "users"."tier", "users"."roles", "users"."customer_id", "users"."created_at"';
const tokenByHash = db.prepare(`${USER}, "tokens"."expires_at", "tokens"."revoked_at" from "tokens" inner join "users" on "users"."id" = "tokens"."user_id" where "tokens"."token_hash" = ?`);
const apiKeyByHash = db.prepare(`${USER}, "api_keys"."secret_hash", "api_keys"."revoked_at" from "api_keys" inner join "users" on "users"."id" = "api_keys"."user_id" where "api_keys"."key_hash" = ?`);

interface SummaryRow {
  id: string;
  user_id: string;
  customer_id: string;
  zone: string;
  machine_type: string;
  template_id: string;
  status: string;
  external_ip: string;
  internal_ip: string;
  created_at: number;
}
interface UserRow {
  id: string;
  email: string;
  tier: string;
  roles: string;
  customer_id: string;
  created_at: number;
}

const toUser = (row: UserRow): User => {
  const roles: unknown = JSON.parse(row.roles);
  return { id: row.id, email: row.email, tier: row.tier, roles: Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [], customerId: row.customer_id, createdAt: row.created_at };
};

/** src/api/views.ts instanceView over src/store/rows.ts toSummary, in one step: the same fields in the same order. */
const view = (row: SummaryRow) => ({
  id: row.id,
  userId: row.user_id,
  customerId: row.customer_id,
  name: row.id,
  zone: row.zone,
  machineType: machineTypePath(row.zone, row.machine_type),
  externalIp: row.external_ip,
  internalIp: row.internal_ip,
  status: row.status,
  templateId: row.template_id,
  createdAt: formatTimestamp(row.created_at),
});

// ---- tiers: Gale's configuration file ----

interface Tier {
  name: string;
  requestsPerMinute: number;
}
const config = process.env.FLOOR_CONFIG ? (JSON.parse(readFileSync(process.env.FLOOR_CONFIG, 'utf8')) as { tiers?: Record<string, Tier>; defaultTier?: string }) : {};
const tiers: Record<string, Tier> = config.tiers ?? {};
const defaultTier: Tier = tiers[config.defaultTier ?? 'free'] ?? Object.values(tiers)[0] ?? { name: 'free', requestsPerMinute: 60 };

// ---- access log: one line per request, one write per event-loop turn ----

const logFd = openSync(process.env.FLOOR_LOG ?? '/dev/null', 'a');
let pending: string[] = [];
function flush(): void {
  const lines = pending;
  pending = [];
  writeSync(logFd, `${lines.join('\n')}\n`);
}
function logLine(line: object): void {
  if (pending.length === 0) setImmediate(flush);
  pending.push(JSON.stringify(line));
}

function loggedUrl(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const pairs = url.slice(at + 1).split('&').map((pair) => (LOGGED_QUERY_PARAMETERS.has(pair.split('=', 1)[0]!) ? pair : '[redacted]'));
  return `${url.slice(0, at)}?${pairs.join('&')}`;
}

// ---- authentication and rate limit ----

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}
const fail = (status: number, code: string, message: string) => new HttpError(status, code, message);

type Cached = { user: User; expiresAt: number; revoked: boolean; secretHash?: string } | null;
const credentials = new Map<string, { value: Cached; until: number }>();

function cached(key: string, load: () => Cached, now: number): Cached {
  const hit = credentials.get(key);
  if (hit && hit.until > now) return hit.value;
  // Bounded as Gale's LRU is (100,000 entries): past it, start over.
  if (credentials.size >= 100_000) credentials.clear();
  const value = load();
  credentials.set(key, { value, until: now + CREDENTIAL_CACHE_MS });
  return value;
}

function single(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  if (Array.isArray(value)) throw fail(400, 'invalid_request', `the ${name} header was sent more than once`);
  return value;
}

function authenticate(request: IncomingMessage, now: number): User {
  const authorization = single(request, 'authorization');
  const apiKey = single(request, 'api-key');
  const apiSecret = single(request, 'api-secret');
  if (authorization !== undefined && (apiKey !== undefined || apiSecret !== undefined)) {
    throw fail(400, 'invalid_request', 'send either Authorization: Bearer <token> or api-key and api-secret, not both');
  }
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization);
    if (!match) throw fail(401, 'unauthenticated', 'the Authorization header must be "Bearer <token>"');
    const tokenHash = hashCredential(match[1]!);
    const found = cached(`t:${tokenHash}`, () => {
      const row = tokenByHash.get(tokenHash) as (UserRow & { expires_at: number; revoked_at: number | null }) | undefined;
      return row ? { user: toUser(row), expiresAt: row.expires_at, revoked: row.revoked_at !== null } : null;
    }, now);
    if (!found || found.revoked) throw fail(401, 'unauthenticated', 'invalid or revoked token');
    if (found.expiresAt <= now) throw fail(401, 'unauthenticated', 'the token has expired; create a new one');
    return found.user;
  }
  if (apiKey !== undefined || apiSecret !== undefined) {
    if (!apiKey || !apiSecret) throw fail(401, 'unauthenticated', 'api-key and api-secret must be sent together');
    const keyHash = hashCredential(apiKey);
    const found = cached(`k:${keyHash}`, () => {
      const row = apiKeyByHash.get(keyHash) as (UserRow & { secret_hash: string; revoked_at: number | null }) | undefined;
      return row ? { user: toUser(row), expiresAt: Infinity, revoked: row.revoked_at !== null, secretHash: row.secret_hash } : null;
    }, now);
    const secretHash = hashCredential(apiSecret);
    if (!found || !sameHash(found.secretHash!, secretHash) || found.revoked) throw fail(401, 'unauthenticated', 'invalid api-key or api-secret');
    return found.user;
  }
  throw fail(403, 'forbidden', 'authentication required: send Authorization: Bearer <token>, or api-key and api-secret');
}

const windows = new Map<string, { start: number; used: number }>();

/** The user's allowance this minute; sets the RateLimit headers, and throws 429 past it. */
function consume(user: User, now: number, headers: Record<string, string | number>): void {
  const tier = tiers[user.tier] ?? defaultTier;
  let window = windows.get(user.id);
  if (!window || now - window.start >= 60_000) {
    window = { start: now, used: 0 };
    windows.set(user.id, window);
  }
  window.used += 1;
  headers['RateLimit-Limit'] = tier.requestsPerMinute;
  headers['RateLimit-Remaining'] = Math.max(0, tier.requestsPerMinute - window.used);
  headers['RateLimit-Reset'] = Math.max(1, Math.ceil((window.start + 60_000 - now) / 1000));
  if (window.used > tier.requestsPerMinute) throw fail(429, 'rate_limited', `rate limit exceeded: ${tier.requestsPerMinute} requests per minute (tier ${tier.name})`);
}

// ---- the server ----

function route(request: IncomingMessage, now: number, headers: Record<string, string | number>, principal: { user?: User }): string {
  const url = request.url ?? '/';
  if (ESCAPED_CONTROL.test(url)) throw fail(400, 'invalid_request', 'the request target contains an escaped control character');
  if (request.httpVersion === '1.1' && request.headers.host === undefined) throw fail(400, 'invalid_request', 'an HTTP/1.1 request needs a Host header');
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  if (request.method !== 'GET' || !path.startsWith(`${V1}/instances`)) throw fail(404, 'not_found', `Route ${request.method}:${path} not found`);
  const rest = path.slice(V1.length + '/instances'.length);
  if (rest === '' || rest === '/') {
    const user = (principal.user = authenticate(request, now));
    consume(user, now, headers);
    if (at >= 0 && at < url.length - 1) {
      const name = decodeURIComponent(url.slice(at + 1).split('&', 1)[0]!.split('=', 1)[0]!);
      throw fail(400, 'invalid_request', `unknown query parameter "${name}": this route does not take it (see the API reference for those it takes)`);
    }
    const rows = liveByUser.all(user.id) as SummaryRow[];
    if (rows.length === 0) throw fail(404, 'not_found', 'No instances found for user');
    return JSON.stringify(rows.map(view));
  }
  if (rest[0] !== '/' || rest.indexOf('/', 1) >= 0) throw fail(404, 'not_found', `Route ${request.method}:${path} not found`);
  const user = (principal.user = authenticate(request, now));
  consume(user, now, headers);
  const raw = rest.slice(1);
  const id = raw.includes('%') ? decodeURIComponent(raw) : raw;
  if (id.length > 256) throw fail(400, 'invalid_request', 'params/id must NOT have more than 256 characters');
  if (id.trim() === '') throw fail(400, 'invalid_request', 'instance id is empty');
  const row = summaryById.get(id) as SummaryRow | undefined;
  // A foreign instance answers exactly like a missing one.
  if (!row || row.user_id !== user.id) throw fail(404, 'not_found', `instance ${id} not found`);
  return JSON.stringify(view(row));
}

function handle(request: IncomingMessage, response: ServerResponse): void {
  const started = performance.now();
  const given = request.headers['x-request-id'];
  const reqId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  const headers: Record<string, string | number> = { ...SECURITY_HEADERS, 'x-request-id': reqId, 'content-type': 'application/json; charset=utf-8' };
  const principal: { user?: User } = {};
  let status = 200;
  let body: string;
  try {
    body = route(request, Date.now(), headers, principal);
  } catch (error) {
    // A target that does not decode (%zz) is refused as Gale's router refuses it.
    const known = error instanceof HttpError ? error : error instanceof URIError ? fail(400, 'invalid_request', 'the request target is not a valid URL') : fail(500, 'internal', 'internal error');
    const errorId = randomUUID();
    status = known.status;
    headers['x-error'] = known.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 512);
    headers['x-error-id'] = errorId;
    body = JSON.stringify({ error: { message: known.message, type: status < 500 ? 'WARNING' : 'ERROR', code: known.code, error_id: errorId } });
  }
  headers['content-length'] = Buffer.byteLength(body);
  response.writeHead(status, headers);
  response.end(body);
  logLine({
    level: 30,
    time: Date.now(),
    service: 'floor',
    reqId,
    req: { method: request.method, url: loggedUrl(request.url ?? '/'), host: request.headers.host, remoteAddress: request.socket.remoteAddress, remotePort: request.socket.remotePort },
    res: { statusCode: status },
    responseTime: performance.now() - started,
    userId: principal.user?.id,
    msg: 'request completed',
  });
}

const server = createServer(handle).listen(Number(process.env.PORT), '127.0.0.1');

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  if (pending.length > 0) flush();
  closeSync(logFd);
  db.close();
  process.exit(0);
});
