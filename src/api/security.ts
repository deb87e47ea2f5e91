import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { invalidRequest } from '../domain/errors.js';
import { envelope, sendError, type ApiErrorCode } from './error-envelope.js';
import type { RequestLines } from './request-log.js';
import type { GaleApp } from './services.js';
import { trackUnusedConnections } from './unused-connections.js';

/*
 * What every response carries and what every connection is allowed, whatever route it reaches: connection and
 * slow-client limits, the answer to requests Node refuses before Fastify sees them, security headers, CORS, and a
 * brake on guessing credentials. Settings: `http` and `cors` in the configuration (docs/configuration.md).
 */

export interface HttpSettings {
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderBytes: number;
  hstsMaxAgeSeconds: number;
  authFailuresPerMinute: number;
  /** Whether X-Forwarded-For names the client (Fastify's trustProxy): false, a hop count, or the proxies' addresses/CIDRs. */
  trustProxy: boolean | number | string[];
}

export interface CorsSettings {
  origins: string[];
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  // An API answers JSON: nothing in it may load, run or be framed, even if a browser is tricked into rendering it.
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

const CORS_METHODS = 'GET, POST, DELETE';
const CORS_REQUEST_HEADERS = 'authorization, api-key, api-secret, content-type, idempotency-key, x-request-id, last-event-id';
const CORS_EXPOSED_HEADERS =
  'x-error, x-error-id, x-request-id, ratelimit-limit, ratelimit-remaining, ratelimit-reset, retry-after, idempotent-replayed, location, x-operation-id, x-instance-status';
const CORS_MAX_AGE_SECONDS = 600;

/** A percent-escaped control character anywhere in the target: no Gale name or parameter contains one. */
const ESCAPED_CONTROL = /%(?:[01][0-9a-f]|7f)/i;

/** The headers every answer carries: SECURITY_HEADERS, HSTS when configured, and no-store (answers are live states). */
function fixedHeaders(http: HttpSettings): Record<string, string> {
  const fixed: Record<string, string> = { ...SECURITY_HEADERS, 'cache-control': 'no-store' };
  if (http.hstsMaxAgeSeconds > 0) fixed['strict-transport-security'] = `max-age=${http.hstsMaxAgeSeconds}; includeSubDomains`;
  return fixed;
}

/** The Fastify factory options that enforce the limits, to be spread into Fastify({...}). */
export function serverOptions(http: HttpSettings, requestLines: RequestLines) {
  const fixed = fixedHeaders(http);
  return {
    // Only behind proxies the operator names: otherwise a client could pick its own address by sending the header.
    // A hop count trusts that many proxies nearest to Gale, as Fastify does with a number.
    trustProxy: typeof http.trustProxy === 'number' ? trustHops(http.trustProxy) : http.trustProxy,
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    // Socket inactivity: longer than a kept-alive connection may idle, so that keepAliveTimeoutMs is what applies.
    connectionTimeout: http.keepAliveTimeoutMs + 5_000,
    http: {
      headersTimeout: http.headersTimeoutMs,
      maxHeaderSize: http.maxHeaderBytes,
      // Node checks header and request timeouts on this period (30 s by default), which would let slowloris clients
      // hold a connection up to that much longer than the configured timeout.
      connectionsCheckingInterval: Math.min(5_000, Math.max(250, Math.floor(http.headersTimeoutMs / 4))),
      // Node would answer a Host-less HTTP/1.1 request with a bare 400 of its own; registerSecurity refuses it instead.
      requireHostHeader: false,
    },
    clientErrorHandler,
    // Targets the router cannot decode (%zz) or whose id is over its 100-character limit are refused before any hook
    // runs; Fastify's own answer to them is not our envelope, so they are answered here, with the headers set by hand.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      reply.headers(fixed).header('x-request-id', request.id);
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      sendError(reply, 'invalid_request', tooLong ? 'a path segment is too long to name anything' : 'the request target is not a valid URL');
      // Fastify does not report these to its log controller on completion: their line is written here.
      requestLines.completed(request, reply);
    },
  };
}

function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

/**
 * The envelope written straight to a socket, for answers given before there is a request object. It still gets a
 * request id of its own, so that an answer a client quotes can be told from any other.
 */
