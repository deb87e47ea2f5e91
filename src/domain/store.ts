import type { Clock } from './clock.js';
import type { IdRange } from './provider.js';
import type { IdempotentWrite } from './idempotency.js';
import type { ProviderState } from './provider-state.js';
import type { DesiredPower, InstanceBookkeeping, InstanceRecord, InstanceStatus, InstanceSummary, OperationKind, OperationStatus, PowerOperation } from './instance.js';
import type { Tier, Usage } from './tiers.js';

/*
 * The Store is the only place the API and the reconciler meet. Every method that changes state
 * runs in one transaction. Timestamps are epoch milliseconds. Implementations: src/store/.
 * Errors: unknown or foreign instances raise GaleError('not_found'), a refused change GaleError('conflict'),
 * a quota breach GaleError('quota_exceeded').
 * Changes given an IdempotentWrite (domain/idempotency.ts) record its key and answer in their own transaction; a key
 * that already answered the same request raises IdempotentReplay, one used for another request 'idempotency_mismatch'.
 */

export const ADMIN_ROLE = 'compute_admin';

export interface User {
  id: string;
  email: string;
  tier: string;
  roles: string[];
  /** The organisation the user belongs to (the family's customerID); '' for none. */
  customerId: string;
  createdAt: number;
}

export interface ApiKeyMatch {
  user: User;
  secretHash: string;
  revokedAt: number | null;
}

export interface TokenMatch {
  user: User;
  expiresAt: number;
  revokedAt: number | null;
}

/** A key pair as it may be shown: never the key, the secret or their hashes. */
export interface ApiKeyInfo {
  id: string;
  userId: string;
  /** The key's first characters ('' for keys made before they were kept). */
  prefix: string;
  createdAt: number;
  revokedAt: number | null;
}

/** A session token as it may be shown: never the token or its hash. */
export interface TokenInfo extends ApiKeyInfo {
  expiresAt: number;
}

/** Where a newest-first page of users or credentials ends: its last row. */
export interface CreatedCursor {
  createdAt: number;
  id: string;
}

export interface UserFilter {
  tier?: string;
  customerId?: string;
  email?: string;
}

export interface NewApiKey {
  id: string;
  userId: string;
  keyHash: string;
  secretHash: string;
  /** The key's first characters, for lists; '' when not given. */
  prefix?: string;
  createdAt: number;
}

export interface NewToken {
  id: string;
  userId: string;
  tokenHash: string;
  prefix?: string;
  expiresAt: number;
  createdAt: number;
}

/**
 * Users and their credentials. Changes given an IdempotentWrite record its key and answer in their own transaction, as
 * the InstanceStore's do; a credential's answer must be built from what is stored (ApiKeyInfo, TokenInfo), never
 * from the secret, which the store never sees.
 */
export interface UserStore {
  /** Raises conflict when the email is taken. */
  createUser(user: User, idempotency?: IdempotentWrite<User>): Promise<User>;
  getUser(id: string): Promise<User | undefined>;
  /** Users matching the filter, newest first, after the cursor (the last of the previous page). */
  listUsers(filter: UserFilter, after: CreatedCursor | undefined, limit: number): Promise<User[]>;
  /** Raises not_found for an unknown user. */
  setUserTier(id: string, tier: string, idempotency?: IdempotentWrite<User>): Promise<User>;
  /** Moves the user, and their live instances with them, to a customer ('' for none). Raises not_found. */
  setUserCustomer(id: string, customerId: string, idempotency?: IdempotentWrite<User>): Promise<User>;
  countUsers(): Promise<number>;
  /** Raises not_found for an unknown user. */
  createApiKey(key: NewApiKey, idempotency?: IdempotentWrite<ApiKeyInfo>): Promise<ApiKeyInfo>;
  /** A user's key pairs, revoked ones included, newest first, after the cursor. */
  listApiKeys(userId: string, after: CreatedCursor | undefined, limit: number): Promise<ApiKeyInfo[]>;
  /** False when no such key exists. */
  revokeApiKey(keyHash: string, at: number): Promise<boolean>;
  /** Revokes by id (the first revocation time is kept); raises not_found for an unknown id. */
  revokeApiKeyById(id: string, at: number, idempotency?: IdempotentWrite<ApiKeyInfo>): Promise<ApiKeyInfo>;
  /** Raises not_found for an unknown user. */
  createToken(token: NewToken, idempotency?: IdempotentWrite<TokenInfo>): Promise<TokenInfo>;
  /** A user's tokens, expired and revoked ones included, newest first, after the cursor. */
  listTokens(userId: string, after: CreatedCursor | undefined, limit: number): Promise<TokenInfo[]>;
  revokeToken(tokenHash: string, at: number): Promise<boolean>;
  /** Revokes by id (the first revocation time is kept); raises not_found for an unknown id. */
  revokeTokenById(id: string, at: number, idempotency?: IdempotentWrite<TokenInfo>): Promise<TokenInfo>;
  findApiKey(keyHash: string): Promise<ApiKeyMatch | undefined>;
  findToken(tokenHash: string): Promise<TokenMatch | undefined>;
}

