import type { Kysely } from 'kysely';
import { GaleError, instanceNotFound, notFound } from '../domain/errors.js';
import type { IdempotentWrite } from '../domain/idempotency.js';
import type { DesiredPower, InstanceRecord, InstanceStatus, InstanceSummary, PowerOperation } from '../domain/instance.js';
import { planPowerOperation } from '../domain/power.js';
import type { CreatedInstance, InstanceCursor, InstanceFilter, InstanceStore, NewInstance, Operation } from '../domain/store.js';
import { quotaViolation, type Tier, type Usage } from '../domain/tiers.js';
import type { Db } from './db.js';
import { guarded, rememberAnswer, replayIfAnswered } from './idempotency.js';
import { operationEvent, statusEvent, writeWithEvents, type Emit } from './events.js';
import { insertFinishedOperation, insertOperation, listUserOperations, operationReader } from './operations.js';
import { precompiled, statement } from './precompiled.js';
import { INSTANCE_COLUMNS, namedInstanceValues, SUMMARY_COLUMNS, toInstance, toStoredInstance, toSummary, type StoredInstance } from './rows.js';
import type { Database } from './schema.js';

// newId draws 32 random bits per owner: a handful of clashes in a row means something is wrong with it.
const MAX_ID_ATTEMPTS = 16;

