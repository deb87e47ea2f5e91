import { randomUUID } from 'node:crypto';
import { Authenticator } from './api/authenticator.js';
import { buildApp } from './api/app.js';
import { RequestLimiter } from './api/request-limiter.js';
import type { ApiServices, GaleApp } from './api/services.js';
import { bootstrapAdmin } from './bootstrap.js';
import type { Config } from './config/schema.js';
import { CatalogIndex } from './domain/catalog.js';
import { systemClock, type Clock } from './domain/clock.js';
import type { Provider } from './domain/provider.js';
import type { Store } from './domain/store.js';
import { createLogger, type Logger } from './logger.js';
import { GaleMetrics } from './observability/metrics.js';
import { createProvider } from './providers/registry.js';
import { createReconciler, type Reconciler } from './reconciler/index.js';
import { openStore } from './store/index.js';

export interface GaleServer {
  url: string;
  app: GaleApp;
  store: Store;
  provider: Provider;
  reconciler: Reconciler;
  logger: Logger;
  metrics: GaleMetrics;
  /** Stops taking requests, lets in-flight ones finish, brings the reconciler to a safe point, closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** Where the bootstrap credentials are printed (the terminal by default, never the log). */
  print?: (text: string) => void;
  /** Identity of this replica in work leases; random by default. */
  replicaId?: string;
}

/** The store the configuration names: PostgreSQL when databaseUrl is set, else SQLite under dataDir. */
export function openConfiguredStore(config: Config): Promise<Store> {
  return openStore({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl || undefined,
    schema: config.databaseSchema || undefined,
  });
}

/** The composition root: everything is built here, once, and nowhere else. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<GaleServer> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);
  const replicaId = options.replicaId ?? `gale-${process.pid}-${randomUUID().slice(0, 8)}`;
  const catalog = new CatalogIndex(config.catalog);

  const store = await openConfiguredStore(config);
  const provider = createProvider(config.provider, {
    store,
    clock,
    logger,
    simulatorDelayMs: config.simulator.delayMs,
    installationId: await store.installationId(),
    docker: config.docker,
    stopGraceMs: config.reconciler.stopGraceMs,
  });
  const reconciler = createReconciler({
    store,
    provider,
    clock,
    logger: logger.child({ component: 'reconciler' }),
    owner: replicaId,
    ...config.reconciler,
    imageFor: (templateId: string) => {
      const template = catalog.template(templateId);
      return template?.providerImages[provider.name] ?? template?.image ?? templateId;
    },
  });

  const services: ApiServices = {
    store,
    catalog,
    tiers: config.tiers,
    defaultTier: config.defaultTier,
    authenticator: new Authenticator(store, clock, config.credentialCacheMs),
    limiter: new RequestLimiter(),
    clock,
    onWorkQueued: () => reconciler.wake(),
  };
  const metrics = new GaleMetrics(
    { queueDepth: () => store.countPendingWork(clock.now()), instancesByStatus: () => store.countInstancesByStatus() },
    provider.name,
  );
  const readiness = { store: () => store.ping(), provider: () => provider.probe() };
  const app = await buildApp(services, { logger, bodyLimitBytes: config.bodyLimitBytes, metrics, readiness });

  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('://[::1]', '://localhost');
  if (config.bootstrap) {
    await bootstrapAdmin(store, clock, config.tiers, url, options.print ?? ((text) => process.stdout.write(text)));
  }
  reconciler.start();
  logger.info({ url, provider: provider.name, store: store.dialect, replicaId }, 'gale is serving');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await app.close();
      await reconciler.stop();
      await provider.close();
      await store.close();
    })();
    return closing;
  };
  return { url, app, store, provider, reconciler, logger, metrics, close };
}
