import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import { DEFAULT_STOP_GRACE_MS, type Provider } from '../domain/provider.js';
import type { FinishedOperation, HistoryStore, WorkStore } from '../domain/store.js';
import type { BackoffPolicy } from './backoff.js';

/*
 * The types the reconciler's files share live here or in the file they belong to, imported in one direction only:
 * backoff.ts imports nothing of the reconciler, this file imports backoff.ts, and the rest import both.
 */

/** What a claim was for, told from the intent it was claimed with; a label for metrics. */
export type WorkAction = 'create' | 'start' | 'stop' | 'reset' | 'suspend' | 'delete';

/** How one claim ended (reconcile-instance.ts); for logs, metrics and tests. */
export type Outcome = 'completed' | 'superseded' | 'purged' | 'waiting' | 'retrying' | 'abandoned' | 'lease-lost';

export interface ReconcilerOptions {
  store: WorkStore & HistoryStore;
  provider: Provider;
  clock: Clock;
  logger: Logger;
  /** This replica's id: leases carry it, so replicas sharing a database never work one instance at once. */
  owner: string;
  /** The provider image of a template in a zone (the catalog's providerImages entry for the zone's provider). */
  imageFor?: (templateId: string, zone: string) => string;
  pollIntervalMs?: number;
  leaseMs?: number;
  /**
   * The zones whose instances this replica works on; empty or absent: every zone. A VM runs on the host whose Gale
   * started it, so one replica per host, each pinned to its host's zones, is the cluster (as nova-compute is per host).
   */
  zones?: readonly string[];
  /** Instances worked on at once by this replica. */
  concurrency?: number;
  resyncIntervalMs?: number;
  /**
   * The largest share of this process's time a resync sweep may take: after each page it pauses long enough to stay
   * within it, so the sweep of a large fleet stretches out (and may outlast resyncIntervalMs) instead of taking its
   * toll from every request. Between 0 (exclusive) and 1; 1 means no pause.
   */
  resyncShare?: number;
  /** Handed to provider.stop: how long a guest may take to shut down before it is forced. */
  stopGraceMs?: number;
  /** How long stop() waits for work under way before giving its leases back (a SIGTERM must end within seconds). */
  shutdownWaitMs?: number;
  /** Finished operations older than this are pruned (config retention.operationsMs); expired idempotency keys too. */
  operationRetentionMs?: number;
  /** Events older than this are pruned (config retention.eventsMs): a stream can no longer resume from them. */
  eventRetentionMs?: number;
  /** How often the pruning runs. */
  pruneIntervalMs?: number;
  backoff?: BackoffPolicy;
  /** Retry delay while a machine is mid-transition under someone else's hand; not a failure, so not backed off. */
  waitRetryMs?: number;
  /** Provider steps per claim before the instance is handed back; guards against a provider that never settles. */
  maxSteps?: number;
  /**
   * How long a change of intent may take (reconcile-instance.ts): past it the attempt under way is cut off and retried
   * once with as long again, then the instance is reported TERMINATED with its operations failed. Deletes never give up.
   */
  transitionDeadlineMs?: number;
  /** Jitter source, injectable so that tests can pin it. */
  random?: () => number;
  /**
   * Told how each claim ended ('error' when its result could not even be recorded), so that the composition root can
   * count outcomes without the reconciler knowing about metrics. Must not throw.
   */
  onOutcome?: (action: WorkAction, outcome: Outcome | 'error') => void;
  /** Told of the operations each write of a result finished (the metric of their duration). Must not throw. */
  onOperationsFinished?: (operations: FinishedOperation[]) => void;
}

export type ResolvedOptions = Required<ReconcilerOptions>;

export function resolveOptions(o: ReconcilerOptions): ResolvedOptions {
  // `??` rather than spreading, so that an explicit undefined (an unset config value) keeps the default.
  const resolved: ResolvedOptions = {
    store: o.store,
    provider: o.provider,
    clock: o.clock,
    logger: o.logger,
    owner: o.owner,
    imageFor: o.imageFor ?? ((templateId) => templateId),
    zones: o.zones ?? [],
    pollIntervalMs: o.pollIntervalMs ?? 250,
    leaseMs: o.leaseMs ?? 30_000,
    concurrency: o.concurrency ?? 32,
    resyncIntervalMs: o.resyncIntervalMs ?? 15_000,
    resyncShare: o.resyncShare ?? 0.02,
    stopGraceMs: o.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
    shutdownWaitMs: o.shutdownWaitMs ?? 3_000,
    operationRetentionMs: o.operationRetentionMs ?? 7 * 86_400_000,
    eventRetentionMs: o.eventRetentionMs ?? 86_400_000,
    pruneIntervalMs: o.pruneIntervalMs ?? 60_000,
    backoff: o.backoff ?? { baseMs: 500, maxMs: 60_000 },
    waitRetryMs: o.waitRetryMs ?? 500,
    maxSteps: o.maxSteps ?? 8,
    transitionDeadlineMs: o.transitionDeadlineMs ?? 300_000,
    random: o.random ?? Math.random,
    onOutcome: o.onOutcome ?? (() => undefined),
    onOperationsFinished: o.onOperationsFinished ?? (() => undefined),
  };
  for (const key of ['pollIntervalMs', 'leaseMs', 'concurrency', 'resyncIntervalMs', 'maxSteps', 'transitionDeadlineMs'] as const) {
    if (!(resolved[key] > 0)) throw new Error(`reconciler option ${key} must be positive, got ${resolved[key]}`);
  }
  if (!(resolved.resyncShare > 0 && resolved.resyncShare <= 1)) throw new Error(`reconciler option resyncShare must be in (0, 1], got ${resolved.resyncShare}`);
  if (!resolved.owner) throw new Error('reconciler option owner must name this replica');
  return resolved;
}
