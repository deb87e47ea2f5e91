import { sql, type Kysely } from 'kysely';
import type { InstanceStatus } from '../domain/instance.js';
import type { EventDraft, EventFilter, EventStore, GaleEvent, HistoryStore, Operation } from '../domain/store.js';
import type { Db } from './db.js';
import { statement } from './precompiled.js';
import type { Database } from './schema.js';

/*
 * Events are written in the transaction of the change they tell of, so that a stream never shows a change that did not
 * commit, nor misses one that did. Their seq must follow commit order: a stream resumed after seq N is sent every
 * event above N, and an event that got a lower seq but committed later would be missed. SQLite commits one write
 * transaction at a time, so its rowids are in commit order already. On PostgreSQL concurrent transactions take
 * sequence numbers in one order and commit in another; so the events of a transaction are appended last, under a
 * transaction-scoped advisory lock held until its commit, and the next writer of events waits for it. What is
 * serialised is only the tail of those transactions: appending the events and committing.
 *
 * Every process is told that events were appended, to read them once for all its waiters and streams: PostgreSQL
 * delivers a NOTIFY on commit to every replica's listening connection (postgres.ts); SQLite's writes all happen in
 * this process, which is told after the commit.
 */

const EVENTS_LOCK_KEY = 'gale:events';

/** The NOTIFY channel of a schema's events: an identifier (at most 63 bytes) used unquoted. */
export function eventChannelOf(schema: string | undefined): string {
  return schema ? `gale_events_${schema}`.slice(0, 63) : 'gale_events';
}

/** Collects the events of one write and appends them at its end (see above). */
export type Emit = (draft: EventDraft) => void;

/** A transaction that may emit events; they are appended at its end, and every process told once it has committed. */
export async function writeWithEvents<T>(db: Db, fn: (trx: Kysely<Database>, emit: Emit) => Promise<T>): Promise<T> {
  let appended = false;
  const result = await db.write(async (trx) => {
    const drafts: EventDraft[] = [];
    const value = await fn(trx, (draft) => drafts.push(draft));
    appended = drafts.length > 0;
    if (appended) await appendEvents(db, trx, drafts);
    return value;
  });
  if (appended) db.eventsCommitted();
  return result;
}

type EventRow = { at: number; user_id: string; instance_id: string; type: string; data: string };
type Second = { user_id2: string; instance_id2: string; type2: string; data2: string };

// Nearly every write tells one event or two (a status and an operation): those inserts are compiled once.
const insertOneEvent = statement((q, e: EventRow) => q.insertInto('events').values({ at: e.at, user_id: e.user_id, instance_id: e.instance_id, type: e.type, data: e.data }));
const insertTwoEvents = statement((q, e: EventRow & Second) =>
  q.insertInto('events').values([
    { at: e.at, user_id: e.user_id, instance_id: e.instance_id, type: e.type, data: e.data },
    { at: e.at, user_id: e.user_id2, instance_id: e.instance_id2, type: e.type2, data: e.data2 },
  ]),
);

async function appendEvents(db: Db, trx: Kysely<Database>, drafts: EventDraft[]): Promise<void> {
  const at = db.clock.now();
  if (db.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`${EVENTS_LOCK_KEY}:${db.eventChannel}`}))`.execute(trx);
  const rows = drafts.map((d): EventRow => ({ at, user_id: d.userId, instance_id: d.instanceId, type: d.type, data: JSON.stringify(d.data) }));
  const [first, second] = rows;
  if (rows.length === 1) await insertOneEvent(trx, first!);
  else if (rows.length === 2) {
    await insertTwoEvents(trx, { ...first!, user_id2: second!.user_id, instance_id2: second!.instance_id, type2: second!.type, data2: second!.data });
  } else await trx.insertInto('events').values(rows).execute();
  if (db.dialect === 'postgres') await sql`select pg_notify(${db.eventChannel ?? eventChannelOf(undefined)}, '')`.execute(trx);
}

/** An instance's status or addresses changed: the event, when they did. */
export function statusEvent(
  instance: { id: string; userId: string },
  before: { status: string; internalIp: string; externalIp: string } | undefined,
  after: { status: InstanceStatus; internalIp: string; externalIp: string },
): EventDraft | undefined {
  if (before && before.status === after.status && before.internalIp === after.internalIp && before.externalIp === after.externalIp) return undefined;
  return {
    userId: instance.userId,
    instanceId: instance.id,
    type: 'instance.status',
    data: { status: after.status, previousStatus: before?.status ?? null, internalIp: after.internalIp, externalIp: after.externalIp },
  };
}

/** An operation was accepted, taken up, or finished. */
export function operationEvent(operation: Operation): EventDraft {
  return { userId: operation.userId, instanceId: operation.instanceId, type: 'operation', data: { ...operation } };
}

export function eventStore(db: Db): EventStore & Pick<HistoryStore, 'pruneEvents'> {
  return {
    async listEvents(after: number, filter: EventFilter, limit: number): Promise<GaleEvent[]> {
      const rows = await db.kysely
        .selectFrom('events')
        .selectAll()
        .where('seq', '>', after)
        .$if(filter.userId !== undefined, (q) => q.where('user_id', '=', filter.userId!))
        .$if(filter.instanceId !== undefined, (q) => q.where('instance_id', '=', filter.instanceId!))
        .$if(filter.types !== undefined && filter.types.length > 0, (q) => q.where('type', 'in', filter.types!))
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((row) => ({
        seq: Number(row.seq),
        at: row.at,
        userId: row.user_id,
        instanceId: row.instance_id,
        type: row.type as GaleEvent['type'],
        data: JSON.parse(row.data) as Record<string, unknown>,
      }));
    },

    async eventSeqRange(): Promise<{ first: number; last: number }> {
      const row = await db.kysely
        .selectFrom('events')
        .select((eb) => [eb.fn.min('seq').as('first'), eb.fn.max('seq').as('last')])
        .executeTakeFirstOrThrow();
      return { first: Number(row.first ?? 0), last: Number(row.last ?? 0) };
    },

    async pruneEvents(before: number, limit: number): Promise<number> {
      if (limit <= 0) return 0;
      // Oldest first by seq, and only up to the first event still young: what is kept is always every event after
      // some seq, so that a stream resumed from an id before it can tell it missed some (routes/events.ts).
      return db.write(async (trx) => {
        const oldest = await trx.selectFrom('events').select(['seq', 'at']).orderBy('seq').limit(limit).execute();
        const young = oldest.findIndex((row) => row.at >= before);
        const through = (young === -1 ? oldest : oldest.slice(0, young)).at(-1);
        if (!through) return 0;
        const result = await trx.deleteFrom('events').where('seq', '<=', through.seq).executeTakeFirst();
        return Number(result.numDeletedRows);
      });
    },

    subscribeToEvents: (listener: () => void) => db.subscribeToEvents(listener),
  };
}
