import Dockerode from 'dockerode';
import type { Logger } from 'pino';
import { parseEndpoint, describeEndpoint, type EndpointConfig } from './endpoints.js';
import { describeEngineError } from './errors.js';
import { BUSYBOX_IMAGE_TAG, buildBusyboxImage } from './images.js';

export interface BuildLocalImagesOptions {
  force?: boolean;
  /** Default: GALE_DOCKER_HOST, else the local socket, as the server's default configuration. */
  endpoint?: EndpointConfig;
  logger?: Logger;
  /** Where to say what happened; the CLI's stdout by default. */
  print?: (line: string) => void;
}

/** `gale images build`: the images the default catalog expects, made from this host with no registry. */
export async function buildLocalImages(options: BuildLocalImagesOptions = {}): Promise<{ tag: string; built: boolean }[]> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dockerOptions = parseEndpoint(options.endpoint ?? process.env.GALE_DOCKER_HOST ?? '/var/run/docker.sock');
  const docker = new Dockerode(dockerOptions);
  const where = describeEndpoint(dockerOptions);
  try {
    await docker.ping();
  } catch (error) {
    throw describeEngineError(where, 'ping', error);
  }
  const result = await buildBusyboxImage({ docker, tag: BUSYBOX_IMAGE_TAG, force: options.force ?? false, logger: options.logger });
  print(result.built ? `built ${result.tag} on ${where}` : `${result.tag} already on ${where} (--force rebuilds it)`);
  return [result];
}
