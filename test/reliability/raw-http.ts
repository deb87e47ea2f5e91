import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

/*
 * Requests as a hostile or sloppy client sends them. fetch normalises exactly what these tests are about
 * (duplicate headers, ../ in paths, %00, bytes no header may hold), so node:http and raw sockets are used.
 */

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: unknown;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * node:http, which sends the path as given (no normalisation of ../ or %2e) and repeats a header given as an array
 * of values, or given twice in a flat [name, value, name, value] list.
 */
export function httpCall(
  base: string,
  options: {
    method: string;
    path: string;
    headers?: Record<string, string | string[]> | string[];
    body?: string | Buffer;
    agent?: Agent;
    /** Another loopback address (127.0.0.2, …) to come from, as a different client would. */
    localAddress?: string;
  },
): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: options.path,
        headers: options.headers,
        agent: options.agent,
        localAddress: options.localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parseJson(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.end(options.body);
    else req.end();
  });
}

/** What came back on a raw socket: the status line's code, the headers (lower-case names) and the body. */
export interface SocketAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: unknown;
  /** The connection was closed without a single byte of answer. */
  empty: boolean;
}

/** Parses one HTTP/1.1 answer from everything read on a socket that the server closed (Connection: close). */
export function parseAnswer(raw: Buffer): SocketAnswer {
  // Interim answers (100 Continue to an Expect header) come first and end at a blank line: the final one follows.
  const interim = /^HTTP\/1\.[01] 1\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n/.exec(raw.toString('latin1'));
  if (interim) return parseAnswer(raw.subarray(interim[0].length));
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (raw.length === 0 || end < 0) return { status: 0, headers: {}, text, json: undefined, empty: raw.length === 0 };
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = raw.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1')).toString('utf8');
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, text: body, json: parseJson(body), empty: false };
}

/** Writes bytes on a fresh connection, reads until the server closes it (or timeoutMs), and parses the answer. */
export function socketCall(base: string, bytes: string | Buffer, timeoutMs = 30_000): Promise<SocketAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no end of answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // A reset after the answer was read still leaves a usable answer.
      if (chunks.length > 0 || error.code === 'ECONNRESET') resolve(parseAnswer(Buffer.concat(chunks)));
      else reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks)));
    });
  });
}

/** A request in wire form: method, raw target, header lines (sent exactly as given) and an optional body. */
export function wire(method: string, target: string, headers: Array<[string, string]>, body?: string | Buffer): Buffer {
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const host = headers.some(([name]) => name.toLowerCase() === 'host') ? [] : ['Host: 127.0.0.1'];
  const lines = [`${method} ${target} HTTP/1.1`, ...host, 'Connection: close', ...headers.map(([name, value]) => `${name}: ${value}`)];
  if (body !== undefined) lines.push(`Content-Length: ${payload.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}
