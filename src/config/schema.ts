import { Type, type Static, type TProperties } from '@sinclair/typebox';

/** rateLimits.degraded: what each replica allows while the shared rate-limit store is down (api/limiter/degraded.ts). */
export const DEGRADED_RATE_LIMIT_MODES = ['fail-open-split', 'fail-open-shared', 'fail-closed'] as const;

/** Every object of the configuration refuses keys it does not know: a misspelt setting ("simulater") must not be ignored. */
const Section = <T extends TProperties>(properties: T) => Type.Object(properties, { additionalProperties: false });

const MachineTypeSchema = Section({
  name: Type.String({ minLength: 1 }),
  vcpus: Type.Integer({ minimum: 1 }),
  memoryMb: Type.Integer({ minimum: 1 }),
});

const TemplateSchema = Section({
  id: Type.String({ minLength: 1, pattern: '^[a-z0-9][a-z0-9-]*$' }),
  name: Type.String(),
  description: Type.String(),
  machineType: Type.String(),
  diskSizeGb: Type.Integer({ minimum: 1 }),
  diskType: Type.String(),
  image: Type.String(),
  region: Type.String(),
  providerImages: Type.Record(Type.String(), Type.String()),
});

const TierSchema = Section({
  name: Type.String({ minLength: 1 }),
  requestsPerMinute: Type.Integer({ minimum: 1 }),
  maxInstances: Type.Integer({ minimum: 0 }),
  maxVcpus: Type.Integer({ minimum: 0 }),
  maxDiskGb: Type.Integer({ minimum: 0 }),
});

