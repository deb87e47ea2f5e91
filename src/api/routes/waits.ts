import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InstanceIdParamsSchema } from '../../contracts/instance.js';
import { OperationIdParamsSchema, OperationWaitQuerySchema } from '../../contracts/operation.js';
import { TimeoutQuerySchema, waitTimeoutMs } from '../../contracts/wait.js';
import { conflict, GaleError, instanceNotFound, notFound } from '../../domain/errors.js';
import { INSTANCE_STATUSES, type InstanceRecord, type InstanceStatus } from '../../domain/instance.js';
import { judgeStatusWait } from '../../domain/status-wait.js';
import type { GaleEvent, Operation } from '../../domain/store.js';
import { whenClientLeaves } from '../events/client-gone.js';
import { waitUntil, type WaitEnd } from '../events/waiting.js';
import { principalOf, type ApiServices } from '../services.js';
import { instanceView, operationView } from '../views.js';
import { statusFilter } from './admin-list-instances.js';
import { defineRoute } from './route.js';
import { NOT_FOUND, ownerFor, requireId } from './scope.js';

/*
 * Waits answer when something is done instead of being polled for it: the operation wait as GCE's operations.wait
 * (done, or as it stands when the timeout passes), the instance wait as Fly's machine wait (the status, 408 when the
 * timeout passes first, 409 as soon as the status cannot come without a new request). Each holds one of the caller's
 * wait slots (events.waitsPerUser) and is woken by the process's event hub, never by a timer of its own.
 */

const InstanceWaitQuerySchema = Type.Object(
  {
    status: Type.Optional(Type.String({ maxLength: 32, description: `The status to wait for, in any letter case: ${INSTANCE_STATUSES.join(', ')} (default RUNNING)`, examples: ['RUNNING'] })),
    timeout: Type.Optional(TimeoutQuerySchema),
  },
  { additionalProperties: false },
);

/**
 * Runs a wait in one of the user's slots. The signal it is given is aborted when the client goes away before its answer
 * (or half-closes its connection): the wait then ends at once, and its slot is given back.
 */
async function inWaitSlot<T>(
  services: ApiServices,
  request: FastifyRequest,
  reply: FastifyReply,
  wait: (signal: AbortSignal) => Promise<WaitEnd<T>>,
): Promise<WaitEnd<T>> {
  const release = services.events.waitSlots.take(principalOf(request).user.id);
  const controller = new AbortController();
  const stopListening = whenClientLeaves(request.raw, reply.raw, () => controller.abort());
  try {
    const end = await wait(controller.signal);
    // Answered because the server is closing: the connection closes with the answer rather than idle on until the
    // server gives up on it.
    if (end.kind === 'closed') reply.header('connection', 'close');
    return end;
  } finally {
    stopListening();
    release();
  }
}

export const waitOperation = defineRoute(
  {
    path: '/operations/:id/wait',
    scope: 'user',
    operationId: 'waitOperation',
    summary: 'Wait for an operation to be done',
    description:
      'Answers as soon as the operation is DONE or FAILED, or with it as it stands when the timeout passes (default 30 s, at most 60 s), ' +
      "as GCE's operations.wait: call it again until it is done. No request body.",
    tags: ['operations'],
    method: 'POST',
    params: OperationIdParamsSchema,
    querystring: OperationWaitQuerySchema,
    success: { status: 200, description: 'The operation: DONE or FAILED, or still PENDING or RUNNING when the timeout passed', schema: Type.Ref('Operation') },
    errors: {
      400: 'A malformed timeout, or an unknown query parameter',
      404: "No such operation, or it is about another user's instance (the two answers are the same)",
      429: 'the caller has too many waits open (events.waitsPerUser)',
    },
  },
  ({ services }) =>
    async (request, reply) => {
      const { user, isAdmin } = principalOf(request);
      const { id } = request.params;
      const timeoutMs = waitTimeoutMs(request.query.timeout);
      let latest: Operation | undefined;
      const end = await inWaitSlot(services, request, reply, (signal) =>
        waitUntil(services.events.hub, {
          concerns: (event) => event.type === 'operation' && (event.data as { id?: unknown }).id === id,
          decide: async (events, initial) => {
            if (initial) {
              const read = await services.store.getOperation(id);
              if (!read || (!isAdmin && read.userId !== user.id)) throw notFound(`operation ${id} not found`);
              latest = read;
            } else {
              latest = events.at(-1)!.data as unknown as Operation;
            }
            return latest.state === 'pending' ? undefined : latest;
          },
          timeoutMs,
          signal,
        }),
      );
      // Timed out, the server is closing, or the client left (a half-closed one still reads): the operation as it stands.
      return operationView(end.kind === 'decided' ? end.value : latest!);
    },
);