/** The API's side of instances: intent is written here, the reconciler carries it out (work.ts). */
export function instanceStore(db: Db): InstanceStore {
  const { kysely } = db;

  const liveById = precompiled(db, (id) =>
    kysely.selectFrom('instances').select(INSTANCE_COLUMNS).where('id', '=', id).where('deleted_at', 'is', null),
  );
  // GET /instances/{id} is the hottest read: a primary-key lookup compiled once, of the columns the answer shows.
  const summaryById = precompiled(db, (id) =>
    kysely.selectFrom('instances').select(SUMMARY_COLUMNS).where('id', '=', id).where('deleted_at', 'is', null),
  );
  // Served by the partial index instances_user_live (user_id, created_at, id) WHERE deleted_at IS NULL.
  const liveByUser = precompiled(db, (userId) =>
    kysely
      .selectFrom('instances')
      .select(SUMMARY_COLUMNS)
      .where('user_id', '=', userId)
      .where('deleted_at', 'is', null)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc'),
  );

  const selectLiveForUpdate = statement((q, { id }: { id: string }) =>
    q
      .selectFrom('instances')
      .select(['id', 'user_id', 'zone', 'status', 'desired', 'generation', 'internal_ip', 'external_ip'])
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .$if(db.lockRows, (locked) => locked.forUpdate()),
  );
  // The owner's row is locked (PostgreSQL) so that concurrent creates queue, and read for the customer the new
  // instance belongs to: the row, not the credential cache, so that a customer change is never undone by a create.
  const selectUserForUpdate = statement((q, { id }: { id: string }) =>
    q.selectFrom('users').select(['id', 'customer_id']).where('id', '=', id).$if(db.lockRows, (locked) => locked.forUpdate()),
  );

  /** The live instance a change is about, locked for the rest of the transaction on PostgreSQL. */
  async function lockLive(trx: Kysely<Database>, id: string, ownerId: string | undefined) {
    const [row] = (await selectLiveForUpdate(trx, { id })).rows;
    // A foreign instance must look exactly like a missing one, or ids could be probed.
    if (!row || (ownerId !== undefined && row.user_id !== ownerId)) throw instanceNotFound(id);
    return row;
  }

  function liveMatching(filter: InstanceFilter) {
    let live = kysely.selectFrom('instances').where('deleted_at', 'is', null);
    if (filter.userId !== undefined) live = live.where('user_id', '=', filter.userId);
    if (filter.customerId !== undefined) live = live.where('customer_id', '=', filter.customerId);
    if (filter.status !== undefined) live = live.where('status', '=', filter.status);
    if (filter.zone !== undefined) live = live.where('zone', '=', filter.zone);
    if (filter.templateId !== undefined) live = live.where('template_id', '=', filter.templateId);
    return live;
  }

  async function countLive(filter: InstanceFilter): Promise<number> {
    const counted = await liveMatching(filter).select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
    return Number(counted.total);
  }

  return {
    createInstance(input: NewInstance, tier: Tier | null, newId: () => string, idempotency?: IdempotentWrite<CreatedInstance>): Promise<CreatedInstance> {
      return guarded(db, idempotency, () => writeWithEvents(db, async (trx, emit) => {
        // Concurrent creates of one user queue here (PostgreSQL row lock; SQLite holds the write lock
        // already), so the usage read next cannot be stale by the time the insert commits.
        const [owner] = (await selectUserForUpdate(trx, { id: input.userId })).rows;
        if (!owner) throw notFound(`user ${input.userId} not found`);
        // After the owner's lock, so that a concurrent duplicate finds the first one's key rather than its quota use.
        await replayIfAnswered(trx, idempotency);
        if (tier) {
          const violation = quotaViolation(tier, await usageOf(trx, input.userId), { vcpus: input.vcpus, diskGb: input.diskGb });
          if (violation) throw new GaleError('quota_exceeded', violation);
        }
        const record: InstanceRecord = {
          ...input,
          id: await unusedId(trx, newId),
          customerId: owner.customer_id,
          status: 'PROVISIONING',
          externalIp: '',
          internalIp: '',
          desired: 'RUNNING',
          deletedAt: null,
          generation: 1,
          reconciledGeneration: 0,
          resetRequested: 0,
          resetApplied: 0,
          provisioned: false,
        };
        await insertNewInstance(trx, { ...toStoredInstance(record), work_due_at: record.createdAt });
        const operation = await insertOperation(trx, {
          instanceId: record.id,
          userId: record.userId,
          requestedBy: record.userId,
          kind: 'create',
          generation: 1,
          createdAt: record.createdAt,
        });
        emit(statusEvent(record, undefined, record)!);
        emit(operationEvent(operation));
        const created: CreatedInstance = { ...record, operationId: operation.id };
        await rememberAnswer(trx, idempotency, created);
        return created;
      }));
    },

    async getInstance(id: string): Promise<InstanceRecord | undefined> {
      const [row] = await liveById(id);
      return row ? toInstance(row) : undefined;
    },

    async getInstanceSummary(id: string): Promise<InstanceSummary | undefined> {
      const [row] = await summaryById(id);
      return row ? toSummary(row) : undefined;
    },

    async instanceZone(id: string): Promise<string | undefined> {
      const row = await kysely.selectFrom('instances').select('zone').where('id', '=', id).executeTakeFirst();
      return row?.zone;
    },

    async listUserInstances(userId: string): Promise<InstanceSummary[]> {
      return (await liveByUser(userId)).map(toSummary);
    },

    async listInstances(filter: InstanceFilter, offset: number, limit: number) {
      const live = liveMatching(filter);
      const [total, rows] = await Promise.all([
        countLive(filter),
        live.select(SUMMARY_COLUMNS).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute(),
      ]);
      return { total, instances: rows.map(toSummary) };
    },

    async listInstancesAfter(filter: InstanceFilter, after: InstanceCursor | undefined, limit: number): Promise<InstanceSummary[]> {
      // A row-value comparison on (created_at, id): both engines seek the index to the cursor instead of counting up to it.
      const rows = await liveMatching(filter)
        .select(SUMMARY_COLUMNS)
        .$if(after !== undefined, (q) => q.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(after!.createdAt, after!.id))))
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toSummary);
    },

    countInstances: countLive,

    requestPowerOperation(
      id: string,
      ownerId: string | undefined,
      operation: PowerOperation,
      now: number,
      idempotency?: IdempotentWrite<Operation>,
      context: { canSuspend?: (zone: string) => boolean; requestedBy?: string } = {},
    ) {
      return guarded(db, idempotency, () => writeWithEvents(db, async (trx, emit): Promise<Operation> => {
        // Before the lookup: a repeat of an accepted request replays even if the instance has since been deleted.
        await replayIfAnswered(trx, idempotency);
        const row = await lockLive(trx, id, ownerId);
        const plan = planPowerOperation({ id, status: row.status as InstanceStatus, desired: row.desired as DesiredPower }, operation, context.canSuspend?.(row.zone) ?? true);
        const asked = { instanceId: id, userId: row.user_id, requestedBy: context.requestedBy ?? row.user_id, kind: operation, createdAt: now };
        let accepted: Operation;
        if (plan.kind === 'noop') {
          accepted = await insertFinishedOperation(trx, { ...asked, generation: row.generation });
        } else {
          const { desired, status, requestReset } = plan.change;
          const generation = row.generation + 1;
          await changeIntent(trx, { id, desired, status, generation, resets: requestReset ? 1 : 0, now });
          accepted = await insertOperation(trx, { ...asked, generation });
          emitStatus(emit, row, status);
        }
        emit(operationEvent(accepted));
        await rememberAnswer(trx, idempotency, accepted);
        return accepted;
      }));
    },

    deleteInstance(id: string, ownerId: string | undefined, now: number, idempotency?: IdempotentWrite<Operation>, requestedBy?: string): Promise<Operation> {
      return guarded(db, idempotency, () => writeWithEvents(db, async (trx, emit) => {
        await replayIfAnswered(trx, idempotency);
        const row = await lockLive(trx, id, ownerId);
        const generation = row.generation + 1;
        await markDeleted(trx, { id, now, generation });
        const accepted = await insertOperation(trx, { instanceId: id, userId: row.user_id, requestedBy: requestedBy ?? row.user_id, kind: 'delete', generation, createdAt: now });
        emit({ userId: row.user_id, instanceId: id, type: 'instance.deleted', data: {} });
        emit(operationEvent(accepted));
        await rememberAnswer(trx, idempotency, accepted);
        return accepted;
      }));
    },

    getOperation: operationReader(db),
    listUserOperations: (filter, before, limit) => listUserOperations(db, filter, before, limit),

    getUsage(userId: string): Promise<Usage> {
      return usageOf(kysely, userId);
    },

    async countInstancesByStatus(): Promise<Array<{ status: string; count: number }>> {
      const rows = await kysely
        .selectFrom('instances')
        .select((eb) => ['status', eb.fn.countAll<number>().as('count')])
        .where('deleted_at', 'is', null)
        .groupBy('status')
        .execute();
      return rows.map((row) => ({ status: row.status, count: Number(row.count) }));
    },
  };
}

