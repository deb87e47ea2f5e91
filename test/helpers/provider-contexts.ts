import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import type { ProviderContext } from '../../src/providers/descriptor.js';
import { openTempStore, type TempStore } from '../providers/temp-store.js';

export interface TestProviderContexts {
  /**
   * The context Gale's server would give the named provider of this installation: its own keyed state on the
   * contexts' one database, so installations share the database as they would share a backend, each seeing its own.
   */
  contextFor(installationId: string, providerName: string): Promise<ProviderContext>;
  /** Closes what the contexts hold (not the providers made with them). */
  close(): Promise<void>;
}

/**
 * Provider contexts for tests, and the only place a test builds one. Installations share `dataDir`, as two Gales on one
 * host do, and one database: a stateful provider (the simulator) keeps its machines under its installation's id.
 */
export function providerContexts(dataDir: string, options: { stopGraceMs?: number } = {}): TestProviderContexts {
  let store: Promise<TempStore> | undefined;
  return {
    async contextFor(installationId, providerName) {
      store ??= openTempStore();
      return {
        state: (await store).store.providerState(providerName),
        clock: systemClock,
        logger: pino({ level: 'silent' }),
        installationId,
        stopGraceMs: options.stopGraceMs ?? 1000,
        dataDir,
      };
    },
    async close() {
      if (store) await (await store).close();
    },
  };
}
