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
  /** Labels every machine a provider makes, so that installations sharing a backend never touch each other's. */
  installationId: string;
  docker: { endpoints: Record<string, string>; publishHost: string; network: string; recreateVanished: boolean };
  /** Time a guest gets to shut down gracefully before it is forced off. */
  stopGraceMs: number;
}

type ProviderFactory = (deps: ProviderDeps) => Provider | Promise<Provider>;

/** One line per provider: adding a backend means adding its factory here. */
const FACTORIES: Readonly<Record<string, ProviderFactory>> = {
  simulator: (deps) =>
    createSimulatorProvider({
      store: deps.store,
      clock: deps.clock,
      delayMs: deps.simulatorDelayMs,
      logger: deps.logger.child({ provider: 'simulator' }),
    }),
  // Loaded when chosen: dockerode and its SSH transport are tens of megabytes a simulator-only server never needs.
  docker: async (deps) =>
    (await import('./docker/index.js')).createDockerProvider({
      ...deps.docker,
      installationId: deps.installationId,
      stopGraceMs: deps.stopGraceMs,
      logger: deps.logger.child({ provider: 'docker' }),
    }),
};

export const KNOWN_PROVIDERS: readonly string[] = Object.keys(FACTORIES);

export async function createProvider(name: string, deps: ProviderDeps): Promise<Provider> {
  const factory = Object.hasOwn(FACTORIES, name) ? FACTORIES[name] : undefined;
  if (!factory) {
    throw new Error(`unknown provider "${name}"; known providers: ${KNOWN_PROVIDERS.join(', ')}`);
  }
  return factory(deps);
}
