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
    stopGraceMs: Type.Integer({ minimum: 0 }),
  }),
  docker: Type.Object({
    /** Zone (or "*") -> Docker endpoint: a unix socket path or tcp://host:port. */
    endpoints: Type.Record(Type.String(), Type.String()),
    publishHost: Type.String(),
    network: Type.String(),
    recreateVanished: Type.Boolean(),
  }),
});

export type Config = Static<typeof ConfigSchema>;
