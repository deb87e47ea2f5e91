import type { SimulatedMachine, SimulatorStore } from '../domain/store.js';
import type { IdRange } from '../domain/provider.js';
import { whereInIdRange, type Db } from './db.js';
import { precompiled, statement } from './precompiled.js';
import { toMachine } from './rows.js';

/*
 * The simulator provider's machines. Not tied to instance rows: orphans must survive for the provider to find. Its
 * look, write and removal run once or twice a step of every reconcile on the simulator: they are compiled once.
 */

const upsertMachine = statement((q, machine: SimulatedMachine) => {
  const values = {
    status: machine.status,
    internal_ip: machine.internalIp,
    external_ip: machine.externalIp,
    boot_count: machine.bootCount,
    started_at: machine.startedAt,
    updated_at: machine.updatedAt,
  };
  return q
    .insertInto('simulated_machines')
    .values({ instance_id: machine.instanceId, ...values })
    .onConflict((oc) => oc.column('instance_id').doUpdateSet(values));
});

const removeMachine = statement((q, { instanceId }: { instanceId: string }) => q.deleteFrom('simulated_machines').where('instance_id', '=', instanceId));

export function simulatorStore(db: Db): SimulatorStore {
  const machineById = precompiled(db, (instanceId) => db.kysely.selectFrom('simulated_machines').selectAll().where('instance_id', '=', instanceId));
  return {
    async getMachine(instanceId: string): Promise<SimulatedMachine | undefined> {
      const [row] = await machineById(instanceId);
      return row ? toMachine(row) : undefined;
    },

    async putMachine(machine: SimulatedMachine): Promise<void> {
      await db.write((trx) => upsertMachine(trx, machine));
    },

    async deleteMachine(instanceId: string): Promise<void> {
      await db.write((trx) => removeMachine(trx, { instanceId }));
    },

    async listMachines(range?: IdRange): Promise<SimulatedMachine[]> {
      const rows = await whereInIdRange(db.kysely.selectFrom('simulated_machines').selectAll(), 'instance_id', range).orderBy('instance_id').execute();
      return rows.map(toMachine);
    },
  };
}
