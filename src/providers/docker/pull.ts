import type Dockerode from 'dockerode';
import type { Logger } from 'pino';
import { PermanentProviderError } from '../../domain/provider.js';
import { DockerUnavailableError, describeEngineError, engineMessage, isConnectionError } from './errors.js';
import { imageExists } from './images.js';
import { followJsonLines, streamError } from './json-lines.js';

const PROGRESS_LOG_INTERVAL_MS = 2000;

export interface EnsureImageOptions {
  docker: Dockerode;
  endpoint: string;
  image: string;
  timeoutMs: number;
  logger: Logger;
}

/**
 * Makes sure the image is on the endpoint, pulling it if needed. An image the registry refuses, that does not
 * exist, or that cannot arrive within the timeout is a PermanentProviderError (retrying would only keep the
 * instance in PROVISIONING); the engine itself being unreachable is not, and is retried.
 */
export async function ensureImage({ docker, endpoint, image, timeoutMs, logger }: EnsureImageOptions): Promise<void> {
  try {
    if (await imageExists(docker, image)) return;
  } catch (error) {
    throw describeEngineError(endpoint, `inspect image ${image}`, error);
  }

  const log = logger.child({ image, endpoint });
  log.info('image not present on the endpoint: pulling');
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const cannotHave = (reason: string, cause?: unknown): PermanentProviderError =>
    new PermanentProviderError(`image ${image} is not on docker endpoint ${endpoint} and cannot be pulled: ${reason}`, {
      cause,
    });
  const started = Date.now();
  try {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await docker.pull(image, { abortSignal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted) throw cannotHave(`no answer within ${timeoutMs} ms`, error);
      if (isConnectionError(error)) throw describeEngineError(endpoint, `pull ${image}`, error);
      throw cannotHave(engineMessage(error), error);
    }
    let failure: string | undefined;
    let lastLog = 0;
    try {
      await followJsonLines(stream, (line) => {
        const error = streamError(line);
        if (error !== undefined) {
          failure = error;
          return;
        }
        const status = typeof line.status === 'string' ? line.status : '';
        const layer = typeof line.id === 'string' ? line.id : undefined;
        // Byte counters arrive many times a second; log them at most every couple of seconds.
        const isCounter = status === 'Downloading' || status === 'Extracting';
        const now = Date.now();
        if (isCounter && now - lastLog < PROGRESS_LOG_INTERVAL_MS) return;
        lastLog = now;
        const progress = typeof line.progress === 'string' ? line.progress : undefined;
        log.info({ layer, progress }, `pull: ${status}`);
      });
    } catch (error) {
      if (controller.signal.aborted) throw cannotHave(`pull did not finish within ${timeoutMs} ms`, error);
      // The engine went away mid-pull: the image may well be had once it is back.
      throw new DockerUnavailableError(`docker endpoint ${endpoint} dropped the pull of ${image}: ${engineMessage(error)}`, {
        cause: error,
      });
    }
    if (failure !== undefined) throw cannotHave(failure);
    // An aborted request may just close the stream rather than fail it.
    if (controller.signal.aborted) throw cannotHave(`pull did not finish within ${timeoutMs} ms`);
  } finally {
    clearTimeout(timer);
  }

  try {
    if (!(await imageExists(docker, image))) throw cannotHave('the pull ended without the image');
  } catch (error) {
    if (error instanceof PermanentProviderError) throw error;
    throw describeEngineError(endpoint, `inspect image ${image}`, error);
  }
  log.info({ ms: Date.now() - started }, 'image pulled');
}
