import type { Static, TObject } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import type { Provider, ProviderCapabilities } from '../domain/provider.js';
import type { ProviderState } from '../domain/provider-state.js';

/** What Gale gives every provider it makes; a provider's own settings come from its section of the config. */
export interface ProviderContext {
  /** The provider's own keyed state in Gale's database (store.providerState(<its name>)): all it may keep there. */
  state: ProviderState;
  clock: Clock;
  logger: Logger;
  /** Labels every machine a provider makes, so that installations sharing a backend never touch each other's. */
  installationId: string;
  /** Time a guest gets to shut down gracefully before it is forced off. */
  stopGraceMs: number;
  /** Gale's data directory: a provider keeps its files (disks, sockets, consoles) under <dataDir>/<provider name>. */
  dataDir: string;
}

/** What is given to make several providers: the context they share, and where each one's own state is. */
export interface SharedProviderContext extends Omit<ProviderContext, 'state'> {
  stateOf(provider: string): ProviderState;
}

type Env = Record<string, string | undefined>;

/**
 * One backend, as Gale knows it: everything about a provider lives in its folder, behind this. The registry lists the
 * descriptors; the config loader validates `providers.<name>` against `settings`; main makes the provider with `create`.
 */
export interface ProviderDescriptor<S extends TObject = TObject> {
  readonly name: string;
  /** One line for docs and errors: what the machines are. */
  readonly summary: string;
  /** The schema of `providers.<name>` in the config file. */
  readonly settings: S;
  readonly defaults: Static<S>;
  /** The GALE_* variables this provider reads, as a partial settings object (documented in docs/configuration.md). */
  fromEnv?(env: Env): Partial<Static<S>>;
  /** What the backend can do, before any is made (docs/providers.md's table); the made provider reports its own. */
  readonly capabilities: ProviderCapabilities;
  create(settings: Static<S>, context: ProviderContext): Promise<Provider>;
}

/** Keeps a descriptor's settings type while listing it among others. */
export function defineProvider<S extends TObject>(descriptor: ProviderDescriptor<S>): ProviderDescriptor<S> {
  return descriptor;
}
