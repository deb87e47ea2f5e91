import type { IdRange, MachineSpec, Observation, OwnedMachine, Provider, ProviderCapabilities, SerialOutput } from '../domain/provider.js';

/**
 * Several providers behind the one Provider the reconciler drives: each zone's machines are made by the provider the
 * catalog gives that zone (Docker in some, VMs in others). A machine is found again through its instance's zone; a
 * machine no instance knows (an orphan) through the provider that listed it, or by asking each.
 */
export interface ZoneRoutes {
  /** The provider name for a zone. */
  providerOf(zone: string): string;
  /** The zone of an instance, or undefined when the store has no such instance (an orphan). */
  zoneOf(instanceId: string): Promise<string | undefined>;
}

export function routeByZone(providers: ReadonlyMap<string, Provider>, routes: ZoneRoutes): Provider {
  const all = [...providers.values()];
  // Zones never change: an instance's provider, once known, is remembered (orphans too, from the listing).
  const known = new Map<string, Provider>();

  const named = (name: string): Provider => {
    const provider = providers.get(name);
    if (!provider) throw new Error(`zone routing: no provider "${name}" was made`);
    return provider;
  };
  const holderOf = async (instanceId: string): Promise<Provider | undefined> => {
    const remembered = known.get(instanceId);
    if (remembered) return remembered;
    const zone = await routes.zoneOf(instanceId);
    if (zone === undefined) return undefined;
    const provider = named(routes.providerOf(zone));
    known.set(instanceId, provider);
    return provider;
  };
  const on = async <T>(instanceId: string, call: (provider: Provider) => Promise<T>): Promise<T> => {
    const provider = await holderOf(instanceId);
    if (!provider) throw new Error(`zone routing: instance ${instanceId} has no zone, so no provider`);
    return call(provider);
  };
  const capabilities: ProviderCapabilities = {
    suspend: all.some((p) => p.capabilities.suspend),
    serialConsole: all.some((p) => p.capabilities.serialConsole),
    liveWatch: all.some((p) => p.capabilities.liveWatch),
    recreateVanished: all.some((p) => p.capabilities.recreateVanished),
  };

  return {
    name: [...providers.keys()].join('+'),
    capabilities,
    async probe(): Promise<void> {
      const failures = await Promise.allSettled(all.map((p) => p.probe()));
      const failed = failures.flatMap((result, i) => (result.status === 'rejected' ? [[all[i]!.name, result.reason] as const] : []));
      if (failed.length === 0) return;
      // The first failure keeps its type (DependencyCheckFailure keeps /readyz free of addresses); the others are named.
      const [first] = failed;
      if (failed.length === 1) throw first![1];
      throw new AggregateError(failed.map(([, reason]) => reason), `providers failing: ${failed.map(([name]) => name).join(', ')}`);
    },
    describe(): string {
      return all.map((p) => `${p.name}: ${p.describe?.() ?? 'ready'}`).join('; ');
    },
    async create(spec: MachineSpec): Promise<Observation | void> {
      const provider = named(routes.providerOf(spec.zone));
      known.set(spec.instanceId, provider);
      return provider.create(spec);
    },
    start: (id) => on(id, (p) => p.start(id)),
    stop: (id, options) => on(id, (p) => p.stop(id, options)),
    reset: (id) => on(id, (p) => p.reset(id)),
    suspend: (id) => on(id, (p) => (p.suspend ? p.suspend(id) : Promise.reject(new Error(`provider ${p.name} cannot suspend`)))),
    resume: (id) => on(id, (p) => (p.resume ? p.resume(id) : Promise.reject(new Error(`provider ${p.name} cannot resume`)))),
    serialOutput: (id, start): Promise<SerialOutput> =>
      on(id, (p) => (p.serialOutput ? p.serialOutput(id, start) : Promise.reject(new Error(`provider ${p.name} has no serial console`)))),
    async delete(id: string): Promise<void> {
      const provider = await holderOf(id);
      // An orphan nobody listed yet: delete is idempotent, so each provider is asked to remove what it may hold.
      if (provider) await provider.delete(id);
      else await Promise.all(all.map((p) => p.delete(id)));
      known.delete(id);
    },
    async inspect(id: string): Promise<Observation | null> {
      const provider = await holderOf(id);
      if (provider) return provider.inspect(id);
      for (const candidate of all) {
        const seen = await candidate.inspect(id);
        if (seen) return seen;
      }
      return null;
    },
    async list(range?: IdRange): Promise<OwnedMachine[]> {
      const machines: OwnedMachine[] = [];
      for (const provider of all) {
        for (const machine of await provider.list(range)) {
          known.set(machine.instanceId, provider);
          machines.push(machine);
        }
      }
      // In the store's byte order, as one provider's list is.
      return machines.sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
    },
    ...(all.some((p) => p.watch)
      ? {
          watch(onChange: (instanceId: string) => void): () => void {
            const stops = all.flatMap((p) => (p.watch ? [p.watch(onChange)] : []));
            return () => stops.forEach((stop) => stop());
          },
        }
      : {}),
    async close(): Promise<void> {
      await Promise.all(all.map((p) => p.close()));
    },
  };
}
