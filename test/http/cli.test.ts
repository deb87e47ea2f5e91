import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { assertError, call } from '../helpers/http.js';
import { LOCAL_BACKEND, unavailable } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';

/* `gale admin …` run as a separate process on the data directory of a server that is running. */

const run = promisify(execFile);
let gale: TestGale;

before(async () => {
  gale = await startTestGale(LOCAL_BACKEND);
});
after(async () => gale?.close());

async function gale_(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/gale.ts', ...args], {
    env: { ...process.env, GALE_DATA_DIR: gale.config.dataDir, GALE_LOG_LEVEL: 'silent' },
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

test('admin commands create users, keys and tokens that the running server accepts, and revoke them', async () => {
  const user = await gale_('admin', 'users', 'create', '--email', 'cli@example.com', '--tier', 'pro', '--json');
  assert.deepEqual(Object.keys(user).sort(), ['createdAt', 'customerId', 'email', 'roles', 'tier', 'userId']);
  assert.equal(user.customerId, '');
  assert.equal(user.tier, 'pro');
  assert.deepEqual(user.roles, []);
  const userId = String(user.userId);

  const pair = await gale_('admin', 'keys', 'create', '--user', userId, '--json');
  const keyHeaders = { 'api-key': String(pair.apiKey), 'api-secret': String(pair.apiSecret) };
  const quotas = await call<{ tier: string }>(gale.url, 'GET', '/api/compute/v1/quotas', { headers: keyHeaders });
  assert.equal(quotas.status, 200);
  assert.equal(quotas.body.tier, 'pro');

  const token = await gale_('admin', 'tokens', 'create', '--user', userId, '--ttl', '1h', '--json');
  assert.match(String(token.expiresAt), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  const bearer = { authorization: `Bearer ${String(token.token)}` };
  assert.equal((await call(gale.url, 'GET', '/api/compute/v1/templates', { headers: bearer })).status, 200);

  const raised = await gale_('admin', 'users', 'set-tier', '--user', userId, '--tier', 'enterprise', '--json');
  assert.equal(raised.tier, 'enterprise');
  const after = await call<{ tier: string }>(gale.url, 'GET', '/api/compute/v1/quotas', { headers: bearer });
  assert.equal(after.body.tier, 'enterprise');

  await gale_('admin', 'keys', 'revoke', '--key', String(pair.apiKey), '--json');
  assertError(await call(gale.url, 'GET', '/api/compute/v1/quotas', { headers: keyHeaders }), 401, 'unauthenticated');
  await gale_('admin', 'tokens', 'revoke', '--token', String(token.token), '--json');
  assertError(await call(gale.url, 'GET', '/api/compute/v1/quotas', { headers: bearer }), 401, 'unauthenticated');
});

test('a user belongs to a customer from creation or later, and their instances go with them', async () => {
  const user = await gale_('admin', 'users', 'create', '--email', 'org@example.com', '--tier', 'pro', '--customer', 'acme', '--json');
  assert.equal(user.customerId, 'acme');
  const pair = await gale_('admin', 'keys', 'create', '--user', String(user.userId), '--json');
  const headers = { 'api-key': String(pair.apiKey), 'api-secret': String(pair.apiSecret) };
  const made = await call<{ id: string; customerId: string }>(gale.url, 'POST', '/api/compute/v1/instances', { headers, body: { template_id: 'debian-12-micro' } });
  assert.deepEqual([made.status, made.body.customerId], [201, 'acme']);
  const moved = await gale_('admin', 'users', 'set-customer', '--user', String(user.userId), '--customer', 'globex', '--json');
  assert.equal(moved.customerId, 'globex');
  assert.equal((await call<{ customerId: string }>(gale.url, 'GET', `/api/compute/v1/instances/${made.body.id}`, { headers })).body.customerId, 'globex');
  const none = await gale_('admin', 'users', 'set-customer', '--user', String(user.userId), '--customer', '', '--json');
  assert.equal(none.customerId, '');
  await assert.rejects(gale_('admin', 'users', 'set-customer', '--user', String(user.userId), '--customer', 'no spaces please'), /is not a customer id/);
  await assert.rejects(gale_('admin', 'users', 'set-customer', '--user', '00000000-0000-4000-8000-000000000000', '--customer', 'acme'), /not found/);
});

test('admin commands explain bad input and exit non-zero', async () => {
  await assert.rejects(gale_('admin', 'users', 'create', '--email', 'not-an-email', '--json'), (e: { stderr: string; code: number }) => {
    assert.match(e.stderr, /not an email address/);
    assert.equal(e.code, 1);
    return true;
  });
  await assert.rejects(gale_('admin', 'users', 'create', '--email', 'x@example.com', '--tier', 'gold'), /unknown tier "gold"/);
  await assert.rejects(gale_('admin', 'keys', 'create', '--user', 'nobody'), /no user nobody/);
  await assert.rejects(gale_('admin', 'tokens', 'create', '--user', 'nobody', '--ttl', 'soon'), /duration/);
});

/** `gale admin …` run from elsewhere, with exactly the environment given (no GALE_* inherited): exit code and both streams. */
const CLI = resolve('src/cli/gale.ts');
const TSX = import.meta.resolve('tsx');
async function galeIn(cwd: string, env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GALE_')));
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', TSX, CLI, ...args], { cwd, env: { ...inherited, GALE_LOG_LEVEL: 'silent', ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

test('admin commands list users and key pairs (ids, prefixes and dates, never secrets), and revoke by id', async () => {
  const user = await gale_('admin', 'users', 'create', '--email', 'lister@example.com', '--customer', 'listers', '--json');
  const userId = String(user.userId);
  const pair = await gale_('admin', 'keys', 'create', '--user', userId, '--json');
  const second = await gale_('admin', 'keys', 'create', '--user', userId, '--json');
  const token = await gale_('admin', 'tokens', 'create', '--user', userId, '--ttl', '2h', '--json');

  const listed = (await gale_('admin', 'users', 'list', '--customer', 'listers', '--json')) as unknown as Array<Record<string, unknown>>;
  assert.deepEqual(listed.map((u) => u.userId), [userId]);
  assert.equal(listed[0]!.email, 'lister@example.com');
  const everyone = (await gale_('admin', 'users', 'list', '--json')) as unknown as Array<Record<string, unknown>>;
  assert.ok(everyone.length >= 2 && everyone.some((u) => u.userId === userId));

  const keys = (await gale_('admin', 'keys', 'list', '--user', userId, '--json')) as unknown as Array<Record<string, unknown>>;
  assert.deepEqual(keys.map((k) => k.id).sort(), [pair.id, second.id].sort());
  for (const key of keys) assert.deepEqual(Object.keys(key).sort(), ['createdAt', 'id', 'prefix', 'userId']);
  assert.equal(keys.find((k) => k.id === pair.id)!.prefix, String(pair.apiKey).slice(0, 8));
  const tokens = (await gale_('admin', 'tokens', 'list', '--user', userId, '--json')) as unknown as Array<Record<string, unknown>>;
  assert.deepEqual(tokens.map((t) => [t.id, t.expiresAt]), [[token.id, token.expiresAt]]);

  // The text forms show the same, and no secret either.
  const text = await galeIn(process.cwd(), { GALE_DATA_DIR: gale.config.dataDir }, 'admin', 'keys', 'list', '--user', userId);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`${String(pair.id)}  ${String(pair.apiKey).slice(0, 8)}…  created \\S+  active`));
  for (const secret of [pair.apiKey, pair.apiSecret, second.apiSecret, token.token]) assert.ok(!text.stdout.includes(String(secret)));
  assert.match(text.stderr, new RegExp(`using the SQLite store at ${join(resolve(gale.config.dataDir), 'gale.db')}`));

  // Revoked by id, as the list names it: the server refuses the key, the list says so, the other key still works.
  await gale_('admin', 'keys', 'revoke', '--id', String(pair.id), '--json');
  assertError(await call(gale.url, 'GET', '/api/compute/v1/quotas', { headers: { 'api-key': String(pair.apiKey), 'api-secret': String(pair.apiSecret) } }), 401, 'unauthenticated');
  const after = (await gale_('admin', 'keys', 'list', '--user', userId, '--json')) as unknown as Array<Record<string, unknown>>;
  assert.match(String(after.find((k) => k.id === pair.id)!.revokedAt), /^\d{4}-\d\d-\d\dT/);
  assert.equal((await call(gale.url, 'GET', '/api/compute/v1/quotas', { headers: { 'api-key': String(second.apiKey), 'api-secret': String(second.apiSecret) } })).status, 200);
  await gale_('admin', 'tokens', 'revoke', '--id', String(token.id), '--json');
  assertError(await call(gale.url, 'GET', '/api/compute/v1/quotas', { headers: { authorization: `Bearer ${String(token.token)}` } }), 401, 'unauthenticated');

  await assert.rejects(gale_('admin', 'keys', 'list', '--user', '00000000-0000-4000-8000-000000000000'), /no user/);
  await assert.rejects(gale_('admin', 'keys', 'revoke', '--json'), /--id <id> or --key <apiKey>/);
});

test('admin commands refuse, with exit status 2 and before doing anything, to work on an unnamed or missing store', async () => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'gale-admin-elsewhere-'));
  try {
    // No store named: not the default ./data of wherever it is run.
    const unnamed = await galeIn(elsewhere, {}, 'admin', 'users', 'list');
    assert.equal(unnamed.code, 2, unnamed.stderr);
    assert.match(unnamed.stderr, /which store\? .*--data-dir.*--database-url.*nothing was done/);
    assert.equal(unnamed.stdout, '');
    assert.deepEqual(readdirSync(elsewhere), [], 'nothing was made');

    // Named, but not there: no empty store is made in its place.
    const missing = join(elsewhere, 'not-a-gale-dir');
    for (const [how, env, flags] of [
      ['--data-dir', {}, ['--data-dir', missing]],
      ['GALE_DATA_DIR', { GALE_DATA_DIR: missing }, []],
    ] as Array<[string, Record<string, string>, string[]]>) {
      const refused = await galeIn(elsewhere, env, 'admin', ...flags, 'keys', 'create', '--user', 'someone');
      assert.equal(refused.code, 2, `${how}: ${refused.stderr}`);
      assert.match(refused.stderr, new RegExp(`the SQLite store at ${join(missing, 'gale.db')} does not exist; .*does not make a new, empty one`), how);
      assert.equal(existsSync(missing), false, `${how}: nothing was made`);
    }
    const after = await galeIn(elsewhere, {}, 'admin', 'users', 'list', '--data-dir', missing);
    assert.equal(after.code, 2, 'the flag after the subcommand too');

    // Named by the flag alone, from elsewhere: the server's store, said on stderr.
    const named = await galeIn(elsewhere, {}, 'admin', '--data-dir', gale.config.dataDir, 'users', 'list', '--json');
    assert.equal(named.code, 0, named.stderr);
    assert.ok(Array.isArray(JSON.parse(named.stdout)));
    assert.match(named.stderr, /using the SQLite store at /);
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }
});

