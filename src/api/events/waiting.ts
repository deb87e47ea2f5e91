import type { GaleEvent } from '../../domain/store.js';
import type { EventHub } from './hub.js';

/*
 * A wait subscribes to the process's event hub first and reads the state second, so that no change can fall between
 * the two; then it decides again on each event that concerns it, never on a timer. Decisions run one at a time: events
 * that arrive during one are taken together by the next.
 */

/** decided; timeout passed; left: the client went away (or half-closed its connection); closed: the server is closing. */
export type WaitEnd<T> = { kind: 'decided'; value: T } | { kind: 'timeout' } | { kind: 'left' } | { kind: 'closed' };

export interface WaitOptions<T> {
  /** The events worth deciding again on. */
  concerns(event: GaleEvent): boolean;
  /**
   * The answer, or undefined to go on waiting; given the events since the last call. The first call (initial) is made
   * once subscribed: it reads the state as it is.
   */
  decide(events: GaleEvent[], initial: boolean): Promise<T | undefined>;
  timeoutMs: number;
  /** Aborted when the client goes away: the wait ends ('left'). */
  signal: AbortSignal;
}

export function waitUntil<T>(hub: EventHub, options: WaitOptions<T>): Promise<WaitEnd<T>> {
  return new Promise((resolve, reject) => {
    let ended = false;
    let deciding = false;
    let pending: GaleEvent[] = [];
    let subscription: { unsubscribe(): void } | undefined;
    // Started once the state has been read: a wait, however short, answers with what it has seen.
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => end({ kind: 'left' });
    options.signal.addEventListener('abort', onAbort, { once: true });

    function end(outcome: WaitEnd<T> | { kind: 'error'; error: unknown }): void {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      subscription?.unsubscribe();
      if (outcome.kind === 'error') reject(outcome.error);
      else resolve(outcome);
    }

    async function decideNow(events: GaleEvent[], initial = false): Promise<void> {
      deciding = true;
      try {
        const value = await options.decide(events, initial);
        if (value !== undefined) return end({ kind: 'decided', value });
        if (initial && !ended) timer = setTimeout(() => end({ kind: 'timeout' }), options.timeoutMs);
      } catch (error) {
        return end({ kind: 'error', error });
      } finally {
        deciding = false;
      }
      if (!ended && pending.length > 0) {
        const next = pending;
        pending = [];
        void decideNow(next);
      }
    }

    hub
      .subscribe({
        deliver(event) {
          if (ended || !options.concerns(event)) return;
          if (deciding || !subscription) pending.push(event);
          else void decideNow([event]);
        },
        close: () => end({ kind: 'closed' }),
      })
      .then((subscribed) => {
        subscription = subscribed;
        if (ended) subscribed.unsubscribe();
        else void decideNow(pending.splice(0), true);
      }, (error: unknown) => end({ kind: 'error', error }));
  });
}
