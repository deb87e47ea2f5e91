import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { PermanentProviderError } from '../../domain/provider.js';
import { GUEST_FEATURES } from './guest-scripts.js';
import { readIfExists, type SavedNetwork } from './instance-files.js';

/**
 * A VM image is a directory under the images directory: a kernel, an initramfs holding the guest's userland, and a
 * blank qcow2 base disk that each instance's overlay is backed by. image.json is written last and marks it complete.
 */
export interface VmImageFiles {
  dir: string;
  kernel: string;
  initramfs: string;
  baseDisk: string;
  manifest: string;
}

export interface VmImageManifest {
  name: string;
  kernelVersion: string;
  builtAt: string;
  /** What its init can do (guest-scripts.ts GUEST_FEATURES); absent in images built before the bridge. */
  guestFeatures?: string[];
}

/** Image names become directory names: a catalog entry like "gale/busybox-micro" or "../x" names no VM image. */
const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isImageName(name: string): boolean {
  return IMAGE_NAME.test(name);
}

export function vmImageFiles(imagesDir: string, name: string): VmImageFiles {
  if (!isImageName(name)) throw new Error(`"${name}" is not a VM image name (letters, digits, . _ -)`);
  const dir = join(imagesDir, name);
  return {
    dir,
    kernel: join(dir, 'vmlinuz'),
    initramfs: join(dir, 'initramfs.cpio.gz'),
    baseDisk: join(dir, 'base.qcow2'),
    manifest: join(dir, 'image.json'),
  };
}

/** The manifest of a complete image, or undefined when there is none by that name (or it is half-built). */
export async function readImage(imagesDir: string, name: string): Promise<VmImageManifest | undefined> {
  if (!isImageName(name)) return undefined;
  const files = vmImageFiles(imagesDir, name);
  const text = await readIfExists(files.manifest);
  if (text === undefined) return undefined;
  try {
    await Promise.all([access(files.kernel), access(files.initramfs), access(files.baseDisk)]);
  } catch {
    return undefined;
  }
  return JSON.parse(text) as VmImageManifest;
}

/** The image a create makes a VM from: the one named, else the fallback (empty: none); permanent when neither is there. */
export async function resolveVmImage(imagesDir: string, image: string, fallback: string, logger: Logger): Promise<string> {
  if (await readImage(imagesDir, image)) return image;
  if (fallback !== '' && (await readImage(imagesDir, fallback))) {
    logger.debug({ image, fallback }, 'no VM image by the template\'s name: booting the fallback image');
    return fallback;
  }
  const hint = fallback === '' ? '' : `, nor the fallback image ${fallback}; build it with: gale images build --vm`;
  throw new PermanentProviderError(`no VM image ${image} in ${imagesDir}${hint}`);
}

/** The files a boot needs: a complete image whose guest can take the VM's network; permanent when it cannot. */
export async function bootableVmImage(imagesDir: string, name: string, network: SavedNetwork | undefined): Promise<VmImageFiles> {
  const manifest = await readImage(imagesDir, name);
  if (!manifest) throw new PermanentProviderError(`the VM image ${name} is gone from ${imagesDir}; rebuild it with: gale images build --vm`);
  if (network?.kind === 'bridge' && !GUEST_FEATURES.every((feature) => manifest.guestFeatures?.includes(feature))) {
    throw new PermanentProviderError(`the VM image ${name} predates bridged networking (its guest cannot take a static address); rebuild it with: gale images build --vm`);
  }
  return vmImageFiles(imagesDir, name);
}

/** Debian's cloud kernel, newest first by version; then any other with modules, which also boots under QEMU. */
export async function findHostKernels(bootDir = '/boot'): Promise<{ version: string; path: string }[]> {
  let names: string[];
  try {
    names = await readdir(bootDir);
  } catch {
    return [];
  }
  const versions = names
    .filter((name) => name.startsWith('vmlinuz-'))
    .map((name) => name.slice('vmlinuz-'.length))
    .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  const cloud = versions.filter((version) => version.endsWith('-cloud-amd64'));
  return [...cloud, ...versions.filter((version) => !cloud.includes(version))].map((version) => ({ version, path: join(bootDir, `vmlinuz-${version}`) }));
}
