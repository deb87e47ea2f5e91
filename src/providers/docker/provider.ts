import type Dockerode from 'dockerode';
import type { Logger } from 'pino';
import {
  DEFAULT_STOP_GRACE_MS,
  inIdRange,
  PermanentProviderError,
  type IdRange,
  type MachineSpec,
  type Observation,
  type OwnedMachine,
  type Provider,
  type ProviderCapabilities,
  type SerialOutput,
} from '../../domain/provider.js';
import { containerConfig } from './container-config.js';
import { containerConsole } from './console.js';
import { EndpointSet, type Endpoint, type EndpointConfig } from './endpoints.js';
import { createFailure, describeEngineError, engineMessage, isConflict, isNotFound, isNotModified, isStaleTask, staleEndpointOf, statusCodeOf } from './errors.js';
import { ContainerLocator } from './locator.js';
import { probeEndpoints } from './probe.js';
import { ensureImage } from './pull.js';
import { LABELS, containerName, isOurs, observeInspect, observeSummary, startedAtOf } from './observe.js';
import { DiskLimits } from './storage.js';
import { watchEndpoints } from './watch.js';

export interface DockerProviderOptions {
  /** Zone name (or '*' for every other zone) to engine: dockerode options, a socket path, or tcp://host:port. */
  endpoints: Record<string, EndpointConfig>;
  /** Written on every container; only containers bearing it are ever listed, changed or removed. */
  installationId: string;
  /** Network to attach containers to; unset or '' (as the config file writes it) means the default bridge. */
  network?: string;
  /** Reported as externalIp; '' when unset. */
  publishHost?: string;
  /** Also set as the container's StopTimeout, so a `docker stop` from outside is as patient as Gale. */
  stopGraceMs?: number;
  pullTimeoutMs?: number;
  logger: Logger;
  /** Policy for the reconciler: recreate a vanished container whose instance should be RUNNING. */
  recreateVanished?: boolean;
}

export interface DockerProvider extends Provider {
  readonly name: 'docker';
  /** Always present here: Docker has an event stream. */
  watch(onChange: (instanceId: string) => void): () => void;
  /** Always present here: the container's log is its console. */
  serialOutput(instanceId: string, start: number): Promise<SerialOutput>;
}

const DEFAULT_PULL_TIMEOUT_MS = 10 * 60_000;
const START_AFTER_KILL_ATTEMPTS = 5;

export function createDockerProvider(options: DockerProviderOptions): DockerProvider {
  return new DockerProviderImpl(options);
}

class DockerProviderImpl implements DockerProvider {
  readonly name = 'docker' as const;
  readonly capabilities: ProviderCapabilities;
  private readonly endpoints: EndpointSet;
  private readonly locator: ContainerLocator;
  private readonly disks: DiskLimits;
  private readonly logger: Logger;
  private readonly publishHost: string;
  private readonly network: string | undefined;
  private readonly stopGraceMs: number;
  private readonly pullTimeoutMs: number;
  private readonly unwatchers = new Set<() => void>();

  constructor(private readonly options: DockerProviderOptions) {
    if (options.installationId.trim() === '') throw new Error('docker provider: installationId must not be empty');
    this.logger = options.logger.child({ provider: 'docker' });
    this.endpoints = new EndpointSet(options.endpoints);
    this.locator = new ContainerLocator(this.endpoints, options.installationId, this.logger);
    this.disks = new DiskLimits(this.logger);
    this.publishHost = options.publishHost ?? '';
    this.network = options.network === '' ? undefined : options.network;
    this.stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.pullTimeoutMs = options.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
    // Suspend is docker pause (the cgroup freezer): memory and processes are kept, nothing runs until unpause.
    this.capabilities = { suspend: true, serialConsole: true, liveWatch: true, recreateVanished: options.recreateVanished ?? false };
  }

  probe(): Promise<void> {
    return probeEndpoints(this.endpoints.all(), this.network);
  }

