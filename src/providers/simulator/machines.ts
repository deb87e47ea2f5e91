import type { InstanceStatus } from '../../domain/instance.js';
import type { IdRange } from '../../domain/provider.js';
import type { ProviderState, StateEntry } from '../../domain/provider-state.js';

/**
 * A simulated machine, as kept in the simulator's state so that a restart, or another replica, finds it where it was.
 * A type, not an interface: it is a JSON value as it stands.
 */
export type SimulatedMachine = {
  instanceId: string;
  status: InstanceStatus;
  internalIp: string;
  externalIp: string;
  bootCount: number;
  startedAt: number | null;
  updatedAt: number;
};

/** A machine and the version it was read at: a write of it wins only if nobody wrote it since. */
export interface StoredMachine {
  machine: SimulatedMachine;
  version: number;
}

/**
 * The simulator's machines on its state port, one key each: machine/<installation id>/<instance id>. The installation
 * is in the key so that two installations sharing a database (as a test may make them) never see each other's
 * machines, as two sharing a Docker engine don't; the instance id last, so that the resync pages them by id.
 * Not tied to instance rows: orphans must survive for the provider to find.
 */
export class SimulatedMachines {
  private readonly prefix: string;

  constructor(
    private readonly state: ProviderState,
    installationId: string,
  ) {
    this.prefix = `machine/${installationId}/`;
  }

  async get(instanceId: string): Promise<StoredMachine | undefined> {
    const entry = await this.state.get(this.prefix + instanceId);
    return entry && stored(entry);
  }

  /**
   * Writes the machine if it is still at `version` (undefined: if it does not exist yet); the new version, or
   * undefined when another process wrote or removed it meanwhile.
   */
  async put(machine: SimulatedMachine, version: number | undefined): Promise<number | undefined> {
    const key = this.prefix + machine.instanceId;
    const written = version === undefined ? await this.state.insert(key, machine) : await this.state.put(key, machine, version);
    return written?.version;
  }

  /** Removes the machine if it is still at version; false when another process changed or removed it meanwhile. */
  delete(instanceId: string, version: number): Promise<boolean> {
    return this.state.delete(this.prefix + instanceId, version);
  }

  /** By instance id (byte order); only those in range when given. */
  async list(range?: IdRange): Promise<SimulatedMachine[]> {
    return (await this.state.list(this.prefix, range)).map((entry) => stored(entry).machine);
  }
}

/** Only the simulator writes its keys, always a whole SimulatedMachine (or migration 010, the same shape). */
function stored(entry: StateEntry): StoredMachine {
  return { machine: entry.value as SimulatedMachine, version: entry.version };
}
