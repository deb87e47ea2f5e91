// Builds the local images the Docker provider's catalog uses, for CI and for hosts without the built CLI:
//   node --import tsx scripts/build-images.ts [--force]
import { buildLocalImages } from '../src/providers/docker/build-local-images.js';

try {
  await buildLocalImages({ force: process.argv.includes('--force') });
} catch (error) {
  process.stderr.write(`build-images: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
