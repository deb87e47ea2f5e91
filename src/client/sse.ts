/*
 * A Server-Sent Events parser, as the HTML standard's EventSource reads a stream: lines end with CRLF, LF or CR;
 * `data` lines are joined with LF; `id` sets the last event id (one with a NUL is ignored); `retry` sets the
 * reconnection time; lines starting with a colon are comments; a blank line dispatches the message.
 */

export interface SseMessage {
  /** The last event id after this message (ids persist across messages that do not set one). */
  lastEventId: string | undefined;
  /** The event field, "message" when absent. */
  event: string;
  data: string;
}

export interface SseHandlers {
  message(message: SseMessage): void;
  /** A retry field: the reconnection time, in milliseconds. */
  retry(ms: number): void;
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private idBuffer: string | undefined;
  private dispatchedId: string | undefined;
  private started = false;
  /** A CR ended the last chunk: an LF opening the next one belongs to it. */
  private pendingCr = false;

  constructor(
    private readonly handlers: SseHandlers,
    lastEventId?: string,
  ) {
    this.idBuffer = lastEventId;
    this.dispatchedId = lastEventId;
  }

  /**
   * The id to resume after: set when a message is dispatched (even one without data), so that a stream cut in the
   * middle of a message resumes before it, not after.
   */
  get lastEventId(): string | undefined {
    return this.dispatchedId;
  }

  push(chunk: string): void {
    let text = chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    for (;;) {
      const end = this.buffer.search(/[\r\n]/);
      if (end < 0) return;
      const line = this.buffer.slice(0, end);
      const crlf = this.buffer[end] === '\r' && this.buffer[end + 1] === '\n';
      if (this.buffer[end] === '\r' && end === this.buffer.length - 1) this.pendingCr = true;
      this.buffer = this.buffer.slice(end + (crlf ? 2 : 1));
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.idBuffer = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.handlers.retry(Number(value));
        break;
      default:
      // Unknown fields are ignored, as the standard says.
    }
  }

  private dispatch(): void {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.event = '';
    this.dispatchedId = this.idBuffer;
    if (data.length === 0) return;
    this.handlers.message({ lastEventId: this.idBuffer, event: event || 'message', data: data.join('\n') });
  }
}
