import { setTimeout as sleep } from 'node:timers/promises';
import type { ClaimedInstance } from '../domain/store.js';
import { resolveOptions, type ReconcilerOptions, type WorkAction } from './options.js';
import { reconcileInstance } from './reconcile-instance.js';
import { resync, type ResyncReport } from './resync.js';
import { observeOne } from './watch.js';

export interface Reconciler {
  /** Begins claiming work, resyncing, and following the provider's change feed if it has one. */
  start(): void;
  /** New work is due (an API write): claim now instead of at the next poll. */
  wake(): void;
  /**
   * Stops claiming and waits for work under way, at most waitMs (default shutdownWaitMs, 3 s). Work still unfinished
   * then is abandoned, and every lease this replica holds is given back, so that another replica takes the work over
   * at once instead of after the lease runs out. keepLeases: not given back (the replica's id may be another process's
   * now, and so may the leases under it: identity-guard.ts).
   */
  stop(options?: { waitMs?: number; keepLeases?: boolean }): Promise<void>;
  /** Claims one batch, works it to the end, returns how many instances it claimed. For tests and tools. */
  runOnce(): Promise<number>;
  /** One full comparison of provider and store now. For tests and tools; start() runs it periodically. */
  resync(): Promise<ResyncReport>;
  /** One run of the janitor (old operations, expired idempotency keys). For tests and tools; start() runs it periodically. */
  prune(): Promise<void>;
}

interface InFlight {
  controller: AbortController;
  done: Promise<void>;
  /**
   * Until when (performance.now(), a monotonic clock) the lease is surely still ours: from just before it was asked
   * for, plus its length less a margin. A process that was paused (a GC, a stopped VM) past it must not act on the
   * instance when it wakes, before the next renewal could tell it the lease is gone.
   */
  heldUntil: number;
}

const PRUNE_BATCH = 1_000;
const PRUNE_BATCHES_PER_RUN = 10;

/** Kept off the end of a lease: the time a write or a provider call may take to reach the other side. */
const LEASE_MARGIN_SHARE = 0.2;

