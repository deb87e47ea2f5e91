import type { DesiredPower, InstanceStatus } from '../domain/instance.js';
import type { ClaimedInstance, ObservedState, ResyncRow, WorkStore } from '../domain/store.js';
import type { IdRange } from '../domain/provider.js';
import { whereInIdRange, type Db } from './db.js';
import { operationEvent, statusEvent, writeWithEvents } from './events.js';
import { markOperationsStarted } from './operations.js';
import { CLAIMED_COLUMNS, toClaimed } from './rows.js';

type ClaimSide = Pick<WorkStore, 'claimDue' | 'renewLeases' | 'releaseLeases' | 'resyncPageEnd' | 'listForResync' | 'recordObservation' | 'markDue' | 'countPendingWork'>;

/** Finding and leasing work, and the resync's view of everything. */
export function workClaims(db: Db): ClaimSide {
  return {
    async claimDue(owner: string, now: number, leaseMs: number, limit: number, zones?: readonly string[], excluding?: readonly string[]): Promise<ClaimedInstance[]> {
      if (limit <= 0) return [];
      const rows = await writeWithEvents(db, async (trx, emit) => {
        const claimed = await trx
          // The candidates are picked and locked in a CTE, which PostgreSQL evaluates exactly once;
          // SKIP LOCKED lets replicas claiming at the same moment take different rows instead of queueing.
          .with('due', (qb) =>
            qb
              .selectFrom('instances')
              .select('id')
              .where('work_due_at', '<=', now)
              .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
              .$if(zones !== undefined && zones.length > 0, (q) => q.where('zone', 'in', zones!))
              .$if(excluding !== undefined && excluding.length > 0, (q) => q.where('id', 'not in', excluding!))
              .orderBy('work_due_at')
              .limit(limit)
              .$if(db.lockRows, (q) => q.forUpdate().skipLocked()),
          )
          .updateTable('instances')
          .set({ lease_owner: owner, lease_until: now + leaseMs })
          .where('id', 'in', (eb) => eb.selectFrom('due').select('due.id'))
          .returning(CLAIMED_COLUMNS)
          .execute();
        // The operations waiting for this work are under way now (PENDING -> RUNNING in the API).
        for (const operation of await markOperationsStarted(trx, claimed.map((row) => row.id), now)) emit(operationEvent(operation));
        return claimed;
      });
      // RETURNING has no order: restore the oldest-due-first order the claim was made in.
      rows.sort((a, b) => (a.work_due_at ?? 0) - (b.work_due_at ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return rows.map(toClaimed);
    },

    async renewLeases(ids: string[], owner: string, until: number): Promise<string[]> {
      if (ids.length === 0) return [];
      const renewed = await db.write((trx) =>
        trx
          .updateTable('instances')
          .set({ lease_until: until })
          .where('id', 'in', ids)
          // An expired lease nobody has taken over is still ours to extend: only a new owner ends it.
          .where('lease_owner', '=', owner)
          .returning('id')
          .execute(),
      );
      const held = new Set(renewed.map((row) => row.id));
      const rest = ids.filter((id) => !held.has(id));
      if (rest.length === 0) return [];
      // Not renewed: taken over by another replica, or given back by the work itself as it finished between the
      // caller's look at what is in flight and this update: its lease released, or, for a deleted instance, its row
      // purged (only the lease holder purges one). Only a take-over is a loss.
      const owners = await db.kysely.selectFrom('instances').select(['id', 'lease_owner']).where('id', 'in', rest).execute();
      const takenBy = new Map(owners.map((row) => [row.id, row.lease_owner]));
      return rest.filter((id) => {
        const owner = takenBy.get(id);
        return owner !== undefined && owner !== null;
      });
    },

    async releaseLeases(owner: string): Promise<number> {
      const result = await db.write((trx) =>
        trx.updateTable('instances').set({ lease_owner: null, lease_until: null }).where('lease_owner', '=', owner).executeTakeFirst(),
      );
      return Number(result.numUpdatedRows);
    },

    async resyncPageEnd(after: string | undefined, size: number): Promise<string | undefined> {
      // Read off the primary-key index alone: no row is fetched.
      const row = await db.kysely
        .selectFrom('instances')
        .select('id')
        .$call((q) => whereInIdRange(q, 'id', { after }))
        .orderBy('id')
        .limit(1)
        .offset(size - 1)
        .executeTakeFirst();
      return row?.id;
    },

    async listForResync(now: number, range?: IdRange): Promise<ResyncRow[]> {
      const rows = await whereInIdRange(
        db.kysely
          .selectFrom('instances')
          .select(['id', 'zone', 'status', 'desired', 'internal_ip', 'external_ip', 'deleted_at', 'generation', 'reconciled_generation', 'work_due_at', 'lease_until']),
        'id',
        range,
      )
        .orderBy('id')
        .execute();
      return rows.map((row) => {
        const deleted = row.deleted_at !== null;
        const leased = row.lease_until !== null && row.lease_until >= now;
        return {
          id: row.id,
          zone: row.zone,
          status: row.status as InstanceStatus,
          internalIp: row.internal_ip,
          externalIp: row.external_ip,
          deleted,
          desired: row.desired as DesiredPower,
          busy: deleted || leased || row.work_due_at !== null || row.generation > row.reconciled_generation,
        };
      });
    },

    async recordObservation(id: string, observed: ObservedState): Promise<void> {
      const now = db.clock.now();
      // The conditions re-check, at write time, what made the resync think the instance was idle:
      // a reconciler that claimed it since then must not have its newer truth overwritten.
      await writeWithEvents(db, async (trx, emit) => {
        const before = await trx
          .selectFrom('instances')
          .select(['user_id', 'status', 'internal_ip', 'external_ip'])
          .where('id', '=', id)
          .$if(db.lockRows, (q) => q.forUpdate())
          .executeTakeFirst();
        const updated = await trx
          .updateTable('instances')
          .set({ status: observed.status, internal_ip: observed.internalIp, external_ip: observed.externalIp })
          .where('id', '=', id)
          .where('deleted_at', 'is', null)
          .where((eb) => eb('generation', '=', eb.ref('reconciled_generation')))
          .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
          .executeTakeFirst();
        if (!before || updated.numUpdatedRows === 0n) return;
        const draft = statusEvent({ id, userId: before.user_id }, { status: before.status, internalIp: before.internal_ip, externalIp: before.external_ip }, observed);
        if (draft) emit(draft);
      });
    },

    async markDue(ids: string[], now: number): Promise<void> {
      if (ids.length === 0) return;
      await db.write((trx) =>
        trx
          .updateTable('instances')
          .set({ work_due_at: now })
          .where('id', 'in', ids)
          // Never postpone work that is already due earlier.
          .where((eb) => eb.or([eb('work_due_at', 'is', null), eb('work_due_at', '>', now)]))
          .execute(),
      );
    },

    async countPendingWork(_now: number): Promise<number> {
      // Due, leased or waiting out a backoff: all have work_due_at set (partial index instances_work_due).
      const row = await db.kysely
        .selectFrom('instances')
        .select((eb) => eb.fn.countAll<number>().as('pending'))
        .where('work_due_at', 'is not', null)
        .executeTakeFirstOrThrow();
      return Number(row.pending);
    },
  };
}
