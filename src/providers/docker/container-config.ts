import type Dockerode from 'dockerode';
import type { MachineSpec } from '../../domain/provider.js';
import { LABELS, containerName } from './observe.js';

export interface ContainerConfigOptions {
  installationId: string;
  network: string | undefined;
  stopGraceMs: number;
  storageOpt: Record<string, string> | undefined;
}

/** The container that stands for one instance: its name, ownership labels, and the machine type as limits. */
export function containerConfig(spec: MachineSpec, options: ContainerConfigOptions): Dockerode.ContainerCreateOptions {
  const memory = Math.round(spec.memoryMb * 1024 * 1024);
  return {
    name: containerName(spec.instanceId),
    Image: spec.image,
    Hostname: spec.instanceId.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63),
    Labels: {
      [LABELS.instanceId]: spec.instanceId,
      [LABELS.owner]: spec.userId,
      [LABELS.installation]: options.installationId,
      [LABELS.zone]: spec.zone,
      [LABELS.template]: spec.templateId,
    },
    // A console that stays open, as a VM's does: images whose command is a shell (ubuntu's bash) would
    // otherwise exit at once for want of a stdin.
    Tty: true,
    OpenStdin: true,
    // So that a `docker stop` from outside is as patient as Gale's own stop.
    StopTimeout: Math.ceil(options.stopGraceMs / 1000),
    HostConfig: {
      NanoCpus: Math.round(spec.vcpus * 1e9),
      Memory: memory,
      // Equal to Memory: no swap on top, so the machine type's memory is the real ceiling.
      MemorySwap: memory,
      RestartPolicy: { Name: 'no' },
      ...(options.network !== undefined ? { NetworkMode: options.network } : {}),
      ...(options.storageOpt ? { StorageOpt: options.storageOpt } : {}),
    },
  };
}
