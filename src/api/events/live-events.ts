import type { EventStore } from '../../domain/store.js';
import type { EventStream, StreamEnd } from './event-stream.js';
import { EventHub } from './hub.js';
import { UserSlots } from './user-slots.js';

export interface LiveEventsSettings {
  streamsPerUser: number;
  waitsPerUser: number;
  heartbeatMs: number;
  maxBufferedBytes: number;
  /** For the metric of ended streams. */
  onStreamEnded?: (why: StreamEnd) => void;
}

/**
 * What the wait and event routes share in a process: the one event hub, the per-user caps on open streams and waits,
 * and one timer that sends every open stream its heartbeat (a comment line, so that proxies keep idle streams open).
 */
export class LiveEvents {
  readonly hub: EventHub;
  readonly streamSlots: UserSlots;
  readonly waitSlots: UserSlots;
  private readonly streams = new Set<EventStream>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    store: Pick<EventStore, 'listEvents' | 'eventSeqRange' | 'subscribeToEvents'>,
    readonly settings: LiveEventsSettings,
    onError: (error: unknown) => void,
  ) {
    this.hub = new EventHub(store, onError);
    this.streamSlots = new UserSlots(settings.streamsPerUser, 'event streams');
    this.waitSlots = new UserSlots(settings.waitsPerUser, 'waits');
  }

  get openStreams(): number {
    return this.streams.size;
  }

  get openWaits(): number {
    return this.waitSlots.total;
  }

  /** Keeps the stream in the heartbeat round until it ends. */
  track(stream: EventStream): () => void {
    this.streams.add(stream);
    this.heartbeat ??= setInterval(() => {
      for (const open of this.streams) open.heartbeat();
    }, this.settings.heartbeatMs).unref();
    return () => {
      this.streams.delete(stream);
      if (this.streams.size === 0) {
        clearInterval(this.heartbeat);
        this.heartbeat = undefined;
      }
    };
  }

  /** The server is closing: every stream and wait ends now, so that closing does not wait for them. */
  close(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.hub.close();
  }
}
