import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createApiKey, createToken } from '../../src/admin/accounts.js';
import { API_BASE } from '../../src/api/app.js';
import { ROUTES } from '../../src/api/routes/index.js';
import { defaultConfig } from '../../src/config/load.js';
import { systemClock } from '../../src/domain/clock.js';
import { startTestGale } from '../helpers/gale.js';
import { call, eventually, type Answer, type Credentials } from '../helpers/http.js';

/*
 * Tenant isolation, route by route (issue 5). The cases are generated from the route table (src/api/routes/index.ts),
 * each route read as the OpenAPI document the running server serves describes it, so a new route is covered as soon
 * as it is in the table, and a route this file cannot build a case for fails the first test instead of going untested. For every route and both credential kinds (bearer; api-key + api-secret),
 * user B must not read, list, change or learn the existence of user A's instances:
 *
 * - a route naming an instance answers B, for A's real id, exactly what it answers for a well-formed id that does not
 *   exist (status, error code, type, message and x-error modulo the id, the body's shape); no existence oracle;
 * - nothing B does changes A's instances (record, operations, A's own view of them), and no answer B gets mentions A's
 *   user id or A's instance ids (other than an id B sent itself);
 * - admin routes refuse B (403 forbidden, as access-control.ts decides) with the same answer whatever B names (A's
 *   instance, A's user id, A's key pair or token, or ones that do not exist), and change nothing of A's account either,
 *   while an admin gets the documented success on them (so that the refusals above are not simply a broken route);
 * - idempotency keys are B's own: B repeating the exact requests A made with a key (header and requestId) replays
 *   nothing of A's.
 *
 * test/http/api.test.ts keeps a hand-written spot check of the same rule over every backend; this file is the
 * exhaustive one, over the default SQLite store and the simulator only.
 */

const SIM = { store: 'sqlite', provider: 'simulator' } as const;
const TEMPLATE = 'debian-12-micro';
const ROOMY = { name: 'roomy', requestsPerMinute: 1_000_000, maxInstances: 40, maxVcpus: 200, maxDiskGb: 2_000 };

interface Instance {
  id: string;
  userId: string;
  status: string;
}

interface Parameter {
  in: string;
  name: string;
  required?: boolean;
}

interface Operation {
  operationId?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
  responses?: Record<string, unknown>;
}

interface Route {
  method: string;
  /** Relative to API_BASE, as documented: /instances/{id}/stop. */
  path: string;
  op: Operation;
  admin: boolean;
  /** The route names an instance (or an operation on one) in its path. */
  instanceParam: string | undefined;
  /** What the named thing is: an instance, or an operation (whose owner is its instance's). */
  names: 'instance' | 'operation' | undefined;
  /** The route names a user, or a key pair or token of one, in its path (the account routes, admins only). */
  accountParam: Account | undefined;
  pathParams: string[];
  /** A body the route takes, fresh for each request (a new user needs an unused email); undefined when it takes none. */
  body: () => unknown;
  hasBody: boolean;
  /** The documented success status. */
  success: number;
  idempotencyHeader: boolean;
  idempotencyQuery: boolean;
  /** A Server-Sent Events stream: asked for everything kept (Last-Event-ID 0), and closed by the server after a moment. */
  streaming: boolean;
}

interface Variant {
  name: string;
  headers: Record<string, string>;
  query: string;
}

type Account = 'user' | 'key' | 'token';
/** What a path parameter is filled with; a parameter not listed here is a route this file cannot test yet. */
const PATH_PARAMETERS: Record<string, 'instance' | 'template' | Account> = { id: 'instance', templateID: 'template', userId: 'user', keyId: 'key', tokenId: 'token' };
const isAccount = (kind: string | undefined): kind is Account => kind === 'user' || kind === 'key' || kind === 'token';
/** A body for each request-body shape, known by a property only it has (checked in this order). */
const BODIES: Array<[string, () => unknown]> = [
  ['template_id', () => ({ template_id: TEMPLATE })],
  ['email', () => ({ email: `isolation-${randomUUID().slice(0, 8)}@example.com` })],
  ['tier', () => ({ tier: 'roomy' })],
  ['customerId', () => ({ customerId: '' })],
  ['ttl', () => ({ ttl: '1h' })],
];
/** An id under /operations names an operation, which belongs to the owner of its instance. */
const namedBy = (path: string): 'instance' | 'operation' => (path.startsWith('/operations/') ? 'operation' : 'instance');
/** Query parameters B fills with A's identity, to see that they reveal nothing. */
const USER_QUERY_PARAMETERS = new Set(['userID', 'userId', 'user_id']);
const KNOWN_QUERY_PARAMETERS = new Set(['requestId', 'page', 'pageSize', 'limit', 'status', 'zone', 'templateID', 'customerID', ...USER_QUERY_PARAMETERS]);
/** Routes without credentials: they hold nothing of any tenant, and are exactly these. */
const PUBLIC_ROUTES = ['GET /healthz', 'GET /readyz', 'GET /metrics', `GET ${API_BASE}/openapi.json`];
const KNOWN_HEADER_PARAMETERS = new Set(['idempotency-key']);
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