type InstanceWaitOutcome = { kind: 'reached'; record: InstanceRecord } | { kind: 'unreachable'; reason: string };

export const waitInstance = defineRoute(
  {
    path: '/:id/wait',
    scope: 'twins',
    operationId: 'waitInstance',
    summary: 'Wait for an instance to reach a status',
    description:
      'Answers with the instance as soon as it has the status (at once if it has it already). 408 when the timeout passes first ' +
      '(default 30 s, at most 60 s), with the status it has in x-instance-status; 409 at once when the status cannot come without ' +
      'a new request (RUNNING on an instance being stopped or deleted, or after the operation that would have brought it failed).',
    tags: ['instances'],
    method: 'GET',
    params: InstanceIdParamsSchema,
    querystring: InstanceWaitQuerySchema,
    success: { status: 200, description: 'The instance, with the status waited for', schema: Type.Ref('Instance') },
    errors: {
      400: 'The instance id is empty or malformed, an unknown status, a malformed timeout, or an unknown query parameter',
      404: NOT_FOUND.user,
      408: 'the timeout passed before the instance had the status; x-instance-status is the status it has',
      409: 'the status cannot come without a new request: the instance is heading elsewhere, was deleted, or its operation failed',
      429: 'the caller has too many waits open (events.waitsPerUser)',
    },
    errorHeaders: { 408: ['x-instance-status'] },
    admin: { summary: "Wait for any user's instance to reach a status", errors: { 404: NOT_FOUND.admin } },
  },
  ({ services, scope }) =>
    async (request, reply) => {
      const id = requireId(request.params.id);
      const owner = ownerFor(scope, request);
      const wanted = statusFilter(request.query.status ?? 'RUNNING') as InstanceStatus;
      const timeoutMs = waitTimeoutMs(request.query.timeout);
      let current: InstanceRecord | undefined;

      const decide = async (events: GaleEvent[], initial: boolean): Promise<InstanceWaitOutcome | undefined> => {
        if (events.some((event) => event.type === 'instance.deleted')) return { kind: 'unreachable', reason: `instance ${id} was deleted` };
        const record = await services.store.getInstance(id);
        if (!record || (owner !== undefined && record.userId !== owner)) {
          if (initial) throw instanceNotFound(id);
          return { kind: 'unreachable', reason: `instance ${id} was deleted` };
        }
        current = record;
        const judged = judgeStatusWait(record, wanted);
        if (judged.kind === 'reached') return { kind: 'reached', record };
        const failed = events.find((event) => event.type === 'operation' && (event.data as { state?: unknown }).state === 'failed');
        if (failed) {
          const operation = failed.data as unknown as Operation;
          return { kind: 'unreachable', reason: `operation ${operation.id} (${operation.kind}) on instance ${id} failed: ${operation.error ?? 'no reason given'}` };
        }
        return judged.kind === 'unreachable' ? judged : undefined;
      };

      const end = await inWaitSlot(services, request, reply, (signal) =>
        waitUntil(services.events.hub, { concerns: (event) => event.instanceId === id, decide, timeoutMs, signal }),
      );
      if (end.kind === 'decided') {
        if (end.value.kind === 'unreachable') throw conflict(end.value.reason);
        return instanceView(end.value.record);
      }
      if (end.kind === 'closed') throw new GaleError('unavailable', 'the server is shutting down; wait again', { retryAfterSeconds: 1 });
      const status = current?.status ?? 'unknown';
      reply.header('x-instance-status', status);
      throw new GaleError('request_timeout', `instance ${id} is ${status}, not yet ${wanted}, after ${timeoutMs / 1000}s; wait again`);
    },
);
