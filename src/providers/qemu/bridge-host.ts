import { createHash } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import { runCommand } from './run-command.js';
import { rangesOverlap, type Subnet } from './subnet.js';

/**
 * Why the bridge cannot be had. The message is for /readyz and describe() (no addresses in it); detail, for the log,
 * says what the host answered.
 */
export class BridgeProblem extends Error {
  constructor(
    message: string,
    readonly detail: string,
  ) {
    super(message);
    this.name = 'BridgeProblem';
  }
}

/** The host side of bridged networking, behind an interface so that the fallback decision is testable without root. */
export interface BridgeHost {
  /** Makes the bridge (idempotently), gives it the gateway address and sets it up; throws a BridgeProblem. */
  prepareBridge(bridge: string, subnet: Subnet): Promise<void>;
  /** Makes the tap (idempotently) and attaches it, up, to the bridge. */
  ensureTap(tap: string, bridge: string): Promise<void>;
  /** Removes the tap; nothing when it is gone already. */
  removeTap(tap: string): Promise<void>;
}

/** Linux's IFNAMSIZ less its terminating NUL. */
export const MAX_INTERFACE_NAME = 15;

/**
 * A VM's tap: "gale" and 11 hex digits of a digest of the installation and the instance, so that it fits IFNAMSIZ, is
 * found again without being remembered, and two installations on one host never name the same tap. It is also written
 * in the instance directory, and only taps named there are ever removed.
 */
export function tapName(installationId: string, instanceId: string): string {
  return `gale${createHash('sha256').update(`tap:${installationId}:${instanceId}`).digest('hex').slice(0, MAX_INTERFACE_NAME - 4)}`;
}

interface IpRoute {
  dst?: string;
  dev?: string;
}

interface IpLink {
  linkinfo?: { info_kind?: string };
}

/** The `ip` command (iproute2), run through run-command, as every other host program Gale runs. */
export const ipCommandHost: BridgeHost = {
  async prepareBridge(bridge, subnet) {
    try {
      await access('/dev/net/tun', constants.R_OK | constants.W_OK);
    } catch (error) {
      throw new BridgeProblem('/dev/net/tun is missing or not Gale\'s to use, so VMs cannot have taps', (error as Error).message);
    }
    // Before anything is made: a refused subnet leaves the host as it was.
    await refuseOverlap(bridge, subnet);
    const link = await ip(['-j', '-d', 'link', 'show', 'dev', bridge]).catch((error: Error) => {
      if (/does not exist/.test(error.message)) return undefined;
      throw asProblem(`cannot look up the bridge ${bridge}`, error);
    });
    if (link === undefined) {
      // A replica on the same host may make it at the same moment: "File exists" is its success, and ours.
      await ip(['link', 'add', bridge, 'type', 'bridge']).catch((error: Error) => {
        if (!/File exists/.test(error.message)) throw asProblem(`cannot make the bridge ${bridge}`, error);
      });
    } else if ((JSON.parse(link) as IpLink[])[0]?.linkinfo?.info_kind !== 'bridge') {
      throw new BridgeProblem(`${bridge} exists on this host and is not a bridge; choose another providers.qemu.bridge`, link.slice(0, 500));
    }
    // replace, not add: a second start finds the address there already.
    await ip(['addr', 'replace', `${subnet.gateway}/${subnet.prefixLength}`, 'dev', bridge]).catch((error: Error) => {
      throw asProblem(`cannot give the bridge ${bridge} its gateway address`, error);
    });
    await ip(['link', 'set', bridge, 'up']).catch((error: Error) => {
      throw asProblem(`cannot set the bridge ${bridge} up`, error);
    });
  },

  async ensureTap(tap, bridge) {
    // A tap persists across the VM's boots; "busy" is one made before (or held by this VM's QEMU), to attach again.
    await ip(['tuntap', 'add', 'dev', tap, 'mode', 'tap']).catch((error: Error) => {
      if (!/busy|File exists/i.test(error.message)) throw new Error(`cannot make the VM's tap ${tap}: ${error.message}`, { cause: error });
    });
    await ip(['link', 'set', tap, 'master', bridge, 'up']).catch((error: Error) => {
      throw new Error(`cannot attach the VM's tap ${tap} to the bridge ${bridge} (is the bridge there?): ${error.message}`, { cause: error });
    });
  },

  async removeTap(tap) {
    await ip(['link', 'del', 'dev', tap]).catch((error: Error) => {
      if (!/Cannot find device|does not exist/.test(error.message)) throw error;
    });
  },
};

async function ip(args: string[]): Promise<string> {
  return (await runCommand('ip', args, { timeoutMs: 10_000 })).toString('utf8');
}

/**
 * A subnet that overlaps a route the host already has (its LAN, docker0) would take traffic from it as soon as the
 * bridge got its address: refused before that, rather than cutting the host off.
 */
async function refuseOverlap(bridge: string, subnet: Subnet): Promise<void> {
  const routes = JSON.parse(await ip(['-j', '-4', 'route', 'show']).catch((error: Error) => {
    throw asProblem('cannot read the host\'s routes', error);
  })) as IpRoute[];
  const clash = routes.find((route) => route.dev !== bridge && route.dst !== undefined && route.dst !== 'default' && rangesOverlap(route.dst, subnet.cidr));
  if (clash) {
    throw new BridgeProblem(
      'providers.qemu.subnet overlaps a network this host already routes; choose another subnet',
      `${subnet.cidr} overlaps ${clash.dst} on ${clash.dev ?? '?'}`,
    );
  }
}

function asProblem(what: string, error: Error): BridgeProblem {
  if (/Operation not permitted|Permission denied/.test(error.message)) {
    return new BridgeProblem(`${what}: Gale is not root (bridges and taps need CAP_NET_ADMIN)`, error.message);
  }
  if (/not installed/.test(error.message)) return new BridgeProblem(`${what}: the ip command (iproute2) is not installed`, error.message);
  return new BridgeProblem(what, error.message);
}
