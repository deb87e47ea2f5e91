import type { Clock } from './domain/clock.js';
import type { ReplicaStore } from './domain/store.js';
import type { Logger } from './logger.js';

/*
 * This replica's heartbeat in the store (migration 012, store/replicas.ts), and the count of live replicas it reads
 * back: what a replica divides a user's rate limit by while the shared rate-limit store is down (api/limiter/
 * degraded.ts), and gale_replicas. Judged by the store's clock (on PostgreSQL the database server's, as leases are),
 * so replicas agree on who is alive however their own clocks drift.
 *
 * When the store cannot be written the last count is kept: the fleet did not change because the database went away,
 * and a count that fell to 1 would hand every replica the whole limit exactly when limits are degraded.
 */

/** How often each replica says it is alive. */
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** A replica not heard from for this long (three heartbeats missed) is dead, and its row is deleted. */
export const REPLICA_TTL_MS = 15_000;
const STOP_WAIT_MS = 1_000;

export interface ReplicaLivenessOptions {
  replicaId: string;
  clock: Clock;
  logger: Logger;
  intervalMs?: number;
  ttlMs?: number;
}

export class ReplicaLiveness {
  private live = 1;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private stopped = false;
  private beating: Promise<number> | undefined;

  constructor(
    private readonly store: ReplicaStore,
    private readonly options: ReplicaLivenessOptions,
  ) {}

  /** Replicas alive at the last heartbeat that reached the store, this one included (1 before any did). */
  get count(): number {
    return this.live;
  }

  /** One heartbeat: records this replica, expires dead ones, reads the count. Never throws: a failure keeps the last count. */
  async beat(): Promise<number> {
    try {
      const live = Math.max(1, await this.store.heartbeatReplica(this.options.replicaId, this.options.clock.now(), this.options.ttlMs ?? REPLICA_TTL_MS));
      // The first heartbeat after an outage of the store finds every other row stale (nobody could write) and counts
      // too few: the others write again within an interval, so a lower count is believed from the next one on.
      this.live = this.failing ? Math.max(this.live, live) : live;
      if (this.failing) this.options.logger.info({ replicas: this.live }, 'replica heartbeat recorded again');
      this.failing = false;
    } catch (error) {
      // Once per outage: the store's own failures are logged by the requests that meet them.
      if (!this.failing) this.options.logger.warn({ err: error, replicas: this.live }, 'could not record this replica\'s heartbeat; keeping the last count of replicas');
      this.failing = true;
    }
    return this.live;
  }

  /** The first heartbeat (so the count includes the replicas already running before any request), then one every interval. */
  async start(): Promise<void> {
    await this.beat();
    const next = (): void => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.beating = this.beat();
        void this.beating.finally(next);
      }, this.options.intervalMs ?? HEARTBEAT_INTERVAL_MS);
      // A heartbeat must never keep a process alive that has nothing else to do.
      this.timer.unref();
    };
    next();
  }

  /**
   * Stops beating and deletes this replica's row, so that the others count it out at once rather than after the TTL.
   * Waits at most STOP_WAIT_MS for the store: a shutdown must not wait out a hung database for a row that expires anyway.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const goodbye = (async () => {
      // A heartbeat under way would write the row again after the delete.
      await this.beating;
      await this.store.removeReplica(this.options.replicaId);
    })().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const patience = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)));
    await Promise.race([goodbye, patience]);
    clearTimeout(timer);
  }
}
