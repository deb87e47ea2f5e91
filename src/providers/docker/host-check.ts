import { DependencyCheckFailure } from '../../domain/provider.js';
import { EndpointSet } from './endpoints.js';
import { buildBusyboxImage } from './images.js';
import { probeEndpoints } from './probe.js';

interface EngineSettings {
  endpoints: Record<string, string>;
  network: string;
}

/** The descriptor's probe: every configured engine answers a ping (and has the network, when one is set). */
export async function dockerProblem(settings: EngineSettings): Promise<string | undefined> {
  try {
    await probeEndpoints(new EndpointSet(settings.endpoints).all(), settings.network === '' ? undefined : settings.network);
    return undefined;
  } catch (error) {
    // The detail names the endpoint (printable, free of secrets) and the engine's own words: this is for the operator.
    const why = error instanceof DependencyCheckFailure ? error.detail : error instanceof Error ? error.message : String(error);
    return `${why}; scripts/install-docker.sh installs and starts an engine`;
  }
}

/** What machines need on every configured engine with no registry: the busybox image, built from the host's busybox. */
export async function buildTestImages(settings: EngineSettings): Promise<void> {
  for (const endpoint of new EndpointSet(settings.endpoints).all()) await buildBusyboxImage({ docker: endpoint.docker });
}
