import type { EventStore, GaleEvent } from '../../domain/store.js';

/*
 * The one notification path of a process. The store says "events were appended" (SQLite: this process committed;
 * PostgreSQL: a NOTIFY from any replica); the hub then reads what is new once, and hands each event to every
 * subscriber, which filters it in memory. However many waiters and streams are open, a change costs one read per
 * process, and no change costs nothing: nobody polls.
 *
 * A subscriber is told of every event appended after its position (the seq the hub had read up to when it
 * subscribed), so one that subscribes and then reads the current state misses no change made after that read.
 */

/** Events read per query while catching up; a burst larger than this is read in several. */
const BATCH = 500;
/** A failed read is tried again after this long (the store may be restarting). */
const RETRY_MS = 1_000;

export interface EventSubscriber {
  /** Called for every event after the subscriber's position, in seq order. Must not throw. */
  deliver(event: GaleEvent): void;
  /** The hub is closing (the server shuts down): end what you were doing. */
  close(): void;
}

export interface Subscription {
  /** Events after this seq will be delivered. */
  position: number;
  unsubscribe(): void;
}

export class EventHub {
  private readonly subscribers = new Set<EventSubscriber>();
  private lastSeq = 0;
  /** Notifications came while nobody listened, so lastSeq is behind: the next subscriber first learns where the end is. */
  private stale = true;
  private syncing: Promise<void> | undefined;
  private reading = false;
  private readAgain = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private unsubscribeStore: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly store: Pick<EventStore, 'listEvents' | 'eventSeqRange' | 'subscribeToEvents'>,
    private readonly onError: (error: unknown) => void,
  ) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  async subscribe(subscriber: EventSubscriber): Promise<Subscription> {
    if (this.closed) throw new Error('the event hub is closed');
    this.unsubscribeStore ??= this.store.subscribeToEvents(() => this.appended());
    if (this.stale || this.syncing) await (this.syncing ??= this.sync());
    this.subscribers.add(subscriber);
    const position = this.lastSeq;
    // Appended while the end was being read: read them now, for the subscribers there are from now on.
    if (this.stale) {
      this.stale = false;
      this.appended();
    }
    return { position, unsubscribe: () => this.subscribers.delete(subscriber) };
  }

  /** Ends every subscriber (shutdown) and stops listening. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.unsubscribeStore?.();
    for (const subscriber of [...this.subscribers]) subscriber.close();
    this.subscribers.clear();
  }

  private async sync(): Promise<void> {
    try {
      // Marked first: a notification that arrives while the end is being read makes it stale again.
      this.stale = false;
      const { last } = await this.store.eventSeqRange();
      this.lastSeq = Math.max(this.lastSeq, last);
    } catch (error) {
      this.stale = true;
      throw error;
    } finally {
      this.syncing = undefined;
    }
  }

  private appended(): void {
    if (this.subscribers.size === 0) {
      this.stale = true;
      return;
    }
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    void this.readNew();
  }

  private async readNew(): Promise<void> {
    this.reading = true;
    try {
      do {
        this.readAgain = false;
        for (;;) {
          const batch = await this.store.listEvents(this.lastSeq, {}, BATCH);
          for (const event of batch) {
            this.lastSeq = event.seq;
            for (const subscriber of this.subscribers) subscriber.deliver(event);
          }
          if (batch.length < BATCH) break;
        }
      } while (this.readAgain && !this.closed);
    } catch (error) {
      this.onError(error);
      if (!this.closed) {
        this.retryTimer = setTimeout(() => this.appended(), RETRY_MS);
        this.retryTimer.unref();
      }
    } finally {
      this.reading = false;
    }
  }
}
