import type Dockerode from 'dockerode';
import type { Logger } from 'pino';
import type { Endpoint, EndpointSet } from './endpoints.js';
import { describeEngineError, isNotFound } from './errors.js';
import { containerName, isOurs } from './observe.js';

export interface Located {
  endpoint: Endpoint;
  info: Dockerode.ContainerInspectInfo;
}

/** Where an instance's container was last seen, and its immutable id. */
export interface LastSeen {
  endpoint: Endpoint;
  containerId: string | undefined;
}

/**
 * Finds an instance's container. Provider calls other than create carry only the instance id, not its zone,
 * so the endpoint each instance lives on is remembered from create() and list(); an instance we have not
 * seen (after a restart, say) is searched for by its deterministic name on every endpoint.
 */
export class ContainerLocator {
  private readonly homes = new Map<string, LastSeen>();
  private readonly warnedForeign = new Set<string>();

  constructor(
    private readonly endpoints: EndpointSet,
    private readonly installationId: string,
    private readonly logger: Logger,
  ) {}

  /** containerId is only ever one of ours: ids are never reused, so acting on it later cannot touch a foreign container. */
  remember(instanceId: string, endpoint: Endpoint, containerId?: string): void {
    this.homes.set(instanceId, { endpoint, containerId });
  }

  /**
   * The container last seen for the instance, without asking the engine. For calls that can try it blindly
   * and fall back to locate() when the engine says it is gone (404) or in another state than expected.
   */
  lastSeen(instanceId: string): LastSeen | undefined {
    return this.homes.get(instanceId);
  }

  forget(instanceId: string): void {
    this.homes.delete(instanceId);
  }

  /** The container by name on one endpoint, ours or not; null when there is none. */
  async inspectByName(endpoint: Endpoint, instanceId: string): Promise<Dockerode.ContainerInspectInfo | null> {
    try {
      return await endpoint.docker.getContainer(containerName(instanceId)).inspect();
    } catch (error) {
      if (isNotFound(error)) return null;
      throw describeEngineError(endpoint.name, `inspect ${containerName(instanceId)}`, error);
    }
  }

  isOurs(info: Dockerode.ContainerInspectInfo): boolean {
    return isOurs(info.Config?.Labels, this.installationId);
  }

  /**
   * Our container for the instance, or null when no endpoint holds one. A container that bears the name but
   * not our installation label is treated as absent: Gale never touches what it did not create.
   * When some endpoint cannot be asked and no other has the container, this throws rather than answer null,
   * since null would read as "vanished" and could have the instance recreated or reported TERMINATED.
   */
  async locate(instanceId: string): Promise<Located | null> {
    const known = this.homes.get(instanceId)?.endpoint;
    if (known) {
      const info = await this.ours(known, instanceId);
      if (info) {
        this.remember(instanceId, known, info.Id);
        return { endpoint: known, info };
      }
      this.homes.delete(instanceId);
    }
    const others = this.endpoints.all().filter((endpoint) => endpoint !== known);
    const results = await Promise.allSettled(
      others.map(async (endpoint) => ({ endpoint, info: await this.ours(endpoint, instanceId) })),
    );
    let failure: unknown;
    for (const result of results) {
      if (result.status === 'rejected') failure ??= result.reason;
      else if (result.value.info) {
        this.remember(instanceId, result.value.endpoint, result.value.info.Id);
        return { endpoint: result.value.endpoint, info: result.value.info };
      }
    }
    if (failure !== undefined) throw failure;
    return null;
  }

  private async ours(endpoint: Endpoint, instanceId: string): Promise<Dockerode.ContainerInspectInfo | null> {
    const info = await this.inspectByName(endpoint, instanceId);
    if (!info) return null;
    if (this.isOurs(info)) return info;
    const key = `${endpoint.name}/${instanceId}`;
    if (!this.warnedForeign.has(key)) {
      this.warnedForeign.add(key);
      this.logger.warn(
        { endpoint: endpoint.name, container: containerName(instanceId) },
        'a container with this instance name exists without our installation label: leaving it alone',
      );
    }
    return null;
  }
}
