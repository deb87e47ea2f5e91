import type { Logger } from 'pino';
import type { Endpoint } from './endpoints.js';

/**
 * Whether an engine can cap a container's writable layer (HostConfig.StorageOpt.size).
 *
 * Docker enforces `size` only with: overlay2 on an xfs backing filesystem mounted with `pquota`
 * (project quotas), btrfs (with quotas), zfs, devicemapper, and windowsfilter. overlay2 on ext4 — the
 * common case, and this project's CI — rejects the option outright, so the disk size is then recorded but
 * not enforced, and we say so once per endpoint. The engine's info shows the driver and backing filesystem
 * but not the mount options, so overlay2-on-xfs is tried and dropped if the engine refuses it.
 */
export class DiskLimits {
  private readonly support = new Map<string, Promise<boolean>>();
  private readonly refused = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /** The StorageOpt to ask for, or undefined when the endpoint cannot enforce one. */
  async storageOpt(endpoint: Endpoint, diskGb: number): Promise<Record<string, string> | undefined> {
    if (!(diskGb > 0) || this.refused.has(endpoint.name)) return undefined;
    let detection = this.support.get(endpoint.name);
    if (!detection) {
      detection = this.detect(endpoint);
      this.support.set(endpoint.name, detection);
      // An unreachable engine must not fix the answer for good: forget it so the next create asks again.
      detection.catch(() => this.support.delete(endpoint.name));
    }
    return (await detection) ? { size: `${diskGb}G` } : undefined;
  }

  /** True when a create failed because of the size option, so the caller can retry without it. */
  isRefusal(error: unknown): boolean {
    const message = error instanceof Error ? error.message : String(error);
    return /storage-?opt|storage opt|pquota|quota/i.test(message);
  }

  /** The engine refused the option (e.g. xfs without pquota): stop asking, and say so once. */
  markRefused(endpoint: Endpoint, reason: string): void {
    if (this.refused.has(endpoint.name)) return;
    this.refused.add(endpoint.name);
    this.logger.warn({ endpoint: endpoint.name, reason }, 'docker engine refused a disk size limit: disk size will not be enforced');
  }

  private async detect(endpoint: Endpoint): Promise<boolean> {
    const info = (await endpoint.docker.info()) as { Driver?: string; DriverStatus?: [string, string][] };
    const driver = info.Driver ?? 'unknown';
    const backing = info.DriverStatus?.find(([key]) => key === 'Backing Filesystem')?.[1] ?? 'unknown';
    const supported =
      ['btrfs', 'zfs', 'devicemapper', 'windowsfilter'].includes(driver) ||
      (driver === 'overlay2' && backing === 'xfs');
    if (!supported) {
      this.refused.add(endpoint.name);
      this.logger.warn(
        { endpoint: endpoint.name, driver, backingFilesystem: backing },
        'docker storage driver cannot limit container disk size (needs overlay2 on xfs with pquota, btrfs, zfs or devicemapper): disk size will not be enforced',
      );
    }
    return supported;
  }
}