/** Every setting of Gale. docs/configuration.md documents each one; keep the two together. */
export const ConfigSchema = Section({
  host: Type.String(),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  dataDir: Type.String({ minLength: 1 }),
  /** postgres://… selects PostgreSQL; empty keeps the embedded SQLite store under dataDir. */
  databaseUrl: Type.String(),
  /** PostgreSQL schema to keep Gale's tables in (created if missing); empty means the server's default (public). */
  databaseSchema: Type.String({ pattern: '^$|^[a-z_][a-z0-9_]{0,62}$' }),
  /** How the store treats a slow, hung or absent database (docs/configuration.md). */
  store: Section({
    /** PostgreSQL: connections in the pool. */
    poolSize: Type.Integer({ minimum: 1, maximum: 1000 }),
    /** PostgreSQL: the server cancels a statement that runs longer (statement_timeout); one whose answer never comes
     * (a hung server) fails on the client a second later. */
    queryTimeoutMs: Type.Integer({ minimum: 100 }),
    /** PostgreSQL: the longest wait for a connection, from the pool or newly opened. */
    connectTimeoutMs: Type.Integer({ minimum: 100 }),
    /** How long start-up waits for the database to answer, retrying with backoff; 0 tries once. */
    startupTimeoutMs: Type.Integer({ minimum: 0 }),
  }),
  /** redis://… shares rate-limit state between replicas. */
  redisUrl: Type.String(),
  /** The per-user rate limits while their shared store (Redis, PostgreSQL) does not answer (docs/operations.md). */
  rateLimits: Section({
    /** fail-open-split: each replica allows limit / replicas; fail-open-shared: each the whole limit; fail-closed: 503. */
    degraded: Type.Union(DEGRADED_RATE_LIMIT_MODES.map((mode) => Type.Literal(mode))),
  }),
  /** The provider of every zone that catalog.zoneProviders does not give to another. */
  provider: Type.String({ minLength: 1 }),
  /** providers.<name>: each provider's own settings, validated against its descriptor (src/providers/<name>/). */
  providers: Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown())),
  bootstrap: Type.Boolean(),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
  /** How long a verified credential is trusted without asking the store: the bound on revocation delay. */
  credentialCacheMs: Type.Integer({ minimum: 0, maximum: 5000 }),
  bodyLimitBytes: Type.Integer({ minimum: 1024 }),
  defaultTier: Type.String(),
  tiers: Type.Record(Type.String(), TierSchema),
  catalog: Section({
    regions: Type.Array(Section({ name: Type.String(), zones: Type.Array(Type.String()) })),
    machineTypes: Type.Array(MachineTypeSchema),
    templates: Type.Array(TemplateSchema),
    /** Zone -> provider name, for zones served by another provider than `provider` (Docker here, VMs there). */
    zoneProviders: Type.Optional(Type.Record(Type.String(), Type.String())),
  }),
  reconciler: Section({
    pollIntervalMs: Type.Integer({ minimum: 10 }),
    leaseMs: Type.Integer({ minimum: 1000 }),
    concurrency: Type.Integer({ minimum: 1, maximum: 256 }),
    resyncIntervalMs: Type.Integer({ minimum: 100 }),
    /** The largest share of the process's time a resync sweep may take; large fleets are swept more slowly. */
    resyncShare: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    stopGraceMs: Type.Integer({ minimum: 0 }),
    /** A change of intent not carried out within it is retried once with as long again, then reported failed. */
    transitionDeadlineMs: Type.Integer({ minimum: 1000 }),
    /** The zones this replica works on (one replica per VM host); empty: every zone. */
    zones: Type.Array(Type.String({ minLength: 1 })),
    /**
     * This replica's name in work leases, held exclusively while it runs; a restart under it takes its leases over at
     * once. Empty: chosen (SQLite: local-N; PostgreSQL: <host name>-N, the first free). A file name on SQLite.
     */
    replicaId: Type.String({ pattern: '^([A-Za-z0-9][A-Za-z0-9._-]{0,62})?$' }),
  }),
  /** Limits on connections and slow clients, and the security headers (src/api/security.ts). */
  http: Section({
    /** Connections open at once; more are closed on accept. 0: no limit. */
    maxConnections: Type.Integer({ minimum: 0 }),
    /** Time to receive a request's headers (slowloris); Node answers 408 and closes. At most requestTimeoutMs. */
    headersTimeoutMs: Type.Integer({ minimum: 1000 }),
    /** Time to receive a whole request, body included. */
    requestTimeoutMs: Type.Integer({ minimum: 1000 }),
    /** An idle keep-alive connection is closed after it; keep it above a load balancer's idle timeout. */
    keepAliveTimeoutMs: Type.Integer({ minimum: 1000 }),
    /** Largest total size of a request's headers; larger ones answer 431. */
    maxHeaderBytes: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 }),
    /** Strict-Transport-Security max-age; 0 sends no such header (set it when Gale is served over HTTPS). */
    hstsMaxAgeSeconds: Type.Integer({ minimum: 0 }),
    /** Failed authentications a client address, or a credential, may have a minute before further failures answer 429. */
    authFailuresPerMinute: Type.Integer({ minimum: 1 }),
    /**
     * Whether X-Forwarded-For names the client, as Fastify's trustProxy: false (the default: the peer address is the
     * client), a number of proxy hops to trust, or the proxies' addresses and CIDRs.
     */
    trustProxy: Type.Union([Type.Boolean(), Type.Integer({ minimum: 0 }), Type.Array(Type.String({ minLength: 1 }))]),
  }),
  /** How long history is kept: finished operations, and the answers kept for Idempotency-Keys. */
  retention: Section({
    operationsMs: Type.Integer({ minimum: 60_000 }),
    idempotencyKeysMs: Type.Integer({ minimum: 60_000 }),
    /** Events a stream can be resumed from with Last-Event-ID. */
    eventsMs: Type.Integer({ minimum: 60_000 }),
  }),
  /** Waits and event streams (GET /events), counted per user and per replica. */
  events: Section({
    /** Streams a user may hold open at once; one more answers 429. */
    streamsPerUser: Type.Integer({ minimum: 1 }),
    /** Waits (operation and instance) a user may have open at once; one more answers 429. */
    waitsPerUser: Type.Integer({ minimum: 1 }),
    /** A comment line sent on an idle stream this often, so that proxies do not close it. */
    heartbeatMs: Type.Integer({ minimum: 1000 }),
    /** A stream whose reader lets more than this pile up unsent is closed; it resumes with Last-Event-ID. */
    maxBufferedBytes: Type.Integer({ minimum: 65_536 }),
  }),
  /** Answers kept as the spec's text has them, for operators who need them byte for byte. */
  compat: Section({
    /** Power operations answer 202 with an empty body, as the spec's text says, instead of the accepted operation. */
    emptyAccepted: Type.Boolean(),
  }),
  /** Cross-origin requests from browsers: off unless origins are listed ("*" allows any). */
  cors: Section({ origins: Type.Array(Type.String({ minLength: 1 })) }),
});

export type Config = Static<typeof ConfigSchema>;
