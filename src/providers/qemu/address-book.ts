import { conflict } from '../../domain/errors.js';
import type { ProviderState, StateEntry } from '../../domain/provider-state.js';

/**
 * Addresses handed to VMs on the bridge, where they share one network: unique per network across every replica on
 * the database, so that two never give out one address.
 */
export interface AddressBook {
  /**
   * The instance's address on network: the one it holds already, else the first of candidates nobody holds. Concurrent
   * calls, from any replica, never hand out one address twice. An instance holds one address at most: asked on another
   * network, it gives up the old one. Raises conflict when every candidate is taken.
   */
  allocate(network: string, instanceId: string, candidates: Iterable<string>): Promise<string>;
  /** Frees the instance's address; nothing when it holds none. */
  release(instanceId: string): Promise<void>;
}

/** Under address/<network>/<address>: whose it is. The insert of this key is what two replicas race for. */
interface Claim {
  instanceId: string;
}

/** Under instance/<instance id>: the one address the instance holds, written once its claim is won. */
interface Holding {
  network: string;
  address: string;
}

const claimsOn = (network: string): string => `address/${network}/`;
const holdingOf = (instanceId: string): string => `instance/${instanceId}`;
const claimant = (entry: StateEntry): string => (entry.value as unknown as Claim).instanceId;
const holding = (entry: StateEntry): Holding => entry.value as unknown as Holding;

/**
 * The address book on the qemu provider's state port (migration 010 moved vm_addresses into these keys). Two keys per
 * address, written one after the other with no transaction between them, so each step leaves what the next call can
 * mend: a claim is won before the holding that names it is written, and given up before that holding is removed. A
 * holding whose claim is gone (a release cut short) is dropped and allocated again; a claim of the instance's own with
 * no holding (an allocation cut short) is taken up again. No lock is held between tries.
 */
export function stateAddressBook(state: ProviderState): AddressBook {
  /** Gives up the claim the holding names, if it is still the instance's, then the holding. */
  async function giveUp(instanceId: string, held: StateEntry): Promise<void> {
    const { network, address } = holding(held);
    const claim = await state.get(claimsOn(network) + address);
    if (claim && claimant(claim) === instanceId) await state.delete(claim.key, claim.version);
    await state.delete(held.key, held.version);
  }

  /** An address on network claimed for the instance: one it claimed already, else the first free candidate it wins. */
  async function claim(network: string, instanceId: string, candidates: Iterable<string>): Promise<string> {
    const prefix = claimsOn(network);
    // Read once, so that a nearly full network costs one insert, not one per taken address; the insert still decides.
    const claims = await state.list(prefix);
    const ours = claims.find((entry) => claimant(entry) === instanceId);
    if (ours) return ours.key.slice(prefix.length);
    const taken = new Set(claims.map((entry) => entry.key.slice(prefix.length)));
    for (const address of candidates) {
      if (taken.has(address)) continue;
      if (await state.insert(prefix + address, { instanceId })) return address;
    }
    throw conflict(`no free address is left on ${network}: every one is held by a machine`);
  }

  return {
    async allocate(network: string, instanceId: string, candidates: Iterable<string>): Promise<string> {
      for (;;) {
        const held = await state.get(holdingOf(instanceId));
        if (held) {
          const { network: heldOn, address } = holding(held);
          const claimed = heldOn === network ? await state.get(claimsOn(network) + address) : undefined;
          if (claimed && claimant(claimed) === instanceId) return address;
          // Moved to another network (the subnet setting changed under a create cut short), or its claim is gone: it goes.
          await giveUp(instanceId, held);
          continue;
        }
        const address = await claim(network, instanceId, candidates);
        if (await state.insert(holdingOf(instanceId), { network, address })) return address;
        // A concurrent call for this instance wrote its holding first: ours goes back, unless it is the same address.
        const winner = await state.get(holdingOf(instanceId));
        if (!(winner && holding(winner).network === network && holding(winner).address === address)) {
          const ours = await state.get(claimsOn(network) + address);
          if (ours && claimant(ours) === instanceId) await state.delete(ours.key, ours.version);
        }
      }
    },

    async release(instanceId: string): Promise<void> {
      const held = await state.get(holdingOf(instanceId));
      if (held) await giveUp(instanceId, held);
    },
  };
}
