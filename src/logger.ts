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
