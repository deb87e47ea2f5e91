import { spawnSync } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { buildVmBaseImage, isStaticElf } from './build-image.js';
import { imagesDirFor } from './provider.js';
import type { QemuSettings } from './settings.js';
import { findHostKernels } from './vm-images.js';

/**
 * The descriptor's probe: QEMU and what the VM image is built from (scripts/install-qemu.sh installs them all): the
 * QEMU programs, cpio, a kernel with its modules, and busybox-static as the guest's whole userland.
 */
export async function qemuProblem(settings: QemuSettings): Promise<string | undefined> {
  const missing = [settings.qemuBinary, settings.qemuImgBinary, 'cpio'].filter((command) => !onPath(command));
  if (!(await kernelWithModules())) missing.push('a kernel with its modules');
  if (!(await staticBusybox())) missing.push('busybox-static');
  return missing.length === 0 ? undefined : `missing ${missing.join(', ')}; run scripts/install-qemu.sh`;
}

/** The VM image a throwaway installation boots, built into its own data directory; the settings that boot it. */
export async function prepareTestVms(settings: QemuSettings, dataDir: string): Promise<QemuSettings> {
  const imagesDir = imagesDirFor({ imagesDir: '' }, dataDir);
  await buildVmBaseImage({ outputDir: imagesDir, qemuImgBinary: settings.qemuImgBinary });
  // TCG always: a KVM probe costs seconds on hosts where it hangs. User-mode networking: no bridge on the host for it.
  return { ...settings, accel: 'tcg', imagesDir, network: 'user' };
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command]).status === 0;
}

async function kernelWithModules(): Promise<boolean> {
  for (const kernel of await findHostKernels()) {
    if (await access(`/lib/modules/${kernel.version}/modules.dep`).then(() => true, () => false)) return true;
  }
  return false;
}

async function staticBusybox(): Promise<boolean> {
  return readFile('/bin/busybox').then(isStaticElf, () => false);
}
