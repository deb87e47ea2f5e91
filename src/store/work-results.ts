import type { Kysely } from 'kysely';
import type { InstanceStatus } from '../domain/instance.js';
import type { FinishedOperation, ObservedState, WorkStore } from '../domain/store.js';
import type { Db } from './db.js';
import { operationEvent, statusEvent, writeWithEvents, type Emit } from './events.js';
import { finished, finishOperations } from './operations.js';
import { statement } from './precompiled.js';
import type { Database } from './schema.js';

type ResultSide = Pick<WorkStore, 'recordProgress' | 'completeWork' | 'failWork' | 'abandonWork' | 'purgeDeleted'>;

// A provider's error can be a whole stderr; the row keeps what a person would read.
const MAX_ERROR_LENGTH = 2000;

const RELEASED = { lease_owner: null, lease_until: null } as const;

/**
 * What the reconciler writes back. Every statement is fenced by `lease_owner = owner`: a replica whose
 * lease expired and was taken over writes nothing, so it cannot overwrite the newer owner's results.
 * Every change of an instance's status or addresses, and of its operations, is told as an event (events.ts).
 */
type Lease = { id: string; owner: string };

/** A step's progress; a field given as null keeps what the row has. */
const writeProgress = statement((q, a: Lease & { status: string | null; provisioned: number | null }) =>
  q
    .updateTable('instances')
    .set((eb) => ({ status: eb.fn.coalesce(eb.val(a.status), eb.ref('status')), provisioned: eb.fn.coalesce(eb.val(a.provisioned), eb.ref('provisioned')) }))
    .where('id', '=', a.id)
    .where('lease_owner', '=', a.owner),
);

/** The end of a claim's work: the facts observed, the lease released; the status only when given (caught up). */
const writeCompletion = statement(
  (
    q,
    a: { id: string; internalIp: string; externalIp: string; resetApplied: number; provisioned: number; generation: number; status: string | null; workDueAt: number | null },
  ) =>
    q
      .updateTable('instances')
      .set((eb) => ({
        ...RELEASED,
        internal_ip: a.internalIp,
        external_ip: a.externalIp,
        reset_applied: a.resetApplied,
        provisioned: a.provisioned,
        reconciled_generation: a.generation,
        attempts: 0,
        last_error: null,
        status: eb.fn.coalesce(eb.val(a.status), eb.ref('status')),
        work_due_at: a.workDueAt,
      }))
      .where('id', '=', a.id),
);

const writeFailure = statement((q, a: Lease & { error: string; retryAt: number }) =>
  q
    .updateTable('instances')
    .set((eb) => ({ ...RELEASED, attempts: eb('attempts', '+', 1), last_error: a.error, work_due_at: a.retryAt }))
    .where('id', '=', a.id)
    .where('lease_owner', '=', a.owner),
);

const purgeRow = statement((q, a: Lease) => q.deleteFrom('instances').where('id', '=', a.id).where('lease_owner', '=', a.owner).where('deleted_at', 'is not', null));

