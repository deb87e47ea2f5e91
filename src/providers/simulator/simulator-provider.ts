import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Clock } from '../../domain/clock.js';
import { isTransitional, type InstanceStatus } from '../../domain/instance.js';
import type { IdRange, MachineSpec, Observation, OwnedMachine, Provider, SerialOutput } from '../../domain/provider.js';
import type { ProviderState } from '../../domain/provider-state.js';
import { externalIpFor, internalIpFor } from './addresses.js';
import { KeyedLock } from '../keyed-lock.js';
import { settle, toObservation, toOwnedMachine } from './machine-state.js';
import { SimulatedMachines, type SimulatedMachine } from './machines.js';
import { consoleOutput } from './serial-console.js';

export interface SimulatorOptions {
  /** The simulator's state port (store.providerState('simulator')): where its machines are kept. */
  state: ProviderState;
  /** Whose machines these are: another installation's, on the same database, are never seen. */
  installationId: string;
  clock: Clock;
  /** How long create, start and stop take; reset and delete take half. 0 makes every transition instant. */
  delayMs: number;
  logger?: Logger;
  /** Age after which a transitional marker counts as left behind by a crashed process. Default: max(3 * delayMs, 1000). */
  staleAfterMs?: number;
}

/** The Provider, plus the changes an operator could make behind Gale's back, which tests use to check Gale notices. */
export interface SimulatorProvider extends Provider {
  watch(onChange: (instanceId: string) => void): () => void;
  suspend(instanceId: string): Promise<void>;
  resume(instanceId: string): Promise<void>;
  serialOutput(instanceId: string, start: number): Promise<SerialOutput>;
  /** Pauses a running machine outside Gale, like `docker pause`. */
  pauseOutside(instanceId: string): Promise<void>;
  /** Undoes pauseOutside, outside Gale. */
  unpauseOutside(instanceId: string): Promise<void>;
  /** Powers a machine off outside Gale (an operator's shutdown, a host crash). */
  powerOff(instanceId: string): Promise<void>;
  /** Makes the machine disappear outside Gale, as if deleted by hand in the hypervisor. */
  vanish(instanceId: string): Promise<void>;
}

/** Retrying later mends it: another process is in the middle of a transition of this machine. */
function busy(machine: SimulatedMachine): Error {
  return new Error(`simulator: machine ${machine.instanceId} is ${machine.status} (a transition is under way); retry later`);
}

/** Retrying later mends it: another process wrote the machine while this one was changing it. */
function changedElsewhere(instanceId: string): Error {
  return new Error(`simulator: machine ${instanceId} was changed by another process meanwhile; retry later`);
}

function missing(instanceId: string, operation: string): Error {
  return new Error(`simulator: cannot ${operation} instance ${instanceId}: it has no machine; create it first`);
}

