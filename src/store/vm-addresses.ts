import { conflict } from '../domain/errors.js';
import type { AddressStore } from '../domain/store.js';
import type { Db } from './db.js';

/**
 * Addresses on networks Gale manages. The (network, address) primary key is the whole of the concurrency story: an
 * allocation inserts the row it wants with ON CONFLICT DO NOTHING, and one that comes back empty lost that address
 * (or this instance's row) to someone else, so it looks again. No lock is held between tries, and nothing is retried
 * as a failed transaction: PostgreSQL's insert waits for a competing uncommitted row and then sees it.
 */
export function addressStore(db: Db): AddressStore {
  const held = (instanceId: string) =>
    db.kysely.selectFrom('vm_addresses').select(['network', 'address']).where('instance_id', '=', instanceId).executeTakeFirst();

  return {
    async allocateAddress(network: string, instanceId: string, candidates: Iterable<string>): Promise<string> {
      const mine = await held(instanceId);
      if (mine?.network === network) return mine.address;
      // Moved to another network (the subnet setting changed under a create cut short): the old address goes.
      if (mine) await db.write((trx) => trx.deleteFrom('vm_addresses').where('instance_id', '=', instanceId).execute());
      // Read once, so that a nearly full network costs one insert, not one per taken address; the insert still decides.
      const taken = new Set(
        (await db.kysely.selectFrom('vm_addresses').select('address').where('network', '=', network).execute()).map((row) => row.address),
      );
      for (const address of candidates) {
        if (taken.has(address)) continue;
        const won = await db.write((trx) =>
          trx
            .insertInto('vm_addresses')
            .values({ network, address, instance_id: instanceId, allocated_at: db.clock.now() })
            .onConflict((oc) => oc.doNothing())
            .returning('address')
            .executeTakeFirst(),
        );
        if (won) return won.address;
        // Lost: the address to another instance (try the next), or this instance's row to a concurrent call for it.
        const now = await held(instanceId);
        if (now?.network === network) return now.address;
      }
      throw conflict(`no free address is left on ${network}: every one is held by a machine`);
    },

    async releaseAddress(instanceId: string): Promise<void> {
      await db.write((trx) => trx.deleteFrom('vm_addresses').where('instance_id', '=', instanceId).execute());
    },
  };
}
