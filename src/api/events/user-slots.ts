import { GaleError } from '../../domain/errors.js';

/**
 * Long-lived requests a user may hold open at once in this process (streams, or waits). Each holds a connection and a
 * little memory for as long as it lasts, which the per-minute rate limit does not bound: one more than the cap answers
 * 429 until one of them ends.
 */
export class UserSlots {
  private readonly held = new Map<string, number>();

  constructor(
    private readonly cap: number,
    private readonly what: string,
  ) {}

  /** Takes a slot for the user, or throws rate_limited; returns the function that gives it back (once). */
  take(userId: string): () => void {
    const count = this.held.get(userId) ?? 0;
    if (count >= this.cap) {
      throw new GaleError('rate_limited', `too many open ${this.what}: at most ${this.cap} at once; close one, or retry when one has ended`, {
        retryAfterSeconds: 1,
      });
    }
    this.held.set(userId, count + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (this.held.get(userId) ?? 1) - 1;
      if (left === 0) this.held.delete(userId);
      else this.held.set(userId, left);
    };
  }

  heldBy(userId: string): number {
    return this.held.get(userId) ?? 0;
  }

  get total(): number {
    let sum = 0;
    for (const count of this.held.values()) sum += count;
    return sum;
  }
}
