import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../domain/clock.js';
import {
  DependencyCheckFailure,
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
import { KeyedLock } from '../keyed-lock.js';
import { boundConsole, readConsole } from './console-log.js';
import { instanceFiles, isInstanceDirName, MAX_SOCKET_PATH_BYTES, readIfExists, readSaved, writeSaved, type InstanceFiles, type SavedMachine } from './instance-files.js';
import { observeVm } from './observe.js';
import { clearRunFiles, forceOff, powerDownGracefully, qmpCommand, waitUntilRunning } from './power.js';
import { qemuArgs } from './qemu-args.js';
import { runCommand } from './run-command.js';
import type { Accelerator, QemuSettings } from './settings.js';
import { bootableVmImage, readImage, resolveVmImage, vmImageFiles } from './vm-images.js';
import type { VmNetworking } from './vm-networking.js';
import { livePid, spawnVm, vmLabel } from './vm-process.js';

export interface QemuProviderOptions {
  settings: QemuSettings;
  installationId: string;
  /** Gale's data directory; the provider keeps everything under <dataDir>/qemu. */
  dataDir: string;
  clock: Clock;
  logger: Logger;
  /** Chosen once, before the provider is made (chooseAccelerator). */
  accelerator: Accelerator;
  /** Decided once, before the provider is made (setUpNetworking): the bridge, or user mode. */
  networking: VmNetworking;
}

export interface QemuProvider extends Provider {
  readonly name: 'qemu';
  /** What the VMs run under: kvm, or tcg when KVM is missing or cannot boot a guest here. */
  readonly accelerator: Accelerator;
  readonly imagesDir: string;
  readonly instancesDir: string;
  /** How VMs run here (accelerator, network), as /readyz shows it. */
  describe(): string;
  suspend(instanceId: string): Promise<void>;
  resume(instanceId: string): Promise<void>;
  serialOutput(instanceId: string, start: number): Promise<SerialOutput>;
}

const BINARIES_RECHECK_MS = 60_000;

/** From spawning QEMU to its guest running: seconds even under emulation, but a loaded CI host is slow. */
const START_TIMEOUT_MS = 60_000;

/** The imagesDir setting, relative to the data directory; empty: <dataDir>/qemu/images. */
export function imagesDirFor(settings: Pick<QemuSettings, 'imagesDir'>, dataDir: string): string {
  return settings.imagesDir === '' ? resolve(dataDir, 'qemu', 'images') : resolve(dataDir, settings.imagesDir);
}

export class QemuProviderImpl implements QemuProvider {
  readonly name = 'qemu' as const;
  readonly capabilities: ProviderCapabilities;
  readonly accelerator: Accelerator;
  readonly imagesDir: string;
  readonly instancesDir: string;
  private readonly settings: QemuSettings;
  private readonly installationId: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly networking: VmNetworking;
  private readonly lock = new KeyedLock();
  private consoleHolesWork = true;
  /** When QEMU's binaries last answered: /readyz may be polled every second, and two processes per poll is waste. */
  private binariesCheckedAt = -Infinity;

  constructor(options: QemuProviderOptions) {
    if (options.installationId.trim() === '') throw new Error('qemu provider: installationId must not be empty');
    this.settings = options.settings;
    this.installationId = options.installationId;
    this.clock = options.clock;
    this.logger = options.logger;
    this.accelerator = options.accelerator;
    this.networking = options.networking;
    const dataDir = resolve(options.dataDir);
    this.imagesDir = imagesDirFor(options.settings, dataDir);
    this.instancesDir = resolve(dataDir, 'qemu', 'instances');
    // Suspend is QMP stop/cont: the guest's memory and devices stay in QEMU, nothing runs until cont.
    this.capabilities = { suspend: true, serialConsole: true, liveWatch: false, recreateVanished: options.settings.recreateVanished };
    if (!isAbsolute(this.instancesDir)) throw new Error('qemu provider: the instances directory must resolve to an absolute path');
  }

  async probe(): Promise<void> {
    if (this.clock.now() - this.binariesCheckedAt > BINARIES_RECHECK_MS) {
      for (const binary of [this.settings.qemuBinary, this.settings.qemuImgBinary]) {
        try {
          await runCommand(binary, ['--version'], { timeoutMs: 10_000 });
        } catch (error) {
          throw new DependencyCheckFailure(`QEMU is not usable (${binary}); run scripts/install-qemu.sh`, (error as Error).message);
        }
      }
      this.binariesCheckedAt = this.clock.now();
    }
    await this.networking.probe();
    const image = this.settings.fallbackImage;
    if (image !== '' && !(await readImage(this.imagesDir, image))) {
      throw new DependencyCheckFailure(`the VM image ${image} is missing; build it with: gale images build --vm`, `no complete image ${image} under ${this.imagesDir}`);
    }
  }

  describe(): string {
    const accelerated = this.accelerator === 'kvm' ? 'KVM' : 'TCG (software emulation: KVM is missing or cannot boot a guest here)';
    return `VMs run under ${accelerated}, with ${this.networking.describe()}`;
  }

  create(spec: MachineSpec): Promise<void> {
    return this.lock.run(spec.instanceId, async () => {
      const files = this.files(spec.instanceId);
      const owner = await readIfExists(files.installation);
      if (owner !== undefined && owner !== this.installationId) {
        throw new PermanentProviderError(`${files.dir} belongs to another Gale installation; Gale leaves it alone`);
      }
      if (await readSaved(files)) return;
      if (Buffer.byteLength(files.qmp) > MAX_SOCKET_PATH_BYTES) {
        throw new PermanentProviderError(`the QMP socket path ${files.qmp} is longer than a unix socket allows; choose a shorter dataDir`);
      }
      const image = await resolveVmImage(this.imagesDir, spec.image, this.settings.fallbackImage, this.logger);
      // Only Gale's user may read the console (it can hold secrets) or talk to the monitor.
      await mkdir(files.dir, { recursive: true, mode: 0o700 });
      // The label goes first, so that a create cut short leaves a directory list() shows and the resync reaps.
      await writeFile(files.installation, this.installationId);
      // After the label: an address allocated by a create cut short is released when the resync reaps its directory.
      const network = await this.networking.attach(spec.instanceId);
      const base = vmImageFiles(this.imagesDir, image).baseDisk;
      await runCommand(this.settings.qemuImgBinary, ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', files.disk, `${Math.max(1, spec.diskGb)}G`]);
      await writeSaved(files, { spec, image, network });
      this.logger.info({ instanceId: spec.instanceId, image, network: network.kind === 'bridge' ? network.address : 'user' }, 'VM created');
    });
  }

  start(instanceId: string): Promise<void> {
    return this.lock.run(instanceId, async () => {
      const { files, saved } = await this.mustHave(instanceId, 'start');
      const label = this.label(instanceId);
      const state = await observeVm(files, label);
      if (state.status === 'RUNNING') return;
      if (state.status === 'SUSPENDED') return void (await qmpCommand(files, 'cont'));
      if (state.status === 'STAGING') {
        // A QEMU coming up (started by another Gale process sharing the data directory): never a second copy.
        return waitUntilRunning(files, label, async () => (await livePid(files, label)) === undefined, START_TIMEOUT_MS);
      }
      if (state.pid !== undefined) await forceOff(files, label); // shutting down, or a guest that died inside a live QEMU
      await this.boot(files, saved, label);
    });
  }

  stop(instanceId: string, { graceMs }: { graceMs: number }): Promise<void> {
    return this.lock.run(instanceId, async () => {
      const files = this.files(instanceId);
      if (!(await this.isOurs(files))) return;
      const label = this.label(instanceId);
      const state = await observeVm(files, label);
      if (state.pid === undefined) return clearRunFiles(files);
      // A paused guest cannot see the power button.
      if (state.status === 'SUSPENDED') await qmpCommand(files, 'cont').catch(() => undefined);
      if (state.status === 'RUNNING' || state.status === 'SUSPENDED' || state.status === 'STOPPING') {
        if (await powerDownGracefully(files, label, graceMs)) return clearRunFiles(files);
        this.logger.warn({ instanceId, graceMs }, 'the guest did not power off within the grace period: forcing it off');
      }
      await forceOff(files, label);
    });
  }

  reset(instanceId: string): Promise<void> {
    return this.lock.run(instanceId, async () => {
      const { files } = await this.mustHave(instanceId, 'reset');
      const state = await observeVm(files, this.label(instanceId));
      if (state.status !== 'RUNNING' && state.status !== 'SUSPENDED') {
        throw new Error(`qemu: cannot reset instance ${instanceId}: its VM is ${state.status}, not running`);
      }
      await qmpCommand(files, 'system_reset');
      if (state.status === 'SUSPENDED') await qmpCommand(files, 'cont');
      await this.recordBoot(files);
    });
  }

  suspend(instanceId: string): Promise<void> {
    return this.lock.run(instanceId, async () => {
      const { files } = await this.mustHave(instanceId, 'suspend');
      const state = await observeVm(files, this.label(instanceId));
      if (state.status === 'SUSPENDED') return;
      if (state.status !== 'RUNNING') throw new Error(`qemu: cannot suspend instance ${instanceId}: its VM is ${state.status}, not running`);
      await qmpCommand(files, 'stop');
    });
  }

  resume(instanceId: string): Promise<void> {
    return this.lock.run(instanceId, async () => {
      const { files } = await this.mustHave(instanceId, 'resume');
      const state = await observeVm(files, this.label(instanceId));
      if (state.status === 'RUNNING') return;
      if (state.status !== 'SUSPENDED') throw new Error(`qemu: cannot resume instance ${instanceId}: its VM is ${state.status}, not suspended`);
      await qmpCommand(files, 'cont');
    });
  }

  delete(instanceId: string): Promise<void> {
    return this.lock.run(instanceId, async () => {
      const files = this.files(instanceId);
      if (await this.isOurs(files)) {
        // The tap before the process (a running QEMU lets go of it): once the VM is seen gone, so is its tap.
        await this.networking.removeTap((await readSaved(files).catch(() => undefined))?.network); // unreadable: no tap is guessed at
        await forceOff(files, this.label(instanceId));
        await rm(files.dir, { recursive: true, force: true });
        this.logger.info({ instanceId }, 'VM deleted');
      }
      // Even with no directory: a delete retried after its rm must still free the address.
      await this.networking.release(instanceId);
    });
  }

  async inspect(instanceId: string): Promise<Observation | null> {
    const files = this.files(instanceId);
    if (!(await this.isOurs(files))) return null;
    const state = await observeVm(files, this.label(instanceId));
    const saved = await readSaved(files).catch(() => undefined);
    const observation: Observation = { status: state.status, internalIp: this.networking.internalIp(instanceId, saved), externalIp: '' };
    if (state.pid !== undefined) {
      const bootedAt = Number((await readIfExists(files.bootedAt)) ?? NaN);
      if (Number.isFinite(bootedAt)) observation.startedAt = bootedAt;
      await this.boundConsole(files);
    }
    return observation;
  }

  async list(range?: IdRange): Promise<OwnedMachine[]> {
    let names: string[];
    try {
      names = await readdir(this.instancesDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const seen = await Promise.all(
      names
        .filter((name) => isInstanceDirName(name) && inIdRange(name, range))
        .map(async (instanceId) => {
          const observation = await this.inspect(instanceId);
          return observation && { instanceId, ...observation };
        }),
    );
    return seen.filter((machine): machine is OwnedMachine => machine !== null).sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1));
  }

  async serialOutput(instanceId: string, start: number): Promise<SerialOutput> {
    const files = this.files(instanceId);
    // As the other providers: a machine not made (or not ours) has printed nothing.
    if (!(await this.isOurs(files))) return { contents: '', start, next: start };
    await this.boundConsole(files);
    return readConsole(files.console, start);
  }

  async close(): Promise<void> {
    // Nothing to let go of: the VMs are left running, as they outlive Gale, and the next Gale finds them by their
    // directories. Work under way is not waited for: a graceful stop can take its whole grace period.
  }

  private async boot(files: InstanceFiles, saved: SavedMachine, label: string): Promise<void> {
    const image = await bootableVmImage(this.imagesDir, saved.image, saved.network);
    await this.networking.prepareBoot(saved.network);
    await clearRunFiles(files);
    await this.boundConsole(files);
    const args = qemuArgs({ spec: saved.spec, label, files, image, accelerator: this.accelerator, sizing: this.settings, network: saved.network });
    await this.recordBoot(files);
    const vm = await spawnVm(this.settings.qemuBinary, args, files);
    await waitUntilRunning(files, label, vm.exited, START_TIMEOUT_MS);
    this.logger.info({ instanceId: saved.spec.instanceId, pid: vm.pid, accelerator: this.accelerator }, 'VM started');
  }

  /** Kept strictly increasing, so that a reset straight after a start still shows a new boot. */
  private async recordBoot(files: InstanceFiles): Promise<void> {
    const previous = Number((await readIfExists(files.bootedAt)) ?? 0);
    await writeFile(files.bootedAt, String(Math.max(this.clock.now(), (Number.isFinite(previous) ? previous : 0) + 1)));
  }

  private async boundConsole(files: InstanceFiles): Promise<void> {
    if (!this.consoleHolesWork || (await boundConsole(files.console))) return;
    this.consoleHolesWork = false;
    this.logger.warn({ dir: this.instancesDir }, 'cannot punch holes in console logs here (fallocate); console files grow until their VM is deleted');
  }

  private async mustHave(instanceId: string, operation: string): Promise<{ files: InstanceFiles; saved: SavedMachine }> {
    const files = this.files(instanceId);
    const saved = (await this.isOurs(files)) ? await readSaved(files) : undefined;
    if (!saved) throw new Error(`qemu: cannot ${operation} instance ${instanceId}: it has no VM; create it first`);
    return { files, saved };
  }

  private async isOurs(files: InstanceFiles): Promise<boolean> {
    return (await readIfExists(files.installation)) === this.installationId;
  }

  private files(instanceId: string): InstanceFiles {
    if (!isInstanceDirName(instanceId)) throw new PermanentProviderError(`"${instanceId}" cannot name a VM directory`);
    return instanceFiles(this.instancesDir, instanceId);
  }

  private label(instanceId: string): string {
    return vmLabel(this.installationId, instanceId);
  }
}
