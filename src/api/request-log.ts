import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import { serializeRequest } from '../logger.js';
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

/**
 * Writes the request's one line, also by hand for answers Fastify does not report to its log controller. The line is
 * built here from fixed fields (serializeRequest never copies headers or foreign query values), so it is written
 * through a child that skips the logger's redaction paths: matching them against every line was about 2 µs a
 * request, a twentieth of a whole GET. Everything else logged keeps them.
 */
export class RequestLines {
  private readonly log: FastifyBaseLogger;

  constructor(logger: FastifyBaseLogger) {
    this.log = logger.child({}, { redact: { paths: [] } } as Parameters<FastifyBaseLogger['child']>[1]);
  }

  /**
   * The caller's user id (never a credential) and, for an error answer, its code and the error id the caller was
   * given: support finds the line of any id a user quotes.
   */
  completed(request: FastifyRequest, reply: FastifyReply): void {
    const error = sentErrorOf(reply);
    this.log.info(
      {
        reqId: request.id,
        req: serializeRequest(request),
        res: { statusCode: reply.statusCode },
        responseTime: reply.elapsedTime,
        userId: request.principal?.user.id,
        errorCode: error?.code,
        errorId: error?.errorId,
      },
      'request completed',
    );
  }
}
