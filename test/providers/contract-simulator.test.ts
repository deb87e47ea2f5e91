// The provider contract against the simulator, on a real SQLite store. Run: node --import tsx --test test/providers/contract-simulator.test.ts
import { systemClock } from '../../src/domain/clock.js';
import { createSimulatorProvider } from '../../src/providers/simulator/index.js';
import { providerContract, type ContractSubject } from './contract.js';
import { openTempStore, type TempStore } from './temp-store.js';

/**
 * The simulator keeps its machines in the installation's own store, and a store belongs to one installation (its
 * installationId row), so another installation "on the same backend" is one with a store of its own.
 */
function simulatorSubject(delayMs: number): () => Promise<ContractSubject> {
  return async () => {
    const home = await openTempStore();
    const others: TempStore[] = [];
    const installationId = await home.store.installationId();
    const open = (store: TempStore['store']) => createSimulatorProvider({ store, clock: systemClock, delayMs });
    const provider = open(home.store);
    return {
      provider,
      installationId,
      async openProvider(id: string) {
        if (id === installationId) return open(home.store);
        const other = await openTempStore();
        others.push(other);
        return open(other.store);
      },
      async cleanup() {
        await provider.close();
        for (const temp of [...others, home]) await temp.close();
      },
    };
  };
}

providerContract('simulator (instant transitions)', simulatorSubject(0));
// Transitions that take time: every method must still resolve only once its machine is where it said it would be.
providerContract('simulator (20 ms transitions)', simulatorSubject(20));
