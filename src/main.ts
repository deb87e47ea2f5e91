import { AuthFailureGuard } from './api/auth-failures.js';
import { Authenticator } from './api/authenticator.js';
import { buildApp } from './api/app.js';
import { LiveEvents } from './api/events/live-events.js';
import { openLimiterBackend } from './api/limiter/backends.js';
import { RequestLimiter } from './api/limiter/request-limiter.js';
import type { ReadinessChecks } from './api/routes/operability.js';
import type { ApiServices, GaleApp } from './api/services.js';
import { bootstrapAdmin, bootstrapGreeting } from './bootstrap.js';
import type { Config } from './config/schema.js';
import { CatalogIndex } from './domain/catalog.js';
import { systemClock, type Clock } from './domain/clock.js';
import type { Provider } from './domain/provider.js';
import type { Store } from './domain/store.js';
import { createLogger, type Logger } from './logger.js';
import { GaleMetrics } from './observability/metrics.js';
import { openProviders } from './providers/open-providers.js';
import { createReconciler, type Reconciler } from './reconciler/index.js';
import { runUnderIdentity } from './reconciler/identity-guard.js';
import { ReplicaLiveness } from './replica-liveness.js';
import { openStore } from './store/index.js';
import { openReplicaIdentity } from './store/replica-identity.js';

export interface GaleServer {
  url: string;
  app: GaleApp;
  store: Store;
  provider: Provider;
  reconciler: Reconciler;
  logger: Logger;
  metrics: GaleMetrics;
  /** The event hub and the open streams and waits. */
  events: LiveEvents;
  /** Stops taking requests, lets in-flight ones finish, brings the reconciler to a safe point, closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** Where the bootstrap credentials are printed: stderr, the operator's terminal, by default; never the log stream (stdout). */
  print?: (text: string) => void;
  /** Identity of this replica in work leases, over config reconciler.replicaId; held exclusively all the same. */
  replicaId?: string;
}

/** The store the configuration names: PostgreSQL when databaseUrl is set, else SQLite under dataDir. */
export function openConfiguredStore(config: Config, logger?: Logger, clock?: Clock): Promise<Store> {
  const log = logger?.child({ component: 'store' });
  return openStore({
    clock,
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl || undefined,
    schema: config.databaseSchema || undefined,
    postgres: {
      ...config.store,
      onWaiting: (reason, retryInMs) => log?.warn({ reason, retryInMs }, 'waiting for the database to answer'),
      onConnectionError: (error) => log?.warn({ err: error }, 'a database connection failed; it is replaced'),
    },
  });
}

