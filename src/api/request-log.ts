import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import { BatchedLines, serializeRequest, type Logger } from '../logger.js';
import { sentErrorOf } from './error-envelope.js';

/**
 * One log line per request, written when the answer has gone. Fastify's default writes two (on arrival and on
 * completion), and at a few thousand requests a second the extra line is a measurable share of the work. The one
 * line carries what both did: the request (its URL through serializeRequest, so foreign query values are redacted),
 * the status and the duration. Errors keep their own lines, as Fastify writes them.
 */
export class OneLinePerRequest extends LogController {
  constructor(private readonly lines: RequestLines) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else this.lines.completed(request, reply);
  }
}

/** JSON text of a string that may hold anything (a URL, a header); undefined is left out, as pino leaves it out. */
const field = (name: string, value: string | number | undefined): string =>
  value === undefined ? '' : `,"${name}":${typeof value === 'number' ? value : JSON.stringify(value)}`;

/**
 * Writes the request's one line, also by hand for answers Fastify does not report to its log controller. Its fields
 * are fixed (serializeRequest never copies headers or foreign query values), so the line is built as text, in the
 * very form pino writes, and batched with the rest of the turn's (BatchedLines): going through pino cost about 20 µs
 * a request, half of the line's cost, and the logger's redaction paths, matched against every line, had nothing to
 * find in it.
 */
export class RequestLines {
  private readonly batched: BatchedLines;

  constructor(logger: Logger) {
    this.batched = new BatchedLines(logger);
  }

  /**
   * The caller's user id (never a credential) and, for an error answer, its code and the error id the caller was
   * given: support finds the line of any id a user quotes.
   */
  completed(request: FastifyRequest, reply: FastifyReply): void {
    const head = this.batched.head('info');
    if (head === undefined) return;
    const error = sentErrorOf(reply);
    const req = serializeRequest(request);
    const version = req.version === undefined ? '' : field('version', String(req.version));
    this.batched.write(
      `${head}${field('reqId', request.id)},"req":{"method":${JSON.stringify(req.method)},"url":${JSON.stringify(req.url)}${version}` +
        `${field('host', req.host)}${field('remoteAddress', req.remoteAddress)}${field('remotePort', req.remotePort)}},` +
        `"res":{"statusCode":${reply.statusCode}},"responseTime":${reply.elapsedTime}${field('userId', request.principal?.user.id)}` +
        `${field('errorCode', error?.code)}${field('errorId', error?.errorId)},"msg":"request completed"}\n`,
    );
  }
}

/**
 * request.log, made only when something logs through it. Fastify makes a child logger for every request, with the
 * request id bound, and that child alone cost 11-15 µs a request; the request's one line does not need it (it carries
 * the id itself), so the child is made the first time the request logs anything else, which few requests do.
 */
export function lazyRequestLogger(parent: FastifyBaseLogger, bindings: Record<string, unknown>, options: object): FastifyBaseLogger {
  return new LazyChildLogger(parent, bindings, options) as unknown as FastifyBaseLogger;
}

type LogArgs = Parameters<FastifyBaseLogger['info']>;

/** A class, so that a request that never logs costs one small object, not a closure per method. */
class LazyChildLogger {
  #made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Record<string, unknown>,
    private readonly options: object,
  ) {}

  get level(): string {
    return this.#made?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real().level = level;
  }

  fatal(...args: LogArgs): void {
    this.real().fatal(...args);
  }

  error(...args: LogArgs): void {
    this.real().error(...args);
  }

  warn(...args: LogArgs): void {
    this.real().warn(...args);
  }

  info(...args: LogArgs): void {
    this.real().info(...args);
  }

  debug(...args: LogArgs): void {
    this.real().debug(...args);
  }

  trace(...args: LogArgs): void {
    this.real().trace(...args);
  }

  silent(...args: LogArgs): void {
    this.real().silent(...args);
  }

  child(...args: Parameters<FastifyBaseLogger['child']>): FastifyBaseLogger {
    return this.real().child(...args);
  }

  private real(): FastifyBaseLogger {
    return (this.#made ??= this.parent.child(this.bindings, this.options));
  }
}
