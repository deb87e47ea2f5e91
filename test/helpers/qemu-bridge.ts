// What the bridged-network tests of the qemu provider need: whether this host lets Gale make bridges and taps, a bridge
// and subnet of their own per run (so that runs side by side never share one), and looks at the host's links.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import { rangesOverlap } from '../../src/providers/qemu/subnet.js';

/** Why bridges and taps cannot be made here, or undefined when they can. The caller fails instead of skipping when CI=true. */
export function bridgeProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: bridges and taps need CAP_NET_ADMIN';
  if (spawnSync('sh', ['-c', 'command -v ip']).status !== 0) return 'the ip command (iproute2) is missing';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/net/tun is missing';
  }
  return undefined;
}

/** The IPv4 routes this host has (dst and dev), as `ip -j route` gives them. */
export function hostRoutes(): Array<{ dst: string; dev?: string }> {
  const out = spawnSync('ip', ['-j', '-4', 'route', 'show'], { encoding: 'utf8' });
  return out.status === 0 ? (JSON.parse(out.stdout) as Array<{ dst: string; dev?: string }>) : [];
}

/** A bridge name and a /24 for one test run: random, and overlapping no route the host has. */
export function uniqueBridge(): { bridge: string; subnet: string } {
  const routes = hostRoutes().filter((route) => route.dst !== 'default');
  for (;;) {
    const subnet = `10.${randomInt(214, 250)}.${randomInt(0, 256)}.0/24`;
    if (!routes.some((route) => rangesOverlap(route.dst, subnet))) return { bridge: `gbt${randomBytes(4).toString('hex')}`, subnet };
  }
}

/** The link by that name, as `ip -j -d link` shows it, or undefined when there is none. */
export function link(name: string): { ifname: string; master?: string; linkinfo?: { info_kind?: string } } | undefined {
  const out = spawnSync('ip', ['-j', '-d', 'link', 'show', 'dev', name], { encoding: 'utf8' });
  if (out.status !== 0) return undefined;
  return (JSON.parse(out.stdout) as Array<{ ifname: string; master?: string; linkinfo?: { info_kind?: string } }>)[0];
}

/** The IPv4 addresses of a link, with prefix length. */
export function addresses(name: string): string[] {
  const out = spawnSync('ip', ['-j', '-4', 'addr', 'show', 'dev', name], { encoding: 'utf8' });
  if (out.status !== 0) return [];
  const links = JSON.parse(out.stdout) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
  return (links[0]?.addr_info ?? []).map((info) => `${info.local}/${info.prefixlen}`);
}

export function removeLink(name: string): void {
  spawnSync('ip', ['link', 'del', 'dev', name]);
}
