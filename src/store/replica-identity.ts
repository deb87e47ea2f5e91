import type { ReplicaIdentity } from '../domain/replica-identity.js';
import { openSqliteReplicaIdentity } from './sqlite/replica-identity.js';

export interface ReplicaIdentityOptions {
  /** SQLite: the ids are held under <dataDir>/replicas/. */
  dataDir: string;
  /** PostgreSQL when set: the ids are advisory locks on it. */
  databaseUrl?: string;
  schema?: string;
  /** The configured id (reconciler.replicaId); absent: one is chosen that a restarted process chooses again. */
  requested?: string;
  /** Told of a lost PostgreSQL session and of an id another process took meanwhile. */
  onLost?: (error: Error | undefined) => void;
  onHeldByAnother?: (id: string) => void;
}

const SETTING = 'reconciler.replicaId, GALE_REPLICA_ID';

/** Takes this process's replica id, exclusively (docs/operations.md, "Replica ids"), or refuses when the requested one is held. */
export async function openReplicaIdentity(options: ReplicaIdentityOptions): Promise<ReplicaIdentity> {
  const requested = options.requested || undefined;
  if (!options.databaseUrl) return openSqliteReplicaIdentity(options.dataDir, requested, SETTING);
  // Loaded only with PostgreSQL, as the store is (store/index.ts).
  const { openPostgresReplicaIdentity } = await import('./postgres/replica-identity.js');
  return openPostgresReplicaIdentity({
    url: options.databaseUrl,
    schema: options.schema || undefined,
    requested,
    setting: SETTING,
    onLost: options.onLost ?? (() => undefined),
    onHeldByAnother: options.onHeldByAnother ?? (() => undefined),
  });
}
