import type { MachineSpec } from '../../domain/provider.js';
import { vmNetwork } from './addresses.js';
import type { InstanceFiles, SavedNetwork } from './instance-files.js';
import type { Accelerator } from './settings.js';
import { macForAddress } from './subnet.js';
import type { VmImageFiles } from './vm-images.js';

export interface VmSizing {
  memoryScale: number;
  minMemoryMb: number;
}

/** The guest's memory in MiB: the machine type's, scaled (see the memoryScale setting), never under the floor. */
export function guestMemoryMb(memoryMb: number, sizing: VmSizing): number {
  return Math.max(sizing.minMemoryMb, Math.round(memoryMb * sizing.memoryScale));
}

/** QEMU splits option values on commas; a comma that belongs to a path is written twice. */
function escape(value: string): string {
  return value.replaceAll(',', ',,');
}

export interface VmArgsInput {
  spec: MachineSpec;
  label: string;
  files: InstanceFiles;
  image: VmImageFiles;
  accelerator: Accelerator;
  sizing: VmSizing;
  /** As saved at create; absent: user mode. */
  network?: SavedNetwork;
}

/**
 * The NIC and what the guest is told of its address. User mode: QEMU's stack serves the derived network and the guest
 * asks it by DHCP. Bridge: the tap Gale made (script=no: QEMU runs no ifup script, the tap is attached already), and the
 * allocated address on the kernel command line, which the guest's init applies (no DHCP server runs on the bridge).
 */
export function networkArgs(instanceId: string, network: SavedNetwork | undefined): { args: string[]; kernelArgs: string } {
  if (network?.kind === 'bridge') {
    return {
      args: ['-netdev', `tap,id=net0,ifname=${network.tap},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=net0,mac=${macForAddress(network.address)}`],
      kernelArgs: ` gale.ip=${network.address}/${network.prefixLength} gale.gw=${network.gateway}`,
    };
  }
  const user = vmNetwork(instanceId);
  return {
    args: [
      '-netdev', `user,id=net0,net=${user.net},host=${user.host},dns=${user.dns},dhcpstart=${user.guest},hostname=${instanceId}`,
      '-device', `virtio-net-pci,netdev=net0,mac=${user.mac}`,
    ],
    kernelArgs: '',
  };
}

/**
 * One VM's QEMU command line. -nodefaults: only the devices listed here (no VGA, no default NIC or floppy). The kernel
 * is booted directly, so there is no boot loader to wait for. No -no-reboot: a reboot inside the guest keeps it
 * running, as on GCE; a poweroff inside it ends QEMU, which is then seen as TERMINATED.
 */
export function qemuArgs({ spec, label, files, image, accelerator, sizing, network }: VmArgsInput): string[] {
  const nic = networkArgs(spec.instanceId, network);
  return [
    '-name', label,
    '-nodefaults',
    '-no-user-config',
    '-accel', accelerator,
    '-machine', 'pc',
    '-smp', String(Math.max(1, spec.vcpus)),
    '-m', String(guestMemoryMb(spec.memoryMb, sizing)),
    '-display', 'none',
    '-kernel', image.kernel,
    '-initrd', image.initramfs,
    '-append', `console=ttyS0 panic=10 gale.hostname=${spec.instanceId}${nic.kernelArgs}`,
    '-drive', `file=${escape(files.disk)},if=virtio,format=qcow2`,
    ...nic.args,
    // append=on: the console accumulates across boots, so offsets count from the machine's creation.
    '-chardev', `file,id=ser0,path=${escape(files.console)},append=on`,
    '-serial', 'chardev:ser0',
    '-qmp', `unix:${escape(files.qmp)},server=on,wait=off`,
    '-pidfile', files.pid,
  ];
}
