import type { ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { EventFilter, GaleEvent } from '../../domain/store.js';
import type { EventSubscriber } from './hub.js';

/*
 * One GET /events stream: Server-Sent Events written to a PassThrough that Fastify pipes to the client. The route ends
 * it when the client leaves (client-gone.ts), the hub when the server closes. It is an
 * EventHub subscriber from the moment it opens; while it replays what a resuming client missed, live events are held
 * back, then sent after the replay, each event once and in seq order (an event the replay already sent is skipped).
 */

/** Events held back during a replay; a stream that falls further behind is ended, and the client resumes. */
const MAX_HELD = 10_000;
/** Events read from the store a query at a time when replaying. */
export const REPLAY_PAGE = 500;

/** userId undefined: a compute admin's stream of everyone's events. */
export type StreamFilter = EventFilter;

export function matchesFilter(filter: StreamFilter, event: GaleEvent): boolean {
  if (filter.userId !== undefined && event.userId !== filter.userId) return false;
  if (filter.instanceId !== undefined && event.instanceId !== filter.instanceId) return false;
  return filter.types === undefined || filter.types.includes(event.type);
}

/** Why a stream ended: the client left, the server is closing, the client could not keep up, or its time was up. */
export type StreamEnd = 'client' | 'shutdown' | 'slow' | 'timeout';

export class EventStream implements EventSubscriber {
  readonly body = new PassThrough();
  private lastSent = 0;
  private held: GaleEvent[] | undefined = [];
  private ended = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly filter: StreamFilter,
    private readonly format: (event: GaleEvent) => string,
    private readonly maxBufferedBytes: number,
    private readonly onEnd: (why: StreamEnd) => void,
  ) {}

  get isEnded(): boolean {
    return this.ended;
  }

  /** Opens the stream: the client reconnects after retryMs when it drops. */
  open(retryMs: number): void {
    this.write(`retry: ${retryMs}\n\n`);
  }

  deliver(event: GaleEvent): void {
    if (this.ended || !matchesFilter(this.filter, event)) return;
    if (!this.held) return this.send(event);
    this.held.push(event);
    if (this.held.length > MAX_HELD) this.end('slow');
  }

  /**
   * Sends what came after `after`, read a page at a time, then the live events held meanwhile. Without a replay
   * (a fresh stream), `after` is the hub's position and the store is not read.
   */
  async replay(after: number, read?: (after: number) => Promise<GaleEvent[]>): Promise<void> {
    this.lastSent = after;
    if (read) {
      for (;;) {
        const page = await read(this.lastSent);
        if (this.ended) return;
        for (const event of page) this.send(event);
        if (page.length < REPLAY_PAGE) break;
        // The reader's pace sets the replay's: a page is read only once the last one has gone out.
        if (this.body.writableNeedDrain) await new Promise((resolve) => this.body.once('drain', resolve).once('close', resolve));
      }
    }
    const held = this.held ?? [];
    this.held = undefined;
    for (const event of held) this.send(event);
  }

  /** A message that is not an event (a gap notice): sent as is, moving the stream's position to its id. */
  notice(id: number, data: string): void {
    this.lastSent = Math.max(this.lastSent, id);
    this.write(`id: ${id}\ndata: ${data}\n\n`);
  }

  heartbeat(): void {
    this.write(': heartbeat\n\n');
  }

  close(): void {
    this.end('shutdown');
  }

  end(why: StreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(why);
    if (why === 'slow') {
      // Nothing more can be sent to a client that does not read: the connection is cut, and it resumes from its last id.
      this.response.destroy();
      this.body.destroy();
    } else {
      this.body.end();
    }
  }

  private send(event: GaleEvent): void {
    if (event.seq <= this.lastSent) return;
    this.lastSent = event.seq;
    this.write(`id: ${event.seq}\ndata: ${this.format(event)}\n\n`);
  }

  private write(text: string): void {
    if (this.ended) return;
    this.body.write(text);
    const buffered = this.body.writableLength + this.body.readableLength + this.response.writableLength;
    if (buffered > this.maxBufferedBytes) this.end('slow');
  }
}