type Document = { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, { properties?: Record<string, unknown> }> } };

/**
 * Turns every route of the route table into a Route, read as the document describes it (its parameters, body and
 * statuses), or says why it cannot. A documented operation the table does not have is a problem too.
 */
function routesOf(doc: Document): { routes: Route[]; problems: string[]; publicRoutes: string[] } {
  const routes: Route[] = [];
  const problems: string[] = [];
  const publicRoutes: string[] = [];
  const inTable = new Set(ROUTES.map((route) => `${route.method} ${route.documentedPath}`));
  for (const [fullPath, methods] of Object.entries(doc.paths)) {
    for (const method of Object.keys(methods)) {
      if (METHODS.includes(method) && !inTable.has(`${method.toUpperCase()} ${fullPath}`)) problems.push(`${method.toUpperCase()} ${fullPath}: documented but not in the route table`);
    }
  }
  for (const { method: upper, documentedPath: fullPath, access } of ROUTES) {
    const method = upper.toLowerCase();
    const where = `${upper} ${fullPath}`;
    const op = doc.paths[fullPath]?.[method];
    if (!op) {
      problems.push(`${where}: in the route table but not documented`);
      continue;
    }
    if (access === 'public') {
      publicRoutes.push(where);
      continue;
    }
    if (!fullPath.startsWith(API_BASE)) {
      problems.push(`${where}: not under ${API_BASE}`);
      continue;
    }
    const path = fullPath.slice(API_BASE.length);
    const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const unknownParams = pathParams.filter((p) => !(p in PATH_PARAMETERS));
    if (unknownParams.length > 0) problems.push(`${where}: no case-builder for path parameter(s) ${unknownParams.join(', ')}`);
    const instanceParams = pathParams.filter((p) => PATH_PARAMETERS[p] === 'instance');
    if (instanceParams.length > 1) problems.push(`${where}: more than one instance in the path`);
    for (const p of op.parameters ?? []) {
      if (p.in === 'query' && !KNOWN_QUERY_PARAMETERS.has(p.name) && p.required) problems.push(`${where}: required query parameter ${p.name} has no case-builder`);
      if (p.in === 'header' && !KNOWN_HEADER_PARAMETERS.has(p.name.toLowerCase()) && p.required) problems.push(`${where}: required header ${p.name} has no case-builder`);
    }
    let body: () => unknown = () => undefined;
    if (op.requestBody) {
      const schema = op.requestBody.content?.['application/json']?.schema as { $ref?: string; properties?: Record<string, unknown> } | undefined;
      const resolved = schema?.$ref ? doc.components?.schemas?.[schema.$ref.replace('#/components/schemas/', '')] : schema;
      const properties = resolved?.properties ?? {};
      const builder = BODIES.find(([property]) => property in properties);
      if (builder) body = builder[1];
      else problems.push(`${where}: no case-builder for its request body (${Object.keys(properties).join(', ') || 'no properties'})`);
    }
    const accountParams = pathParams.map((p) => PATH_PARAMETERS[p]).filter(isAccount);
    if (accountParams.length + instanceParams.length > 1) problems.push(`${where}: more than one user, credential or instance in the path`);
    const successes = Object.keys(op.responses ?? {}).map(Number).filter((s) => s >= 200 && s < 300);
    if (successes.length !== 1) problems.push(`${where}: expected exactly one documented success status, found ${successes.join(', ') || 'none'}`);
    const security = JSON.stringify((op as { security?: unknown }).security ?? []);
    if (!security.includes('bearerAuth') || !security.includes('apiKey')) problems.push(`${where}: does not document both credential kinds`);
    routes.push({
      method: upper,
      path,
      op,
      admin: access === 'admin',
      instanceParam: instanceParams[0],
      names: instanceParams.length > 0 ? namedBy(path) : undefined,
      accountParam: accountParams[0],
      pathParams,
      body,
      hasBody: op.requestBody !== undefined,
      success: successes[0] ?? 200,
      idempotencyHeader: (op.parameters ?? []).some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key'),
      idempotencyQuery: (op.parameters ?? []).some((p) => p.in === 'query' && p.name === 'requestId'),
      streaming: Object.values(op.responses ?? {}).some((r) => 'text/event-stream' in ((r as { content?: object }).content ?? {})),
    });
  }
  return { routes, problems, publicRoutes };
}

