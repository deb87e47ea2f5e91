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
 * What it takes to make machines on a backend on this host with no operator at hand: the provider contract suite runs
 * every registered provider from this, and the HTTP suite takes its templates from it.
 */
export interface ProviderTesting<S extends TObject> {
  /**
   * Templates of the default catalog this backend runs once `prepare` has run (Docker has no registry in CI, so only
   * the locally built image): `standard` for a typical machine, `small` for an e2-micro with a 10 GB disk.
   */
  readonly templates: { readonly standard: string; readonly small: string };
  /**
   * Whether the HTTP suite runs over this backend when PROVIDERS does not name the providers: true for backends whose
   * machines come up in seconds; a backend whose boots take minutes (VMs under emulation) has suites of its own.
   */
  readonly inHttpSuite: boolean;
  /**
   * Makes what machines need here (a local image), under `dataDir` when it is files, and gives the settings of a
   * throwaway installation that uses it, from the configured ones. What exists already is kept.
   */
  prepare(settings: Static<S>, dataDir: string): Promise<Static<S>>;
  /** The longest one operation takes here at worst (a VM boot under emulation: minutes): how long to wait, not a speed check. */
  readonly operationTimeoutMs: number;
  /** The grace a stop gives machines made from the `small` template to shut down by themselves. */
  readonly stopGraceMs: number;
  /** Settings the provider contract must also hold under, each with a label (the simulator's slower transitions). */
  readonly variants?: ReadonlyArray<{ readonly label: string; readonly settings: Partial<Static<S>> }>;
}

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
  /**
   * Why this backend cannot be used on this host with these settings (no engine answering, QEMU or its image tools
   * missing), or undefined when it can. Cheap and without side effects; heavy modules are loaded only when called.
   */
  probe(settings: Static<S>): Promise<string | undefined>;
  readonly testing: ProviderTesting<S>;
  create(settings: Static<S>, context: ProviderContext): Promise<Provider>;
}

/** Keeps a descriptor's settings type while listing it among others. */
export function defineProvider<S extends TObject>(descriptor: ProviderDescriptor<S>): ProviderDescriptor<S> {
  return descriptor;
}
