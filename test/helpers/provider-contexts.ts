import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import type { ProviderContext } from '../../src/providers/descriptor.js';
import { openTempStore, type TempStore } from '../providers/temp-store.js';

export interface TestProviderContexts {
  /** The context Gale's server would give a provider of this installation; the same installation gets the same state. */
  contextFor(installationId: string): Promise<ProviderContext>;
  /** Closes what the contexts hold (not the providers made with them). */
  close(): Promise<void>;
}

/**
 * Provider contexts for tests, and the only place a test builds one. Installations share `dataDir`, as two Gales on one
 * host do, and each has state of its own: a stateful provider (the simulator) keeps it in its installation's store,
 * and a store belongs to one installation.
 */
export function providerContexts(dataDir: string, options: { stopGraceMs?: number } = {}): TestProviderContexts {
  const stores = new Map<string, Promise<TempStore>>();
  return {
    async contextFor(installationId) {
      let store = stores.get(installationId);
      if (!store) {
        store = openTempStore();
        stores.set(installationId, store);
      }
      return {
        store: (await store).store,
        clock: systemClock,
        logger: pino({ level: 'silent' }),
        installationId,
        stopGraceMs: options.stopGraceMs ?? 1000,
        dataDir,
      };
    },
    async close() {
      for (const store of stores.values()) await (await store).close();
    },
  };
}
