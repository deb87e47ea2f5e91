// The provider contract against the simulator, on a real SQLite store. Run: node --import tsx --test test/providers/contract-simulator.test.ts
import { systemClock } from '../../src/domain/clock.js';
import { createSimulatorProvider } from '../../src/providers/simulator/index.js';
import { providerContract, type ContractSubject } from './contract.js';
import { openTempStore } from './temp-store.js';

/**
 * The simulator keeps its machines in the store's provider state, under its installation's id: another installation
 * "on the same backend" is one that shares the database under another id.
 */
function simulatorSubject(delayMs: number): () => Promise<ContractSubject> {
  return async () => {
    const home = await openTempStore();
    const installationId = await home.store.installationId();
    const open = (installation: string) => createSimulatorProvider({ state: home.store.providerState('simulator'), installationId: installation, clock: systemClock, delayMs });
    const provider = open(installationId);
    return {
      provider,
      installationId,
      openProvider: async (id: string) => open(id),
      async cleanup() {
        await provider.close();
        await home.close();
      },
    };
  };
}

providerContract('simulator (instant transitions)', simulatorSubject(0));
// Transitions that take time: every method must still resolve only once its machine is where it said it would be.
providerContract('simulator (20 ms transitions)', simulatorSubject(20));
