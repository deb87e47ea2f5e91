import type { Provider } from '../domain/provider.js';
import type { ProviderContext, ProviderDescriptor } from './descriptor.js';
import { dockerProvider } from './docker/descriptor.js';
import { qemuProvider } from './qemu/descriptor.js';
import { simulatorProvider } from './simulator/descriptor.js';

/** Every backend Gale has, and the only list of them: adding one is adding its descriptor here. */
export const PROVIDERS: readonly ProviderDescriptor[] = [simulatorProvider, dockerProvider, qemuProvider] as readonly ProviderDescriptor[];

export const KNOWN_PROVIDERS: readonly string[] = PROVIDERS.map((descriptor) => descriptor.name);

export function providerDescriptor(name: string): ProviderDescriptor | undefined {
  return PROVIDERS.find((descriptor) => descriptor.name === name);
}

/** Makes a provider from its settings (providers.<name>, already validated against its descriptor's schema). */
export async function createProvider(name: string, settings: Record<string, unknown>, context: ProviderContext): Promise<Provider> {
  const descriptor = providerDescriptor(name);
  if (!descriptor) throw new Error(`unknown provider "${name}"; known providers: ${KNOWN_PROVIDERS.join(', ')}`);
  return descriptor.create(settings as never, context);
}
