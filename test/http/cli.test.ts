import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { assertError, call } from '../helpers/http.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';

/* `gale admin …` run as a separate process on the data directory of a server that is running. */

const run = promisify(execFile);
let gale: TestGale;

before(async () => {
  gale = await startTestGale({ store: 'sqlite', provider: 'simulator' });
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
  assert.deepEqual(Object.keys(user).sort(), ['customerId', 'email', 'roles', 'tier', 'userId']);
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