export function createSimulatorProvider(options: SimulatorOptions): SimulatorProvider {
  const { clock, delayMs, logger } = options;
  const machines = new SimulatedMachines(options.state, options.installationId);
  /** The version each machine was read at by the change holding its lock: its writes win only if nobody wrote it since. */
  const versions = new Map<string, number>();
  const staleAfterMs = options.staleAfterMs ?? Math.max(3 * delayMs, 1000);
  const lock = new KeyedLock();
  const listeners = new Set<(instanceId: string) => void>();
  const closing = new AbortController();

  /**
   * A transition's time passing. close() cuts it short and leaves the marker behind, as a crash would: the next
   * process reads it as interrupted. Waiting out a long simulated delay instead would hold up shutdown.
   */
  const wait = async (ms: number): Promise<void> => {
    if (ms <= 0) return;
    try {
      await sleep(ms, undefined, { signal: closing.signal });
    } catch {
      throw new Error('simulator provider closed mid-transition');
    }
  };

  /** Runs a change with the machine to itself; nothing is changed any more once the provider is closed. */
  function exclusive<T>(instanceId: string, work: () => Promise<T>): Promise<T> {
    return lock.run(instanceId, async () => {
      if (closing.signal.aborted) throw new Error('simulator provider is closed');
      try {
        return await work();
      } finally {
        versions.delete(instanceId);
      }
    });
  }

  /** Inside the lock no transition of this process is running, so a transitional marker is another's or a crash's. */
  async function load(instanceId: string): Promise<SimulatedMachine | undefined> {
    const found = await machines.get(instanceId);
    if (!found) return undefined;
    versions.set(instanceId, found.version);
    return settle(found.machine, clock.now(), staleAfterMs, false);
  }

  /** Writes the machine over the version load read (or as a new one): another process's write meanwhile fails it. */
  async function put(machine: SimulatedMachine, from: string): Promise<SimulatedMachine> {
    const written = { ...machine, updatedAt: clock.now() };
    const version = await machines.put(written, versions.get(machine.instanceId));
    if (version === undefined) throw changedElsewhere(machine.instanceId);
    versions.set(machine.instanceId, version);
    logger?.debug({ instanceId: machine.instanceId, from, to: machine.status }, 'simulator transition');
    return written;
  }

  /**
   * A transition that takes time: its transitional status is written first, for another process (or the next one,
   * after a crash) to see it under way, and its end once the time has passed. An instant one (ms 0) writes its end
   * alone: nobody could ever read the marker, and writing it cost a store write a transition.
   */
  async function transition(
    machine: SimulatedMachine,
    through: InstanceStatus,
    ms: number,
    end: (marked: SimulatedMachine) => SimulatedMachine,
    from: string = machine.status,
  ): Promise<SimulatedMachine> {
    let marked = { ...machine, status: through };
    if (ms > 0) {
      marked = await put(marked, from);
      await wait(ms);
    }
    return put(end(marked), ms > 0 ? through : from);
  }

  /** Removes the machine load read; another process's write meanwhile fails it. */
  async function remove(instanceId: string): Promise<void> {
    const version = versions.get(instanceId);
    if (version !== undefined && !(await machines.delete(instanceId, version))) throw changedElsewhere(instanceId);
    versions.delete(instanceId);
  }

  function emit(instanceId: string): void {
    for (const listener of listeners) {
      try {
        listener(instanceId);
      } catch (error) {
        logger?.warn({ err: error, instanceId }, 'simulator watch listener failed');
      }
    }
  }

  /** Outside changes are instant and reported through watch, as Docker's event stream would report them. */
  async function outside(instanceId: string, change: (machine: SimulatedMachine | undefined) => Promise<void>): Promise<void> {
    await exclusive(instanceId, async () => change(await load(instanceId)));
    emit(instanceId);
  }

  return {
    name: 'simulator',
    capabilities: { suspend: true, serialConsole: true, liveWatch: true, recreateVanished: false },

    async probe(): Promise<void> {
      if (closing.signal.aborted) throw new Error('simulator provider is closed');
    },

    /** Resolves with the machine it made (powered off), so that the caller need not look; with nothing if it was there. */
    async create(spec: MachineSpec): Promise<Observation | void> {
      return exclusive(spec.instanceId, async () => {
        if (await load(spec.instanceId)) return;
        const absent: SimulatedMachine = {
          instanceId: spec.instanceId,
          status: 'TERMINATED',
          internalIp: '',
          externalIp: '',
          bootCount: 0,
          startedAt: null,
          updatedAt: 0,
        };
        return toObservation(await transition(absent, 'PROVISIONING', delayMs, (made) => ({ ...made, status: 'TERMINATED' }), 'absent'));
      });
    },

    async start(instanceId: string): Promise<void> {
      await exclusive(instanceId, async () => {
        const machine = await load(instanceId);
        if (!machine) throw missing(instanceId, 'start');
        if (machine.status === 'RUNNING') return;
        if (isTransitional(machine.status)) throw busy(machine);
        // Resuming a SUSPENDED machine continues the same boot: nothing but the status changes.
        if (machine.status === 'SUSPENDED') {
          await transition(machine, 'STAGING', delayMs, (staging) => ({ ...staging, status: 'RUNNING' }));
          return;
        }
        const bootCount = machine.bootCount + 1;
        await transition(machine, 'STAGING', delayMs, (staging) => ({
          ...staging,
          status: 'RUNNING',
          bootCount,
          startedAt: clock.now(),
          internalIp: machine.internalIp || internalIpFor(instanceId),
          externalIp: externalIpFor(instanceId, bootCount),
        }));
      });
    },

    async stop(instanceId: string, _options: { graceMs: number }): Promise<void> {
      // The simulated guest always shuts down within delayMs, so the grace period never runs out.
      await exclusive(instanceId, async () => {
        const machine = await load(instanceId);
        if (!machine || machine.status === 'TERMINATED') return;
        if (isTransitional(machine.status)) throw busy(machine);
        await transition(machine, 'STOPPING', delayMs, (stopping) => ({ ...stopping, status: 'TERMINATED', externalIp: '' }));
      });
    },

    async reset(instanceId: string): Promise<void> {
      await exclusive(instanceId, async () => {
        const machine = await load(instanceId);
        if (!machine) throw missing(instanceId, 'reset');
        if (isTransitional(machine.status)) throw busy(machine);
        if (machine.status !== 'RUNNING') {
          throw new Error(`simulator: cannot reset instance ${instanceId} while it is ${machine.status}; start it first`);
        }
        // GCE keeps showing RUNNING through a reset, so no marker is written.
        await wait(delayMs / 2);
        const startedAt = Math.max(clock.now(), (machine.startedAt ?? 0) + 1);
        await put({ ...machine, bootCount: machine.bootCount + 1, startedAt }, 'RUNNING');
      });
    },

    async delete(instanceId: string): Promise<void> {
      await exclusive(instanceId, async () => {
        const machine = await load(instanceId);
        if (!machine) return;
        if (isTransitional(machine.status)) throw busy(machine);
        await wait(delayMs / 2);
        await remove(instanceId);
        logger?.debug({ instanceId, from: machine.status, to: 'absent' }, 'simulator transition');
      });
    },

    async inspect(instanceId: string): Promise<Observation | null> {
      const found = await machines.get(instanceId);
      if (!found) return null;
      return toObservation(settle(found.machine, clock.now(), staleAfterMs, lock.isBusy(instanceId)));
    },

    async list(range?: IdRange): Promise<OwnedMachine[]> {
      const now = clock.now();
      return (await machines.list(range)).map((m) => toOwnedMachine(settle(m, now, staleAfterMs, lock.isBusy(m.instanceId))));
    },

    /** A synthetic boot log, derived from the stored machine (serial-console.ts); a machine not made yet has printed nothing. */
    async serialOutput(instanceId: string, start: number): Promise<SerialOutput> {
      const found = await machines.get(instanceId);
      if (!found) return { contents: '', start, next: start };
      return consoleOutput(settle(found.machine, clock.now(), staleAfterMs, lock.isBusy(instanceId)), start);
    },

    watch(onChange: (instanceId: string) => void): () => void {
      listeners.add(onChange);
      return () => {
        listeners.delete(onChange);
      };
    },

    async suspend(instanceId: string): Promise<void> {
      await exclusive(instanceId, async () => {
        const machine = await load(instanceId);
        if (!machine) throw missing(instanceId, 'suspend');
        if (machine.status === 'SUSPENDED') return;
        if (isTransitional(machine.status)) throw busy(machine);
        if (machine.status !== 'RUNNING') throw new Error(`simulator: cannot suspend instance ${instanceId} while it is ${machine.status}`);
        await transition(machine, 'SUSPENDING', delayMs / 2, (suspending) => ({ ...suspending, status: 'SUSPENDED' }));
      });
    },

    async resume(instanceId: string): Promise<void> {
      await exclusive(instanceId, async () => {
        const machine = await load(instanceId);
        if (!machine) throw missing(instanceId, 'resume');
        if (machine.status === 'RUNNING') return;
        if (isTransitional(machine.status)) throw busy(machine);
        if (machine.status !== 'SUSPENDED') throw new Error(`simulator: cannot resume instance ${instanceId} while it is ${machine.status}`);
        // The same boot goes on: no boot is counted, the addresses stay.
        await transition(machine, 'STAGING', delayMs / 2, (staging) => ({ ...staging, status: 'RUNNING' }));
      });
    },

    async pauseOutside(instanceId: string): Promise<void> {
      await outside(instanceId, async (machine) => {
        if (machine?.status !== 'RUNNING') throw new Error(`simulator: only a RUNNING machine can be suspended (${instanceId})`);
        await put({ ...machine, status: 'SUSPENDED' }, 'RUNNING');
      });
    },

    async unpauseOutside(instanceId: string): Promise<void> {
      await outside(instanceId, async (machine) => {
        if (machine?.status !== 'SUSPENDED') throw new Error(`simulator: only a SUSPENDED machine can be resumed (${instanceId})`);
        await put({ ...machine, status: 'RUNNING' }, 'SUSPENDED');
      });
    },

    async powerOff(instanceId: string): Promise<void> {
      await outside(instanceId, async (machine) => {
        if (!machine) throw missing(instanceId, 'power off');
        await put({ ...machine, status: 'TERMINATED', externalIp: '' }, machine.status);
      });
    },

    async vanish(instanceId: string): Promise<void> {
      await outside(instanceId, async (machine) => {
        if (machine) await remove(instanceId);
      });
    },

    async close(): Promise<void> {
      listeners.clear();
      closing.abort();
      // Only the state writes already under way remain; after them nothing touches the state again.
      await lock.drain();
    },
  };
}
