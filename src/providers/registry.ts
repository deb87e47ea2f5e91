import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import type { Provider } from '../domain/provider.js';
import type { Store } from '../domain/store.js';
import { createSimulatorProvider } from './simulator/index.js';

/** Everything any provider may need; each factory takes only what it uses. */
export interface ProviderDeps {
  store: Store;
  clock: Clock;
  simulatorDelayMs: number;
  logger: Logger;
  /** A Docker client (dockerode) for the docker provider; unknown here so that the registry needs no Docker types. */
  docker?: unknown;
}

type ProviderFactory = (deps: ProviderDeps) => Provider;

/** One line per provider: adding a backend means adding its factory here. */
const FACTORIES: Readonly<Record<string, ProviderFactory>> = {
  simulator: (deps) =>
    createSimulatorProvider({
      store: deps.store,
      clock: deps.clock,
      delayMs: deps.simulatorDelayMs,
      logger: deps.logger.child({ provider: 'simulator' }),
    }),
};

export const KNOWN_PROVIDERS: readonly string[] = Object.keys(FACTORIES);

export function createProvider(name: string, deps: ProviderDeps): Provider {
  const factory = Object.hasOwn(FACTORIES, name) ? FACTORIES[name] : undefined;
  if (!factory) {
    throw new Error(`unknown provider "${name}"; known providers: ${KNOWN_PROVIDERS.join(', ')}`);
  }
  return factory(deps);
}
