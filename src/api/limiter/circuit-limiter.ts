import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ALONE, degradedAllowance, type DegradedPolicy } from './degraded.js';

/*
 * A limiter whose counts live in a store shared by the replicas (Redis, PostgreSQL), and that never makes a request
 * wait on that store when it is down or hung. The first failure (an error, or a command timeout) opens a circuit: from
 * then on this replica counts in its own memory at once, without asking the store, and probes it in the background
 * every few seconds; the first probe that is answered closes the circuit. So a hung store costs one timeout per
 * probe interval, not one per request.
 */

/** What the API's limiters need of a limiter: MemoryLimiter (memory-limiter.ts, the default) is one, and so is SharedLimiter. */
export interface Limiter {
  readonly points: number;
  consume(key: string, points?: number): Promise<RateLimiterRes>;
  penalty(key: string, points?: number): Promise<RateLimiterRes>;
  get(key: string): Promise<RateLimiterRes | null>;
}

export interface CircuitOptions {
  /** Asks the store whether it answers again; rejects (or times out) while it does not. */
  probe: () => Promise<void>;
  probeIntervalMs: number;
  /** The circuit opened (with the failure) or closed again. */
  onChange?: (open: boolean, reason?: string) => void;
}

/** One per store: every limiter on it shares it, so one failure spares every tier's requests the wait. */
export class Circuit {
  private openSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reason = '';

  constructor(private readonly options: CircuitOptions) {}

  get open(): boolean {
    return this.openSince !== undefined;
  }

  /** Why it is open, for readiness. */
  get why(): string {
    return this.reason;
  }

  trip(error: unknown): void {
    if (this.openSince !== undefined) return;
    this.openSince = Date.now();
    this.reason = error instanceof Error ? error.message : String(error);
    this.options.onChange?.(true, this.reason);
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.options.probe().then(
        () => {
          this.openSince = undefined;
          this.timer = undefined;
          this.options.onChange?.(false);
        },
        () => this.schedule(),
      );
    }, this.options.probeIntervalMs);
    // Probing must never keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * The shared limiter, with its in-memory stand-in (the same window) for while the circuit is open, which allows what
 * the degraded policy says (degraded.ts: this replica's share of the limit, the whole limit, or nothing).
 * onFallback hears of every request counted in memory.
 */
export class SharedLimiter implements Limiter {
  private readonly memory: RateLimiterMemory;

  constructor(
    private readonly shared: RateLimiterAbstract,
    private readonly circuit: Circuit,
    private readonly onFallback: () => void,
    private readonly degraded: DegradedPolicy = ALONE,
  ) {
    this.memory = new RateLimiterMemory({ keyPrefix: shared.keyPrefix, points: shared.points, duration: shared.duration });
  }

  get points(): number {
    return this.shared.points;
  }

  consume(key: string, points = 1): Promise<RateLimiterRes> {
    return this.either((limiter) => limiter.consume(key, points));
  }

  penalty(key: string, points = 1): Promise<RateLimiterRes> {
    return this.either((limiter) => limiter.penalty(key, points));
  }

  get(key: string): Promise<RateLimiterRes | null> {
    return this.either((limiter) => limiter.get(key));
  }

  private async either<T>(use: (limiter: RateLimiterAbstract) => Promise<T>): Promise<T> {
    if (!this.circuit.open) {
      try {
        return await use(this.shared);
      } catch (rejection) {
        // A RateLimiterRes is the store's answer (over the allowance), not its failure.
        if (rejection instanceof RateLimiterRes) throw rejection;
        this.circuit.trip(rejection);
      }
    }
    // Read at each request: the count of replicas follows the fleet. Windows already open keep their counts, and are
    // judged by the new allowance (RateLimiterMemory compares with its points at each consume).
    this.memory.points = degradedAllowance(this.degraded, this.shared.points);
    this.onFallback();
    return use(this.memory);
  }
}
