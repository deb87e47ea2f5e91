import { EventStreamMessageSchema, EventsQuerySchema, LastEventIdHeadersSchema, STREAM_GAP, type EventsQuery, type StreamGapView } from '../../contracts/event.js';
import { durationMs } from '../../contracts/wait.js';
import { formatTimestamp } from '../../domain/clock.js';
import { forbidden, invalidRequest } from '../../domain/errors.js';
import { EVENT_TYPES, type EventStore, type EventType } from '../../domain/store.js';
import { whenClientLeaves } from '../events/client-gone.js';
import { EventStream, REPLAY_PAGE, type StreamFilter } from '../events/event-stream.js';
import { principalOf, type ApiServices } from '../services.js';
import { eventView } from '../views.js';
import { defineRoute } from './route.js';

/** How long a browser's EventSource waits before it reconnects after the stream drops (the SSE retry field). */
const RECONNECT_MS = 2_000;

function typesOf(given: string | undefined): EventType[] | undefined {
  if (!given) return undefined;
  const types = given.split(',').map((t) => t.trim()).filter(Boolean);
  const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0) throw invalidRequest(`type must be a comma-separated list of ${EVENT_TYPES.join(', ')}`);
  return types as EventType[];
}

/** Whose events: the caller's own; a compute admin's are everyone's, or one user's. */
function filterOf(query: EventsQuery, caller: { id: string }, isAdmin: boolean): StreamFilter {
  const filter: StreamFilter = {};
  if (isAdmin) {
    if (query.userId) filter.userId = query.userId;
  } else {
    if (query.userId && query.userId !== caller.id) throw forbidden("only compute admins may read other users' events");
    filter.userId = caller.id;
  }
  if (query.instanceId) filter.instanceId = query.instanceId;
  const types = typesOf(query.type);
  if (types) filter.types = types;
  return filter;
}

function lastEventIdOf(given: string | undefined): number | undefined {
  if (given === undefined || given === '') return undefined;
  if (!/^\d{1,16}$/.test(given)) throw invalidRequest('Last-Event-ID must be the id of an event: digits only');
  return Number(given);
}

function gapNotice(id: number, at: number, message: string): string {
  const notice: StreamGapView = { id: String(id), type: STREAM_GAP, time: formatTimestamp(at), data: { message } };
  return JSON.stringify(notice);
}

/**
 * Where a stream resumed after lastEventId goes on from: after it, when every later event is still kept; else after
 * the last one that is not, with a notice saying events were missed. An id this server never gave (from another
 * installation, or a database restored from backup) gets the notice too, and the stream goes on from now.
 */
async function resumePoint(store: Pick<EventStore, 'eventSeqRange'>, lastEventId: number, position: number): Promise<{ from: number; gap?: string }> {
  const { first, last } = await store.eventSeqRange();
  const newest = Math.max(last, position);
  if (lastEventId > newest) return { from: newest, gap: `event ${lastEventId} is not one of this server's; events from now on follow` };
  const pruned = first === 0 ? lastEventId < newest : lastEventId + 1 < first;
  if (!pruned) return { from: lastEventId };
  const from = first === 0 ? newest : first - 1;
  return { from, gap: `events after ${lastEventId} up to ${from} are older than the retention window and were not kept; read the current state again` };
}

/** Sends a resuming client what it missed, then live events; a fresh stream starts from the hub's position. */
async function catchUp(services: ApiServices, stream: EventStream, filter: StreamFilter, position: number, lastEventId: number | undefined): Promise<void> {
  if (lastEventId === undefined) return stream.replay(position);
  const { from, gap } = await resumePoint(services.store, lastEventId, position);
  if (gap) stream.notice(from, gapNotice(from, services.clock.now(), gap));
  await stream.replay(from, (after) => services.store.listEvents(after, filter, REPLAY_PAGE));
}

export const streamEvents = defineRoute(
  {
    path: '/events',
    scope: 'user',
    operationId: 'streamEvents',
    summary: 'Stream changes as they happen (Server-Sent Events)',
    description:
      "The caller's events (a compute admin's: everyone's, or one user's with userId): instance status changes with the old and new " +
      'status and addresses, operations as they are accepted, start and end, and deletions. Each message is `id: <n>` and `data: <JSON>`; ' +
      'reconnect with Last-Event-ID (EventSource does) to get what was missed, within the retention window (24 h by default). A comment ' +
      'line comes every 15 s on an idle stream. A client that does not read what is sent is disconnected, and resumes from its last id.',
    tags: ['events'],
    method: 'GET',
    querystring: EventsQuerySchema,
    headers: LastEventIdHeadersSchema,
    success: { status: 200, description: 'The stream: one message per event, until the client closes it (or timeout passes)', contentType: 'text/event-stream', schema: EventStreamMessageSchema },
    errors: {
      400: 'An unknown type, a Last-Event-ID that is not an event id, a malformed timeout, or an unknown query parameter',
      403: 'userId names another user and the caller is not a compute admin',
      429: 'the caller has too many streams open (events.streamsPerUser)',
    },
  },
  ({ services }) =>
    async (request, reply) => {
      const { user, isAdmin } = principalOf(request);
      const filter = filterOf(request.query, user, isAdmin);
      const lastEventId = lastEventIdOf(request.headers['last-event-id'] ?? request.query.lastEventId);
      const timeoutMs = durationMs(request.query.timeout);
      const live = services.events;
      const release = live.streamSlots.take(user.id);
      let untrack = (): void => undefined;
      let unsubscribe = (): void => undefined;
      let timer: NodeJS.Timeout | undefined;
      let stopListening = (): void => undefined;
      const stream = new EventStream(reply.raw, filter, (event) => JSON.stringify(eventView(event)), live.settings.maxBufferedBytes, (why) => {
        clearTimeout(timer);
        stopListening();
        unsubscribe();
        untrack();
        release();
        live.settings.onStreamEnded?.(why);
      });
      stopListening = whenClientLeaves(request.raw, reply.raw, () => stream.end('client'));
      try {
        const subscription = await live.hub.subscribe(stream);
        // The client may have gone while the subscription was made: then it ended already, and is let go at once.
        if (stream.isEnded) subscription.unsubscribe();
        else {
          unsubscribe = subscription.unsubscribe;
          untrack = live.track(stream);
        }
        stream.open(RECONNECT_MS);
        if (timeoutMs !== undefined) timer = setTimeout(() => stream.end('timeout'), timeoutMs);
        void catchUp(services, stream, filter, subscription.position, lastEventId).catch((error: unknown) => {
          request.log.warn({ err: error }, 'an event stream could not replay what its client missed; it is closed, the client resumes');
          stream.end('client');
        });
      } catch (error) {
        stream.end('client');
        throw error;
      }
      // Proxies (nginx) must pass each message on as it comes rather than buffer the stream. A stream is the last answer on
      // its connection: when it ends (a timeout, a shutdown), the connection closes with it instead of idling on.
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('x-accel-buffering', 'no')
        .header('connection', 'close')
        .send(stream.body);
    },
);