function rawEnvelope(reason: string, code: ApiErrorCode, message: string): string {
  const answer = envelope(code, message);
  const headers = {
    ...answer.headers,
    'content-length': String(Buffer.byteLength(answer.body)),
    'x-request-id': randomUUID(),
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
    connection: 'close',
  };
  const lines = [`HTTP/1.1 ${answer.status} ${reason}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  return `${lines.join('\r\n')}\r\n\r\n${answer.body}`;
}

/**
 * Node's HTTP parser refuses some requests before Fastify exists for them: headers over maxHeaderBytes (431),
 * headers or request too slow (408), bytes that are not HTTP (400). Fastify's default answer is its own JSON shape;
 * this one is Gale's envelope, so that every error a client can see has the same form.
 */
function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // Node's own field: the response to the request this connection is serving, if any.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
  const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  if (!timeout && inFlight && !inFlight.headersSent) {
    // Bytes that are not HTTP arrived after a complete request (a body its headers did not announce, say): that
    // request is answered as usual and the connection closed after it. Answering the garbage too would put a second
    // answer on the wire that the client cannot tell from the first.
    inFlight.setHeader('connection', 'close');
    return;
  }
  if (socket.writable && !inFlight?.headersSent) {
    let answer: string;
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      answer = rawEnvelope('Request Header Fields Too Large', 'headers_too_large', 'the request headers are larger than the server accepts');
    } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      answer = rawEnvelope('Request Timeout', 'request_timeout', 'the request was not received in time');
    } else {
      answer = rawEnvelope('Bad Request', 'invalid_request', 'malformed HTTP request');
    }
    socket.end(answer);
  }
  socket.destroySoon();
}

/** Security headers on every answer, CORS when configured, and no control characters in request targets. */
export function registerSecurity(app: GaleApp, http: HttpSettings, cors: CorsSettings): void {
  app.server.maxConnections = http.maxConnections > 0 ? http.maxConnections : Infinity;
  // A client may close its sending side once its request is out (HTTP allows it; `nc -N` does it). Node's default is to
  // close the connection at once then, dropping the answer of any request not answered yet; this way the answer under
  // way is sent first, then the connection closed.
  (app.server as typeof app.server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  // Node hands CONNECT (proxy tunnels) to this event and, with no listener, drops the connection unanswered.
  app.server.on('connect', (_request: unknown, socket: Socket) => {
    socket.end(rawEnvelope('Method Not Allowed', 'method_not_allowed', 'CONNECT is not supported: Gale is not a proxy'));
    // Node no longer tracks this socket, so closing the server would not close it and would wait for the client to:
    // once the answer is out it is destroyed, whatever the client does.
    socket.destroySoon();
  });
  const fixed = fixedHeaders(http);
  const anyOrigin = cors.origins.includes('*');
  const allowed = new Set(cors.origins);

  // Not async, like the onSend hook below: a plain hook spares every request a promise.
  app.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin;
    if (typeof origin === 'string' && (anyOrigin || allowed.has(origin))) {
      reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'Origin');
      if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
        // A preflight carries no credentials by design: it is answered here, before authentication.
        reply.header('access-control-allow-methods', CORS_METHODS);
        reply.header('access-control-allow-headers', CORS_REQUEST_HEADERS);
        reply.header('access-control-max-age', CORS_MAX_AGE_SECONDS);
        reply.code(204).send();
        return;
      }
      reply.header('access-control-expose-headers', CORS_EXPOSED_HEADERS);
    }
    if (ESCAPED_CONTROL.test(request.url)) return done(invalidRequest('the request target contains an escaped control character'));
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) return done(invalidRequest('an HTTP/1.1 request needs a Host header'));
    done();
  });

  // Not async: a plain hook spares every answer a promise.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.headers(fixed).header('x-request-id', request.id);
    done(null, payload);
  });

  // Closing waits for requests under way, but not for ever: a client that stops reading, or never finishes sending,
  // would otherwise hold the shutdown of the whole server. No request may take longer than requestTimeoutMs to arrive.
  const connections = trackUnusedConnections(app.server);
  app.addHook('preClose', (done) => {
    connections.closeUnused();
    setTimeout(() => app.server.closeAllConnections(), http.requestTimeoutMs).unref();
    done();
  });
}