export function workResults(db: Db): ResultSide {
  // Each of a reconcile's writes, and these reads before them, run a few times a create: compiled once (precompiled.ts).
  const leasedRow = statement((q, a: Lease) =>
    q
      .selectFrom('instances')
      .select(['generation', 'work_due_at', 'user_id', 'status', 'internal_ip', 'external_ip'])
      .where('id', '=', a.id)
      .where('lease_owner', '=', a.owner)
      .$if(db.lockRows, (locked) => locked.forUpdate()),
  );

  /** The leased row, locked on PostgreSQL; undefined when owner no longer holds the lease. */
  async function leased(trx: Kysely<Database>, id: string, owner: string) {
    return (await leasedRow(trx, { id, owner })).rows[0];
  }

  /** An instance's status or addresses as the row had them, then as they are now: the event, if they differ. */
  function statusChange(emit: Emit, id: string, row: { user_id: string; status: string; internal_ip: string; external_ip: string }, now: ObservedState): void {
    const draft = statusEvent({ id, userId: row.user_id }, { status: row.status, internalIp: row.internal_ip, externalIp: row.external_ip }, now);
    if (draft) emit(draft);
  }

  return {
    async recordProgress(id: string, owner: string, patch: { status?: InstanceStatus; provisioned?: boolean }): Promise<void> {
      if (patch.status === undefined && patch.provisioned === undefined) return;
      const provisioned = patch.provisioned === undefined ? null : patch.provisioned ? 1 : 0;
      await writeWithEvents(db, async (trx, emit) => {
        const row = patch.status === undefined ? undefined : await leased(trx, id, owner);
        await writeProgress(trx, { id, owner, status: patch.status ?? null, provisioned });
        if (row && patch.status) statusChange(emit, id, row, { status: patch.status, internalIp: row.internal_ip, externalIp: row.external_ip });
      });
    },

    completeWork(id: string, owner: string, result: { generation: number; resetApplied: number; observed: ObservedState; provisioned: boolean }) {
      return writeWithEvents(db, async (trx, emit): Promise<{ caughtUp: boolean; finished: FinishedOperation[] }> => {
        const row = await leased(trx, id, owner);
        if (!row) return { caughtUp: false, finished: [] };
        const now = db.clock.now();
        const caughtUp = row.generation === result.generation;
        // Facts about the machine are true whatever the user wants now, so they are written either way. Not caught up,
        // the status shown belongs to the newer request (e.g. STOPPING) and the work stays due for it.
        await writeCompletion(trx, {
          id,
          internalIp: result.observed.internalIp,
          externalIp: result.observed.externalIp,
          resetApplied: result.resetApplied,
          provisioned: result.provisioned ? 1 : 0,
          generation: result.generation,
          status: caughtUp ? result.observed.status : null,
          workDueAt: caughtUp ? null : (row.work_due_at ?? now),
        });
        statusChange(emit, id, row, { ...result.observed, status: caughtUp ? result.observed.status : (row.status as InstanceStatus) });
        const done = await finishOperations(trx, id, result.generation, { state: 'done', at: now });
        for (const operation of done) emit(operationEvent(operation));
        return { caughtUp, finished: finished(done) };
      });
    },

    async failWork(id: string, owner: string, error: string, retryAt: number): Promise<void> {
      await db.write((trx) => writeFailure(trx, { id, owner, error: error.slice(0, MAX_ERROR_LENGTH), retryAt }));
    },

    abandonWork(id: string, owner: string, generation: number, error: string): Promise<FinishedOperation[]> {
      return writeWithEvents(db, async (trx, emit) => {
        const row = await leased(trx, id, owner);
        if (!row) return [];
        const now = db.clock.now();
        const lastError = error.slice(0, MAX_ERROR_LENGTH);
        if (row.generation === generation) {
          await trx
            .updateTable('instances')
            .set({ ...RELEASED, status: 'TERMINATED', desired: 'TERMINATED', reconciled_generation: generation, work_due_at: null, attempts: 0, last_error: lastError })
            .where('id', '=', id)
            .execute();
          statusChange(emit, id, row, { status: 'TERMINATED', internalIp: row.internal_ip, externalIp: row.external_ip });
        } else {
          // The user asked for something newer (a delete, say) while this failed: that request must still
          // be carried out, so only the operations that were tried fail and the instance stays due.
          await trx
            .updateTable('instances')
            .set({ ...RELEASED, work_due_at: row.work_due_at ?? now, attempts: 0, last_error: lastError })
            .where('id', '=', id)
            .execute();
        }
        const failed = await finishOperations(trx, id, generation, { state: 'failed', at: now, error: lastError });
        for (const operation of failed) emit(operationEvent(operation));
        return finished(failed);
      });
    },

    purgeDeleted(id: string, owner: string): Promise<FinishedOperation[]> {
      return writeWithEvents(db, async (trx, emit) => {
        const removed = await purgeRow(trx, { id, owner });
        if (!removed.numAffectedRows) return [];
        const done = await finishOperations(trx, id, undefined, { state: 'done', at: db.clock.now() });
        for (const operation of done) emit(operationEvent(operation));
        return finished(done);
      });
    },
  };
}
