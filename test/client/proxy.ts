import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A loopback proxy in front of a test Gale that misbehaves on cue: it answers a request itself (a 503 with
 * Retry-After), forwards it and then hangs up before the answer (the mutation was done, the client never heard), or
 * forwards a stream and cuts it after its first event. Everything else passes through untouched, and every request
 * it saw is kept with its headers.
 */

export interface SeenRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
}

export type Misbehaviour =
  | { kind: 'answer'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'hang-up-after-forwarding' }
  | { kind: 'cut-after-first-event' };

interface Rule {
  match: (request: SeenRequest) => boolean;
  misbehaviour: Misbehaviour;
  times: number;
}

export class MisbehavingProxy {
  readonly seen: SeenRequest[] = [];
  private readonly rules: Rule[] = [];

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
  ) {
    server.on('request', (req, res) => this.handle(req, res));
  }

  static async start(target: string): Promise<MisbehavingProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new MisbehavingProxy(server, new URL(target));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next `times` requests that match misbehave so. */
  on(match: (request: SeenRequest) => boolean, misbehaviour: Misbehaviour, times = 1): void {
    this.rules.push({ match, misbehaviour, times });
  }

  requests(method: string, path: string): SeenRequest[] {
    return this.seen.filter((r) => r.method === method && r.url.split('?')[0] === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const seen: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    this.seen.push(seen);
    const rule = this.rules.find((r) => r.times > 0 && r.match(seen));
    if (rule) rule.times -= 1;
    const misbehaviour = rule?.misbehaviour;
    if (misbehaviour?.kind === 'answer') {
      req.resume();
      res.writeHead(misbehaviour.status, { 'content-type': 'application/json', ...misbehaviour.headers }).end(misbehaviour.body ?? '');
      return;
    }
    const upstream = httpRequest(new URL(seen.url, this.target), { method: seen.method, headers: { ...req.headers, host: this.target.host } }, (answer) => {
      if (misbehaviour?.kind === 'hang-up-after-forwarding') {
        // The server did the work and answered; the client never hears it.
        answer.resume();
        answer.on('end', () => res.socket?.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (misbehaviour?.kind !== 'cut-after-first-event') return void answer.pipe(res);
      answer.on('data', (chunk: Buffer) => {
        if (!chunk.toString('utf8').includes('data:')) return void res.write(chunk);
        // Cut once what carries the first event has reached the client's side of the socket.
        res.write(chunk, () => {
          answer.destroy();
          res.socket?.destroy();
        });
      });
    });
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  }
}
