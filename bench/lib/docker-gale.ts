import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createToken, createUser } from '../../src/admin/accounts.js';
import { defaultConfig, validateConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { systemClock } from '../../src/domain/clock.js';
import { createLogger } from '../../src/logger.js';
import { startServer, type GaleServer } from '../../src/main.js';

const BENCH_TIER = 'bench';

export interface BenchGale {
  /** Base URL of the Compute API (…/api/compute/v1). */
  api: string;
  headers: Record<string, string>;
  server: GaleServer;
  installationId: string;
  close(): Promise<void>;
}

/**
 * A Gale in this process with the docker provider and a fresh SQLite store, configured as an operator would run
 * it except for a short reconciler poll. The poll only matters for work that comes due by time (retries): the API
 * wakes the reconciler at once on every write, so create and delete do not wait for it.
 */
export async function startBenchGale(overrides: Partial<Config['reconciler']> = {}): Promise<BenchGale> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gale-bench-docker-'));
  const base = defaultConfig();
  const config = validateConfig({
    ...base,
    port: 0,
    dataDir,
    provider: 'docker',
    bootstrap: false,
    logLevel: (process.env.GALE_BENCH_LOG_LEVEL as Config['logLevel'] | undefined) ?? 'warn',
    // A tier of its own: 100 concurrent creates, each polled, would be refused by any real tier's quota or request rate,
    // and the bench measures the path to RUNNING, not the limits (tested elsewhere).
    // Every create of a batch is waited for at once (GET /instances/{id}/wait): more than the default 100 a user.
    events: { ...base.events, waitsPerUser: 1_000 },
    tiers: { ...base.tiers, [BENCH_TIER]: { name: BENCH_TIER, requestsPerMinute: 10_000_000, maxInstances: 100_000, maxVcpus: 1_000_000, maxDiskGb: 100_000_000 } },
    reconciler: {
      ...base.reconciler,
      pollIntervalMs: Number(process.env.BENCH_RECONCILER_POLL_MS ?? 20),
      ...(process.env.BENCH_RECONCILER_CONCURRENCY ? { concurrency: Number(process.env.BENCH_RECONCILER_CONCURRENCY) } : {}),
      ...overrides,
    },
  });
  const server = await startServer(config, { logger: createLogger(config.logLevel) });
  const user = await createUser(server.store, systemClock, config.tiers, { email: 'bench@gale.local', tier: BENCH_TIER, admin: false });
  const { token } = await createToken(server.store, systemClock, user.id, 3_600_000);
  return {
    api: `${server.url}/api/compute/v1`,
    headers: { authorization: `Bearer ${token}` },
    server,
    installationId: await server.store.installationId(),
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
