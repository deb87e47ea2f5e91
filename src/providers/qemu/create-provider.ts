import type { ProviderContext } from '../descriptor.js';
import { stateAddressBook } from './address-book.js';
import { chooseAccelerator } from './accelerator.js';
import type { BridgeHost } from './bridge-host.js';
import { imagesDirFor, QemuProviderImpl, type QemuProvider } from './provider.js';
import type { QemuSettings } from './settings.js';
import { setUpNetworking } from './vm-networking.js';
import { findHostKernels, readImage, vmImageFiles } from './vm-images.js';

export type QemuProviderContext = Pick<ProviderContext, 'installationId' | 'dataDir' | 'clock' | 'logger'> & {
  /** Where bridge addresses are allocated (Gale's server always gives the provider's state); without it, VMs use user mode. */
  state?: ProviderContext['state'];
  /** Tests only: the host side of the bridge, in place of the ip command. */
  bridgeHost?: BridgeHost;
};

/**
 * Makes the provider once the accelerator and the network are settled: accel auto takes a probe boot of a few seconds,
 * and the bridge is made (idempotently) or found unusable.
 */
export async function createQemuProvider(settings: QemuSettings, context: QemuProviderContext): Promise<QemuProvider> {
  const logger = context.logger.child({ provider: 'qemu' });
  const imagesDir = imagesDirFor(settings, context.dataDir);
  const accelerator = await chooseAccelerator({
    setting: settings.accel,
    qemuBinary: settings.qemuBinary,
    kernel: settings.accel === 'auto' ? await probeKernel(imagesDir, settings.fallbackImage) : undefined,
    timeoutMs: settings.kvmProbeTimeoutMs,
    logger,
  });
  const networking = await setUpNetworking({
    settings,
    installationId: context.installationId,
    addresses: context.state && stateAddressBook(context.state),
    clock: context.clock,
    logger,
    host: context.bridgeHost,
  });
  return new QemuProviderImpl({ settings, installationId: context.installationId, dataDir: context.dataDir, clock: context.clock, logger, accelerator, networking });
}

/** The kernel the VMs will boot if there is an image; else the host's, which is what an image would be built from. */
async function probeKernel(imagesDir: string, image: string): Promise<string | undefined> {
  if (image !== '' && (await readImage(imagesDir, image))) return vmImageFiles(imagesDir, image).kernel;
  return (await findHostKernels())[0]?.path;
}
