import type { Logger } from 'pino';
import { ConfigError } from '../../env-values.js';
import type { Clock } from '../../domain/clock.js';
import { GaleError } from '../../domain/errors.js';
import { DependencyCheckFailure, PermanentProviderError } from '../../domain/provider.js';
import type { AddressBook } from './address-book.js';
import { vmNetwork } from './addresses.js';
import { BridgeProblem, ipCommandHost, tapName, type BridgeHost } from './bridge-host.js';
import type { SavedMachine, SavedNetwork } from './instance-files.js';
import type { QemuSettings } from './settings.js';
import { parseSubnet, type Subnet } from './subnet.js';

export interface NetworkingOptions {
  settings: Pick<QemuSettings, 'network' | 'bridge' | 'subnet'>;
  installationId: string;
  /** Where bridge addresses are allocated; without one (a provider made outside Gale's server) there is no bridge. */
  addresses: AddressBook | undefined;
  clock: Clock;
  logger: Logger;
  /** The ip command by default; tests give one that fails as a host without root would. */
  host?: BridgeHost;
}

/** How often the readiness probe tries again a bridge that could not be set up (network: bridge). */
const BRIDGE_RETRY_MS = 60_000;

/**
 * What the new VMs' network is: the bridge, user mode (configured, or auto's fallback, with the reason), or nothing
 * (network: bridge, and the bridge cannot be had: readiness fails and creates are retried until it can).
 */
type NetworkState = { kind: 'bridge' } | { kind: 'user'; fallback?: BridgeProblem } | { kind: 'unusable'; problem: BridgeProblem };

/** Decides the network once, at provider creation, and logs the decision; the bridge is made then, idempotently. */
export async function setUpNetworking(options: NetworkingOptions): Promise<VmNetworking> {
  let subnet: Subnet;
  try {
    subnet = parseSubnet(options.settings.subnet);
  } catch (error) {
    throw new ConfigError(`providers.qemu.subnet: ${(error as Error).message}`);
  }
  const networking = new VmNetworking(options, subnet);
  await networking.setUp();
  return networking;
}

export class VmNetworking {
  private state: NetworkState = { kind: 'user' };
  private triedAt = -Infinity;
  private readonly host: BridgeHost;
  private readonly bridge: string;

  constructor(
    private readonly options: NetworkingOptions,
    readonly subnet: Subnet,
  ) {
    this.host = options.host ?? ipCommandHost;
    this.bridge = options.settings.bridge;
  }

  /** The network new VMs get. */
  get mode(): NetworkState['kind'] {
    return this.state.kind;
  }

  async setUp(): Promise<void> {
    const { settings, logger } = this.options;
    if (settings.network === 'user') {
      this.state = { kind: 'user' };
      logger.info({ network: 'user' }, 'VM network: user-mode (QEMU\'s NAT), as configured');
      return;
    }
    const problem = await this.tryBridge();
    if (problem === undefined) return;
    if (settings.network === 'auto') {
      this.state = { kind: 'user', fallback: problem };
      logger.info({ network: 'user', reason: problem.message, detail: problem.detail }, `VM network: user-mode (QEMU's NAT), not the bridge: ${problem.message}`);
    } else {
      this.state = { kind: 'unusable', problem };
      logger.error({ network: 'bridge', reason: problem.message, detail: problem.detail }, `VM network: the bridge ${this.bridge} cannot be set up: ${problem.message}`);
    }
  }

  /** For describe() and so /readyz: never an address. */
  describe(): string {
    switch (this.state.kind) {
      case 'bridge':
        return `bridged networking on ${this.bridge} (addresses allocated in the store)`;
      case 'user':
        return this.state.fallback ? `user-mode networking, not the bridge: ${this.state.fallback.message}` : 'user-mode networking';
      case 'unusable':
        return `no usable network: the bridge ${this.bridge} cannot be set up: ${this.state.problem.message}`;
    }
  }

  /** network: bridge fails readiness until the bridge can be had, trying again at most once a minute. */
  async probe(): Promise<void> {
    if (this.state.kind !== 'unusable') return;
    const problem = this.options.clock.now() - this.triedAt >= BRIDGE_RETRY_MS ? await this.tryBridge() : this.state.problem;
    if (problem === undefined) return;
    this.state = { kind: 'unusable', problem };
    throw new DependencyCheckFailure(`the VM bridge ${this.bridge} cannot be set up: ${problem.message}`, problem.detail);
  }

  /** At create: the network the new VM is made on; on the bridge, its address is allocated (the same one again on a retried create). */
  async attach(instanceId: string): Promise<SavedNetwork> {
    if (this.state.kind === 'user') return { kind: 'user' };
    if (this.state.kind === 'unusable') throw new Error(`cannot make a VM: the bridge ${this.bridge} cannot be set up: ${this.state.problem.message}`);
    const { installationId, addresses } = this.options;
    let address: string;
    try {
      address = await addresses!.allocate(this.subnet.cidr, instanceId, this.subnet.hosts());
    } catch (error) {
      if (!(error instanceof GaleError && error.code === 'conflict')) throw error;
      throw new PermanentProviderError(`every address of providers.qemu.subnet (${this.subnet.size}) is held by a VM; delete one, or choose a wider subnet`, { cause: error });
    }
    return { kind: 'bridge', bridge: this.bridge, tap: tapName(installationId, instanceId), address, prefixLength: this.subnet.prefixLength, gateway: this.subnet.gateway };
  }

  /** Before each boot: a VM on the bridge has its tap (made again after a host reboot took it). */
  async prepareBoot(network: SavedNetwork | undefined): Promise<void> {
    if (network?.kind === 'bridge') await this.host.ensureTap(network.tap, network.bridge);
  }

  /** At delete, once QEMU is gone: the tap named in the VM's directory, and only that one. */
  async removeTap(network: SavedNetwork | undefined): Promise<void> {
    if (network?.kind === 'bridge') await this.host.removeTap(network.tap);
  }

  /** At delete: whatever address the instance holds, even when its directory is gone (a delete retried after its rm). */
  async release(instanceId: string): Promise<void> {
    await this.options.addresses?.release(instanceId);
  }

  /**
   * The address a VM has: its allocated one on the bridge, the one derived from its id in user mode. A directory with no
   * saved machine (a create cut short) has none yet on the bridge.
   */
  internalIp(instanceId: string, saved: SavedMachine | undefined): string {
    if (saved?.network?.kind === 'bridge') return saved.network.address;
    if (saved === undefined && this.state.kind !== 'user') return '';
    return vmNetwork(instanceId).guest;
  }

  private async tryBridge(): Promise<BridgeProblem | undefined> {
    this.triedAt = this.options.clock.now();
    const { addresses, logger } = this.options;
    let problem: BridgeProblem | undefined;
    if (addresses === undefined) {
      problem = new BridgeProblem('no store to allocate VM addresses from', 'the qemu provider was made without a store');
    } else {
      try {
        await this.host.prepareBridge(this.bridge, this.subnet);
      } catch (error) {
        problem = error instanceof BridgeProblem ? error : new BridgeProblem(`cannot set up the bridge ${this.bridge}`, (error as Error).message);
      }
    }
    if (problem === undefined) {
      this.state = { kind: 'bridge' };
      logger.info({ network: 'bridge', bridge: this.bridge, subnet: this.subnet.cidr }, `VM network: the bridge ${this.bridge} (${this.subnet.cidr}), addresses allocated in the store`);
    }
    return problem;
  }
}
