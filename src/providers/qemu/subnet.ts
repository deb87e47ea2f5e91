import { isIPv4 } from 'node:net';

/**
 * The IPv4 subnet of the bridge Gale manages. Its first usable address is the bridge's own (the VMs' gateway); the
 * VMs' addresses are the rest, lowest first. Only IPv4: the guests are configured from the kernel command line, and
 * GCE's internal addresses are IPv4 too.
 */
export interface Subnet {
  /** Canonical, e.g. 10.213.0.0/24: also the name addresses are allocated under in the store. */
  cidr: string;
  prefixLength: number;
  gateway: string;
  /** How many addresses VMs can have: all but the network's, the gateway's and the broadcast. */
  size: number;
  /** The VMs' addresses, lowest first. */
  hosts(): Generator<string>;
}

/** The smallest useful subnet holds the gateway and one VM (/30); anything wider than /8 is a mistake. */
const MIN_PREFIX = 8;
const MAX_PREFIX = 30;

export function parseSubnet(text: string): Subnet {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text.trim());
  if (!match || !isIPv4(match[1]!)) throw new Error(`"${text}" is not an IPv4 subnet in CIDR form, such as 10.213.0.0/24`);
  const prefixLength = Number(match[2]);
  if (prefixLength < MIN_PREFIX || prefixLength > MAX_PREFIX) {
    throw new Error(`the subnet ${text} must have a prefix length from /${MIN_PREFIX} to /${MAX_PREFIX}`);
  }
  const network = toNumber(match[1]!);
  const mask = prefixMask(prefixLength);
  if ((network & ~mask) >>> 0 !== 0) {
    throw new Error(`${text} has host bits set: its network address is ${fromNumber((network & mask) >>> 0)}/${prefixLength}`);
  }
  const count = 2 ** (32 - prefixLength);
  return {
    cidr: `${fromNumber(network)}/${prefixLength}`,
    prefixLength,
    gateway: fromNumber(network + 1),
    size: count - 3,
    *hosts() {
      for (let offset = 2; offset < count - 1; offset++) yield fromNumber(network + offset);
    },
  };
}

/** Whether two ranges (a.b.c.d/n, or a bare address) share an address. */
export function rangesOverlap(a: string, b: string): boolean {
  const [startA, endA] = span(a);
  const [startB, endB] = span(b);
  return startA <= endB && startB <= endA;
}

/**
 * A MAC made from the guest's address: 52:54 (locally administered, QEMU's) and the four octets. Addresses are unique
 * on the bridge, so the MACs are too, which a digest of the instance id could not promise.
 */
export function macForAddress(address: string): string {
  return ['52', '54', ...address.split('.').map((octet) => Number(octet).toString(16).padStart(2, '0'))].join(':');
}

function span(range: string): [number, number] {
  const [address, length] = range.split('/');
  const prefixLength = length === undefined ? 32 : Number(length);
  const start = (toNumber(address!) & prefixMask(prefixLength)) >>> 0;
  return [start, start + 2 ** (32 - prefixLength) - 1];
}

function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

function toNumber(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function fromNumber(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