  /**
   * Creates first and asks questions on failure, rather than inspecting the name and the image before every
   * create: the reconciler has just seen no container, and the image is nearly always there, so each look would
   * be a round trip spent on the rare case. 409 (the name is taken) is a retried create or a race: adopt the
   * container if it is ours. 404 (no such image) is answered by pulling it, once.
   */
  async create(spec: MachineSpec): Promise<Observation | void> {
    const endpoint = this.endpoints.forZone(spec.zone);
    let storageOpt: Record<string, string> | undefined;
    try {
      storageOpt = await this.disks.storageOpt(endpoint, spec.diskGb);
    } catch (error) {
      throw describeEngineError(endpoint.name, 'info', error);
    }
    return this.createOn(endpoint, spec, storageOpt, false);
  }

  async start(instanceId: string): Promise<void> {
    // The container the reconciler has just looked at, by its id (never a foreign one): no second look needed.
    const seen = this.locator.lastSeen(instanceId);
    if (seen?.containerId !== undefined) {
      try {
        await seen.endpoint.docker.getContainer(seen.containerId).start();
        return;
      } catch (error) {
        if (isNotModified(error)) return;
        // 404: removed or replaced since; 409: paused, which takes an unpause; a stale task or endpoint (below). All need
        // a proper look.
        if (!isNotFound(error) && !isConflict(error) && !isStaleTask(error) && !staleEndpointOf(error)) {
          throw describeEngineError(seen.endpoint.name, `start ${containerName(instanceId)}`, error);
        }
      }
    }
    const { endpoint, info } = await this.mustLocate(instanceId, 'start');
    const container = endpoint.docker.getContainer(info.Id);
    // A paused container is started by thawing it; Docker refuses a plain start.
    if (info.State.Paused) return this.call(endpoint, `unpause ${info.Name}`, () => container.unpause());
    if (info.State.Running) return;
    // A container that never ran and is dead: the removal of a stale one (below) failed half-way, typically because
    // its root filesystem was still busy just after an engine restart. The engine will never start it; its removal is
    // tried again, so that the next look finds none and creates the machine afresh.
    if (info.State.Dead && startedAtOf(info.State.StartedAt) === undefined) {
      this.logger.warn({ instanceId, endpoint: endpoint.name, err: info.State.Error }, 'a container that never ran is dead: removing it again to create it afresh');
      await this.remove(endpoint, info.Id, instanceId);
      return;
    }
    try {
      await container.start();
    } catch (error) {
      if (isNotModified(error)) return;
      // A container that never ran holds nothing worth keeping: remove it and return, so that the reconciler's next
      // look finds no container and creates it afresh. One that has run keeps its disk; it is left as it is.
      if (isStaleTask(error) && startedAtOf(info.State.StartedAt) === undefined) {
        this.logger.warn(
          { instanceId, endpoint: endpoint.name, err: engineMessage(error) },
          'the engine cannot start a container that never ran (a stale task from a start cut off by an engine restart): removing it to create it again',
        );
        await this.remove(endpoint, info.Id, instanceId);
        return;
      }
      // The container is not running, so an endpoint by its name is a leftover: removed, then the start is tried again.
      const stale = staleEndpointOf(error);
      if (stale) {
        this.logger.warn(
          { instanceId, endpoint: endpoint.name, network: stale.network, err: engineMessage(error) },
          'a network endpoint left by an engine restart blocks the start: removing it and starting again',
        );
        await this.call(endpoint, `disconnect ${stale.name} from ${stale.network}`, () =>
          endpoint.docker.getNetwork(stale.network).disconnect({ Container: stale.name, Force: true }),
        );
        return this.call(endpoint, `start ${info.Name}`, () => container.start());
      }
      throw describeEngineError(endpoint.name, `start ${info.Name}`, error);
    }
  }

  async suspend(instanceId: string): Promise<void> {
    const { endpoint, info } = await this.mustLocate(instanceId, 'suspend');
    if (info.State.Paused) return;
    if (!info.State.Running) throw new Error(`docker: container ${info.Name} is not running; only a running container can be paused`);
    await this.call(endpoint, `pause ${info.Name}`, () => endpoint.docker.getContainer(info.Id).pause());
  }

