// The qemu provider's networks: the bridge Gale makes, with a tap per VM and addresses allocated in the store, and
// user mode as the fallback. The bridge and subnet are this run's own and removed at the end. VM addresses are only
// read (from the store, the guest's console, the host's links), never sent a packet.
// Run: node --import tsx --test test/providers/qemu-network.test.ts   (as root; scripts/install-qemu.sh installs QEMU)
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { systemClock } from '../../src/domain/clock.js';
import { DependencyCheckFailure, type MachineSpec } from '../../src/domain/provider.js';
import type { Store } from '../../src/domain/store.js';
import { stateAddressBook, type AddressBook } from '../../src/providers/qemu/address-book.js';
import { BridgeProblem, ipCommandHost, tapName, type BridgeHost } from '../../src/providers/qemu/bridge-host.js';
import {
  ADDRESS_LINE,
  BOOT_BANNER,
  buildVmBaseImage,
  createQemuProvider,
  instanceFiles,
  QEMU_DEFAULTS,
  qemuProvider,
  vmNetwork,
  type QemuProvider,
  type QemuSettings,
} from '../../src/providers/qemu/index.js';
import { networkArgs } from '../../src/providers/qemu/qemu-args.js';
import { macForAddress, parseSubnet, rangesOverlap } from '../../src/providers/qemu/subnet.js';
import { setUpNetworking, type NetworkingOptions } from '../../src/providers/qemu/vm-networking.js';
import { openSqliteStore } from '../../src/store/index.js';
import { addresses, bridgeProblem, hostRoutes, link, removeLink, uniqueBridge } from '../helpers/qemu-bridge.js';
import { providerProblem, skipOrFail } from '../helpers/matrix.js';
import { commandLine, waitFor } from '../helpers/qemu-vms.js';
import { instanceSpec } from '../../src/domain/instance-spec.js';

const run = randomUUID().slice(0, 8);
const logs: Array<{ level: number; msg: string; reason?: string }> = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
const silent = pino({ level: 'silent' });
let seq = 0;
const newId = (): string => `tn-${run.slice(0, 6)}-${(++seq).toString(16).padStart(8, '0')}`;
const spec = (instanceId: string): MachineSpec => ({
  instanceId,
  userId: 'u-test',
  zone: 'us-central1-a',
  templateId: 'busybox-micro',
  image: 'gale/busybox-micro:latest',
  machineType: 'e2-micro',
  vcpus: 1,
  memoryMb: 1024,
  diskGb: 1,
  spec: instanceSpec(),
});

/** An address book in memory, for the decisions that need no database. */
function memoryAddresses(): AddressBook {
  const held = new Map<string, string>();
  return {
    async allocate(_network, instanceId, candidates) {
      const mine = held.get(instanceId);
      if (mine) return mine;
      for (const address of candidates) {
        if (![...held.values()].includes(address)) {
          held.set(instanceId, address);
          return address;
        }
      }
      throw new Error('full');
    },
    async release(instanceId) {
      held.delete(instanceId);
    },
  };
}

/** A host where nothing may be made, as for a Gale that is not root. */
const deniedHost: BridgeHost = {
  prepareBridge: async (bridge) => {
    throw new BridgeProblem(`cannot make the bridge ${bridge}: Gale is not root (bridges and taps need CAP_NET_ADMIN)`, 'RTNETLINK answers: Operation not permitted');
  },
  ensureTap: async () => assert.fail('no tap may be made'),
  removeTap: async () => assert.fail('no tap may be removed'),
};

const networking = (overrides: Partial<NetworkingOptions> & { network: QemuSettings['network'] }) =>
  setUpNetworking({
    settings: { network: overrides.network, bridge: 'galebr-test', subnet: '10.213.0.0/24' },
    installationId: 'inst',
    addresses: memoryAddresses(),
    clock: systemClock,
    logger,
    ...overrides,
  });

