import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * One log line per request, written when the answer has gone. Fastify's default writes two (on arrival and on
 * completion), and at a few thousand requests a second the extra line is a measurable share of the work. The one
 * line carries what both did: the request (its URL through serializeRequest, so foreign query values are redacted),
 * the status and the duration. Errors keep their own lines, as Fastify writes them.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else logRequestCompleted(request, reply);
  }
}

/** The request's one line, also written by hand for answers Fastify does not report to its log controller. */
export function logRequestCompleted(request: FastifyRequest, reply: FastifyReply): void {
  reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
}