/** The status an accepted change shows at once, as an event when it differs from what was shown. */
function emitStatus(emit: Emit, row: { id: string; user_id: string; status: string; internal_ip: string; external_ip: string }, status: InstanceStatus): void {
  const before = { status: row.status, internalIp: row.internal_ip, externalIp: row.external_ip };
  const draft = statusEvent({ id: row.id, userId: row.user_id }, before, { ...before, status });
  if (draft) emit(draft);
}

/** A new instance's row, due at once (work_due_at). */
const insertNewInstance = statement((q, row: StoredInstance & { work_due_at: number }) =>
  q.insertInto('instances').values({
    ...namedInstanceValues(row),
    work_due_at: row.work_due_at,
    lease_owner: null,
    lease_until: null,
    last_error: null,
  }),
);

const markDeleted = statement((q, { id, now, generation }: { id: string; now: number; generation: number }) =>
  q.updateTable('instances').set({ deleted_at: now, generation, work_due_at: now }).where('id', '=', id),
);

const changeIntent = statement(
  (q, change: { id: string; desired: DesiredPower; status: InstanceStatus; generation: number; resets: number; now: number }) =>
    q
      .updateTable('instances')
      .set((eb) => ({
        desired: change.desired,
        status: change.status,
        generation: change.generation,
        reset_requested: eb('reset_requested', '+', change.resets),
        work_due_at: change.now,
      }))
      .where('id', '=', change.id),
);

const selectUsage = statement((q, { userId }: { userId: string }) =>
  q
    .selectFrom('instances')
    .select((eb) => [
      eb.fn.countAll<number>().as('instances'),
      eb.fn.coalesce(eb.fn.sum<number>('vcpus'), eb.lit(0)).as('vcpus'),
      eb.fn.coalesce(eb.fn.sum<number>('disk_gb'), eb.lit(0)).as('disk_gb'),
    ])
    .where('user_id', '=', userId)
    .where('deleted_at', 'is', null),
);

/** Whether an id is taken: by an instance, or by the operations of one purged since (its history keeps the id). */
const selectIdTaken = statement((q, { id }: { id: string }) =>
  q.selectNoFrom((eb) =>
    eb
      .or([
        eb.exists(eb.selectFrom('instances').select('id').where('id', '=', id)),
        eb.exists(eb.selectFrom('operations').select('id').where('instance_id', '=', id)),
      ])
      .as('taken'),
  ),
);

/** What a user's live instances hold, the quota's input. Uses the partial index on live rows. */
async function usageOf(q: Kysely<Database>, userId: string): Promise<Usage> {
  const [row] = (await selectUsage(q, { userId })).rows;
  if (!row) throw new GaleError('internal', 'the usage query returned no row');
  // PostgreSQL returns count and sum as int8; the pool parses those to numbers, Number() covers the rest.
  return { instances: Number(row.instances), vcpus: Number(row.vcpus), diskGb: Number(row.disk_gb) };
}

/**
 * An id not used before: neither by an instance row (deleted ones included) nor by the operations
 * of a purged one, which outlive it and would otherwise be listed under the newcomer.
 */
async function unusedId(trx: Kysely<Database>, newId: () => string): Promise<string> {
  for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
    const id = newId();
    const [row] = (await selectIdTaken(trx, { id })).rows;
    // SQLite answers 0 or 1, PostgreSQL false or true.
    if (!row?.taken) return id;
  }
  throw new GaleError('internal', `could not find an unused instance id after ${MAX_ID_ATTEMPTS} attempts`);
}
