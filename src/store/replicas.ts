import type { ReplicaStore } from '../domain/store.js';
import type { Db } from './db.js';

/*
 * The replicas' heartbeats (migration 012). A replica's write and its count are one transaction, so the count always
 * includes the replica asking. Dead replicas' rows are deleted by whichever replica beats next: a fleet that shrank
 * is counted right within one liveness window, and the table never holds more than the replicas of the last window.
 */
export function replicaStore(db: Db): ReplicaStore {
  return {
    heartbeatReplica(id: string, now: number, ttlMs: number): Promise<number> {
      return db.write(async (trx) => {
        await trx
          .insertInto('replicas')
          .values({ id, last_seen_at: now })
          .onConflict((oc) => oc.column('id').doUpdateSet({ last_seen_at: now }))
          .execute();
        await trx.deleteFrom('replicas').where('last_seen_at', '<=', now - ttlMs).execute();
        const { live } = await trx.selectFrom('replicas').select((eb) => eb.fn.countAll<number | string>().as('live')).executeTakeFirstOrThrow();
        return Number(live);
      });
    },

    async removeReplica(id: string): Promise<void> {
      await db.write((trx) => trx.deleteFrom('replicas').where('id', '=', id).execute());
    },
  };
}
