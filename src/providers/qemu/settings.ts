import { Type, type Static } from '@sinclair/typebox';

export const ACCELERATORS = ['auto', 'kvm', 'tcg'] as const;
export const NETWORK_MODES = ['auto', 'bridge', 'user'] as const;

/** `providers.qemu` in the config file. */
export const QemuSettingsSchema = Type.Object(
  {
    /** kvm, tcg (pure emulation), or auto: boot a tiny guest under KVM once at start-up and fall back to tcg if it hangs. */
    accel: Type.Union(ACCELERATORS.map((name) => Type.Literal(name))),
    /** Where VM images live, one directory each; empty: <dataDir>/qemu/images. */
    imagesDir: Type.String(),
    /**
     * The image booted for a template that names no VM image of its own (templates name Docker or GCE images);
     * empty: such a create fails permanently instead.
     */
    fallbackImage: Type.String(),
    /**
     * A machine type's memory is multiplied by this. GCE's figures (1 GiB for an e2-micro, 30 GiB for an n1-standard-8)
     * would let a laptop or a CI runner boot a handful of VMs at most, while the guests Gale boots need little: scaled
     * down, dozens fit. 1 gives guests what the machine type says.
     */
    memoryScale: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    /** The least memory a guest gets after scaling: the cloud kernel and its initramfs need about 100 MiB to boot. */
    minMemoryMb: Type.Integer({ minimum: 64 }),
    /** How long the KVM boot probe waits for the kernel's first line on the serial console. */
    kvmProbeTimeoutMs: Type.Integer({ minimum: 500 }),
    /** The QEMU programs, by name on the PATH or by path. */
    qemuBinary: Type.String({ minLength: 1 }),
    qemuImgBinary: Type.String({ minLength: 1 }),
    /** A VM that vanished outside Gale (its directory removed) is made anew when its instance should run. */
    recreateVanished: Type.Boolean(),
    /**
     * bridge: VMs on a Linux bridge Gale makes, with a tap each and addresses allocated in the store, so that they reach
     * each other and the host; user: QEMU's user-mode NAT, a private network per VM; auto: the bridge when Gale can make
     * it (root, /dev/net/tun, the ip command), else user mode, as the start-up log and /readyz say.
     */
    network: Type.Union(NETWORK_MODES.map((name) => Type.Literal(name))),
    /** The bridge's name, an interface name (at most 15 characters). */
    bridge: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$' }),
    /** The bridge's IPv4 subnet (CIDR): its first address is the bridge's, the VMs' gateway; the VMs get the rest. */
    subnet: Type.String({ pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$' }),
  },
  { additionalProperties: false },
);

export type QemuSettings = Static<typeof QemuSettingsSchema>;
export type Accelerator = 'kvm' | 'tcg';
export type NetworkMode = (typeof NETWORK_MODES)[number];

export const DEFAULT_VM_IMAGE = 'gale-busybox-vm';

export const QEMU_DEFAULTS: QemuSettings = {
  accel: 'auto',
  imagesDir: '',
  fallbackImage: DEFAULT_VM_IMAGE,
  memoryScale: 0.0625,
  minMemoryMb: 128,
  kvmProbeTimeoutMs: 5_000,
  qemuBinary: 'qemu-system-x86_64',
  qemuImgBinary: 'qemu-img',
  recreateVanished: false,
  network: 'auto',
  bridge: 'galebr0',
  // A range LANs and Docker rarely use; Gale refuses a subnet that overlaps a route the host has.
  subnet: '10.213.0.0/24',
};
