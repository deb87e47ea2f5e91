import { setImmediate, setTimeout } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { IdRange, OwnedMachine, Provider } from '../domain/provider.js';
import type { ObservedState, ResyncRow } from '../domain/store.js';
import { observedStateOf } from './reconcile-instance.js';
import type { ResolvedOptions } from './options.js';

export interface ResyncReport {
  orphansReaped: number;
  observationsRecorded: number;
  /** Instances made due again: deleted ones whose machine remains, and vanished ones to be recreated. */
  markedDue: number;
  /** Of those, the live instances whose machine vanished and that are due to be recreated. */
  recreating: number;
}

type Deps = Pick<ResolvedOptions, 'store' | 'provider' | 'clock' | 'resyncShare' | 'zones'>;

// Rows and machines read per step of a sweep: a few milliseconds of work on SQLite.
const RESYNC_PAGE_SIZE = 500;

function differs(row: ResyncRow, observed: ObservedState): boolean {
  return row.status !== observed.status || row.internalIp !== observed.internalIp || row.externalIp !== observed.externalIp;
}

/** The policy is the provider's (docker's recreateVanished setting); providers that cannot lose a machine say false. */
function recreatesVanished(provider: Provider): boolean {
  return provider.capabilities.recreateVanished;
}

/**
 * Compares every machine the provider holds with every row the store holds and mends what drifted outside Gale:
 * the status of idle instances is rebuilt from what is observed; machines no row knows are reaped; deleted rows that
 * still have a machine are made due again; and, when the provider asks for it, idle instances that should be running
 * but whose machine vanished are made due, so that the level-triggered planner (desired RUNNING, no machine: create)
 * makes a new one. A machine that still exists but was stopped or killed outside Gale is only reported, never
 * restarted: that was somebody's decision about a machine that is there, whereas a vanished one left nothing to keep.
 * Instances with work under way are left to that work.
 */
export async function resync(deps: Deps, logger: Logger, signal?: AbortSignal): Promise<ResyncReport> {
  const report: ResyncReport = { orphansReaped: 0, observationsRecorded: 0, markedDue: 0, recreating: 0 };
  let after: string | undefined;
  for (;;) {
    const started = performance.now();
    const through = await deps.store.resyncPageEnd(after, RESYNC_PAGE_SIZE);
    await resyncPage(deps, logger, { after, through }, report);
    if (through === undefined) return report;
    after = through;
    // Between pages, requests waiting on the event loop go first (a sweep over 100,000 instances is 200 short steps),
    // and the pause keeps the sweep within its share of the process's time.
    await pauseAfter(performance.now() - started, deps.resyncShare, signal);
    if (signal?.aborted) return report;
  }
}

/** Waits so that a step that took workMs is the given share of the time: at share 0.02, 49 times as long again. */
async function pauseAfter(workMs: number, share: number, signal: AbortSignal | undefined): Promise<void> {
  const pauseMs = (workMs * (1 - share)) / share;
  if (pauseMs < 1) await setImmediate();
  else await setTimeout(pauseMs, undefined, { signal }).catch(() => undefined);
}

/** One page of the sweep: the machines and the rows whose ids fall in range. */
async function resyncPage(deps: Deps, logger: Logger, range: IdRange, report: ResyncReport): Promise<void> {
  const { store, provider } = deps;
  // Machines first: a machine is only ever made for an existing row, and a row is purged only after its machine is
  // gone, so a machine listed before the rows were read and missing from them really has no instance.
  const machines = await provider.list(range);
  const rows = await store.listForResync(deps.clock.now(), range);
  const rowsById = new Map(rows.map((row) => [row.id, row]));
  const machinesById = new Map<string, OwnedMachine>(machines.map((machine) => [machine.instanceId, machine]));
  const due: string[] = [];
  const recreate = recreatesVanished(provider);
  // A replica pinned to zones mends only their instances: another zone's machines may live on another host, where
  // this replica's provider cannot see them. A machine is an orphan only when no instance of any zone owns it.
  const mine = (row: ResyncRow): boolean => deps.zones.length === 0 || deps.zones.includes(row.zone);

  for (const machine of machines) {
    const row = rowsById.get(machine.instanceId);
    if (row) continue;
    try {
      await provider.delete(machine.instanceId);
      report.orphansReaped += 1;
      logger.warn({ instanceId: machine.instanceId, status: machine.status }, 'reaped an orphan machine no instance owns');
    } catch (error) {
      logger.warn({ err: error, instanceId: machine.instanceId }, 'could not reap an orphan machine; will retry at the next resync');
    }
  }

  for (const row of rows.filter(mine)) {
    const machine = machinesById.get(row.id);
    if (row.deleted) {
      if (machine) due.push(row.id);
      continue;
    }
    if (row.busy) continue;
    // A vanished machine is looked at even when the row already reads TERMINATED: the event stream usually
    // records that before the resync comes, and the machine must still be recreated.
    const mayRecreate = recreate && !machine && row.desired === 'RUNNING';
    if (!mayRecreate && !differs(row, observedStateOf(machine ?? null))) continue;
    // The list was taken before the rows were read, so it may predate work finished since; only a look taken
    // after the row was read can tell a real drift from that. (The store also refuses rows claimed meanwhile.)
    const fresh = await provider.inspect(row.id);
    const observed = observedStateOf(fresh);
    if (differs(row, observed)) {
      await store.recordObservation(row.id, observed);
      report.observationsRecorded += 1;
      logger.info({ instanceId: row.id, was: row.status, now: observed.status, vanished: !fresh }, 'status changed outside Gale');
    }
    if (mayRecreate && !fresh) {
      // markDue leaves the generation alone: the claim that follows plans from desired RUNNING and no machine,
      // which is a create, and completes at the generation the row already has.
      due.push(row.id);
      report.recreating += 1;
      logger.warn({ instanceId: row.id }, 'machine vanished outside Gale while the instance should run: recreating it');
    }
  }

  if (due.length > 0) {
    await store.markDue(due, deps.clock.now());
    report.markedDue += due.length;
  }
}
