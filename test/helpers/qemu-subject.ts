// The qemu provider as the provider contract (test/providers/contract.ts) drives it: real VMs under TCG in a temporary
// data directory, with the VM image built into it once. A contract file for qemu is then:
//   providerContract('qemu', openQemuSubject, { skip: qemuProblem(), timeoutMs: 300_000, stopGraceMs: 60_000 });
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import { buildVmBaseImage, createQemuProvider, QEMU_DEFAULTS, type QemuProvider } from '../../src/providers/qemu/index.js';
import type { ContractSubject } from '../providers/contract.js';

export async function openQemuSubject(): Promise<ContractSubject> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gale-qemu-contract-'));
  const imagesDir = join(dataDir, 'images');
  await buildVmBaseImage({ outputDir: imagesDir });
  const installationId = `test-contract-${randomUUID().slice(0, 8)}`;
  const opened: QemuProvider[] = [];
  // tcg always: a KVM probe costs seconds on hosts where it hangs, and the contract is about behaviour, not speed.
  // User-mode networking: no bridge on the host for it (qemu-network.test.ts tests the bridge).
  const make = async (id: string): Promise<QemuProvider> => {
    const provider = await createQemuProvider(
      { ...QEMU_DEFAULTS, accel: 'tcg', imagesDir, network: 'user' },
      { installationId: id, dataDir, clock: systemClock, logger: pino({ level: 'silent' }) },
    );
    opened.push(provider);
    return provider;
  };
  const provider = await make(installationId);
  return {
    provider,
    installationId,
    openProvider: make,
    async cleanup() {
      // Every VM any installation of this run left is killed before its directory goes: no QEMU outlives the test.
      for (const each of opened) {
        for (const machine of await each.list().catch(() => [])) await each.delete(machine.instanceId).catch(() => undefined);
        await each.close();
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
