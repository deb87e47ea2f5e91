import type { InstanceRecord, InstanceStatus } from './instance.js';

/**
 * The fields of the record a provider is given. A new field for providers goes into the spec (domain/instance-spec.ts),
 * which travels whole, not here.
 */
export const MACHINE_SPEC_FIELDS = ['userId', 'zone', 'templateId', 'machineType', 'vcpus', 'memoryMb', 'diskGb', 'spec'] as const;

/** Everything a provider needs to make one instance's machine: the record's fields above, its id and its image. */
export type MachineSpec = Pick<InstanceRecord, (typeof MACHINE_SPEC_FIELDS)[number]> & {
  instanceId: InstanceRecord['id'];
  /** Provider-specific image from the catalog (template.providerImages[provider]), or the template's image. */
  image: string;
};

/** What a provider sees of one machine right now. Status is always built from this, never remembered. */
export interface Observation {
  status: InstanceStatus;
  internalIp: string;
  externalIp: string;
  /** When the machine last booted (epoch ms), if the provider knows: a reset changes it. */
  startedAt?: number;
}

export interface OwnedMachine extends Observation {
  instanceId: string;
}

/**
 * Instance ids in (after, through], in byte order (the store orders ids so too); an absent end is open. The resync
 * walks every instance in such pages, so that no step holds the event loop for long however many there are.
 */
export interface IdRange {
  after?: string;
  through?: string;
}

export function inIdRange(id: string, range: IdRange | undefined): boolean {
  if (!range) return true;
  return (range.after === undefined || id > range.after) && (range.through === undefined || id <= range.through);
}

/**
 * Raised by a provider for a failure that retrying cannot mend (an image that cannot be had,
 * a machine type the host cannot fit). The reconciler reports the instance TERMINATED instead of retrying.
 */
export class PermanentProviderError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentProviderError';
  }
}

/**
 * A readiness check that failed. Its message is for /readyz, which anyone may read, and never names an address or a
 * credential; `detail` is for the operator's log and may.
 */
export class DependencyCheckFailure extends Error {
  constructor(
    message: string,
    readonly detail: string,
  ) {
    super(message);
    this.name = 'DependencyCheckFailure';
  }
}

export interface ProviderCapabilities {
  /** suspend and resume are implemented: a running machine can be paused with its memory, and brought back. */
  suspend: boolean;
  /** serialOutput is implemented: the machine's console output can be read (GET .../serialPortOutput). */
  serialConsole: boolean;
  /** watch is implemented: outside changes are pushed as they happen, not only found by the resync. */
  liveWatch: boolean;
  /**
   * A live instance whose machine vanished outside Gale (say, a container removed by hand) is made anew by the resync.
   * A policy the operator sets for backends where machines are cattle; providers that cannot lose a machine say false.
   */
  recreateVanished: boolean;
}

/**
 * A piece of a machine's serial console output, as GCE's getSerialPortOutput gives it: bytes [start, next) of
 * everything the console printed since the machine was made. start is later than asked when the older output is no
 * longer kept (consoles are bounded rings); next is where the following read starts.
 */
export interface SerialOutput {
  contents: string;
  start: number;
  next: number;
}

/**
 * The time a guest gets to shut down after the power-off request (Provider.stop's graceMs) before it is forced off,
 * unless reconciler.stopGraceMs says otherwise. The one default of the config, the reconciler and the Docker provider.
 */
export const DEFAULT_STOP_GRACE_MS = 60_000;

/**
 * The one small interface every backend implements. Every method is idempotent and keyed by instance id,
 * so that a reconciler that crashed half-way can simply call it again.
 */
export interface Provider {
  readonly name: string;
  /** What the backend can do beyond the basics; the API refuses what it cannot before accepting it. */
  readonly capabilities: ProviderCapabilities;
  /** Throws with a message saying what is wrong when the backend cannot be used now (for readiness). */
  probe(): Promise<void>;
  /** What /readyz says of a backend that can be used, when there is something to say (how VMs are accelerated). */
  describe?(): string;
  /**
   * Makes the machine without starting it. A machine that already exists is left as it is. May resolve with the
   * machine as it made it, when it knows without asking (a machine it has just made, not started): the caller then
   * need not look; when it resolves with nothing, the caller looks (inspect).
   */
  create(spec: MachineSpec): Promise<Observation | void>;
  /** Boots it and resolves when it runs. */
  start(instanceId: string): Promise<void>;
  /** Graceful shutdown, forced after graceMs; resolves when it is down. */
  stop(instanceId: string, options: { graceMs: number }): Promise<void>;
  /** Hard reset: no graceful shutdown, the machine boots again at once. */
  reset(instanceId: string): Promise<void>;
  /** With capabilities.suspend: keeps memory and device state and stops the machine running; resolves when SUSPENDED. */
  suspend?(instanceId: string): Promise<void>;
  /** With capabilities.suspend: brings a SUSPENDED machine back, the same boot; resolves when it runs. */
  resume?(instanceId: string): Promise<void>;
  /** Removes the machine and everything it owns. A missing machine is not an error. */
  delete(instanceId: string): Promise<void>;
  /** null when the provider holds no machine for the instance. */
  inspect(instanceId: string): Promise<Observation | null>;
  /** Every machine this installation owns on the provider, found by its labels, including orphans; only those in range when given. */
  list(range?: IdRange): Promise<OwnedMachine[]>;
  /** With capabilities.serialConsole: the console output from byte offset start (see SerialOutput). */
  serialOutput?(instanceId: string, start: number): Promise<SerialOutput>;
  /** Optional push notification of outside changes (Docker's event stream); returns an unsubscribe function. */
  watch?(onChange: (instanceId: string) => void): () => void;
  close(): Promise<void>;
}
