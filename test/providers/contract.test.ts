// The provider contract (./contract.ts) for every registered provider, straight from the registry: each made by its
// descriptor in a throwaway installation its descriptor prepares (testing.prepare: the busybox image, the VM image),
// then again under each of its descriptor's variants. PROVIDERS narrows the run. A provider that cannot be used here
// (its descriptor's probe says why) is skipped with the reason, and fails the run when CI=true.
// Run: node --import tsx --test test/providers/contract.test.ts   (PROVIDERS=qemu: real VMs under TCG, minutes)
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG } from '../../src/config/default-catalog.js';
import type { MachineSpec, Provider } from '../../src/domain/provider.js';
import type { ProviderDescriptor } from '../../src/providers/descriptor.js';
import { everyProviderUnderTest, providerProblem, settingsFromEnv, skipOrFail } from '../helpers/matrix.js';
import { providerContexts } from '../helpers/provider-contexts.js';
import { providerContract, type ContractSubject } from './contract.js';

function openSubject(descriptor: ProviderDescriptor, variant: Record<string, unknown>): () => Promise<ContractSubject> {
  return async () => {
    const dataDir = await mkdtemp(join(tmpdir(), `gale-contract-${descriptor.name}-`));
    const settings = { ...(await descriptor.testing.prepare(settingsFromEnv(descriptor), dataDir)), ...variant };
    const contexts = providerContexts(dataDir, { stopGraceMs: descriptor.testing.stopGraceMs });
    const opened: Provider[] = [];
    const make = async (installationId: string): Promise<Provider> => {
      const provider = await descriptor.create(settings, await contexts.contextFor(installationId, descriptor.name));
      opened.push(provider);
      return provider;
    };
    const installationId = `test-contract-${randomUUID().slice(0, 8)}`;
    return {
      provider: await make(installationId),
      installationId,
      openProvider: make,
      async cleanup() {
        // Every machine any installation of this run left goes before its files do: none outlives the test.
        for (const each of opened) {
          for (const machine of await each.list().catch(() => [])) await each.delete(machine.instanceId).catch(() => undefined);
          await each.close().catch(() => undefined);
        }
        await contexts.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  };
}

/** Machines made of the small template the provider runs here, with the image the default catalog gives it. */
function machineOf(descriptor: ProviderDescriptor): Pick<MachineSpec, 'templateId' | 'image'> {
  const template = DEFAULT_CATALOG.templates.find((each) => each.id === descriptor.testing.templates.small);
  if (!template) throw new Error(`${descriptor.name}: its small template ${descriptor.testing.templates.small} is not in the default catalog`);
  return { templateId: template.id, image: template.providerImages?.[descriptor.name] ?? template.image };
}

for (const descriptor of everyProviderUnderTest()) {
  const { testing } = descriptor;
  const skip = skipOrFail(`the ${descriptor.name} backend`, await providerProblem(descriptor.name));
  const options = { skip, timeoutMs: testing.operationTimeoutMs, stopGraceMs: testing.stopGraceMs, spec: machineOf(descriptor) };
  providerContract(descriptor.name, openSubject(descriptor, {}), options);
  for (const variant of testing.variants ?? []) providerContract(`${descriptor.name} (${variant.label})`, openSubject(descriptor, variant.settings), options);
}
