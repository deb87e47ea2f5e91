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
   * Stops claiming and waits for work under way, at most waitMs (default leaseMs). Work still unfinished then is
   * abandoned without another write: its lease runs out and it is retried, exactly as after a crash.
   */
  stop(options?: { waitMs?: number }): Promise<void>;
  /** Claims one batch, works it to the end, returns how many instances it claimed. For tests and tools. */
  runOnce(): Promise<number>;
  /** One full comparison of provider and store now. For tests and tools; start() runs it periodically. */
  resync(): Promise<ResyncReport>;
}

interface InFlight {
  controller: AbortController;
  done: Promise<void>;
}

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
    try {
      const lost = await o.store.renewLeases(ids, o.owner, o.clock.now() + o.leaseMs);
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

  function launch(record: ClaimedInstance): Promise<void> {
    const controller = new AbortController();
    const done = reconcileInstance(o, record, controller.signal, log)
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
    inFlight.set(record.id, { controller, done });
    updateHeartbeat();
    return done;
  }

  async function claimBatch(): Promise<Promise<void>[]> {
    const free = o.concurrency - inFlight.size;
    if (free <= 0) return [];
    const claimed = await o.store.claimDue(o.owner, o.clock.now(), o.leaseMs, free);
    // Our own lease on work still running here can lapse and be re-granted to us; the running work keeps it.
    return claimed.filter((record) => !inFlight.has(record.id)).map(launch);
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
      schedule(0);
    },

    wake,

    async stop(options?: { waitMs?: number }): Promise<void> {
      running = false;
      stopping.abort();
      clearTimeout(pollTimer);
      clearInterval(resyncTimer);
      unwatch?.();
      unwatch = undefined;
      const waitMs = options?.waitMs ?? o.leaseMs;
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
        log.warn({ instanceId: id }, 'stopping with work unfinished; it is retried once its lease expires');
        work.controller.abort();
      }
      updateHeartbeat();
      log.info('reconciler stopped');
    },

    async runOnce(): Promise<number> {
      const launched = await claimBatch();
      await Promise.all(launched);
      return launched.length;
    },

    resync: runResync,
  };
}

function actionOf(record: ClaimedInstance): WorkAction {
  if (record.deletedAt !== null) return 'delete';
  if (record.desired === 'TERMINATED') return 'stop';
  if (!record.provisioned) return 'create';
  return record.resetRequested > record.resetApplied ? 'reset' : 'start';
}
