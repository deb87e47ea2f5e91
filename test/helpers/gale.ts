import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createApiKey, createToken, createUser } from '../../src/admin/accounts.js';
import { defaultConfig, validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { systemClock } from '../../src/domain/clock.js';
import { startServer, type GaleServer } from '../../src/main.js';
import { createLogger } from '../../src/logger.js';
import type { Credentials } from './http.js';
import { removeContainersOf } from './docker-leftovers.js';
import { postgresTestUrl, requireBackend, type Backend } from './matrix.js';

export interface TestGale {
  url: string;
  server: GaleServer;
  config: Config;
  /** Makes a user with a key pair and a bearer token, straight through the store as `gale admin` does. */
  user(tier?: string, options?: { admin?: boolean; customerId?: string }): Promise<Credentials>;
  close(): Promise<void>;
}

export async function startTestGale(backend: Backend, overrides: Partial<Config> = {}): Promise<TestGale> {
  await requireBackend(backend);
  const dataDir = mkdtempSync(join(tmpdir(), 'gale-test-'));
  const schema = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const base = defaultConfig();
  const config = validateConfig({
    ...base,
    port: 0,
    dataDir,
    databaseUrl: backend.store === 'postgres' ? postgresTestUrl() : '',
    databaseSchema: backend.store === 'postgres' ? schema : '',
    provider: backend.provider,
    bootstrap: false,
    logLevel: (process.env.GALE_TEST_LOG_LEVEL as Config['logLevel']) ?? 'silent',
    credentialCacheMs: 0,
    providers: { simulator: { delayMs: 100 } },
    reconciler: { ...base.reconciler, pollIntervalMs: 50, leaseMs: 5_000, resyncIntervalMs: 1_000, stopGraceMs: 5_000 },
    ...overrides,
  });
  const server = await startServer(config, { logger: createLogger(config.logLevel) });
  let n = 0;
  return {
    url: server.url,
    server,
    config,
    async user(tier = 'pro', options = {}) {
      n += 1;
      const user = await createUser(server.store, systemClock, config.tiers, {
        email: `user${n}-${randomUUID().slice(0, 6)}@example.com`,
        tier,
        admin: options.admin ?? false,
        customerId: options.customerId,
      });
      const { apiKey, apiSecret } = await createApiKey(server.store, systemClock, user.id);
      const { token } = await createToken(server.store, systemClock, user.id, 3_600_000);
      return {
        userId: user.id,
        apiKey,
        token,
        bearer: { authorization: `Bearer ${token}` },
        keyPair: { 'api-key': apiKey, 'api-secret': apiSecret },
      };
    },
    async close() {
      const installation = await server.store.installationId();
      await server.close();
      if (backend.provider === 'docker') await removeContainersOf(installation);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
