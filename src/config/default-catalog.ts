import { TEMPLATE_EXAMPLE } from '../contracts/catalog.js';
import type { Catalog, MachineType, Region } from '../domain/catalog.js';

const region = (name: string): Region => ({ name, zones: ['a', 'b', 'c'].map((z) => `${name}-${z}`) });

/** GCE's published vCPU and memory figures for each machine type. */
const machineTypes: MachineType[] = [
  { name: 'e2-micro', vcpus: 2, memoryMb: 1024 },
  { name: 'e2-small', vcpus: 2, memoryMb: 2048 },
  { name: 'e2-medium', vcpus: 2, memoryMb: 4096 },
  { name: 'e2-standard-2', vcpus: 2, memoryMb: 8192 },
  { name: 'e2-standard-4', vcpus: 4, memoryMb: 16384 },
  { name: 'e2-standard-8', vcpus: 8, memoryMb: 32768 },
  { name: 'n1-standard-1', vcpus: 1, memoryMb: 3840 },
  { name: 'n1-standard-2', vcpus: 2, memoryMb: 7680 },
  { name: 'n1-standard-4', vcpus: 4, memoryMb: 15360 },
  { name: 'n1-standard-8', vcpus: 8, memoryMb: 30720 },
  { name: 'n1-standard-16', vcpus: 16, memoryMb: 61440 },
  { name: 'n2-standard-2', vcpus: 2, memoryMb: 8192 },
  { name: 'n2-standard-4', vcpus: 4, memoryMb: 16384 },
  { name: 'n2-standard-8', vcpus: 8, memoryMb: 32768 },
];

export const DEFAULT_CATALOG: Catalog = {
  regions: [region('us-central1'), region('us-east1'), region('europe-west1'), region('asia-east1')],
  machineTypes,
  templates: [
    // The spec's own example, as the API documents it.
    { ...TEMPLATE_EXAMPLE, providerImages: { docker: 'ubuntu:22.04' } },
    {
      id: 'debian-12-micro',
      name: 'Debian 12 Micro',
      description: 'Debian 12 on a shared-core e2-micro, for small services',
      machineType: 'e2-micro',
      diskSizeGb: 10,
      diskType: 'pd-standard',
      image: 'projects/debian-cloud/global/images/family/debian-12',
      region: 'europe-west1',
      providerImages: { docker: 'debian:12-slim' },
    },
    {
      id: 'busybox-micro',
      name: 'BusyBox Micro',
      description: 'A tiny BusyBox machine, built locally by `gale images build`; works with no registry',
      machineType: 'e2-micro',
      diskSizeGb: 10,
      diskType: 'pd-standard',
      image: 'gale/busybox-micro',
      region: 'us-central1',
      providerImages: { docker: 'gale/busybox-micro:latest', qemu: 'gale-busybox-vm' },
    },
    {
      id: 'ubuntu-22-large',
      name: 'Ubuntu 22 Large',
      description: 'Ubuntu 22.04 LTS on n1-standard-8 with a 200 GB SSD, for heavy workloads',
      machineType: 'n1-standard-8',
      diskSizeGb: 200,
      diskType: 'pd-ssd',
      image: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts',
      region: 'us-east1',
      providerImages: { docker: 'ubuntu:22.04' },
    },
  ],
};