/** What a creator gives: the record less what the store decides (id, customer, status, the reconciler's bookkeeping). */
export type NewInstance = Omit<InstanceRecord, InstanceBookkeeping>;

/** A new instance, and the id of its create operation. */
export interface CreatedInstance extends InstanceRecord {
  operationId: string;
}

/** Where a page of the newest-first listing ends: the last instance on it. */
export interface InstanceCursor {
  createdAt: number;
  id: string;
}

export interface InstanceFilter {
  userId?: string;
  customerId?: string;
  status?: string;
  zone?: string;
  templateId?: string;
}

export interface InstanceStore {
  /**
   * Reads the owner's usage, checks it against the tier (null: no quota, for admins), and writes the
   * instance (status PROVISIONING, desired RUNNING, due for reconciliation) and its create operation,
   * all in one transaction, so that concurrent creates can never exceed the quota.
   * newId is called again when an id is taken.
   */
  createInstance(input: NewInstance, tier: Tier | null, newId: () => string, idempotency?: IdempotentWrite<CreatedInstance>): Promise<CreatedInstance>;
  /** A live (not deleted) instance, or undefined. */
  getInstance(id: string): Promise<InstanceRecord | undefined>;
  /** The zone of an instance, deleted ones included (their machines are still to be removed), or undefined. */
  instanceZone(id: string): Promise<string | undefined>;
  /** What the API shows of a live instance, or undefined: the hottest read, fetching only those columns. */
  getInstanceSummary(id: string): Promise<InstanceSummary | undefined>;
  /** The live instances of one user, newest first. */
  listUserInstances(userId: string): Promise<InstanceSummary[]>;
  /** Live instances matching the filter, newest first, one page of them and the total count. */
  listInstances(filter: InstanceFilter, offset: number, limit: number): Promise<{ total: number; instances: InstanceSummary[] }>;
  /**
   * Live instances matching the filter, newest first, that come after the cursor (the last one of the previous page):
   * a page costs the same at any depth, where an offset reads and drops every row before it.
   */
  listInstancesAfter(filter: InstanceFilter, after: InstanceCursor | undefined, limit: number): Promise<InstanceSummary[]>;
  countInstances(filter: InstanceFilter): Promise<number>;
  /**
   * Applies the power state machine (domain/power.ts) to the stored state and records the operation.
   * ownerId undefined bypasses ownership (admin). Raises not_found / conflict.
   */
  requestPowerOperation(
    id: string,
    ownerId: string | undefined,
    operation: PowerOperation,
    now: number,
    idempotency?: IdempotentWrite<Operation>,
    /** canSuspend: whether the backend of a zone can (default yes); requestedBy: who asked, when not the owner (an admin). */
    context?: { canSuspend?: (zone: string) => boolean; requestedBy?: string },
  ): Promise<Operation>;
  /** Marks the instance deleted (gone from the API at once) and due for teardown; returns its delete operation. Raises not_found. */
  deleteInstance(id: string, ownerId: string | undefined, now: number, idempotency?: IdempotentWrite<Operation>, requestedBy?: string): Promise<Operation>;
  /** An operation by id, whoever it belongs to (the caller checks ownership), or undefined. */
  getOperation(id: string): Promise<Operation | undefined>;
  /** A user's operations, newest first, those older than the cursor (an operation id: ids are time-ordered). */
  listUserOperations(filter: OperationFilter, before: string | undefined, limit: number): Promise<Operation[]>;
  getUsage(userId: string): Promise<Usage>;
  /** Live instances counted by status, for metrics. */
  countInstancesByStatus(): Promise<Array<{ status: string; count: number }>>;
}