  async resume(instanceId: string): Promise<void> {
    const { endpoint, info } = await this.mustLocate(instanceId, 'resume');
    if (!info.State.Paused) {
      if (info.State.Running) return;
      throw new Error(`docker: container ${info.Name} is neither paused nor running; it cannot be resumed`);
    }
    await this.call(endpoint, `unpause ${info.Name}`, () => endpoint.docker.getContainer(info.Id).unpause());
  }

  async stop(instanceId: string, { graceMs }: { graceMs: number }): Promise<void> {
    const found = await this.locator.locate(instanceId);
    if (!found || !(found.info.State.Running || found.info.State.Paused)) return; // already down
    const { endpoint, info } = found;
    const container = endpoint.docker.getContainer(info.Id);
    // A frozen process cannot run its SIGTERM handler; Docker would go straight to SIGKILL. Thaw it first.
    if (info.State.Paused) await this.call(endpoint, `unpause ${info.Name}`, () => container.unpause());
    const t = Math.max(0, Math.ceil((Number.isFinite(graceMs) ? graceMs : this.stopGraceMs) / 1000));
    // Docker sends the image's stop signal (SIGTERM), waits t seconds, then SIGKILL, and answers once it is down.
    await this.call(endpoint, `stop ${info.Name}`, () => container.stop({ t }));
  }

