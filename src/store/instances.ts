import type { Kysely } from 'kysely';
import { GaleError, instanceNotFound, notFound } from '../domain/errors.js';
import type { IdempotentWrite } from '../domain/idempotency.js';
import type { DesiredPower, InstanceRecord, InstanceStatus, InstanceSummary, PowerOperation } from '../domain/instance.js';
import { planPowerOperation } from '../domain/power.js';
import type { InstanceFilter, InstanceStore, NewInstance, Operation } from '../domain/store.js';
import { quotaViolation, type Tier, type Usage } from '../domain/tiers.js';
import type { Db } from './db.js';
import { guarded, rememberAnswer, replayIfAnswered } from './idempotency.js';
import { insertFinishedOperation, insertOperation, operationReader } from './operations.js';
import { precompiled, statement } from './precompiled.js';
import { INSTANCE_COLUMNS, SUMMARY_COLUMNS, toInstance, toSummary } from './rows.js';
import type { Database } from './schema.js';

// newId draws 32 random bits per owner: a handful of clashes in a row means something is wrong with it.
const MAX_ID_ATTEMPTS = 16;

/** The API's side of instances: intent is written here, the reconciler carries it out (work.ts). */
export function instanceStore(db: Db): InstanceStore {
  const { kysely } = db;

  const liveById = precompiled(kysely, (id) =>
    kysely.selectFrom('instances').select(INSTANCE_COLUMNS).where('id', '=', id).where('deleted_at', 'is', null),
  );
  // GET /instances/{id} is the hottest read: a primary-key lookup compiled once, of the columns the answer shows.
  const summaryById = precompiled(kysely, (id) =>
    kysely.selectFrom('instances').select(SUMMARY_COLUMNS).where('id', '=', id).where('deleted_at', 'is', null),
  );
  // Served by the partial index instances_user_live (user_id, created_at, id) WHERE deleted_at IS NULL.
  const liveByUser = precompiled(kysely, (userId) =>
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
      .select(['id', 'user_id', 'status', 'desired', 'generation'])
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

  return {
    createInstance(input: NewInstance, tier: Tier | null, newId: () => string, idempotency?: IdempotentWrite<InstanceRecord>): Promise<InstanceRecord> {
      return guarded(db, idempotency, () => db.write(async (trx) => {
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
          id: await unusedId(trx, newId),
          userId: input.userId,
          customerId: owner.customer_id,
          zone: input.zone,
          machineType: input.machineType,
          templateId: input.templateId,
          vcpus: input.vcpus,
          memoryMb: input.memoryMb,
          diskGb: input.diskGb,
          status: 'PROVISIONING',
          externalIp: '',
          internalIp: '',
          createdAt: input.createdAt,
          desired: 'RUNNING',
          deletedAt: null,
          generation: 1,
          reconciledGeneration: 0,
          resetRequested: 0,
          resetApplied: 0,
          provisioned: false,
        };
        await insertNewInstance(trx, record);
        await insertOperation(trx, { instanceId: record.id, userId: record.userId, kind: 'create', generation: 1, createdAt: record.createdAt });
        await rememberAnswer(trx, idempotency, record);
        return record;
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

    async listUserInstances(userId: string): Promise<InstanceSummary[]> {
      return (await liveByUser(userId)).map(toSummary);
    },

    async listInstances(filter: InstanceFilter, offset: number, limit: number) {
      let live = kysely.selectFrom('instances').where('deleted_at', 'is', null);
      if (filter.userId !== undefined) live = live.where('user_id', '=', filter.userId);
      if (filter.customerId !== undefined) live = live.where('customer_id', '=', filter.customerId);
      if (filter.status !== undefined) live = live.where('status', '=', filter.status);
      if (filter.zone !== undefined) live = live.where('zone', '=', filter.zone);
      if (filter.templateId !== undefined) live = live.where('template_id', '=', filter.templateId);
      const [counted, rows] = await Promise.all([
        live.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
        live.select(SUMMARY_COLUMNS).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute(),
      ]);
      return { total: Number(counted.total), instances: rows.map(toSummary) };
    },

    requestPowerOperation(
      id: string,
      ownerId: string | undefined,
      operation: PowerOperation,
      now: number,
      idempotency?: IdempotentWrite<Operation>,
      rules: { canSuspend: boolean } = { canSuspend: true },
    ) {
      return guarded(db, idempotency, () => db.write(async (trx): Promise<Operation> => {
        // Before the lookup: a repeat of an accepted request replays even if the instance has since been deleted.
        await replayIfAnswered(trx, idempotency);
        const row = await lockLive(trx, id, ownerId);
        const plan = planPowerOperation({ id, status: row.status as InstanceStatus, desired: row.desired as DesiredPower }, operation, rules.canSuspend);
        let accepted: Operation;
        if (plan.kind === 'noop') {
          accepted = await insertFinishedOperation(trx, { instanceId: id, userId: row.user_id, kind: operation, generation: row.generation, createdAt: now });
        } else {
          const { desired, status, requestReset } = plan.change;
          const generation = row.generation + 1;
          await changeIntent(trx, { id, desired, status, generation, resets: requestReset ? 1 : 0, now });
          accepted = await insertOperation(trx, { instanceId: id, userId: row.user_id, kind: operation, generation, createdAt: now });
        }
        await rememberAnswer(trx, idempotency, accepted);
        return accepted;
      }));
    },

    deleteInstance(id: string, ownerId: string | undefined, now: number, idempotency?: IdempotentWrite<Operation>): Promise<Operation> {
      return guarded(db, idempotency, () => db.write(async (trx) => {
        await replayIfAnswered(trx, idempotency);
        const row = await lockLive(trx, id, ownerId);
        const generation = row.generation + 1;
        await markDeleted(trx, { id, now, generation });
        const accepted = await insertOperation(trx, { instanceId: id, userId: row.user_id, kind: 'delete', generation, createdAt: now });
        await rememberAnswer(trx, idempotency, accepted);
        return accepted;
      }));
    },

    getOperation: operationReader(db),

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

/** A new instance's row, due at once. */
const insertNewInstance = statement((q, record: InstanceRecord) =>
  q.insertInto('instances').values({
    id: record.id,
    user_id: record.userId,
    customer_id: record.customerId,
    zone: record.zone,
    machine_type: record.machineType,
    template_id: record.templateId,
    vcpus: record.vcpus,
    memory_mb: record.memoryMb,
    disk_gb: record.diskGb,
    status: record.status,
    external_ip: '',
    internal_ip: '',
    created_at: record.createdAt,
    desired: record.desired,
    deleted_at: null,
    generation: 1,
    reconciled_generation: 0,
    reset_requested: 0,
    reset_applied: 0,
    provisioned: 0,
    work_due_at: record.createdAt,
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

const selectInstanceId = statement((q, { id }: { id: string }) => q.selectFrom('instances').select('id').where('id', '=', id));
const selectAnyOperationOf = statement((q, { id }: { id: string }) => q.selectFrom('operations').select('id').where('instance_id', '=', id).limit(1));

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
    if ((await selectInstanceId(trx, { id })).rows.length > 0) continue;
    if ((await selectAnyOperationOf(trx, { id })).rows.length === 0) return id;
  }
  throw new GaleError('internal', `could not find an unused instance id after ${MAX_ID_ATTEMPTS} attempts`);
}
