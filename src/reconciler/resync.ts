import type { Logger } from 'pino';
import type { OwnedMachine } from '../domain/provider.js';
import type { ObservedState, ResyncRow } from '../domain/store.js';
import { observedStateOf } from './reconcile-instance.js';
import type { ResolvedOptions } from './options.js';

export interface ResyncReport {
  orphansReaped: number;
  observationsRecorded: number;
  markedDue: number;
}

type Deps = Pick<ResolvedOptions, 'store' | 'provider' | 'clock'>;

function differs(row: ResyncRow, observed: ObservedState): boolean {
  return row.status !== observed.status || row.internalIp !== observed.internalIp || row.externalIp !== observed.externalIp;
}

/**
 * Compares every machine the provider holds with every row the store holds and mends what drifted outside Gale:
 * the status of idle instances is rebuilt from what is observed; machines no row knows are reaped; deleted rows that
 * still have a machine are made due again. Instances with work under way are left to that work.
 */
export async function resync(deps: Deps, logger: Logger): Promise<ResyncReport> {
  const { store, provider } = deps;
  // Machines first: a machine is only ever made for an existing row, and a row is purged only after its machine is
  // gone, so a machine listed before the rows were read and missing from them really has no instance.
  const machines = await provider.list();
  const rows = await store.listForResync(deps.clock.now());
  const rowsById = new Map(rows.map((row) => [row.id, row]));
  const machinesById = new Map<string, OwnedMachine>(machines.map((machine) => [machine.instanceId, machine]));
  const report: ResyncReport = { orphansReaped: 0, observationsRecorded: 0, markedDue: 0 };
  const due: string[] = [];

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

  for (const row of rows) {
    const machine = machinesById.get(row.id);
    if (row.deleted) {
      if (machine) due.push(row.id);
      continue;
    }
    if (row.busy) continue;
    if (!differs(row, observedStateOf(machine ?? null))) continue;
    // The list was taken before the rows were read, so it may predate work finished since; only a look taken
    // after the row was read can tell a real drift from that. (The store also refuses rows claimed meanwhile.)
    const fresh = await provider.inspect(row.id);
    const observed = observedStateOf(fresh);
    if (!differs(row, observed)) continue;
    await store.recordObservation(row.id, observed);
    report.observationsRecorded += 1;
    logger.info({ instanceId: row.id, was: row.status, now: observed.status, vanished: !fresh }, 'status changed outside Gale');
  }

  if (due.length > 0) {
    await store.markDue(due, deps.clock.now());
    report.markedDue = due.length;
  }
  return report;
}
