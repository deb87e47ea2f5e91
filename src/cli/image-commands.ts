import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';

export function registerImageCommands(program: Command): void {
  const images = program.command('images').description('local images for the docker and qemu providers');
  images
    .command('build')
    .description('build the busybox-micro image from this host\'s busybox-static, with no registry (--vm: the qemu provider\'s VM image)')
    .option('--force', 'rebuild even if the image exists', false)
    .option('--vm', 'build the qemu provider\'s VM image (gale-busybox-vm: the host\'s cloud kernel and a busybox initramfs) instead', false)
    .option('--data-dir <dir>', 'with --vm: the data directory whose qemu/images it goes in (GALE_DATA_DIR)')
    .action(async (o: { force: boolean; vm: boolean; dataDir?: string }) => {
      if (o.vm) {
        // The server's own configuration says where images live: dataDir, and providers.qemu.imagesDir if set.
        const config = loadConfig({ flags: o.dataDir ? { dataDir: o.dataDir } : {} });
        const imagesDir = (config.providers.qemu as { imagesDir?: unknown } | undefined)?.imagesDir;
        const { buildLocalVmImage } = await import('../providers/qemu/build-local-vm-image.js');
        await buildLocalVmImage({ dataDir: config.dataDir, imagesDir: typeof imagesDir === 'string' ? imagesDir : undefined, force: o.force });
        return;
      }
      const { buildLocalImages } = await import('../providers/docker/build-local-images.js');
      await buildLocalImages({ force: o.force });
    });
}