describe('qemu networks: parts that need no VM', () => {
  test('subnets: the gateway first, then the VMs; what is refused says why', () => {
    const subnet = parseSubnet('10.213.0.0/24');
    assert.equal(subnet.gateway, '10.213.0.1');
    assert.equal(subnet.size, 253);
    const hosts = [...subnet.hosts()];
    assert.equal(hosts.length, 253);
    assert.deepEqual([hosts[0], hosts.at(-1)], ['10.213.0.2', '10.213.0.254']);
    assert.deepEqual([...parseSubnet('192.168.7.4/30').hosts()], ['192.168.7.6']);
    assert.throws(() => parseSubnet('10.213.0.5/24'), /host bits set: its network address is 10\.213\.0\.0\/24/);
    assert.throws(() => parseSubnet('10.213.0.0/31'), /prefix length from \/8 to \/30/);
    assert.throws(() => parseSubnet('10.213.0/24'), /not an IPv4 subnet/);
    assert.equal(rangesOverlap('10.0.0.0/8', '10.213.0.0/24'), true);
    assert.equal(rangesOverlap('10.213.1.0/24', '10.213.0.0/24'), false);
    assert.equal(rangesOverlap('10.213.0.9', '10.213.0.0/24'), true);
    assert.equal(macForAddress('10.213.0.7'), '52:54:0a:d5:00:07');
  });

  test('taps are named within IFNAMSIZ, the same again for one VM, apart for two installations', () => {
    const name = tapName('inst-a', 'tw-aaaaaa-00000001');
    assert.match(name, /^gale[0-9a-f]{11}$/);
    assert.equal(tapName('inst-a', 'tw-aaaaaa-00000001'), name);
    assert.notEqual(tapName('inst-b', 'tw-aaaaaa-00000001'), name);
    assert.notEqual(tapName('inst-a', 'tw-aaaaaa-00000002'), name);
  });

  test('QEMU arguments: a tap and the address on the kernel command line on the bridge; DHCP in user mode', () => {
    const bridged = networkArgs('i-1', { kind: 'bridge', bridge: 'galebr0', tap: 'gale0123456789a', address: '10.213.0.7', prefixLength: 24, gateway: '10.213.0.1' });
    assert.deepEqual(bridged.args, ['-netdev', 'tap,id=net0,ifname=gale0123456789a,script=no,downscript=no', '-device', 'virtio-net-pci,netdev=net0,mac=52:54:0a:d5:00:07']);
    assert.equal(bridged.kernelArgs, ' gale.ip=10.213.0.7/24 gale.gw=10.213.0.1');
    const user = networkArgs('i-1', undefined);
    assert.match(user.args[1]!, new RegExp(`^user,id=net0,.*dhcpstart=${vmNetwork('i-1').guest.replaceAll('.', '\\.')},`));
    assert.equal(user.kernelArgs, '');
  });

  test('the descriptor: network settings have defaults, and GALE_QEMU_NETWORK is checked', () => {
    assert.deepEqual([qemuProvider.defaults.network, qemuProvider.defaults.bridge, qemuProvider.defaults.subnet], ['auto', 'galebr0', '10.213.0.0/24']);
    assert.deepEqual(qemuProvider.fromEnv?.({ GALE_QEMU_NETWORK: 'user' }), { network: 'user' });
    assert.throws(() => qemuProvider.fromEnv?.({ GALE_QEMU_NETWORK: 'tap' }), /GALE_QEMU_NETWORK must be one of auto, bridge, user/);
  });

  test('auto falls back to user mode when the bridge cannot be made, and says so in the log and in describe()', async () => {
    logs.length = 0;
    const chosen = await networking({ network: 'auto', host: deniedHost });
    assert.equal(chosen.mode, 'user');
    assert.match(chosen.describe(), /^user-mode networking, not the bridge: cannot make the bridge galebr-test: Gale is not root/);
    assert.ok(logs.some((l) => l.msg.startsWith('VM network: user-mode') && /not root/.test(l.reason ?? '')));
    assert.deepEqual(await chosen.attach('i-1'), { kind: 'user' });
    assert.equal(chosen.internalIp('i-1', undefined), vmNetwork('i-1').guest);
    await chosen.probe();

    // The provider says it too (describe() is what /readyz shows), and its probe does not fail for it.
    const dataDir = await mkdtemp(join(tmpdir(), 'gale-qemu-net-'));
    const scratch = await openSqliteStore({ filename: ':memory:' });
    try {
      const provider = await createQemuProvider(
        { ...QEMU_DEFAULTS, accel: 'tcg', fallbackImage: '', network: 'auto' },
        { installationId: 'inst', dataDir, clock: systemClock, logger: silent, state: scratch.providerState('qemu'), bridgeHost: deniedHost },
      );
      assert.match(provider.describe(), /with user-mode networking, not the bridge: .*Gale is not root/);
    } finally {
      await scratch.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('auto takes the bridge when it can be made: addresses from the store, a tap named for the installation', async () => {
    const made: string[] = [];
    const host: BridgeHost = { prepareBridge: async (bridge, subnet) => void made.push(`${bridge} ${subnet.gateway}`), ensureTap: async () => {}, removeTap: async () => {} };
    const chosen = await networking({ network: 'auto', host });
    assert.deepEqual(made, ['galebr-test 10.213.0.1']);
    assert.equal(chosen.mode, 'bridge');
    assert.equal(chosen.describe(), 'bridged networking on galebr-test (addresses allocated in the store)');
    const attached = await chosen.attach('i-1');
    assert.deepEqual(attached, { kind: 'bridge', bridge: 'galebr-test', tap: tapName('inst', 'i-1'), address: '10.213.0.2', prefixLength: 24, gateway: '10.213.0.1' });
    assert.deepEqual(await chosen.attach('i-1'), attached, 'a retried create keeps its address');
    assert.deepEqual(await chosen.attach('i-2'), { ...attached, tap: tapName('inst', 'i-2'), address: '10.213.0.3' });
  });

  test('auto without a store, and user as configured, never touch the host', async () => {
    assert.equal((await networking({ network: 'auto', host: deniedHost, addresses: undefined })).describe(), 'user-mode networking, not the bridge: no store to allocate VM addresses from');
    assert.equal((await networking({ network: 'user', host: deniedHost })).describe(), 'user-mode networking');
  });

  test('bridge that cannot be made fails readiness with the reason, and creates wait for it', async () => {
    const chosen = await networking({ network: 'bridge', host: deniedHost });
    assert.equal(chosen.mode, 'unusable');
    assert.match(chosen.describe(), /^no usable network: the bridge galebr-test cannot be set up: .*not root/);
    await assert.rejects(chosen.probe(), (error: unknown) => {
      assert.ok(error instanceof DependencyCheckFailure);
      assert.match(error.message, /^the VM bridge galebr-test cannot be set up: cannot make the bridge galebr-test: Gale is not root/);
      assert.match(error.detail, /Operation not permitted/);
      return true;
    });
    await assert.rejects(chosen.attach('i-1'), /cannot make a VM: the bridge galebr-test cannot be set up/);
    assert.equal(chosen.internalIp('i-1', undefined), '');
  });

  test('bridge: readiness tries again once a minute, and the bridge is used once it can be made', async () => {
    let now = 0;
    let denied = true;
    const host: BridgeHost = { ...deniedHost, prepareBridge: (bridge, subnet) => (denied ? deniedHost.prepareBridge(bridge, subnet) : Promise.resolve()) };
    const chosen = await networking({ network: 'bridge', host, clock: { now: () => now } });
    denied = false;
    now = 59_000;
    await assert.rejects(chosen.probe(), DependencyCheckFailure, 'not tried again within the minute');
    now = 60_000;
    await chosen.probe();
    assert.equal(chosen.mode, 'bridge');
    assert.equal((await chosen.attach('i-1')).kind, 'bridge');
  });

  test('the real host: a name taken by a link that is no bridge, or a subnet the host routes, is refused and nothing is made', { skip: bridgeProblem() }, async () => {
    const notBridge = await networking({ network: 'auto', host: ipCommandHost, settings: { network: 'auto', bridge: 'lo', subnet: uniqueBridge().subnet } });
    assert.equal(notBridge.mode, 'user');
    assert.match(notBridge.describe(), /lo exists on this host and is not a bridge/);
    // A route the host has (its LAN, docker0), given as the subnet: the kernel's routes are network addresses already.
    const routed = hostRoutes().find((route) => /\/([89]|[12]\d|30)$/.test(route.dst));
    if (routed === undefined) return;
    const { bridge } = uniqueBridge();
    const overlapping = await networking({ network: 'bridge', host: ipCommandHost, settings: { network: 'bridge', bridge, subnet: routed.dst } });
    assert.equal(overlapping.mode, 'unusable');
    assert.match(overlapping.describe(), /overlaps a network this host already routes/);
    assert.equal(link(bridge), undefined, 'no bridge was made');
  });
});

const vmProblem = skipOrFail('QEMU, root, /dev/net/tun and ip', (await providerProblem('qemu')) ?? bridgeProblem());

describe('qemu VMs on a bridge Gale makes', { skip: vmProblem, timeout: 600_000 }, () => {
  const { bridge, subnet } = uniqueBridge();
  const cidr = parseSubnet(subnet);
  const installationId = `test-net-${run}`;
  let dataDir: string;
  let imagesDir: string;
  let store: Store;
  let otherStore: Store;
  const providers: QemuProvider[] = [];
  const make = async (installation = installationId, on = (): Store => store): Promise<QemuProvider> => {
    const made = await createQemuProvider(
      { ...QEMU_DEFAULTS, accel: 'tcg', imagesDir, network: 'bridge', bridge, subnet },
      { installationId: installation, dataDir, clock: systemClock, logger, state: on().providerState('qemu') },
    );
    providers.push(made);
    return made;
  };
  let provider: QemuProvider;
  const consoleOf = async (id: string): Promise<string> => (await provider.serialOutput(id, 0)).contents;
  /** Whether the store holds an address for the instance: an allocation for it elsewhere answers with that address. */
  const heldBy = async (id: string): Promise<string | undefined> => {
    const probe = await stateAddressBook(store.providerState('qemu')).allocate(cidr.cidr, id, []).catch(() => undefined);
    return probe;
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gale-qemu-net-'));
    imagesDir = join(dataDir, 'images');
    store = await openSqliteStore({ dataDir: join(dataDir, 'db') });
    otherStore = await openSqliteStore({ dataDir: join(dataDir, 'other-db') });
    await buildVmBaseImage({ outputDir: imagesDir });
    provider = await make();
  });

  after(async () => {
    for (const each of providers) {
      for (const machine of await each.list().catch(() => [])) await each.delete(machine.instanceId).catch(() => undefined);
      await each.close();
    }
    removeLink(bridge);
    await store?.close();
    await otherStore?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('the bridge is made with the gateway address, up; a second provider finds it as it is', async () => {
    assert.equal(link(bridge)?.linkinfo?.info_kind, 'bridge');
    assert.deepEqual(addresses(bridge), [`${cidr.gateway}/24`]);
    assert.match(provider.describe(), new RegExp(`with bridged networking on ${bridge}`));
    await provider.probe();
    await make();
    assert.deepEqual(addresses(bridge), [`${cidr.gateway}/24`]);
  });

  const id = newId();
  const second = newId();
  const hosts = [...cidr.hosts()];
  test('create allocates the lowest free address in the store and reports it; again is the same', async () => {
    await provider.create(spec(id));
    await provider.create(spec(second));
    assert.deepEqual(await provider.inspect(id), { status: 'TERMINATED', internalIp: hosts[0], externalIp: '' });
    assert.equal((await provider.inspect(second))?.internalIp, hosts[1]);
    await provider.create(spec(id));
    assert.equal((await provider.inspect(id))?.internalIp, hosts[0]);
    assert.equal(await heldBy(id), hosts[0]);
    assert.equal(link(tapName(installationId, id)), undefined, 'no tap before the first boot');
  });

  test('start: a tap on the bridge, QEMU on it, and the guest prints its store-allocated address', async () => {
    await provider.start(id);
    assert.equal((await provider.inspect(id))?.status, 'RUNNING');
    const tap = tapName(installationId, id);
    const saved = JSON.parse(await readFile(instanceFiles(provider.instancesDir, id).spec, 'utf8')) as { network: { tap: string } };
    assert.equal(saved.network.tap, tap, 'the tap is named in the instance directory');
    assert.equal(link(tap)?.master, bridge);
    const pid = Number((await readFile(instanceFiles(provider.instancesDir, id).pid, 'utf8')).trim());
    const args = commandLine(pid) ?? [];
    assert.equal(args[args.indexOf('-netdev') + 1], `tap,id=net0,ifname=${tap},script=no,downscript=no`);
    assert.match(args[args.indexOf('-append') + 1]!, new RegExp(` gale\\.ip=${hosts[0]!.replaceAll('.', '\\.')}/24 gale\\.gw=${cidr.gateway.replaceAll('.', '\\.')}$`));
    await waitFor('the boot banner', async () => (await consoleOf(id)).includes(`${BOOT_BANNER} ${id}`));
    const printed = await consoleOf(id);
    assert.match(printed, new RegExp(`${ADDRESS_LINE} ${hosts[0]!.replaceAll('.', '\\.')}\r?\n`), `the guest configured the allocated address:\n${printed.slice(-1500)}`);
  });

  test('a stopped VM keeps its tap and address, and boots on them again', async () => {
    const tap = tapName(installationId, id);
    await provider.stop(id, { graceMs: 0 });
    assert.equal((await provider.inspect(id))?.status, 'TERMINATED');
    assert.equal(link(tap)?.master, bridge, 'the tap outlives the boot');
    await provider.start(id);
    const line = `${ADDRESS_LINE} ${hosts[0]}`;
    await waitFor('the address printed by the second boot', async () => (await consoleOf(id)).split(line).length - 1 === 2);
    assert.equal((await provider.inspect(id))?.internalIp, hosts[0]);
  });

  test('another installation on the same bridge: its tap and VM are never touched', async () => {
    const other = await make(`other-${run}`, () => otherStore);
    const theirs = newId();
    await other.create(spec(theirs));
    await other.start(theirs);
    const theirTap = tapName(`other-${run}`, theirs);
    assert.equal(link(theirTap)?.master, bridge);
    await provider.delete(theirs);
    assert.equal((await other.inspect(theirs))?.status, 'RUNNING');
    assert.ok(link(theirTap), 'their tap is still there');
    await other.delete(theirs);
    assert.equal(link(theirTap), undefined);
  });

  test('delete: no process, no tap, the address released; again is a no-op', async () => {
    const tap = tapName(installationId, id);
    await provider.delete(id);
    assert.equal(link(tap), undefined, 'the tap is gone');
    assert.equal(existsSync(instanceFiles(provider.instancesDir, id).dir), false);
    assert.equal(await heldBy(id), undefined, 'the address is released');
    await provider.delete(id);
    // The released address is the lowest free one again.
    const next = newId();
    await provider.create(spec(next));
    assert.equal((await provider.inspect(next))?.internalIp, hosts[0]);
    await provider.delete(next);
    await provider.delete(second);
    assert.equal(await heldBy(second), undefined);
  });

  test('an orphan of this installation (a VM no instance owns) is listed, and reaping it takes its tap and address', async () => {
    const orphan = newId();
    await provider.create(spec(orphan));
    await provider.start(orphan);
    const tap = tapName(installationId, orphan);
    assert.ok(link(tap));
    // What the resync does with a machine list() shows and no instance owns.
    assert.ok((await provider.list()).some((machine) => machine.instanceId === orphan));
    await provider.delete(orphan);
    assert.equal(link(tap), undefined);
    assert.equal(await heldBy(orphan), undefined);
  });
});
