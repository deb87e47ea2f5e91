import type { Logger } from 'pino';
import { buildVmBaseImage, type BuiltVmImage } from './build-image.js';
import { imagesDirFor } from './provider.js';
import { DEFAULT_VM_IMAGE } from './settings.js';

export interface BuildLocalVmImageOptions {
  /** Gale's data directory, as the server is configured. */
  dataDir: string;
  /** providers.qemu.imagesDir, as configured; empty or absent: <dataDir>/qemu/images. */
  imagesDir?: string;
  force?: boolean;
  logger?: Logger;
  /** Where to say what happened; the CLI's stdout by default. */
  print?: (line: string) => void;
}

/** `gale images build --vm`: the VM image the qemu provider boots, made offline from this host's packages. */
export async function buildLocalVmImage(options: BuildLocalVmImageOptions): Promise<BuiltVmImage> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const outputDir = imagesDirFor({ imagesDir: options.imagesDir ?? '' }, options.dataDir);
  const result = await buildVmBaseImage({ outputDir, name: DEFAULT_VM_IMAGE, force: options.force ?? false, logger: options.logger });
  print(
    result.built
      ? `built ${result.name} (kernel ${result.kernelVersion}) in ${result.dir}`
      : `${result.name} already in ${result.dir} (--force rebuilds it)`,
  );
  return result;
}
