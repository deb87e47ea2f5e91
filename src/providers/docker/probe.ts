import type { Endpoint } from './endpoints.js';
import { engineMessage, isNotFound } from './errors.js';

const PROBE_TIMEOUT_MS = 5_000;

/**
 * Readiness: every endpoint answers a ping, and the configured network exists on it. One message names
 * every endpoint that failed and the zones it serves, so an operator knows which host to look at.
 */
export async function probeEndpoints(endpoints: Endpoint[], network: string | undefined): Promise<void> {
  const problems = await Promise.all(endpoints.map((endpoint) => probeOne(endpoint, network)));
  const failed = problems.filter((problem): problem is string => problem !== undefined);
  if (failed.length > 0) throw new Error(failed.join('; '));
}

async function probeOne(endpoint: Endpoint, network: string | undefined): Promise<string | undefined> {
  const where = `docker endpoint ${endpoint.name} (zones: ${endpoint.zones.join(', ')})`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
  try {
    // A hung engine (dockerd stopped with SIGSTOP, an unanswering TCP peer) must not hang readiness.
    // dockerode's typings omit ping's options, though it passes abortSignal through to the request.
    const ping = endpoint.docker.ping.bind(endpoint.docker) as (options: { abortSignal: AbortSignal }) => Promise<unknown>;
    await ping({ abortSignal: controller.signal });
  } catch (error) {
    const reason = controller.signal.aborted ? `no answer within ${PROBE_TIMEOUT_MS} ms` : engineMessage(error);
    return `${where} is not answering: ${reason}`;
  } finally {
    clearTimeout(timer);
  }
  if (network === undefined) return undefined;
  try {
    await endpoint.docker.getNetwork(network).inspect();
  } catch (error) {
    if (isNotFound(error)) return `${where} has no network named ${network}: create it or change the configuration`;
    return `${where} could not be asked about network ${network}: ${engineMessage(error)}`;
  }
  return undefined;
}
