import type { Store } from '../../src/domain/store.js';
import { SimulatedMachines, type SimulatedMachine } from '../../src/providers/simulator/index.js';

/** The simulator's machines in a store, read and written as the simulator keeps them: for tests that look or plant. */
export interface MachinesInStore {
  get(instanceId: string): Promise<SimulatedMachine | undefined>;
  /** Writes the machine whatever was there: what a crashed process, or an operator, left behind. */
  plant(machine: SimulatedMachine): Promise<void>;
}

export async function machinesIn(store: Store): Promise<MachinesInStore> {
  const machines = new SimulatedMachines(store.providerState('simulator'), await store.installationId());
  return {
    get: async (instanceId) => (await machines.get(instanceId))?.machine,
    async plant(machine) {
      const current = await machines.get(machine.instanceId);
      if ((await machines.put(machine, current?.version)) === undefined) throw new Error(`the machine ${machine.instanceId} changed while planted`);
    },
  };
}