/** The composition root: everything is built here, once, and nowhere else. */
export async function startServer(config: Config, options: StartOptions = {}): Promise<GaleServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const catalog = new CatalogIndex(config.catalog);

  // What has been opened so far, closed in reverse order on shutdown or when a later step of start-up fails.
  const opened: Array<() => Promise<void>> = [];
  const closeOpened = async (): Promise<void> => {
    for (let step = opened.pop(); step; step = opened.pop()) {
      try {
        await step();
      } catch (error) {
        logger.error({ err: error }, 'error while closing');
      }
    }
  };
  try {
    const store = await openConfiguredStore(config, logger, options.clock);
    opened.push(() => store.close());
    // Held for the life of the process, so that leases found under it at start are a dead predecessor's (docs/operations.md).
    const identity = await openReplicaIdentity({
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl || undefined,
      schema: config.databaseSchema || undefined,
      requested: options.replicaId ?? config.reconciler.replicaId,
      onLost: (error) => logger.error({ err: error }, 'the session guarding the replica id ended; taking it again'),
      onHeldByAnother: (id) => logger.error({ replicaId: id }, 'another running Gale took this replica id meanwhile; not reconciling until it is free'),
    });
    opened.push(() => identity.close());
    const replicaId = identity.id;
    // The store's clock when it has one (PostgreSQL's, shared by every replica), else this machine's.
    const clock = options.clock ?? store.clock ?? systemClock;
    // This replica's heartbeat in the store: the count of live replicas a user's limit is split by while the rate-limit
    // store is down. Beaten once before the API serves, so the first requests already know the fleet.
    const liveness = new ReplicaLiveness(store, { replicaId, clock, logger: logger.child({ component: 'replicas' }) });
    await liveness.start();
    opened.push(() => liveness.stop());
    const events = new LiveEvents(
      store,
      { ...config.events, onStreamEnded: (why) => metrics.eventStreamsEnded.inc({ reason: why }) },
      (error) => logger.warn({ err: error }, 'reading new events failed; retrying'),
    );
    const metrics = new GaleMetrics(
      {
        queueDepth: () => store.countPendingWork(clock.now()),
        instancesByStatus: () => store.countInstancesByStatus(),
        storeQueries: () => store.queryCount(),
        openStreams: () => events.openStreams,
        openWaits: () => events.openWaits,
        liveReplicas: () => liveness.count,
      },
      config.provider,
    );
    // Redis or PostgreSQL when configured, so that a user's allowance holds across every replica (docs/operations.md).
    const limiterBackend = await openLimiterBackend(config, {
      logger,
      onFallback: (backend) => metrics.rateLimitFallbacks.inc({ backend }),
      onCircuit: (backend, open) => metrics.rateLimitStoreUp.set({ backend }, open ? 0 : 1),
      degraded: { mode: config.rateLimits.degraded, replicas: () => liveness.count },
    });
    // After the API: no request can still be counting against it.
    opened.push(() => limiterBackend.close());
    const providers = await openProviders(
      { provider: config.provider, providers: config.providers, zoneProviders: config.catalog.zoneProviders },
      { stateOf: (name) => store.providerState(name), clock, logger, installationId: await store.installationId(), stopGraceMs: config.reconciler.stopGraceMs, dataDir: config.dataDir },
      (instanceId) => store.instanceZone(instanceId),
    );
    const provider = providers.provider;
    opened.push(() => provider.close());
    const reconciler = createReconciler({
      store,
      provider,
      clock,
      logger: logger.child({ component: 'reconciler' }),
      owner: replicaId,
      ...config.reconciler,
      operationRetentionMs: config.retention.operationsMs,
      eventRetentionMs: config.retention.eventsMs,
      onOutcome: (action, outcome) => metrics.reconcileOutcomes.inc({ action, outcome }),
      onOperationsFinished: (operations) => metrics.observeFinishedOperations(operations),
      imageFor: (templateId: string, zone: string) => {
        const template = catalog.template(templateId);
        return template?.providerImages[providers.nameOf(zone)] ?? template?.image ?? templateId;
      },
    });
    opened.push(() => reconciler.stop());

    const services: ApiServices = {
      store,
      events,
      catalog,
      tiers: config.tiers,
      defaultTier: config.defaultTier,
      authenticator: new Authenticator(store, clock, config.credentialCacheMs),
      authFailures: new AuthFailureGuard(config.http.authFailuresPerMinute, limiterBackend.factory),
      limiter: new RequestLimiter(limiterBackend.factory),
      clock,
      compat: config.compat,
      capabilitiesOf: providers.capabilitiesOf,
      serialConsole: async (id, start) => (provider.serialOutput ? provider.serialOutput(id, start) : null),
      idempotencyKeyTtlMs: config.retention.idempotencyKeysMs,
      onWorkQueued: () => reconciler.wake(),
    };
    const readiness: ReadinessChecks = {
      database: () => store.ping(),
      ...(store.diskStatus ? { disk: () => store.diskStatus!() } : {}),
      // Reported, never failing: while the shared store is out the API counts in memory and stays up (docs/operations.md).
      rateLimits: async () => limiterBackend.status(),
      provider: async () => {
        await provider.probe();
        return provider.describe?.();
      },
    };
    const app = await buildApp(services, { logger, bodyLimitBytes: config.bodyLimitBytes, http: config.http, cors: config.cors, metrics, readiness });
    opened.push(() => app.close());

    const print = options.print ?? ((text: string) => process.stderr.write(text));
    const admin = config.bootstrap ? await bootstrapAdmin(store, clock, config.tiers) : undefined;
    let address: string;
    try {
      address = await app.listen({ host: config.host, port: config.port });
    } catch (error) {
      // The admin exists now, and the next start will not make another: its secret is shown now or never.
      if (admin) print(bootstrapGreeting(admin, `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`));
      throw error;
    }
    const url = address.replace('://[::1]', '://localhost');
    // Printed in the turn that learns the address, before any request is read: whoever sees the server answer can
    // already see the credentials (stderr is synchronous on a terminal, a file and, on Linux, a pipe).
    if (admin) print(bootstrapGreeting(admin, url));
    opened.push(await runUnderIdentity(identity, reconciler, store, logger.child({ component: 'reconciler' })));
    logger.info({ url, provider: provider.name, store: store.dialect, rateLimits: limiterBackend.name, replicaId }, 'gale is serving');

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => (closing ??= closeOpened());
    return { url, app, store, provider, reconciler, logger, metrics, events, close };
  } catch (error) {
    await closeOpened();
    throw error;
  }
}
