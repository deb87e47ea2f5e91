import { GaleApiError, GaleConnectionError } from './errors.js';
import { ROUTES } from './generated/routes.js';
import { isRetryableStatus, retryDelayMs, sleep } from './retry.js';
import { SseParser, type SseMessage } from './sse.js';
import type { Transport } from './transport.js';
import type { EventType, StreamMessage } from './types.js';

export interface EventsOptions {
  /** Only events of these types. */
  types?: EventType[];
  /** Only events about this instance. */
  instanceId?: string;
  /** Compute admins: only this user's events (an admin's stream has everyone's without it). */
  userId?: string;
  /** Resume after this event id: what was missed since is sent first (within the server's retention window). */
  lastEventId?: string;
  /** Ends the iteration, and closes the stream. */
  signal?: AbortSignal;
  /** How long to wait before reconnecting until the server says (its `retry:` field). Default 2000 ms. */
  reconnectDelayMs?: number;
  /** Connection attempts in a row that may fail (no answer, 429, 502-504) before the iteration throws. Default: no limit. */
  maxReconnects?: number;
}

const DEFAULT_RECONNECT_MS = 2_000;

/**
 * The messages of GET /events as they come, across reconnections: when the stream ends or drops it is opened again
 * after the server's `retry:` time with Last-Event-ID, so that no event is missed or seen twice (a stream.gap message
 * says when the server no longer had some). It ends when the signal is aborted or the loop is left; an error answer
 * that retrying cannot mend (400, 401, 403) is thrown.
 */
export async function* streamEvents(transport: Transport, options: EventsOptions = {}): AsyncGenerator<StreamMessage, void, undefined> {
  const { signal } = options;
  const policy = transport.settings.retry;
  const query = { type: options.types?.join(','), instanceId: options.instanceId, userId: options.userId };
  let lastEventId = options.lastEventId;
  let reconnectMs = options.reconnectDelayMs ?? DEFAULT_RECONNECT_MS;
  let failures = 0;

  while (!signal?.aborted) {
    // One per connection: aborted when the caller's signal is, and when the loop is left, so the connection closes.
    const connection = new AbortController();
    const abort = (): void => connection.abort(signal?.reason);
    signal?.addEventListener('abort', abort, { once: true });
    try {
      let response: Response;
      try {
        response = await transport.send({
          method: 'GET',
          path: ROUTES.streamEvents.path,
          query,
          headers: lastEventId === undefined ? undefined : { 'last-event-id': lastEventId },
          accept: 'text/event-stream',
          retry: 'none',
          signal: connection.signal,
        });
      } catch (error) {
        if (signal?.aborted) return;
        const retryable = error instanceof GaleConnectionError || (error instanceof GaleApiError && isRetryableStatus('safe', error.status));
        failures += 1;
        if (!retryable || failures > (options.maxReconnects ?? Infinity)) throw error;
        const delayMs = retryDelayMs(policy, failures, error instanceof GaleApiError ? error.retryAfterSeconds : undefined) ?? policy.maxDelayMs;
        policy.onRetry?.({ method: 'GET', path: ROUTES.streamEvents.path, attempt: failures, delayMs, status: error instanceof GaleApiError ? error.status : undefined, idempotencyKey: undefined });
        if (!(await pause(delayMs, signal))) return;
        continue;
      }
      failures = 0;
      const received: SseMessage[] = [];
      const parser = new SseParser({ message: (message) => received.push(message), retry: (ms) => (reconnectMs = ms) }, lastEventId);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.push(value);
          while (received.length > 0) {
            const { data, lastEventId: id } = received.shift()!;
            lastEventId = id;
            yield JSON.parse(data) as StreamMessage;
          }
          lastEventId = parser.lastEventId;
        }
      } catch (error) {
        if (signal?.aborted) return;
        // The stream dropped (a reset, a proxy's timeout): it is resumed below. Anything else is not ours to hide.
        if (!(error instanceof TypeError) && !(error instanceof Error && error.name === 'AbortError')) throw error;
      }
    } finally {
      signal?.removeEventListener('abort', abort);
      connection.abort();
    }
    if (!(await pause(reconnectMs, signal))) return;
  }
}

/** Waits ms; false when the signal ended the wait. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, signal);
    return true;
  } catch {
    return false;
  }
}
