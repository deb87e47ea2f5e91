import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/load.js';
import { RequestLimiter, RateLimitedError } from '../../src/api/limiter/request-limiter.js';
import { parseDuration } from '../../src/admin/accounts.js';
import { STATUS_OF, severityOf } from '../../src/api/error-envelope.js';

test('config: defaults < file < environment < flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gale-config-'));
  const file = join(dir, 'gale.json');
  writeFileSync(file, JSON.stringify({ port: 9000, host: '0.0.0.0', simulator: { delayMs: 5 } }));
  const config = loadConfig({ env: { GALE_CONFIG: file, GALE_PORT: '9100' }, flags: { host: '127.0.0.2' } });
  assert.equal(config.port, 9100);
  assert.equal(config.host, '127.0.0.2');
  // A provider's section at the top level, as config files had it, is read as providers.<name>.
  assert.equal(config.providers.simulator!.delayMs, 5);
  assert.equal(config.provider, 'simulator');
  assert.equal(config.tiers.pro?.maxInstances, 3);
});

test('config: bad values are refused with a message naming them', () => {
  assert.throws(() => loadConfig({ env: { GALE_PORT: 'eighty' } }), (e: unknown) => e instanceof ConfigError && /GALE_PORT/.test(e.message));
  assert.throws(() => loadConfig({ env: { GALE_BOOTSTRAP: 'maybe' } }), /GALE_BOOTSTRAP/);
  assert.throws(() => loadConfig({ env: { GALE_CONFIG: '/nonexistent/gale.json' } }), /cannot read config file/);
  assert.throws(() => loadConfig({ flags: { port: 70000 } }), /port/);
  assert.throws(() => loadConfig({ env: { GALE_DATABASE_URL: 'garbage' } }), /databaseUrl \(GALE_DATABASE_URL\) must be a postgres:\/\/… URL/);
  assert.throws(() => loadConfig({ env: { GALE_REDIS_URL: 'localhost:6379' } }), /redisUrl \(GALE_REDIS_URL\)/);
});

test('config: a key the configuration does not have is refused by name, at any depth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gale-config-'));
  const file = (content: object) => {
    const path = join(dir, `${Math.random()}.json`);
    writeFileSync(path, JSON.stringify(content));
    return path;
  };
  assert.throws(() => loadConfig({ env: { GALE_CONFIG: file({ simulater: { delayMs: 5 } }) } }), /\/simulater: Unexpected property/);
  assert.throws(() => loadConfig({ env: { GALE_CONFIG: file({ http: { trustproxy: 1 } }) } }), /\/http\/trustproxy: Unexpected property/);
  assert.doesNotThrow(() => loadConfig({ env: { GALE_CONFIG: file({ http: { trustProxy: 1 }, compat: { emptyAccepted: true } }) } }));
});

test('config: each provider validates its own settings, completed with its defaults; zones name known providers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gale-config-'));
  const file = (content: object) => {
    const path = join(dir, `${Math.random()}.json`);
    writeFileSync(path, JSON.stringify(content));
    return path;
  };
  const config = loadConfig({ env: { GALE_CONFIG: file({ providers: { docker: { network: 'gale' } } }), GALE_SIM_DELAY_MS: '7', GALE_DOCKER_HOST: 'unix:///run/d.sock' } });
  assert.deepEqual(config.providers.docker, { endpoints: { '*': '/run/d.sock' }, publishHost: '', network: 'gale', recreateVanished: false });
  assert.equal(config.providers.simulator!.delayMs, 7);
  assert.throws(() => loadConfig({ env: { GALE_CONFIG: file({ providers: { vmware: {} } }) } }), /providers\.vmware: no such provider; known providers: simulator, docker, qemu/);
  assert.throws(() => loadConfig({ env: { GALE_CONFIG: file({ providers: { docker: { endpoints: 'x' } } }) } }), /\/providers\/docker\/endpoints/);
  assert.throws(() => loadConfig({ env: { GALE_CONFIG: file({ providers: { simulator: { delayMs: 1, colour: 'red' } } }) } }), /\/providers\/simulator\/colour: Unexpected property/);
  assert.throws(() => loadConfig({ env: { GALE_SIM_DELAY_MS: 'slow' } }), /GALE_SIM_DELAY_MS must be a whole number/);
  assert.throws(() => loadConfig({ env: { GALE_PROVIDER: 'vmware' } }), /provider "vmware" \(GALE_PROVIDER\) does not exist/);
  const zoned = (zoneProviders: Record<string, string>) => loadConfig({ flags: { catalog: { ...loadConfig().catalog, zoneProviders } } });
  assert.equal(zoned({ 'europe-west1-b': 'docker' }).catalog.zoneProviders!['europe-west1-b'], 'docker');
  assert.throws(() => zoned({ 'mars-1-a': 'docker' }), /"mars-1-a" is not a zone of any region/);
  assert.throws(() => zoned({ 'europe-west1-b': 'vmware' }), /zoneProviders\.europe-west1-b: provider "vmware" does not exist/);
});

test('config: the replica id is reconciler.replicaId or GALE_REPLICA_ID, a plain name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gale-config-'));
  const file = join(dir, 'gale.json');
  writeFileSync(file, JSON.stringify({ reconciler: { leaseMs: 2000, replicaId: 'from-file' } }));
  assert.equal(loadConfig().reconciler.replicaId, '');
  assert.equal(loadConfig({ env: { GALE_CONFIG: file } }).reconciler.replicaId, 'from-file');
  const config = loadConfig({ env: { GALE_CONFIG: file, GALE_REPLICA_ID: 'gale-0' } });
  assert.equal(config.reconciler.replicaId, 'gale-0');
  assert.equal(config.reconciler.leaseMs, 2000, 'the variable sets one field of the section, not the whole section');
  // On SQLite the id names a file: nothing that could leave the data directory.
  assert.throws(() => loadConfig({ env: { GALE_REPLICA_ID: '../gale' } }), /replicaId/);
});

test('limiter: a tier spends its whole minute in a burst, then is refused with a retry time', async () => {
  const limiter = new RequestLimiter();
  const tier = { name: 'tiny', requestsPerMinute: 5, maxInstances: 1, maxVcpus: 1, maxDiskGb: 1 };
  const states = [];
  for (let i = 0; i < 5; i++) states.push(await limiter.consume('user-1', tier));
  assert.deepEqual(states.map((s) => s.remaining), [4, 3, 2, 1, 0]);
  await assert.rejects(limiter.consume('user-1', tier), (e: unknown) => e instanceof RateLimitedError && e.state.resetSeconds > 0 && e.state.resetSeconds <= 60);
  // Another user has an allowance of their own.
  assert.equal((await limiter.consume('user-2', tier)).remaining, 4);
});

test('durations and error statuses', () => {
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('90'), 90_000);
  assert.throws(() => parseDuration('soon'));
  assert.throws(() => parseDuration('99999999999d'), /at most 3650d/);
  assert.equal(parseDuration('3650d'), 3650 * 86_400_000);
  assert.equal(STATUS_OF.quota_exceeded, 403);
  assert.equal(STATUS_OF.rate_limited, 429);
  assert.equal(severityOf(404), 'WARNING');
  assert.equal(severityOf(500), 'ERROR');
  assert.equal(severityOf(503), 'CRITICAL');
});