test('admin commands work on an existing PostgreSQL store, and refuse a schema without one', { skip: await unavailable({ store: 'postgres', provider: 'simulator' }) }, async () => {
  const server = await startTestGale({ store: 'postgres', provider: 'simulator' });
  try {
    const url = server.config.databaseUrl;
    const made = await galeIn(process.cwd(), {}, 'admin', '--database-url', url, '--database-schema', server.config.databaseSchema, 'users', 'create', '--email', 'pg@example.com', '--json');
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, new RegExp(`using the PostgreSQL store at .*, schema ${server.config.databaseSchema}`));
    const userId = String((JSON.parse(made.stdout) as { userId: string }).userId);
    const pair = await galeIn(process.cwd(), { GALE_DATABASE_URL: url, GALE_DATABASE_SCHEMA: server.config.databaseSchema }, 'admin', 'keys', 'create', '--user', userId, '--json');
    const { apiKey, apiSecret } = JSON.parse(pair.stdout) as { apiKey: string; apiSecret: string };
    assert.equal((await call(server.url, 'GET', '/api/compute/v1/quotas', { headers: { 'api-key': apiKey, 'api-secret': apiSecret } })).status, 200);

    const empty = `gale_empty_${Date.now()}`;
    const refused = await galeIn(process.cwd(), {}, 'admin', '--database-url', url, '--database-schema', empty, 'users', 'list');
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`schema ${empty} does not exist`));
  } finally {
    await server.close();
  }
});