export function createReconciler(options: ReconcilerOptions): Reconciler {
  const o = resolveOptions(options);
  // The caller names the component (main.ts does); the owner tells replicas apart in shared logs.
  const log = o.logger.child({ owner: o.owner });
  const inFlight = new Map<string, InFlight>();
  let running = false;
  let ticking: Promise<unknown> | undefined;
  let tickAgain = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let renewing = false;
  let resyncing: Promise<ResyncReport> | undefined;
  // Aborted by stop(): a sweep paced over many seconds ends at its next page instead of holding the shutdown.
  let stopping = new AbortController();
  let unwatch: (() => void) | undefined;

  const live = (): string[] => [...inFlight].filter(([, work]) => !work.controller.signal.aborted).map(([id]) => id);

  /** Leases are renewed only while there is work to hold them for, so an idle replica writes nothing. */
  function updateHeartbeat(): void {
    const needed = live().length > 0;
    if (needed && !heartbeatTimer) heartbeatTimer = setInterval(() => void renew(), Math.max(1, Math.floor(o.leaseMs / 3)));
    if (!needed && heartbeatTimer) {
      clearInterval(heartbeatTimer);
      heartbeatTimer = undefined;
    }
  }

  async function renew(): Promise<void> {
    const ids = live();
    if (renewing || ids.length === 0) return;
    renewing = true;
    const askedAt = performance.now();
    try {
      const lost = await o.store.renewLeases(ids, o.owner, o.clock.now() + o.leaseMs);
      const kept = new Set(ids.filter((id) => !lost.includes(id)));
      for (const id of kept) {
        const work = inFlight.get(id);
        if (work) work.heldUntil = askedAt + o.leaseMs * (1 - LEASE_MARGIN_SHARE);
      }
      for (const id of lost) {
        log.warn({ instanceId: id }, 'lease lost (expired or taken over); aborting work on the instance');
        inFlight.get(id)?.controller.abort();
      }
    } catch (error) {
      // Not fatal by itself: the writes are fenced, and the next renewal may succeed before the lease runs out.
      log.warn({ err: error }, 'could not renew leases');
    } finally {
      renewing = false;
    }
  }

  function report(record: ClaimedInstance, outcome: Parameters<typeof o.onOutcome>[1]): void {
    try {
      o.onOutcome(actionOf(record), outcome);
    } catch (error) {
      log.warn({ err: error }, 'onOutcome callback failed');
    }
  }

  function launch(record: ClaimedInstance, claimedAt: number): Promise<void> {
    const controller = new AbortController();
    const work: InFlight = { controller, done: Promise.resolve(), heldUntil: claimedAt + o.leaseMs * (1 - LEASE_MARGIN_SHARE) };
    const leaseHeld = (): boolean => performance.now() < work.heldUntil;
    work.done = reconcileInstance(o, record, controller.signal, log, leaseHeld)
      .then((outcome) => {
        log.debug({ instanceId: record.id, outcome }, 'claim finished');
        report(record, outcome);
      })
      .catch((error: unknown) => {
        // Usually the store failing mid-write: the lease stays and runs out, and the instance is retried then.
        log.error({ err: error, instanceId: record.id }, 'reconcile could not record its result; it will be retried after the lease expires');
        report(record, 'error');
      })
      .finally(() => {
        if (inFlight.get(record.id)?.controller === controller) inFlight.delete(record.id);
        updateHeartbeat();
        if (running) wake();
      });
    inFlight.set(record.id, work);
    updateHeartbeat();
    return work.done;
  }

  async function claimBatch(): Promise<Promise<void>[]> {
    const free = o.concurrency - inFlight.size;
    if (free <= 0) return [];
    const askedAt = performance.now();
    // Work in flight here is never claimed again. Its final write gives the lease back and may make it due at once (a
    // cut-off attempt's retry); a claim landing between that write and the work's end would lease it to nobody.
    const claimed = await o.store.claimDue(o.owner, o.clock.now(), o.leaseMs, free, o.zones, [...inFlight.keys()]);
    return claimed.map((record) => launch(record, askedAt));
  }

  function schedule(ms: number): void {
    if (!running) return;
    clearTimeout(pollTimer);
    pollTimer = setTimeout(() => void tick(), ms);
  }

  async function tick(): Promise<void> {
    if (!running) return;
    if (ticking) {
      tickAgain = true;
      return;
    }
    const claim = claimBatch();
    ticking = claim;
    // Finished work wakes the loop to refill its slot, so the poll only has to catch work that became due by time.
    let next = o.pollIntervalMs;
    try {
      await claim;
    } catch (error) {
      log.error({ err: error }, 'claiming work failed; pausing before the next attempt');
      next = Math.max(o.pollIntervalMs, 1000);
    } finally {
      ticking = undefined;
    }
    if (tickAgain) {
      tickAgain = false;
      next = 0;
    }
    schedule(next);
  }

  function wake(): void {
    if (!running) return;
    if (ticking) tickAgain = true;
    else schedule(0);
  }

  function runResync(): Promise<ResyncReport> {
    // Overlapping resyncs would only race each other's reaping; the caller shares the one under way.
    resyncing ??= resync(o, log, stopping.signal).finally(() => {
      resyncing = undefined;
    });
    return resyncing;
  }

  function resyncLogged(): void {
    // A tick that finds a paced sweep still under way joins it: only the tick that began it reports it.
    const joined = resyncing !== undefined;
    const started = Date.now();
    runResync().then(
      (report) => {
        if (!joined) log.debug({ ...report, durationMs: Date.now() - started }, 'resync done');
      },
      (error: unknown) => {
        if (!joined) log.error({ err: error }, 'resync failed; will try again at the next interval');
      },
    );
  }

  /**
   * The janitor: finished operations and events past their retention and expired idempotency keys, a batch at a time, a few
   * batches a run, so that a backlog is worked off over several runs instead of in one long transaction.
   */
  async function prune(): Promise<void> {
    const now = o.clock.now();
    let pruned = 0;
    for (let batch = 0; batch < PRUNE_BATCHES_PER_RUN; batch++) {
      const removed =
        (await o.store.pruneOperations(now - o.operationRetentionMs, PRUNE_BATCH)) +
        (await o.store.purgeExpiredIdempotencyKeys(now, PRUNE_BATCH)) +
        (await o.store.pruneEvents(now - o.eventRetentionMs, PRUNE_BATCH));
      pruned += removed;
      if (removed === 0) break;
    }
    if (pruned > 0) log.debug({ pruned }, 'history pruned');
  }

  function onProviderChange(instanceId: string): void {
    if (inFlight.has(instanceId)) return;
    observeOne(o, instanceId, log).catch((error: unknown) =>
      log.warn({ err: error, instanceId }, 'could not record an outside change; the next resync will'),
    );
  }

  return {
    start(): void {
      if (running) return;
      running = true;
      stopping = new AbortController();
      log.info({ leaseMs: o.leaseMs, concurrency: o.concurrency }, 'reconciler started');
      unwatch = o.provider.watch?.(onProviderChange);
      resyncLogged();
      resyncTimer = setInterval(resyncLogged, o.resyncIntervalMs);
      pruneTimer = setInterval(() => prune().catch((error: unknown) => log.warn({ err: error }, 'pruning history failed; the next run tries again')), o.pruneIntervalMs);
      pruneTimer.unref();
      schedule(0);
    },

    wake,

    async stop(options?: { waitMs?: number; keepLeases?: boolean }): Promise<void> {
      running = false;
      stopping.abort();
      clearTimeout(pollTimer);
      clearInterval(resyncTimer);
      clearInterval(pruneTimer);
      unwatch?.();
      unwatch = undefined;
      const waitMs = options?.waitMs ?? o.shutdownWaitMs;
      // A claim in progress still launches what it claimed; wait for it so that the wait below covers that work too.
      await ticking?.catch(() => undefined);
      const pending = [...inFlight.values()].map((work) => work.done);
      if (resyncing) pending.push(resyncing.then(() => undefined, () => undefined));
      if (pending.length > 0) {
        const bound = new AbortController();
        await Promise.race([Promise.allSettled(pending), sleep(waitMs, undefined, { signal: bound.signal }).catch(() => undefined)]);
        bound.abort();
      }
      for (const [id, work] of inFlight) {
        log.warn({ instanceId: id }, 'stopping with work unfinished; its lease is given back for another replica to carry it on');
        work.controller.abort();
      }
      updateHeartbeat();
      if (options?.keepLeases) {
        log.info('reconciler stopped; its leases kept');
        return;
      }
      // Aborted work writes nothing more (every write is fenced by the lease, which is no longer ours after this).
      const released = await o.store.releaseLeases(o.owner).catch((error: unknown) => {
        log.warn({ err: error }, 'could not give the leases back; they run out on their own');
        return 0;
      });
      if (released > 0) log.info({ released }, 'leases given back');
      log.info('reconciler stopped');
    },

    async runOnce(): Promise<number> {
      const launched = await claimBatch();
      await Promise.all(launched);
      return launched.length;
    },

    resync: runResync,
    prune,
  };
}

function actionOf(record: ClaimedInstance): WorkAction {
  if (record.deletedAt !== null) return 'delete';
  if (record.desired === 'TERMINATED') return 'stop';
  if (record.desired === 'SUSPENDED') return 'suspend';
  if (!record.provisioned) return 'create';
  return record.resetRequested > record.resetApplied ? 'reset' : 'start';
}