// The server and the document are needed to declare the tests, one per documented route.
const gale = await startTestGale(SIM, { tiers: { ...defaultConfig().tiers, roomy: ROOMY }, providers: { simulator: { delayMs: 20 } } });
const docAnswer = await call<Document>(gale.url, 'GET', `${API_BASE}/openapi.json`);
assert.equal(docAnswer.status, 200, 'the OpenAPI document is served');
const { routes, problems, publicRoutes } = routesOf(docAnswer.body);

describe('tenant isolation on every documented route', () => {
  let alice: Credentials;
  let bob: Credentials;
  let admin: Credentials;
  let carol: Credentials;
  /** alice's instances: one RUNNING, one stopped (TERMINATED), so that every power operation would be valid on one of them. */
  const aliceIds: string[] = [];
  let bobsOwn: string;
  /**
   * The keys alice used, each sent both as Idempotency-Key and as requestId: one for her create, one for her stop of
   * her second instance. B sends the create key on routes without an instance, the stop key on the others: were keys
   * not scoped to their user, B's identical requests would be answered with alice's stored answers.
   */
  const aliceCreateKey = randomUUID();
  const aliceStopKey = randomUUID();
  const aliceKeyFor = (route: Route) => (route.instanceParam ? aliceStopKey : aliceCreateKey);

  const api = <T = unknown>(method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    call<T>(gale.url, method, `${API_BASE}${path}`, { headers, body });
  const statusOf = async (who: Credentials, id: string) => (await api<Instance>('GET', `/instances/${id}`, who.bearer)).body.status;
  const waitFor = (who: Credentials, id: string, status: string) => eventually(`${id} to be ${status}`, () => statusOf(who, id), (s) => s === status, 30_000);

  /** A well-formed id that does not exist: for an instance, alice's own prefix, so that only existence differs. */
  async function missingId(like: string, names: Route['names'] = 'instance'): Promise<string> {
    if (names === 'operation') {
      // Alice's operation ids are UUIDv7: keep the time part, so that only existence differs.
      for (;;) {
        const id = `${like.slice(0, 24)}${randomBytes(6).toString('hex')}`;
        if (!(await gale.server.store.getOperation(id))) return id;
      }
    }
    for (;;) {
      const id = `${like.slice(0, 10)}${randomBytes(4).toString('hex')}`;
      if (!(await gale.server.store.getInstance(id))) return id;
    }
  }

  /** Everything about alice's instances that B could change, as the store and as alice herself see it. */
  async function aliceState(): Promise<string> {
    const seen: unknown[] = [];
    for (const id of aliceIds) {
      const record = await gale.server.store.getInstance(id);
      const operations = (await gale.server.store.listOperations(id)).map((o) => `${o.id}:${o.kind}:${o.state}:${o.generation}`);
      const own = await api('GET', `/instances/${id}`, alice.keyPair);
      seen.push({ id, record, operations, own: [own.status, own.text] });
    }
    const listed = await api<Instance[]>('GET', '/instances', alice.bearer);
    seen.push({ list: [listed.status, listed.status === 200 ? listed.body.map((i) => i.id).sort() : listed.text] });
    const quotas = await api<{ quotas: unknown }>('GET', '/quotas', alice.bearer);
    seen.push({ quotas: quotas.body.quotas });
    // Her account too: tier, customer, roles, and every credential with its revocation.
    const { store } = gale.server;
    const credentials = [...(await store.listApiKeys(alice.userId, undefined, 100)), ...(await store.listTokens(alice.userId, undefined, 100))];
    seen.push({ account: await store.getUser(alice.userId), credentials: credentials.map((c) => `${c.id}:${c.revokedAt}`) });
    return JSON.stringify(seen);
  }

  /** Alice's own user id, or the id of her (first) key pair or token: what B names on the account routes. */
  async function aliceAccountId(kind: Account): Promise<string> {
    if (kind === 'user') return alice.userId;
    const [first] = kind === 'key' ? await gale.server.store.listApiKeys(alice.userId, undefined, 1) : await gale.server.store.listTokens(alice.userId, undefined, 1);
    return first!.id;
  }

  /** What an admin changes through an account route: carol, or a fresh credential of hers, so that alice's stay as they were. */
  async function carolAccountId(kind: Account): Promise<string> {
    if (kind === 'user') return carol.userId;
    const { store } = gale.server;
    return kind === 'key' ? (await createApiKey(store, systemClock, carol.userId)).id : (await createToken(store, systemClock, carol.userId, 3_600_000)).id;
  }

  /** Nothing of alice's in an answer to B: not her user id, not an instance id of hers B did not send itself. */
  function assertNothingOfAlice(answer: Answer, sentId: string | undefined, what: string): void {
    const everything = [answer.text, ...[...answer.headers.entries()].map(([name, value]) => `${name}: ${value}`)].join('\n');
    const visible = sentId ? everything.split(sentId).join('<sent id>') : everything;
    assert.ok(!visible.includes(alice.userId), `${what}: the answer names alice's user id:\n${everything}`);
    for (const id of aliceIds) assert.ok(!visible.includes(id), `${what}: the answer names alice's instance ${id}:\n${everything}`);
    assert.ok(!visible.includes(aliceCreateKey) && !visible.includes(aliceStopKey), `${what}: the answer names alice's idempotency keys`);
  }

  /** Instances in an answer (a list, an admin page, one instance) all belong to B. */
  function assertOnlyBobs(answer: Answer, what: string): void {
    const body = answer.body as unknown;
    const found: Instance[] = [];
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (value && typeof value === 'object') {
        const v = value as Record<string, unknown>;
        if (typeof v.id === 'string' && typeof v.userId === 'string') found.push(v as unknown as Instance);
        Object.values(v).forEach(collect);
      }
    };
    collect(body);
    for (const i of found) assert.equal(i.userId, bob.userId, `${what}: B was shown ${i.id} of user ${i.userId}`);
  }

  /** What may differ between two answers only through the id the caller sent: status, error, headers that describe it. */
  function shape(answer: Answer, id: string) {
    const blank = (text: string | null | undefined) => (text ?? '').split(id).join('<id>');
    const body = answer.body as { error?: Record<string, unknown> } | undefined;
    return {
      status: answer.status,
      contentType: answer.headers.get('content-type'),
      xError: blank(answer.headers.get('x-error')),
      hasErrorId: answer.headers.get('x-error-id') !== null,
      allow: answer.headers.get('allow'),
      retryAfter: answer.headers.get('retry-after'),
      bodyKeys: body && typeof body === 'object' ? Object.keys(body).sort() : typeof body,
      error: body?.error
        ? { keys: Object.keys(body.error).sort(), code: body.error.code, type: body.error.type, message: blank(String(body.error.message)) }
        : blank(answer.text),
    };
  }

  const credentialsOf = (who: Credentials): Array<[string, Record<string, string>]> => [
    ['bearer', who.bearer],
    ['api-key/api-secret', who.keyPair],
  ];

  /** The ways B sends a request: plain, and (where the route takes them) with the keys alice used. */
  function variantsOf(route: Route): Variant[] {
    // A stream replays every event kept (of alice's too, were it not filtered), then ends after its timeout.
    if (route.streaming) return [{ name: 'replaying stream', headers: { 'last-event-id': '0' }, query: 'timeout=300ms' }];
    const out: Variant[] = [{ name: 'plain', headers: {}, query: '' }];
    const key = aliceKeyFor(route);
    if (route.idempotencyHeader) out.push({ name: "alice's Idempotency-Key", headers: { 'idempotency-key': key }, query: '' });
    if (route.idempotencyQuery) out.push({ name: "alice's requestId", headers: {}, query: `requestId=${key}` });
    return out;
  }

  function pathFor(route: Route, instanceId: string | undefined): string {
    return route.path.replace(/\{([^}]+)\}/g, (_, name: string) => (PATH_PARAMETERS[name] === 'template' ? TEMPLATE : instanceId!));
  }

  const withQuery = (path: string, ...parts: string[]) => {
    const query = parts.filter(Boolean).join('&');
    return query ? `${path}?${query}` : path;
  };

  /** Query parameters naming a user, filled with alice's id: a filter must not become a window onto her. */
  function userQueryOf(route: Route, userId: string): string {
    return (route.op.parameters ?? [])
      .filter((p) => p.in === 'query' && USER_QUERY_PARAMETERS.has(p.name))
      .map((p) => `${p.name}=${userId}`)
      .join('&');
  }

  async function cleanUp(answer: Answer, headers: Record<string, string>): Promise<void> {
    const made = answer.body as Partial<Instance> | undefined;
    if (answer.status === 201 && typeof made?.id === 'string' && made.userId === bob.userId) await api('DELETE', `/instances/${made.id}`, headers);
  }

  before(async () => {
    const roomy = (options = {}) => gale.user('roomy', options);
    alice = await roomy();
    bob = await roomy();
    carol = await roomy();
    admin = await roomy({ admin: true });
    const first = await call<Instance>(gale.url, 'POST', `${API_BASE}/instances?requestId=${aliceCreateKey}`, {
      headers: { ...alice.bearer, 'idempotency-key': aliceCreateKey },
      body: { template_id: TEMPLATE },
    });
    assert.equal(first.status, 201, first.text);
    const second = await api<Instance>('POST', '/instances', alice.keyPair, { template_id: TEMPLATE });
    assert.equal(second.status, 201, second.text);
    const own = await api<Instance>('POST', '/instances', bob.bearer, { template_id: TEMPLATE });
    assert.equal(own.status, 201, own.text);
    aliceIds.push(first.body.id, second.body.id);
    bobsOwn = own.body.id;
    await Promise.all([waitFor(alice, first.body.id, 'RUNNING'), waitFor(alice, second.body.id, 'RUNNING'), waitFor(bob, bobsOwn, 'RUNNING')]);
    const stopped = await api('POST', `/instances/${second.body.id}/stop?requestId=${aliceStopKey}`, { ...alice.bearer, 'idempotency-key': aliceStopKey });
    assert.equal(stopped.status, 202, stopped.text);
    await waitFor(alice, second.body.id, 'TERMINATED');
    // Settled: the reconciler has nothing left to do for alice, so her state changes only if someone changes it.
    await eventually('alice\'s operations to finish', async () => {
      const ops = await Promise.all(aliceIds.map((id) => gale.server.store.listOperations(id)));
      return ops.flat().every((o) => o.state !== 'pending');
    }, (done) => done);
  });

  after(async () => gale.close());

  /** What B names on a route: alice's instances, or alice's operations on them. */
  async function aliceTargets(route: Route): Promise<string[]> {
    if (route.names !== 'operation') return aliceIds;
    const operations = await Promise.all(aliceIds.map((id) => gale.server.store.listOperations(id)));
    return operations.flat().map((operation) => operation.id);
  }

  test('every route in the OpenAPI document has a case-builder', () => {
    assert.ok(routes.length >= 19, `only ${routes.length} routes found in the document`);
    assert.deepEqual(publicRoutes.sort(), [...PUBLIC_ROUTES].sort(), 'the routes without credentials are the operability ones');
    assert.deepEqual(problems, [], `routes this file cannot test; add a case-builder:\n${problems.join('\n')}`);
    for (const expected of ['GET /instances', 'POST /instances', 'GET /instances/{id}', 'GET /admin/instances', 'POST /admin/instances/{id}/stop']) {
      assert.ok(routes.some((r) => `${r.method} ${r.path}` === expected), `${expected} is in the document`);
    }
  });

  for (const route of routes) {
    const name = `${route.method} ${route.path}`;
    if (route.admin) {
      test(`${name}: refused to a non-admin whatever it names, with an answer that reveals nothing; an admin gets ${route.success}`, async () => {
        const before = await aliceState();
        for (const [kind, headers] of credentialsOf(bob)) {
          for (const variant of variantsOf(route)) {
            const answers: Array<{ what: string; answer: Answer; id: string }> = [];
            const targets = route.instanceParam ? aliceIds : route.accountParam ? [await aliceAccountId(route.accountParam)] : [undefined];
            for (const target of targets) {
              const missing = target === undefined ? undefined : route.instanceParam ? await missingId(target) : randomUUID();
              for (const [label, id, userId] of [
                ["alice's", target, alice.userId],
                ['a missing', missing, randomUUID()],
              ] as const) {
                const path = withQuery(pathFor(route, id), variant.query, userQueryOf(route, userId));
                const answer = await call(gale.url, route.method, `${API_BASE}${path}`, { headers: { ...headers, ...variant.headers }, body: route.body() });
                const what = `B (${kind}, ${variant.name}) ${route.method} ${path} naming ${label} ${id ? (route.accountParam ?? 'instance') : 'user'}`;
                assert.equal(answer.status, 403, `${what}: ${answer.text}`);
                assert.equal((answer.body as { error: { code: string } }).error.code, 'forbidden', what);
                assertNothingOfAlice(answer, id, what);
                answers.push({ what, answer, id: id ?? userId });
              }
            }
            const reference = shape(answers[0]!.answer, answers[0]!.id);
            for (const { what, answer, id } of answers) assert.deepEqual(shape(answer, id), reference, `${what} answers differently`);
          }
        }
        assert.equal(await aliceState(), before, `B changed alice's instances through ${name}`);

        // The same route works for an admin, so the refusals above are about the role, not a broken route.
        for (const [kind, headers] of credentialsOf(admin)) {
          let target: string | undefined;
          if (route.instanceParam && route.method === 'GET') target = aliceIds[0];
          else if (route.instanceParam) {
            // Changes are made to a fresh instance of a third user, so that alice's stay as they were.
            const victim = await api<Instance>('POST', '/instances', carol.bearer, { template_id: TEMPLATE });
            assert.equal(victim.status, 201, victim.text);
            await waitFor(carol, victim.body.id, 'RUNNING');
            target = victim.body.id;
          } else if (route.accountParam) {
            target = route.method === 'GET' ? await aliceAccountId(route.accountParam) : await carolAccountId(route.accountParam);
          }
          const path = withQuery(pathFor(route, target), userQueryOf(route, alice.userId));
          const answer = await call(gale.url, route.method, `${API_BASE}${path}`, { headers, body: route.body() });
          assert.equal(answer.status, route.success, `admin (${kind}) ${route.method} ${path}: ${answer.text}`);
          if (route.instanceParam && route.method === 'GET') {
            // The instance itself, or something read from it (its console) that names it.
            const owner = (answer.body as Partial<Instance>).userId;
            if (owner !== undefined) assert.equal(owner, alice.userId);
            else assert.ok(answer.text.includes(aliceIds[0]!), `admin (${kind}) ${path} answers about alice's instance: ${answer.text}`);
          }
          if (route.accountParam && route.method === 'GET') {
            assert.ok(answer.text.includes(alice.userId), `admin (${kind}) ${path} answers about alice's account: ${answer.text}`);
          } else if (!route.instanceParam && route.method === 'GET') {
            const seesAlice = route.path.startsWith('/admin/users') ? [alice.userId] : aliceIds;
            assert.ok(seesAlice.every((id) => answer.text.includes(id)), `admin (${kind}) sees alice's ${route.path.startsWith('/admin/users') ? 'account' : 'instances'} in ${path}: ${answer.text}`);
          }
        }
        if (route.method === 'GET') assert.equal(await aliceState(), before, `an admin read through ${name} changed alice's instances`);
      });
    } else if (route.instanceParam) {
      test(`${name}: B gets for alice's ${route.names} exactly what it gets for a missing one, and changes nothing`, async () => {
        const before = await aliceState();
        const targets = await aliceTargets(route);
        assert.ok(targets.length > 0);
        for (const [kind, headers] of credentialsOf(bob)) {
          for (const variant of variantsOf(route)) {
            for (const target of targets) {
              const missing = await missingId(target, route.names);
              const send = (id: string) =>
                call(gale.url, route.method, `${API_BASE}${withQuery(pathFor(route, id), variant.query)}`, { headers: { ...headers, ...variant.headers }, body: route.body() });
              const foreign = await send(target);
              const absent = await send(missing);
              const what = `B (${kind}, ${variant.name}) ${route.method} ${pathFor(route, target)}`;
              assert.deepEqual(shape(foreign, target), shape(absent, missing), `${what}: alice's instance and a missing one answer differently`);
              assert.equal(foreign.status, 404, `${what}: ${foreign.text}`);
              assert.equal((foreign.body as { error: { code: string } }).error.code, 'not_found', what);
              assertNothingOfAlice(foreign, target, what);
              assert.equal(await aliceState(), before, `${what} changed alice's instance`);
            }
          }
        }
        // Sanity: the same request by alice reaches her instance (a different answer from the 404 above).
        const own = await call(gale.url, route.method, `${API_BASE}${pathFor(route, targets[0])}`, { headers: alice.bearer, body: route.body() });
        assert.notEqual(own.status, 404, `alice's own ${route.method} ${pathFor(route, targets[0])} answered 404: ${own.text}`);
        assert.ok(own.status < 500, own.text);
        if (route.method !== 'GET') {
          // Put her instance back as it was for the next routes (running), or make a fresh one if it was deleted.
          const stillThere = await gale.server.store.getInstance(aliceIds[0]!);
          if (!stillThere) {
            const again = await api<Instance>('POST', '/instances', alice.bearer, { template_id: TEMPLATE });
            assert.equal(again.status, 201, again.text);
            aliceIds[0] = again.body.id;
          }
          await eventually(`alice's ${aliceIds[0]} to settle`, async () => {
            const record = await gale.server.store.getInstance(aliceIds[0]!);
            if (record?.status === 'TERMINATED' && record.desired === 'TERMINATED') await api('POST', `/instances/${record.id}/start`, alice.bearer);
            if (record?.status === 'SUSPENDED' && record.desired === 'SUSPENDED') await api('POST', `/instances/${record.id}/resume`, alice.bearer);
            return record !== undefined && record.status === 'RUNNING' && record.generation === record.reconciledGeneration;
          }, (settled) => settled);
        }
      });
    } else {
      test(`${name}: B sees and changes nothing of alice's`, async () => {
        const before = await aliceState();
        for (const [kind, headers] of credentialsOf(bob)) {
          for (const variant of variantsOf(route)) {
            const path = withQuery(pathFor(route, undefined), variant.query, userQueryOf(route, alice.userId));
            const answer = await call(gale.url, route.method, `${API_BASE}${path}`, { headers: { ...headers, ...variant.headers }, body: route.body() });
            const what = `B (${kind}, ${variant.name}) ${route.method} ${path}`;
            assert.ok(answer.status < 500, `${what}: ${answer.text}`);
            assertNothingOfAlice(answer, undefined, what);
            assertOnlyBobs(answer, what);
            if (route.method === 'GET' && route.path === '/instances') {
              // The list is exactly B's: his own instance is there, so the list is not empty for a wrong reason.
              assert.equal(answer.status, 200, answer.text);
              const mine = (await gale.server.store.listUserInstances(bob.userId)).map((i) => i.id).sort();
              assert.deepEqual((answer.body as Instance[]).map((i) => i.id).sort(), mine, what);
              assert.ok(mine.includes(bobsOwn));
            }
            if (route.streaming) {
              // Without a user filter too: B's stream is his own events, all of them and nothing of alice's.
              const own = await call(gale.url, 'GET', `${API_BASE}${withQuery(route.path, variant.query)}`, { headers: { ...headers, ...variant.headers } });
              assert.equal(own.status, 200, `${what} without userId: ${own.text}`);
              assertNothingOfAlice(own, undefined, `${what} without userId`);
              assertOnlyBobs(own, `${what} without userId`);
              assert.ok(own.text.includes(bobsOwn), `${what} without userId: B's stream replays his own events: ${own.text}`);
            }
            if (route.method === 'GET' && route.path === '/quotas') {
              const usage = await gale.server.store.getUsage(bob.userId);
              assert.equal((answer.body as { quotas: { instances: { usage: number } } }).quotas.instances.usage, usage.instances, `${what}: B's usage counts only his`);
            }
            if (route.method === 'POST' && route.hasBody && answer.status === 201) {
              assert.equal((answer.body as Instance).userId, bob.userId, `${what}: the new instance is B's`);
              assert.ok(!aliceIds.includes((answer.body as Instance).id), `${what}: B was handed alice's instance`);
            }
            assert.equal(await aliceState(), before, `${what} changed alice's instances`);
            await cleanUp(answer, headers);
          }
        }
      });
    }
  }
});
