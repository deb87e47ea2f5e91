import type { SimulatedMachine, SimulatorStore } from '../domain/store.js';
import type { IdRange } from '../domain/provider.js';
import { whereInIdRange, type Db } from './db.js';
import { toMachine } from './rows.js';

/** The simulator provider's machines. Not tied to instance rows: orphans must survive for the provider to find. */
export function simulatorStore(db: Db): SimulatorStore {
  return {
    async getMachine(instanceId: string): Promise<SimulatedMachine | undefined> {
      const row = await db.kysely.selectFrom('simulated_machines').selectAll().where('instance_id', '=', instanceId).executeTakeFirst();
      return row ? toMachine(row) : undefined;
    },

    async putMachine(machine: SimulatedMachine): Promise<void> {
      const values = {
        status: machine.status,
        internal_ip: machine.internalIp,
        external_ip: machine.externalIp,
        boot_count: machine.bootCount,
        started_at: machine.startedAt,
        updated_at: machine.updatedAt,
      };
      await db.write((trx) =>
        trx
          .insertInto('simulated_machines')
          .values({ instance_id: machine.instanceId, ...values })
          .onConflict((oc) => oc.column('instance_id').doUpdateSet(values))
          .execute(),
      );
    },

    async deleteMachine(instanceId: string): Promise<void> {
      await db.write((trx) => trx.deleteFrom('simulated_machines').where('instance_id', '=', instanceId).execute());
    },

    async listMachines(range?: IdRange): Promise<SimulatedMachine[]> {
      const rows = await whereInIdRange(db.kysely.selectFrom('simulated_machines').selectAll(), 'instance_id', range).orderBy('instance_id').execute();
      return rows.map(toMachine);
    },
  };
}
