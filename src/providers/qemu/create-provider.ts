import type { ProviderContext } from '../descriptor.js';
import { chooseAccelerator } from './accelerator.js';
import { imagesDirFor, QemuProviderImpl, type QemuProvider } from './provider.js';
import type { QemuSettings } from './settings.js';
import { findHostKernels, readImage, vmImageFiles } from './vm-images.js';

/** Makes the provider once the accelerator is settled, which for accel auto takes a probe boot of a few seconds. */
export async function createQemuProvider(
  settings: QemuSettings,
  context: Pick<ProviderContext, 'installationId' | 'dataDir' | 'clock' | 'logger'>,
): Promise<QemuProvider> {
  const logger = context.logger.child({ provider: 'qemu' });
  const imagesDir = imagesDirFor(settings, context.dataDir);
  const accelerator = await chooseAccelerator({
    setting: settings.accel,
    qemuBinary: settings.qemuBinary,
    kernel: settings.accel === 'auto' ? await probeKernel(imagesDir, settings.fallbackImage) : undefined,
    timeoutMs: settings.kvmProbeTimeoutMs,
    logger,
  });
  return new QemuProviderImpl({ settings, installationId: context.installationId, dataDir: context.dataDir, clock: context.clock, logger, accelerator });
}

/** The kernel the VMs will boot if there is an image; else the host's, which is what an image would be built from. */
async function probeKernel(imagesDir: string, image: string): Promise<string | undefined> {
  if (image !== '' && (await readImage(imagesDir, image))) return vmImageFiles(imagesDir, image).kernel;
  return (await findHostKernels())[0]?.path;
}
