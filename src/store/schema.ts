import type { Generated } from 'kysely';

/*
 * The tables as Kysely sees them. Timestamps are epoch milliseconds (INTEGER on SQLite, BIGINT on PostgreSQL,
 * whose int8 the pool parses back into a JS number). Booleans are 0/1 integers on both engines, so that one
 * row mapping serves both.
 */

export interface UsersTable {
  id: string;
  email: string;
  tier: string;
  /** JSON array of role names: small, read whole, never queried by element. */
  roles: string;
  created_at: number;
  /** The organisation the user belongs to (the family's customerID); '' for none. */
  customer_id: Generated<string>;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  /** sha256 of the public key part: the lookup key. */
  key_hash: string;
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
  /** The key's first characters, for recognising it in a list (migration 007); '' for older rows. */
  key_prefix: Generated<string>;
}

export interface TokensTable {
  id: string;
  user_id: string;
  token_hash: string;
  expires_at: number;
  created_at: number;
  revoked_at: number | null;
  /** The token's first characters, for recognising it in a list (migration 007); '' for older rows. */
  token_prefix: Generated<string>;
}

export interface InstancesTable {
  id: string;
  user_id: string;
  /** The owner's customer, kept equal to it (users.ts moves live instances along); '' for none. */
  customer_id: Generated<string>;
  zone: string;
  machine_type: string;
  template_id: string;
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
  /** JSON of the instance's spec (domain/instance-spec.ts), read whole, never queried into; '{}' in rows older than 009. */
  spec: Generated<string>;
  status: string;
  external_ip: string;
  internal_ip: string;
  created_at: number;
  desired: string;
  deleted_at: number | null;
  generation: number;
  reconciled_generation: number;
  reset_requested: number;
  reset_applied: number;
  provisioned: number;
  /** When the reconciler should look at it next; NULL when it has caught up. */
  work_due_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  /** Consecutive failed attempts, the reconciler's backoff input. */
  attempts: Generated<number>;
  last_error: string | null;
}

export interface OperationsTable {
  id: string;
  /** Not a foreign key: operations outlive the instance row, which is purged after teardown. */
  instance_id: string;
  user_id: string;
  kind: string;
  state: string;
  generation: number;
  created_at: number;
  /** When the reconciler claimed the work this operation belongs to; NULL while it waits. */
  started_at: number | null;
  /** Who asked: the owner, or a compute admin acting on the owner's instance (NULL only in rows older than 006). */
  requested_by: string | null;
  finished_at: number | null;
  error: string | null;
}

export interface EventsTable {
  /** Commit order (store/events.ts): a stream resumes after the last seq it saw. */
  seq: Generated<number>;
  at: number;
  /** The instance's owner, whose stream it belongs to. */
  user_id: string;
  instance_id: string;
  type: string;
  /** JSON of the event's fields. */
  data: string;
}

/** The providers' keyed state (migration 010; store/provider-state.ts): one row per key of one provider. */
export interface ProviderStateTable {
  provider: string;
  /** Printable ASCII, ordered bytewise on both engines ("C" collation on PostgreSQL). */
  key: string;
  /** JSON text. */
  value: string;
  /** 1 when inserted, one more on each write: what compare-and-set compares. */
  version: number;
  updated_at: number;
}

/** Each live replica's heartbeat (migration 012; store/replicas.ts): rows of dead replicas expire. */
export interface ReplicasTable {
  id: string;
  last_seen_at: number;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface Database {
  users: UsersTable;
  api_keys: ApiKeysTable;
  tokens: TokensTable;
  instances: InstancesTable;
  operations: OperationsTable;
  events: EventsTable;
  provider_state: ProviderStateTable;
  replicas: ReplicasTable;
  meta: MetaTable;
}
