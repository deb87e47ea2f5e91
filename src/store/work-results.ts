import type { Kysely } from 'kysely';
import type { InstanceStatus } from '../domain/instance.js';
import type { FinishedOperation, ObservedState, WorkStore } from '../domain/store.js';
import type { Db } from './db.js';
import { operationEvent, statusEvent, writeWithEvents, type Emit } from './events.js';
import { finished, finishOperations } from './operations.js';
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
export function workResults(db: Db): ResultSide {
  /** The leased row, locked on PostgreSQL; undefined when owner no longer holds the lease. */
  function leased(trx: Kysely<Database>, id: string, owner: string) {
    return trx
      .selectFrom('instances')
      .select(['generation', 'work_due_at', 'user_id', 'status', 'internal_ip', 'external_ip'])
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .$if(db.lockRows, (q) => q.forUpdate())
      .executeTakeFirst();
  }

  /** An instance's status or addresses as the row had them, then as they are now: the event, if they differ. */
  function statusChange(emit: Emit, id: string, row: { user_id: string; status: string; internal_ip: string; external_ip: string }, now: ObservedState): void {
    const draft = statusEvent({ id, userId: row.user_id }, { status: row.status, internalIp: row.internal_ip, externalIp: row.external_ip }, now);
    if (draft) emit(draft);
  }

  return {
    async recordProgress(id: string, owner: string, patch: { status?: InstanceStatus; provisioned?: boolean }): Promise<void> {
      const set: { status?: string; provisioned?: number } = {};
      if (patch.status !== undefined) set.status = patch.status;
      if (patch.provisioned !== undefined) set.provisioned = patch.provisioned ? 1 : 0;
      if (Object.keys(set).length === 0) return;
      await writeWithEvents(db, async (trx, emit) => {
        const row = patch.status === undefined ? undefined : await leased(trx, id, owner);
        await trx.updateTable('instances').set(set).where('id', '=', id).where('lease_owner', '=', owner).execute();
        if (row && patch.status) statusChange(emit, id, row, { status: patch.status, internalIp: row.internal_ip, externalIp: row.external_ip });
      });
    },

    completeWork(id: string, owner: string, result: { generation: number; resetApplied: number; observed: ObservedState; provisioned: boolean }) {
      return writeWithEvents(db, async (trx, emit): Promise<{ caughtUp: boolean; finished: FinishedOperation[] }> => {
        const row = await leased(trx, id, owner);
        if (!row) return { caughtUp: false, finished: [] };
        const now = db.clock.now();
        const caughtUp = row.generation === result.generation;
        // Facts about the machine are true whatever the user wants now, so they are written either way.
        const facts = {
          ...RELEASED,
          internal_ip: result.observed.internalIp,
          external_ip: result.observed.externalIp,
          reset_applied: result.resetApplied,
          provisioned: result.provisioned ? 1 : 0,
          reconciled_generation: result.generation,
          attempts: 0,
          last_error: null,
        };
        await trx
          .updateTable('instances')
          .set(
            caughtUp
              ? { ...facts, status: result.observed.status, work_due_at: null }
              : // The status shown belongs to the newer request (e.g. STOPPING) and the work stays due for it.
                { ...facts, work_due_at: row.work_due_at ?? now },
          )
          .where('id', '=', id)
          .execute();
        statusChange(emit, id, row, { ...result.observed, status: caughtUp ? result.observed.status : (row.status as InstanceStatus) });
        const done = await finishOperations(trx, id, result.generation, { state: 'done', at: now });
        for (const operation of done) emit(operationEvent(operation));
        return { caughtUp, finished: finished(done) };
      });
    },

    async failWork(id: string, owner: string, error: string, retryAt: number): Promise<void> {
      await db.write((trx) =>
        trx
          .updateTable('instances')
          .set((eb) => ({ ...RELEASED, attempts: eb('attempts', '+', 1), last_error: error.slice(0, MAX_ERROR_LENGTH), work_due_at: retryAt }))
          .where('id', '=', id)
          .where('lease_owner', '=', owner)
          .execute(),
      );
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
        const removed = await trx
          .deleteFrom('instances')
          .where('id', '=', id)
          .where('lease_owner', '=', owner)
          .where('deleted_at', 'is not', null)
          .executeTakeFirst();
        if (removed.numDeletedRows === 0n) return [];
        const done = await finishOperations(trx, id, undefined, { state: 'done', at: db.clock.now() });
        for (const operation of done) emit(operationEvent(operation));
        return finished(done);
      });
    },
  };
}
