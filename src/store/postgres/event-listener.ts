import pg from 'pg';
import { EventListeners } from '../db.js';

/*
 * One connection per process that LISTENs on the events channel (events.ts NOTIFYs on every commit that appended
 * events, from any replica), opened when the first listener arrives. However many waiters and streams a process
 * serves, this is its one notification path; nothing polls. A connection that breaks (a restart, a failover) is
 * opened again with backoff, and the listeners are told at once when it is back, since notifications sent meanwhile
 * were lost: they read what is new themselves.
 */

const RETRY_MAX_MS = 5_000;

export class PostgresEventListener {
  private readonly listeners = new EventListeners();
  private client: pg.Client | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly onError: (error: Error) => void,
  ) {}

  subscribe(listener: () => void): () => void {
    const unsubscribe = this.listeners.add(listener);
    if (!this.client && !this.retryTimer) void this.connect();
    return unsubscribe;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000 });
    this.client = client;
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      if (error) this.onError(error);
      client.end().catch(() => undefined);
      this.retry();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', () => this.listeners.notify());
    try {
      await client.connect();
      await client.query(`listen ${this.channel}`);
      this.attempts = 0;
      // Whatever was notified while there was no connection is lost: every listener reads what is new now.
      this.listeners.notify();
    } catch (error) {
      lost(error as Error);
    }
  }

  private retry(): void {
    if (this.closed || this.retryTimer) return;
    const waitMs = Math.min(RETRY_MAX_MS, 100 * 2 ** this.attempts++);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, waitMs);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
