import { Type } from '@sinclair/typebox';
import { API_BASE } from '../../contracts/api.js';
import { InstanceIdParamsSchema } from '../../contracts/instance.js';
import { SerialPortOutputQuerySchema, type SerialPortOutputView } from '../../contracts/serial-port-output.js';
import { conflict, GaleError, instanceNotFound } from '../../domain/errors.js';
import type { SerialOutput } from '../../domain/provider.js';
import { defineRoute } from './route.js';
import { NOT_FOUND, ownerFor, prefixOf, requireId } from './scope.js';

/*
 * GCE's instances.getSerialPortOutput: the instance's console, read from its backend at the time of asking (the
 * simulator's synthetic boot log, a container's log). A backend that does not answer in time is a 503 to retry, not a
 * request held open: the read has a deadline of its own.
 */

const READ_DEADLINE_MS = 10_000;

function withinDeadline<T>(read: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READ_DEADLINE_MS} ms`)), READ_DEADLINE_MS);
  });
  read.catch(() => undefined);
  return Promise.race([read, late]).finally(() => clearTimeout(timer));
}

export const getSerialPortOutput = defineRoute(
  {
    path: '/:id/serialPortOutput',
    scope: 'twins',
    operationId: 'getSerialPortOutput',
    summary: "Read an instance's serial console output",
    description:
      "GCE's getSerialPortOutput: the console output from byte start (default 0) to the end, and next, the start of the following read. " +
      'The last 1 MiB is kept; asked for older bytes, the answer begins at the oldest kept one and its start says so. At or past the ' +
      'end, contents are empty and next is the start asked. An instance whose machine is not made yet has printed nothing. ' +
      "A backend without a console answers 409 saying so. Offsets are int64s written as decimal strings, as GCE's JSON writes them.",
    tags: ['instances'],
    method: 'GET',
    params: InstanceIdParamsSchema,
    querystring: SerialPortOutputQuerySchema,
    success: { status: 200, description: 'The console output from start to next', schema: Type.Ref('SerialPortOutput') },
    errors: {
      400: 'The instance id is empty or malformed, start is negative or not an integer, port is not 1, or an unknown query parameter',
      404: NOT_FOUND.user,
      409: "the instance's backend has no serial console",
      503: "the instance's backend did not give its console in time, or a dependency (the database) did not answer; retry after Retry-After seconds",
    },
    admin: { summary: "Read any user's instance's serial console", errors: { 404: NOT_FOUND.admin } },
  },
  ({ services, scope }) =>
    async (request): Promise<SerialPortOutputView> => {
      const id = requireId(request.params.id);
      const owner = ownerFor(scope, request);
      const record = await services.store.getInstanceSummary(id);
      // A foreign instance answers exactly like a missing one, before anything about its backend is said.
      if (!record || (owner !== undefined && record.userId !== owner)) throw instanceNotFound(id);
      if (!services.capabilitiesOf(record.zone).serialConsole) throw noConsole(id);

      let output: SerialOutput | null;
      try {
        output = await withinDeadline(services.serialConsole(id, request.query.start ?? 0));
      } catch (error) {
        throw new GaleError('unavailable', `the console of instance ${id} could not be read from its backend; retry`, { retryAfterSeconds: 1, cause: error });
      }
      if (!output) throw noConsole(id);
      return {
        kind: 'compute#serialPortOutput',
        contents: output.contents,
        start: String(output.start),
        next: String(output.next),
        selfLink: `${API_BASE}${prefixOf(scope)}/${encodeURIComponent(id)}/serialPortOutput`,
      };
    },
);

const noConsole = (id: string): GaleError =>
  conflict(`instance ${id} has no serial console: its backend cannot give console output (capabilities.serialConsole is false)`);
