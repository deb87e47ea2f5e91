import { DependencyCheckFailure } from '../../domain/provider.js';
import type { Endpoint } from './endpoints.js';
import { engineMessage, isNotFound } from './errors.js';

const PROBE_TIMEOUT_MS = 5_000;

interface Problem {
  /** For /readyz, which anyone may read: the zones and what is wrong, never the endpoint's address. */
  said: string;
  /** For the log: the endpoint and the engine's own words. */
  logged: string;
}

/**
 * Readiness: every endpoint answers a ping, and the configured network exists on it. One message names every
 * endpoint that failed by the zones it serves; the log line of the failure names its address too, so an operator
 * knows which host to look at.
 */
export async function probeEndpoints(endpoints: Endpoint[], network: string | undefined): Promise<void> {
  const problems = await Promise.all(endpoints.map((endpoint) => probeOne(endpoint, network)));
  const failed = problems.filter((problem): problem is Problem => problem !== undefined);
  if (failed.length > 0) throw new DependencyCheckFailure(failed.map((p) => p.said).join('; '), failed.map((p) => p.logged).join('; '));
}

async function probeOne(endpoint: Endpoint, network: string | undefined): Promise<Problem | undefined> {
  const zones = `the docker engine of zones ${endpoint.zones.join(', ')}`;
  const where = `docker endpoint ${endpoint.name} (zones: ${endpoint.zones.join(', ')})`;
  const problem = (what: string, why: string): Problem => ({ said: `${zones} ${what}`, logged: `${where} ${what}: ${why}` });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
  try {
    // A hung engine (dockerd stopped with SIGSTOP, an unanswering TCP peer) must not hang readiness.
    // dockerode's typings omit ping's options, though it passes abortSignal through to the request.
    const ping = endpoint.docker.ping.bind(endpoint.docker) as (options: { abortSignal: AbortSignal }) => Promise<unknown>;
    await ping({ abortSignal: controller.signal });
  } catch (error) {
    if (controller.signal.aborted) return problem(`is not answering (no answer within ${PROBE_TIMEOUT_MS} ms)`, 'timed out');
    return problem('is not answering', engineMessage(error));
  } finally {
    clearTimeout(timer);
  }
  if (network === undefined) return undefined;
  try {
    await endpoint.docker.getNetwork(network).inspect();
  } catch (error) {
    if (isNotFound(error)) return problem(`has no network named ${network}`, 'create it or change the configuration');
    return problem(`could not be asked about network ${network}`, engineMessage(error));
  }
  return undefined;
}
