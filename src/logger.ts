import { pino, type Logger } from 'pino';

/** Header and field names that may carry a credential: pino replaces them before a line is written. */
const REDACT = [
  'req.headers.authorization',
  'req.headers["api-key"]',
  'req.headers["api-secret"]',
  'headers.authorization',
  'headers["api-key"]',
  'headers["api-secret"]',
  '*.apiSecret',
  '*.apiKey',
  '*.token',
  'apiSecret',
  'apiKey',
  'token',
];

/** Query parameters logged with their values: Gale's own (docs/api.md). Gale reads no credential from a URL. */
const LOGGED_QUERY_PARAMETERS = new Set(['requestId', 'page', 'pageSize', 'limit', 'userID', 'customerID', 'status', 'zone', 'templateID']);

/** A request target as logged: every query parameter that is not Gale's own is [redacted], credentials pasted there too. */
export function loggedUrl(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const pairs = url.slice(at + 1).split('&').map((pair) => (LOGGED_QUERY_PARAMETERS.has(pair.split('=', 1)[0]!) ? pair : '[redacted]'));
  return `${url.slice(0, at)}?${pairs.join('&')}`;
}

interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remotePort?: number };
}

/** Fastify's request serializer (fastify/lib/logger-pino.js), with the query string passed through loggedUrl. */
export function serializeRequest(req: LoggedRequest) {
  return {
    method: req.method,
    url: loggedUrl(req.url),
    version: req.headers?.['accept-version'],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/**
 * Lines go to stdout through an asynchronous destination: under load, the lines written in one turn of the event loop
 * leave in one write instead of one system call each. Pino flushes what is pending when the process exits, by
 * process.exit or by an uncaught error alike; only a SIGKILL can lose the last few lines.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'gale' } };
  return pino(options, (destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: false }));
}

export type { Logger };

/**
 * Lines in pino's own format written straight to a logger's destination, for the one line a request costs: building
 * it by hand from fixed fields and writing the lines of one turn of the event loop in one go costs a fraction of a
 * pino call (measured in docs/performance.md). A line reads exactly as pino would have written it, the logger's
 * bindings included. Lines still pending when the process exits are written out synchronously first.
 */
export class BatchedLines {
  readonly #logger: Logger;
  readonly #stream: NodeJS.WritableStream & { flushSync?: () => void };
  readonly #bindings: string;
  #pending = '';

  constructor(logger: Logger) {
    this.#logger = logger;
    this.#stream = (logger as unknown as Record<symbol, NodeJS.WritableStream>)[pino.symbols.streamSym]!;
    // pino keeps a logger's bindings as the JSON text of its fields, each with a leading comma.
    this.#bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
  }

  /** The opening of a line at this level, up to its bindings, or undefined when the level is not logged. */
  head(level: 'info' | 'warn' | 'error'): string | undefined {
    if (!this.#logger.isLevelEnabled(level)) return undefined;
    return `{"level":${this.#logger.levels.values[level]},"time":${Date.now()}${this.#bindings}`;
  }

  /** A whole line (head, fields, closing brace and newline), written with the rest of this turn's. */
  write(line: string): void {
    if (this.#pending === '') {
      setImmediate(() => this.flush(false));
      withPendingLines.add(this);
    }
    this.#pending += line;
  }

  /** Called at the end of the turn, and on exit for lines whose turn did not end. */
  flush(exiting: boolean): void {
    withPendingLines.delete(this);
    if (this.#pending === '') return;
    const lines = this.#pending;
    this.#pending = '';
    this.#stream.write(lines);
    if (!exiting) return;
    try {
      this.#stream.flushSync?.();
    } catch {
      // A destination whose file is not open yet cannot be flushed: the lines stay in its buffer, as pino's own do.
    }
  }
}

/** One exit handler for every logger's pending lines, not one per logger (tests start many servers). */
const withPendingLines = new Set<BatchedLines>();
process.once('exit', () => {
  for (const lines of [...withPendingLines]) lines.flush(true);
});
