import { Type, type Static } from '@sinclair/typebox';
import { EVENT_TYPES, type EventType } from '../domain/store.js';
import { INSTANCE_EXAMPLE, InstanceStatusSchema } from './instance.js';
import { StreamTimeoutQuerySchema } from './wait.js';

/**
 * GET /events: Server-Sent Events, one JSON object per message in its data field. Every message has an id (its place
 * in the stream) that a client sends back as Last-Event-ID to resume after it; a stream notice tells of events that
 * can no longer be sent (they are older than the retention window), after which the client should read afresh.
 */

export const STREAM_GAP = 'stream.gap';

export const InstanceStatusChangeSchema = Type.Object(
  {
    status: InstanceStatusSchema,
    previousStatus: Type.Union([InstanceStatusSchema, Type.Null()], { description: 'The status before; null when the instance was created' }),
    internalIp: Type.String({ description: 'Internal address, empty while none' }),
    externalIp: Type.String({ description: 'External address, empty while none' }),
  },
  { additionalProperties: false, description: 'instance.status: the status or the addresses changed' },
);

const EVENT_EXAMPLE = {
  id: '1042',
  type: 'instance.status',
  time: '2024-01-01T00:00:05Z',
  instanceId: INSTANCE_EXAMPLE.id,
  userId: INSTANCE_EXAMPLE.userId,
  data: { status: 'RUNNING', previousStatus: 'STAGING', internalIp: '10.128.0.2', externalIp: '34.122.10.5' },
} as const;

export const EventSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9]+$', description: 'Its place in the stream: send the last one seen as Last-Event-ID to resume after it' }),
    type: Type.Unsafe<EventType>({
      type: 'string',
      enum: [...EVENT_TYPES],
      description: 'instance.status (status or addresses changed), operation (accepted, started or ended), instance.deleted',
    }),
    time: Type.String({ format: 'date-time', description: 'When it happened, RFC 3339 UTC' }),
    instanceId: Type.String({ description: 'The instance it is about', examples: [INSTANCE_EXAMPLE.id] }),
    userId: Type.String({ format: 'uuid', description: "The instance's owner" }),
    data: Type.Union([InstanceStatusChangeSchema, Type.Ref('Operation'), Type.Object({}, { additionalProperties: false, description: 'instance.deleted: nothing more' })], {
      description: 'instance.status: the new and previous status and the addresses; operation: the Operation as it stands; instance.deleted: {}',
    }),
  },
  { $id: 'Event', additionalProperties: false, description: 'A change, as a message of GET /events', examples: [EVENT_EXAMPLE] },
);
export type EventView = Static<typeof EventSchema>;

export const StreamGapSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9]+$', description: 'Where the stream goes on from' }),
    type: Type.Literal(STREAM_GAP),
    time: Type.String({ format: 'date-time' }),
    data: Type.Object({ message: Type.String({ description: 'What was missed, and what to do' }) }, { additionalProperties: false }),
  },
  {
    $id: 'StreamGap',
    additionalProperties: false,
    description: 'Events after the Last-Event-ID sent can no longer be sent (older than the retention window, or the id is not one of this server): read the state afresh',
  },
);
export type StreamGapView = Static<typeof StreamGapSchema>;

export const EventStreamMessageSchema = Type.Union([Type.Ref('Event'), Type.Ref('StreamGap')], {
  description: 'The data of each message, as JSON; the message id field repeats the id',
});

export const EventsQuerySchema = Type.Object(
  {
    instanceId: Type.Optional(Type.String({ maxLength: 256, description: 'Only events about this instance', examples: [INSTANCE_EXAMPLE.id] })),
    type: Type.Optional(
      Type.String({ maxLength: 128, description: `Only events of these types, comma-separated: ${EVENT_TYPES.join(', ')}`, examples: ['instance.status,operation'] }),
    ),
    userId: Type.Optional(Type.String({ maxLength: 64, description: "Compute admins: only this user's events (without it an admin's stream has everyone's)" })),
    lastEventId: Type.Optional(Type.String({ maxLength: 20, description: 'As the Last-Event-ID header, for clients that cannot set it; the header wins' })),
    timeout: Type.Optional(StreamTimeoutQuerySchema),
  },
  { additionalProperties: false },
);
export type EventsQuery = Static<typeof EventsQuerySchema>;

export const LastEventIdHeadersSchema = Type.Object({
  'last-event-id': Type.Optional(Type.String({ maxLength: 20, description: 'Resume after this event: the id of the last one received' })),
});
