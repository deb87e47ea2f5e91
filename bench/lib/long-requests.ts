import http from 'node:http';

/*
 * Long-lived requests for the benchmarks: GET /events streams and waits, on node:http with a connection of their own
 * each, so that closing one closes its connection at once (fetch's abort may leave the socket open a while, and the
 * server would rightly go on counting the request). Event messages are handed over with the time (performance.now())
 * their bytes were read, so that latencies measure the server, not the reader. Unlike the test suite's client
 * (test/helpers/sse.ts) nothing is kept and nothing polls: a thousand of them may be open at once.
 */

/** One connection per request, never reused: the end of a request is the end of its connection. */
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

/** One event as GET /events sends it (the fields the benchmarks use). */
export interface StreamEvent {
  id: string;
  type: string;
  instanceId?: string;
  userId?: string;
  data: Record<string, unknown>;
}

export interface LongRequest {
  /** The status of the answer; 0 until its headers have come. */
  readonly status: number;
  /** Resolves when the request has ended, whoever ended it; never rejects. */
  finished: Promise<void>;
  readonly ended: boolean;
  /** Why it ended, when the server or the network ended it rather than close(). */
  readonly error: string | undefined;
  /** The body received, for a request that is not a stream. */
  readonly body: string;
  /** Closes the connection (a FIN, as a client that goes away sends). */
  close(): void;
}

function start(method: 'GET' | 'POST', url: string, headers: Record<string, string>, onData?: (chunk: string, at: number) => void): { request: LongRequest; headers: Promise<void> } {
  let status = 0;
  let ended = false;
  let closedByUs = false;
  let error: string | undefined;
  let body = '';
  let headersCame!: () => void;
  const headersPromise = new Promise<void>((resolve) => (headersCame = resolve));
  const req = http.request(url, { method, headers: { ...headers, ...(method === 'POST' ? { 'content-length': '0' } : {}) }, agent });
  const finished = new Promise<void>((resolve) => {
    req.on('response', (res: http.IncomingMessage) => {
      status = res.statusCode ?? 0;
      headersCame();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (onData && status === 200) onData(chunk, performance.now());
        else body += chunk;
      });
      res.on('end', () => {
        if (!closedByUs && onData && status === 200) error = 'the server ended the stream';
      });
      res.on('error', () => undefined);
    });
    req.on('error', (caught) => {
      if (!closedByUs) error = caught.message;
    });
    // The request's close comes last, after its answer's (or its error): whoever ended it, it is over.
    req.on('close', () => {
      headersCame();
      resolve();
    });
  }).finally(() => {
    ended = true;
  });
  req.end();
  const request: LongRequest = {
    get status() {
      return status;
    },
    finished,
    get ended() {
      return ended;
    },
    get error() {
      return error;
    },
    get body() {
      return body;
    },
    close() {
      closedByUs = true;
      req.destroy();
    },
  };
  return { request, headers: headersPromise };
}

/**
 * Opens a stream; resolves once the answer's headers have come (the server subscribes the stream before it answers,
 * so every event committed after that is sent on it). A refused stream resolves too, with its status.
 */
export async function openStream(url: string, headers: Record<string, string>, onEvent?: (event: StreamEvent, at: number) => void): Promise<LongRequest> {
  let buffer = '';
  const { request, headers: came } = start('GET', url, { accept: 'text/event-stream', ...headers }, (chunk, at) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!onEvent) continue;
      // Only data: lines are needed (id:, retry: and comment lines are not); one data line per message.
      for (const line of message.split('\n')) if (line.startsWith('data: ')) onEvent(JSON.parse(line.slice(6)) as StreamEvent, at);
    }
  });
  await came;
  return request;
}

/** Sends a request whose answer may take long (a wait); it is under way once this returns. */
export function openWait(method: 'GET' | 'POST', url: string, headers: Record<string, string>): LongRequest {
  return start(method, url, headers).request;
}