/**
 * History that is kept for a while and then pruned, a batch at a time (the reconciler's janitor): idempotency keys,
 * written by the guarded changes above, and finished operations.
 */
export interface HistoryStore {
  /** Deletes up to limit keys expired at now; returns how many. */
  purgeExpiredIdempotencyKeys(now: number, limit: number): Promise<number>;
  /** Deletes up to limit operations that finished before the given time, oldest first; returns how many. */
  pruneOperations(finishedBefore: number, limit: number): Promise<number>;
  /** Deletes up to limit events older than before, oldest first; returns how many. */
  pruneEvents(before: number, limit: number): Promise<number>;
}

export interface OperationFilter {
  userId: string;
  instanceId?: string;
  status?: OperationStatus;
}

/** PENDING until the reconciler takes the work up, RUNNING until it ends. */
export function operationStatus(operation: Pick<Operation, 'state' | 'startedAt'>): OperationStatus {
  if (operation.state === 'done') return 'DONE';
  if (operation.state === 'failed') return 'FAILED';
  return operation.startedAt === null ? 'PENDING' : 'RUNNING';
}

export interface Operation {
  id: string;
  instanceId: string;
  userId: string;
  kind: OperationKind;
  /** pending until the reconciler has carried it out (done) or given up (failed). */
  state: 'pending' | 'done' | 'failed';
  generation: number;
  createdAt: number;
  /** Who asked: the owner, or a compute admin acting on the owner's instance. */
  requestedBy: string;
  /** When the reconciler took up the work (null while the operation waits for it). */
  startedAt: number | null;
  finishedAt: number | null;
  error: string | null;
}

