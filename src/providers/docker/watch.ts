import type Dockerode from 'dockerode';
import type { Logger } from 'pino';
import type { Endpoint } from './endpoints.js';
import { engineMessage } from './errors.js';
import { followJsonLines } from './json-lines.js';
import { LABELS } from './observe.js';

// The container events that can change what inspect() reports; exec_*, attach, resize, top... cannot.
const STATE_EVENTS = ['create', 'start', 'restart', 'die', 'kill', 'stop', 'pause', 'unpause', 'destroy', 'oom', 'update'];
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 15_000;

export interface WatchOptions {
  endpoints: Endpoint[];
  installationId: string;
  logger: Logger;
  onChange: (instanceId: string) => void;
}

/**
 * Follows each engine's event stream for our containers and reports the instance ids they concern.
 * The stream ends whenever the engine restarts, so it reconnects with backoff, asking the engine to replay
 * what happened since the last event seen. This is a hint for promptness only: the reconciler's periodic
 * resync remains the source of truth for whatever is missed (events from before an engine restart are gone).
 */
export function watchEndpoints(options: WatchOptions): () => void {
  const followers = options.endpoints.map((endpoint) => new EventFollower(endpoint, options));
  for (const follower of followers) void follower.run();
  return () => {
    for (const follower of followers) follower.stop();
  };
}

class EventFollower {
  private stopped = false;
  private stream: NodeJS.ReadableStream | undefined;
  private wake: (() => void) | undefined;
  private sinceSeconds: number | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly options: WatchOptions,
  ) {
    this.logger = options.logger.child({ endpoint: endpoint.name });
  }

  async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const query: Dockerode.GetEventsOptions = {
          filters: {
            type: ['container'],
            event: STATE_EVENTS,
            label: [`${LABELS.installation}=${this.options.installationId}`],
          },
        };
        if (this.sinceSeconds !== undefined) query.since = this.sinceSeconds;
        const stream = await this.endpoint.docker.getEvents(query);
        if (this.stopped) {
          destroy(stream);
          return;
        }
        this.stream = stream;
        if (failures > 0) this.logger.info('docker event stream reconnected');
        failures = 0;
        await followJsonLines(stream, (event) => this.onEvent(event));
        if (!this.stopped) this.logger.warn('docker event stream ended: reconnecting');
      } catch (error) {
        if (this.stopped) return;
        // Warn on the first failure only: an engine down for an hour must not flood the log.
        const log = failures === 0 ? this.logger.warn.bind(this.logger) : this.logger.debug.bind(this.logger);
        log({ err: engineMessage(error) }, 'docker event stream unavailable: retrying with backoff');
        failures++;
      }
      this.stream = undefined;
      await this.sleep(backoff(failures));
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.stream) destroy(this.stream);
    this.wake?.();
  }

  private onEvent(event: Record<string, unknown>): void {
    if (typeof event.time === 'number') this.sinceSeconds = event.time;
    const actor = event.Actor as { Attributes?: Record<string, string> } | undefined;
    const instanceId = actor?.Attributes?.[LABELS.instanceId];
    if (typeof instanceId !== 'string' || instanceId === '') return;
    try {
      this.options.onChange(instanceId);
    } catch (error) {
      // A failing listener must not tear down the stream that every other instance relies on.
      this.logger.error({ err: error, instanceId }, 'watch listener threw');
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function backoff(failures: number): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, failures - 1));
  return base / 2 + Math.random() * (base / 2); // jitter: many Gale processes must not reconnect in lockstep
}

function destroy(stream: NodeJS.ReadableStream): void {
  const destroyable = stream as NodeJS.ReadableStream & { destroy?: () => void };
  destroyable.destroy?.();
}
