import { Type, type Static } from '@sinclair/typebox';

const MachineTypeSchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  vcpus: Type.Integer({ minimum: 1 }),
  memoryMb: Type.Integer({ minimum: 1 }),
});

const TemplateSchema = Type.Object({
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

const TierSchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  requestsPerMinute: Type.Integer({ minimum: 1 }),
  maxInstances: Type.Integer({ minimum: 0 }),
  maxVcpus: Type.Integer({ minimum: 0 }),
  maxDiskGb: Type.Integer({ minimum: 0 }),
});

/** Every setting of Gale. docs/configuration.md documents each one; keep the two together. */
export const ConfigSchema = Type.Object({
  host: Type.String(),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  dataDir: Type.String({ minLength: 1 }),
  /** postgres://… selects PostgreSQL; empty keeps the embedded SQLite store under dataDir. */
  databaseUrl: Type.String(),
  /** PostgreSQL schema to keep Gale's tables in (created if missing); empty means the server's default (public). */
  databaseSchema: Type.String({ pattern: '^$|^[a-z_][a-z0-9_]{0,62}$' }),
  /** redis://… shares rate-limit state between replicas. */
  redisUrl: Type.String(),
  provider: Type.String({ minLength: 1 }),
  simulator: Type.Object({ delayMs: Type.Integer({ minimum: 0 }) }),
  bootstrap: Type.Boolean(),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
  /** How long a verified credential is trusted without asking the store: the bound on revocation delay. */
  credentialCacheMs: Type.Integer({ minimum: 0, maximum: 5000 }),
  bodyLimitBytes: Type.Integer({ minimum: 1024 }),
  defaultTier: Type.String(),
  tiers: Type.Record(Type.String(), TierSchema),
  catalog: Type.Object({
    regions: Type.Array(Type.Object({ name: Type.String(), zones: Type.Array(Type.String()) })),
    machineTypes: Type.Array(MachineTypeSchema),
    templates: Type.Array(TemplateSchema),
  }),
  reconciler: Type.Object({
    pollIntervalMs: Type.Integer({ minimum: 10 }),
    leaseMs: Type.Integer({ minimum: 1000 }),
    concurrency: Type.Integer({ minimum: 1, maximum: 256 }),
    resyncIntervalMs: Type.Integer({ minimum: 100 }),
    /** The largest share of the process's time a resync sweep may take; large fleets are swept more slowly. */
    resyncShare: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    stopGraceMs: Type.Integer({ minimum: 0 }),
    /** A change of intent not carried out within it is retried once with as long again, then reported failed. */
    transitionDeadlineMs: Type.Integer({ minimum: 1000 }),
  }),
  /** Limits on connections and slow clients, and the security headers (src/api/security.ts). */
  http: Type.Object({
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
    /** Failed authentications a client address may make a minute before its attempts answer 429. */
    authFailuresPerMinute: Type.Integer({ minimum: 1 }),
  }),
  /** Answers kept as the spec's text has them, for operators who need them byte for byte. */
  compat: Type.Object({
    /** Power operations answer 202 with an empty body, as the spec's text says, instead of the accepted operation. */
    emptyAccepted: Type.Boolean(),
  }),
  /** Cross-origin requests from browsers: off unless origins are listed ("*" allows any). */
  cors: Type.Object({ origins: Type.Array(Type.String({ minLength: 1 })) }),
  docker: Type.Object({
    /** Zone (or "*") -> Docker endpoint: a unix socket path or tcp://host:port. */
    endpoints: Type.Record(Type.String(), Type.String()),
    publishHost: Type.String(),
    network: Type.String(),
    recreateVanished: Type.Boolean(),
  }),
});

export type Config = Static<typeof ConfigSchema>;