export const EVENT_TYPES = ['instance.status', 'instance.deleted', 'operation'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * A change a client may want to hear of, stored with the change. data: for instance.status, the status, previousStatus
 * and addresses; for operation, the Operation; for instance.deleted, nothing more.
 */
export interface GaleEvent {
  /** Commit order: a stream resumes after the last seq it saw. */
  seq: number;
  at: number;
  /** The instance's owner. */
  userId: string;
  instanceId: string;
  type: EventType;
  data: Record<string, unknown>;
}

export type EventDraft = Omit<GaleEvent, 'seq' | 'at'>;

export interface EventFilter {
  userId?: string;
  instanceId?: string;
  types?: EventType[];
}

/** The events written with every change; read by the API's waiters and streams. */
export interface EventStore {
  /** Events after seq, oldest first, at most limit, matching the filter. */
  listEvents(after: number, filter: EventFilter, limit: number): Promise<GaleEvent[]>;
  /** The oldest and newest seq kept (0 and 0 when there are none). */
  eventSeqRange(): Promise<{ first: number; last: number }>;
  /**
   * Calls listener (with nothing: the caller reads what is new) whenever events may have been appended, by this
   * process or, on PostgreSQL, any replica; returns the unsubscribe function.
   */
  subscribeToEvents(listener: () => void): () => void;
}

/** An operation the reconciler has just finished, for the metric of how long operations take. */
export interface FinishedOperation {
  kind: OperationKind;
  state: 'done' | 'failed';
  createdAt: number;
  finishedAt: number;
}

/** One row of the periodic resync: what the store believes, to be compared with what the provider holds. */
export interface ResyncRow {
  id: string;
  zone: string;
  status: InstanceStatus;
  internalIp: string;
  externalIp: string;
  deleted: boolean;
  /** What the user last asked for: a vanished machine is recreated only when it should be running. */
  desired: DesiredPower;
  /** The reconciler has unfinished work for it (a pending intent or a lease): resync leaves it alone. */
  busy: boolean;
}

export interface ObservedState {
  status: InstanceStatus;
  internalIp: string;
  externalIp: string;
}

/** A leased instance as the reconciler receives it: the record plus the failures so far, its backoff input. */
export interface ClaimedInstance extends InstanceRecord {
  /** Consecutive failed attempts (failWork) since the work last succeeded. */
  attempts: number;
}

/** The reconciler's side. Every write is fenced by the lease owner, so a replica whose lease expired cannot clobber. */
export interface WorkStore {
  /**
   * Leases up to limit instances whose work is due (work_due_at <= now and no live lease), deleted ones included; only
   * those in the given zones when zones are given (a replica pinned to its host's zones), and none of the ids excluded
   * (the work the caller has in flight, whose lease it holds or is about to give back).
   */
  claimDue(owner: string, now: number, leaseMs: number, limit: number, zones?: readonly string[], excluding?: readonly string[]): Promise<ClaimedInstance[]>;
  /**
   * Extends the leases owner still holds; returns the ids another replica has taken over (or purged). Ids whose lease
   * was given back (the work finished as the renewal ran) are neither extended nor returned.
   */
  renewLeases(ids: string[], owner: string, until: number): Promise<string[]>;
  /** Gives back every lease owner holds (a replica shutting down), so that others claim the work at once; returns how many. */
  releaseLeases(owner: string): Promise<number>;
  /** Shows a step under way (PROVISIONING, STAGING, STOPPING) and facts learnt on the way. */
  recordProgress(id: string, owner: string, patch: { status?: InstanceStatus; provisioned?: boolean }): Promise<void>;
  /**
   * The work for `generation` is done: writes the observed state, marks operations up to that generation done,
   * releases the lease. If the user changed intent meanwhile (generation moved on), the instance stays due
   * and the observed status is not written over the newer intent. Returns true when it caught up.
   */
  completeWork(
    id: string,
    owner: string,
    result: { generation: number; resetApplied: number; observed: ObservedState; provisioned: boolean },
  ): Promise<{ caughtUp: boolean; finished: FinishedOperation[] }>;
  /** A retryable failure: releases the lease and makes the work due again at retryAt. */
  failWork(id: string, owner: string, error: string, retryAt: number): Promise<void>;
  /**
   * A failure retrying cannot mend: the instance ends TERMINATED with desired TERMINATED, its pending
   * operations failed with the message, and the lease released.
   */
  abandonWork(id: string, owner: string, generation: number, error: string): Promise<FinishedOperation[]>;
  /** Removes a deleted instance whose resources are gone, and completes its operations. */
  purgeDeleted(id: string, owner: string): Promise<FinishedOperation[]>;
  /**
   * The id that ends a resync page of `size` ids after `after` (byte order), or undefined when fewer remain: the
   * last page is open-ended, so that rows added meanwhile are still seen.
   */
  resyncPageEnd(after: string | undefined, size: number): Promise<string | undefined>;
  /** What the resync compares with the provider, deleted instances included: every row, or those in range, by id. */
  listForResync(now: number, range?: IdRange): Promise<ResyncRow[]>;
  /** Writes an observation made by the resync for an instance with no pending work and no lease. */
  recordObservation(id: string, observed: ObservedState): Promise<void>;
  /** Makes instances due now, e.g. after an outside change was seen. */
  markDue(ids: string[], now: number): Promise<void>;
  /** Number of instances whose work is due or leased: the reconciler's queue depth. */
  countPendingWork(now: number): Promise<number>;
  listOperations(instanceId: string): Promise<Operation[]>;
}

/**
 * Which replicas are alive, by their heartbeats: the count a replica divides a user's rate limit by while the shared
 * rate-limit store is down (api/limiter/degraded.ts). Times are the store's clock, as for leases.
 */
export interface ReplicaStore {
  /**
   * Records that replica id is alive at now, deletes the rows of replicas not seen for ttlMs (dead ones), and returns
   * how many replicas are alive, this one included: all in one transaction.
   */
  heartbeatReplica(id: string, now: number, ttlMs: number): Promise<number>;
  /** Deletes the replica's row (it is shutting down), so that the others count it out at their next heartbeat. */
  removeReplica(id: string): Promise<void>;
}

export interface Store extends UserStore, InstanceStore, HistoryStore, WorkStore, EventStore, ReplicaStore {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * The clock every user of this store should read, when it has one of its own: PostgreSQL's server clock (corrected
   * local time), so that replicas judge leases and due times alike however their own clocks drift.
   */
  readonly clock?: Clock;
  /** A random id made once per database; providers label what they create with it, so two Gale installations never touch each other's machines. */
  installationId(): Promise<string>;
  /** The keyed state of the provider of that name (its machines, its addresses): only its own keys, nothing else of the store. */
  providerState(provider: string): ProviderState;
  /** Throws when the database cannot be reached (readiness). */
  ping(): Promise<void>;
  /** Statements sent to the database since the store opened (gale_store_queries_total). */
  queryCount(): number;
  /**
   * SQLite only (the data disk is Gale's own): how the disk stands, e.g. "ok, 812 MB free"; throws while writes fail
   * for space, until a write succeeds again.
   */
  diskStatus?(): Promise<string>;
  close(): Promise<void>;
}
