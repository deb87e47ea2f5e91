import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapBounded, parseDuration } from '../../src/cli/bulk.js';
import { EXIT, exitCodeOf, UsageError } from '../../src/cli/exit-codes.js';
import { age, table, toYaml } from '../../src/cli/output.js';
import { resolveProfile, saveProfile, profilesPath } from '../../src/cli/profiles.js';
import { GaleApiError, WaitTimeoutError } from '../../src/client/index.js';

/* The CLI's pure parts: tables, YAML, durations, the bounded runner, exit codes, profile resolution. */

test('tables align every column to its widest cell', () => {
  assert.equal(table(['ID', 'STATUS'], [['a', 'RUNNING'], ['longer-id', 'X']]), 'ID         STATUS\na          RUNNING\nlonger-id  X\n');
});

test('YAML quotes what would be misread, nests maps and lists', () => {
  assert.equal(
    toYaml({ id: 'tw-1', n: 2, empty: '', flag: 'yes', nested: { list: [{ a: 1, b: 'x: y' }, 'true'], none: [] } }),
    'id: tw-1\nn: 2\nempty: ""\nflag: "yes"\nnested:\n  list:\n    - a: 1\n      b: "x: y"\n    - "true"\n  none: []\n',
  );
  assert.equal(toYaml([]), '[]\n');
});

test('durations and ages', () => {
  assert.deepEqual(['500ms', '30s', '5m', '1h', '1m30s', '2'].map(parseDuration), [500, 30_000, 300_000, 3_600_000, 90_000, 2000]);
  assert.throws(() => parseDuration('soon'), UsageError);
  assert.throws(() => parseDuration('5 m'), UsageError);
  const now = Date.parse('2026-01-02T00:00:00Z');
  assert.deepEqual(['2026-01-01T23:59:15Z', '2026-01-01T23:00:00Z', '2026-01-01T12:00:00Z', '2025-12-01T00:00:00Z'].map((t) => age(t, now)), ['45s', '60m', '12h', '32d']);
});

test('mapBounded keeps the order and never runs more than the limit at once', async () => {
  let running = 0;
  let most = 0;
  const results = await mapBounded([...Array(20).keys()], 8, async (n) => {
    most = Math.max(most, ++running);
    await new Promise((resolve) => setImmediate(resolve));
    running -= 1;
    return n * 2;
  });
  assert.deepEqual(results, [...Array(20).keys()].map((n) => n * 2));
  assert.equal(most, 8);
});

test('exit codes by error', () => {
  const api = (status: number, code: string) =>
    new GaleApiError({ status, method: 'GET', path: '/x', headers: new Headers(), code, errorId: 'e', severity: 'WARNING', message: 'm' });
  assert.deepEqual(
    [api(401, 'unauthenticated'), api(404, 'not_found'), api(403, 'quota_exceeded'), api(409, 'conflict'), new WaitTimeoutError('i', 'RUNNING', 'STAGING', 1), new UsageError('u'), new Error('x')].map(exitCodeOf),
    [EXIT.auth, EXIT.notFound, EXIT.api, EXIT.api, EXIT.timeout, EXIT.usage, EXIT.api],
  );
});

test('the environment takes precedence over the profile, variable by variable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gale-profiles-'));
  try {
    const env = { XDG_CONFIG_HOME: dir };
    assert.equal(profilesPath(env), join(dir, 'gale', 'profiles.json'));
    assert.equal(profilesPath({ HOME: '/home/u' }), '/home/u/.config/gale/profiles.json');
    saveProfile('default', { endpoint: 'http://a', apiKey: 'k', apiSecret: 's' }, profilesPath(env));
    assert.deepEqual(resolveProfile(undefined, env), { endpoint: 'http://a', apiKey: 'k', apiSecret: 's' });
    assert.deepEqual(resolveProfile(undefined, { ...env, GALE_TOKEN: 't' }), { endpoint: 'http://a', token: 't' });
    assert.deepEqual(resolveProfile(undefined, { ...env, GALE_ENDPOINT: 'http://b' }), { endpoint: 'http://b', apiKey: 'k', apiSecret: 's' });
    assert.deepEqual(resolveProfile(undefined, { ...env, GALE_API_KEY: 'k2', GALE_API_SECRET: 's2' }), { endpoint: 'http://a', apiKey: 'k2', apiSecret: 's2' });
    assert.throws(() => resolveProfile(undefined, { ...env, GALE_API_KEY: 'k2' }), /go together/);
    assert.throws(() => resolveProfile('other', env), /no profile "other"/);
    assert.throws(() => resolveProfile(undefined, { XDG_CONFIG_HOME: join(dir, 'none') }), /not logged in/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
