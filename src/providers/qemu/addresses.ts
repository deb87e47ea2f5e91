import { createHash } from 'node:crypto';

/**
 * With user-mode networking every VM has a private network of its own inside its QEMU process, reachable from nowhere
 * but the VM. So the network can be anything: it is derived from the instance id, inside GCE's internal range
 * (10.128.0.0/9), which gives each VM a distinct, predictable internal address that its DHCP lease confirms and that
 * a restarted Gale computes again without remembering it. On the bridge, where VMs share one network, addresses
 * must be unique across replicas instead, and are allocated in the store (vm-networking.ts).
 */
export interface VmNetwork {
  /** The /24 QEMU's user-mode stack serves. */
  net: string;
  /** Where the stack answers as the gateway. */
  host: string;
  dns: string;
  /** The one address its DHCP server hands out first: the VM's. */
  guest: string;
  mac: string;
}

export function vmNetwork(instanceId: string): VmNetwork {
  const d = createHash('sha256').update(`qemu-net:${instanceId}`).digest();
  const prefix = `10.${128 + (d[0]! % 128)}.${d[1]}`;
  // 52:54:00 is QEMU's own prefix; the rest is from the same digest, so the MAC is stable across boots too.
  const mac = ['52', '54', '00', ...[d[2]!, d[3]!, d[4]!].map((byte) => byte.toString(16).padStart(2, '0'))].join(':');
  return { net: `${prefix}.0/24`, host: `${prefix}.2`, dns: `${prefix}.3`, guest: `${prefix}.15`, mac };
}