  async reset(instanceId: string): Promise<void> {
    const { endpoint, info } = await this.mustLocate(instanceId, 'reset');
    const container = endpoint.docker.getContainer(info.Id);
    if (info.State.Running || info.State.Paused) {
      try {
        await container.kill({ signal: 'SIGKILL' });
      } catch (error) {
        // 409: it went down on its own meanwhile, which is what we wanted.
        if (!isConflict(error)) throw describeEngineError(endpoint.name, `kill ${info.Name}`, error);
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await container.start();
        return;
      } catch (error) {
        if (isNotModified(error)) return;
        // The engine can still be tearing the killed process down for a moment; a conflict then is transient.
        if (!isConflict(error) || attempt >= START_AFTER_KILL_ATTEMPTS) {
          throw describeEngineError(endpoint.name, `start ${info.Name} after kill`, error);
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  async delete(instanceId: string): Promise<void> {
    // The container last seen, by id, needs no second look; 404 means it went some other way, so look then.
    const seen = this.locator.lastSeen(instanceId);
    if (seen?.containerId !== undefined && (await this.remove(seen.endpoint, seen.containerId, instanceId))) return;
    const found = await this.locator.locate(instanceId);
    if (found) await this.remove(found.endpoint, found.info.Id, instanceId);
  }

  async inspect(instanceId: string): Promise<Observation | null> {
    const found = await this.locator.locate(instanceId);
    return found ? observeInspect(found.info, this.network, this.publishHost) : null;
  }

  /** The container's log (docker logs) is its console: console.ts. */
  async serialOutput(instanceId: string, start: number): Promise<SerialOutput> {
    const found = await this.locator.locate(instanceId);
    return found ? containerConsole(found.endpoint, found.info, start) : { contents: '', start, next: start };
  }

  async list(range?: IdRange): Promise<OwnedMachine[]> {
    const perEndpoint = await Promise.all(this.endpoints.all().map((endpoint) => this.listOn(endpoint)));
    // The engine cannot filter by a range of label values: it lists every container of the installation.
    return perEndpoint.flat().filter((machine) => inIdRange(machine.instanceId, range));
  }

  watch(onChange: (instanceId: string) => void): () => void {
    const unwatch = watchEndpoints({
      endpoints: this.endpoints.all(),
      installationId: this.options.installationId,
      logger: this.logger,
      onChange,
    });
    this.unwatchers.add(unwatch);
    return () => {
      this.unwatchers.delete(unwatch);
      unwatch();
    };
  }

  async close(): Promise<void> {
    for (const unwatch of this.unwatchers) unwatch();
    this.unwatchers.clear();
  }

  private async listOn(endpoint: Endpoint): Promise<OwnedMachine[]> {
    let containers: Dockerode.ContainerInfo[];
    try {
      containers = await endpoint.docker.listContainers({
        all: true,
        filters: { label: [`${LABELS.installation}=${this.options.installationId}`] },
      });
    } catch (error) {
      // Never answer a partial list: a missing endpoint's machines would look like vanished ones.
      throw describeEngineError(endpoint.name, 'list containers', error);
    }
    const machines: OwnedMachine[] = [];
    for (const container of containers) {
      if (!isOurs(container.Labels, this.options.installationId)) continue;
      const instanceId = container.Labels[LABELS.instanceId]!;
      this.locator.remember(instanceId, endpoint, container.Id);
      machines.push({ instanceId, ...observeSummary(container, this.network, this.publishHost) });
    }
    return machines;
  }

  /**
   * The container made now is known without a look: created, not started (TERMINATED), with no address on its
   * network until it starts, as inspect would report it. One adopted from an earlier attempt is not: nothing is said.
   */
  private async createOn(
    endpoint: Endpoint,
    spec: MachineSpec,
    storageOpt: Record<string, string> | undefined,
    pulled: boolean,
  ): Promise<Observation | void> {
    let created: Dockerode.Container;
    try {
      created = await endpoint.docker.createContainer(
        containerConfig(spec, {
          installationId: this.options.installationId,
          network: this.network,
          stopGraceMs: this.stopGraceMs,
          storageOpt,
        }),
      );
    } catch (error) {
      if (isConflict(error)) {
        if (await this.adoptExisting(endpoint, spec.instanceId)) return undefined;
        // Taken a moment ago, free now: the next attempt will tell.
        throw describeEngineError(endpoint.name, `create ${containerName(spec.instanceId)}`, error);
      }
      if (isNotFound(error) && !pulled) {
        // Most likely the image; ensureImage returns at once when it is there, and the second 404 is then final.
        await ensureImage({ docker: endpoint.docker, endpoint: endpoint.name, image: spec.image, timeoutMs: this.pullTimeoutMs, logger: this.logger });
        return this.createOn(endpoint, spec, storageOpt, true);
      }
      if (storageOpt && statusCodeOf(error) !== undefined && this.disks.isRefusal(error)) {
        this.disks.markRefused(endpoint, engineMessage(error));
        return this.createOn(endpoint, spec, undefined, pulled);
      }
      throw createFailure(endpoint.name, containerName(spec.instanceId), error);
    }
    this.locator.remember(spec.instanceId, endpoint, created.id);
    this.logger.info({ instanceId: spec.instanceId, endpoint: endpoint.name, image: spec.image }, 'container created');
    return { status: 'TERMINATED', internalIp: '', externalIp: this.publishHost };
  }

  /** False when the engine has no such container; true when it is removed or its removal is under way. */
  private async remove(endpoint: Endpoint, containerId: string, instanceId: string): Promise<boolean> {
    try {
      // v: anonymous volumes die with the machine, as a VM's boot disk does.
      await endpoint.docker.getContainer(containerId).remove({ force: true, v: true });
    } catch (error) {
      const status = statusCodeOf(error);
      if (status === 404) return false;
      // 409: a removal is already under way.
      if (status !== 409) throw describeEngineError(endpoint.name, `remove ${containerName(instanceId)}`, error);
    }
    this.locator.forget(instanceId);
    this.logger.info({ instanceId, endpoint: endpoint.name }, 'container removed');
    return true;
  }

  /** True when our container for the instance already exists there; a foreign one by that name is permanent trouble. */
  private async adoptExisting(endpoint: Endpoint, instanceId: string): Promise<boolean> {
    const existing = await this.locator.inspectByName(endpoint, instanceId);
    if (!existing) return false;
    if (!this.locator.isOurs(existing)) {
      throw new PermanentProviderError(
        `docker endpoint ${endpoint.name} already has a container named ${containerName(instanceId)} that this Gale installation did not create; Gale leaves it alone`,
      );
    }
    this.locator.remember(instanceId, endpoint, existing.Id);
    return true;
  }

  private async mustLocate(instanceId: string, operation: string) {
    const found = await this.locator.locate(instanceId);
    if (!found) throw new Error(`cannot ${operation} instance ${instanceId}: no container ${containerName(instanceId)} exists`);
    return found;
  }

  /** Runs one Engine API call; 304 (already in that state) counts as success. */
  private async call(endpoint: Endpoint, operation: string, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (!isNotModified(error)) throw describeEngineError(endpoint.name, operation, error);
    }
  }
}
