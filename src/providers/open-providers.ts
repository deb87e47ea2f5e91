import type { Provider, ProviderCapabilities } from '../domain/provider.js';
import type { SharedProviderContext } from './descriptor.js';
import { createProvider } from './registry.js';
import { routeByZone } from './zone-router.js';

export interface ProviderChoice {
  /** The provider of every zone not named in zoneProviders. */
  provider: string;
  /** providers.<name>, validated and complete. */
  providers: Record<string, Record<string, unknown>>;
  zoneProviders?: Record<string, string>;
}

export interface OpenedProviders {
  /** The one provider the reconciler drives: the zones' providers behind one router when there are several. */
  provider: Provider;
  /** The provider name a zone's machines are made by (for its images). */
  nameOf(zone: string): string;
  /** What the provider of a zone can do (the API refuses what it cannot before accepting it). */
  capabilitiesOf(zone: string): ProviderCapabilities;
}

/** Makes each provider some zone uses, once; a failure closes those already made. */
export async function openProviders(choice: ProviderChoice, context: SharedProviderContext, zoneOf: (instanceId: string) => Promise<string | undefined>): Promise<OpenedProviders> {
  const nameOf = (zone: string): string => choice.zoneProviders?.[zone] ?? choice.provider;
  const names = [...new Set([choice.provider, ...Object.values(choice.zoneProviders ?? {})])];
  const made = new Map<string, Provider>();
  const { stateOf, ...shared } = context;
  try {
    for (const name of names) made.set(name, await createProvider(name, choice.providers[name] ?? {}, { ...shared, state: stateOf(name) }));
  } catch (error) {
    await Promise.allSettled([...made.values()].map((p) => p.close()));
    throw error;
  }
  const provider = made.size === 1 ? made.get(choice.provider)! : routeByZone(made, { providerOf: nameOf, zoneOf });
  return { provider, nameOf, capabilitiesOf: (zone) => made.get(nameOf(zone))!.capabilities };
}
