import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Limiter } from './circuit-limiter.js';

interface Window {
  consumed: number;
  endsAt: number;
}

// Windows that ended are forgotten this often; until then one that ended is simply started afresh on its next use.
const SWEEP_INTERVAL_MS = 60_000;

/**
 * A replica's own counts, with rate-limiter-flexible's RateLimiterMemory semantics (a window of durationSec that
 * starts at a key's first request; points a window; a request over them is refused and still counted) and one
 * addition: consumeNow answers synchronously. RateLimiterMemory answers through a promise, and a request that is
 * authenticated from the credential cache would otherwise wait a turn of the microtask queue for nothing; it also arms
 * a timer per key and window, where this sweeps expired windows once a minute.
 */
export class MemoryLimiter implements Limiter {
  private readonly windows = new Map<string, Window>();
  private readonly durationMs: number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(readonly points: number, durationSec: number) {
    this.durationMs = durationSec * 1000;
  }

  /** The count after this request, or throws it (a RateLimiterRes, as rate-limiter-flexible rejects) when over. */
  consumeNow(key: string, points = 1): RateLimiterRes {
    const res = this.add(key, points);
    if (res.consumedPoints > this.points) throw res;
    return res;
  }

  consume(key: string, points = 1): Promise<RateLimiterRes> {
    try {
      return Promise.resolve(this.consumeNow(key, points));
    } catch (rejection) {
      return Promise.reject(rejection as RateLimiterRes);
    }
  }

  penalty(key: string, points = 1): Promise<RateLimiterRes> {
    return Promise.resolve(this.add(key, points));
  }

  get(key: string): Promise<RateLimiterRes | null> {
    const window = this.live(key, Date.now());
    return Promise.resolve(window ? this.resOf(window, Date.now(), false) : null);
  }

  private add(key: string, points: number): RateLimiterRes {
    const now = Date.now();
    const window = this.live(key, now);
    if (window) {
      window.consumed += points;
      return this.resOf(window, now, false);
    }
    const started = { consumed: points, endsAt: now + this.durationMs };
    this.windows.set(key, started);
    this.sweepLater();
    return this.resOf(started, now, true);
  }

  private live(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    return window && window.endsAt > now ? window : undefined;
  }

  private resOf(window: Window, now: number, first: boolean): RateLimiterRes {
    return new RateLimiterRes(Math.max(this.points - window.consumed, 0), window.endsAt - now, window.consumed, first);
  }

  private sweepLater(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
      if (this.windows.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, SWEEP_INTERVAL_MS);
    // Forgetting old windows must never keep a process alive.
    this.sweeper.unref();
  }
}
