import assert from 'node:assert/strict';
import { sseMessages, type SseMessage } from './http.js';

/** One event as GET /events sends it. */
export interface StreamEvent {
  id: string;
  type: string;
  time: string;
  instanceId?: string;
  userId?: string;
  data: Record<string, unknown>;
}

/**
 * A client of GET /events, as EventSource reads it: the messages received so far, and waiting for one to come. The
 * response is read as it arrives; nothing is asserted about time, only about what arrives and in which order.
 */
export class EventStreamClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: Headers | undefined;
  private buffer = '';
  private readonly controller = new AbortController();
  private waiters: Array<() => void> = [];
  private done = false;
  /** Why the stream ended, when it was not closed by this client nor ended by the server in good order. */
  error: Error | undefined;
  readonly finished: Promise<void>;

  private constructor(response: Response) {
    this.status = response.status;
    this.headers = response.headers;
    this.finished = this.read(response).finally(() => {
      this.done = true;
      this.wake();
    });
  }

  /** Opens a stream; the caller closes it (close()) or reads it to its end (finished). */
  static async open(url: string, headers: Record<string, string>): Promise<EventStreamClient> {
    const controller = new AbortController();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
    const client = new EventStreamClient(response);
    client.controller.signal.addEventListener('abort', () => controller.abort());
    return client;
  }

  get events(): StreamEvent[] {
    return this.messages.map((m) => JSON.parse(m.data) as StreamEvent);
  }

  get ended(): boolean {
    return this.done;
  }

  /** Waits until an event matching the predicate has arrived (the first one), or fails after timeoutMs. */
  async next(what: string, predicate: (event: StreamEvent) => boolean, timeoutMs = 60_000): Promise<StreamEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found) return found;
      if (this.done) assert.fail(`the stream ended before ${what}; received: ${JSON.stringify(this.events.map((e) => [e.id, e.type, e.data.status ?? e.data.kind]))}`);
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; received: ${JSON.stringify(this.events.map((e) => [e.id, e.type, e.data.status ?? e.data.kind]))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.controller.abort();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private async read(response: Response): Promise<void> {
    if (!response.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        this.buffer += decoder.decode(chunk, { stream: true });
        const end = this.buffer.lastIndexOf('\n\n');
        if (end === -1) continue;
        const complete = this.buffer.slice(0, end + 2);
        this.buffer = this.buffer.slice(end + 2);
        for (const line of complete.split('\n')) if (line.startsWith(':')) this.comments.push(line);
        this.messages.push(...sseMessages(complete));
        this.wake();
      }
    } catch (error) {
      // Closed by us (abort), or cut by the server (a slow reader, a shutdown): either way the stream has ended.
      if ((error as Error).name !== 'AbortError') this.error = error as Error;
    }
  }
}
