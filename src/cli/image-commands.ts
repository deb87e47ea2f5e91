import type { Command } from 'commander';

export function registerImageCommands(program: Command): void {
  const images = program.command('images').description('local images for the docker provider');
  images
    .command('build')
    .description('build the busybox-micro image from this host\'s busybox-static, with no registry')
    .option('--force', 'rebuild even if the image exists', false)
    .action(async (o: { force: boolean }) => {
      const { buildLocalImages } = await import('../providers/docker/build-local-images.js');
      await buildLocalImages({ force: o.force });
    });
}
