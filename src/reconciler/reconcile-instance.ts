import type { Logger } from 'pino';
import type { InstanceRecord, InstanceStatus } from '../domain/instance.js';
import { MACHINE_SPEC_FIELDS, PermanentProviderError, type MachineSpec, type Observation } from '../domain/provider.js';
import { nextAction, type ReconcileAction } from '../domain/reconcile-plan.js';
import type { ClaimedInstance, FinishedOperation, ObservedState } from '../domain/store.js';
import { backoffDelay, jittered } from './backoff.js';
import { attemptLimit, boundedProvider, ProviderTimeoutError, transitionWindow, TransitionOverdueError, type TransitionWindow } from './deadline.js';
import type { Outcome, ResolvedOptions } from './options.js';

/** Thrown at the next write once the lease was lost: from then on another replica may own the instance. */
export class LeaseLostError extends Error {
  constructor(instanceId: string) {
    super(`lease on instance ${instanceId} lost`);
    this.name = 'LeaseLostError';
  }
}

type Deps = Pick<
  ResolvedOptions,
  | 'store'
  | 'provider'
  | 'clock'
  | 'owner'
  | 'imageFor'
  | 'stopGraceMs'
  | 'backoff'
  | 'waitRetryMs'
  | 'maxSteps'
  | 'random'
  | 'transitionDeadlineMs'
  | 'onOperationsFinished'
>;

/** Hands the operations a write finished to the composition root's listener, which must not break the work. */
function finished(deps: Deps, operations: FinishedOperation[], log: Logger): void {
  if (operations.length === 0) return;
  try {
    deps.onOperationsFinished(operations);
  } catch (error) {
    log.warn({ err: error }, 'onOperationsFinished callback failed');
  }
}

/** What the provider is given to make the machine: the record's MACHINE_SPEC_FIELDS, the spec among them whole. */
export function machineSpecOf(record: InstanceRecord, imageFor: (templateId: string, zone: string) => string): MachineSpec {
  const fields = Object.fromEntries(MACHINE_SPEC_FIELDS.map((field) => [field, record[field]])) as Pick<InstanceRecord, (typeof MACHINE_SPEC_FIELDS)[number]>;
  return { ...fields, instanceId: record.id, image: imageFor(record.templateId, record.zone) };
}

/** No machine reads as TERMINATED with no addresses: that is what a user of a vanished or never-made machine sees. */
export function observedStateOf(observation: Observation | null): ObservedState {
  if (!observation) return { status: 'TERMINATED', internalIp: '', externalIp: '' };
  return { status: observation.status, internalIp: observation.internalIp, externalIp: observation.externalIp };
}

/**
 * Works one claimed instance toward its desired state, level-triggered: every step is chosen from a fresh observation,
 * so that a run that died anywhere is finished by the next one from whatever it finds. The lease is checked before
 * every write and every provider change, so that nothing is done for an instance another replica may now hold.
 */
export async function reconcileInstance(
  deps: Deps,
  record: ClaimedInstance,
  signal: AbortSignal,
  logger: Logger,
  leaseHeld: () => boolean = () => true,
): Promise<Outcome> {
  const log = logger.child({ instanceId: record.id });
  // Before every write and provider change: the lease may have been lost (renewal failed) or may have run out while
  // this process was not running at all (a pause longer than the lease), which no renewal has had the chance to see.
  const guard = (): void => {
    if (signal.aborted || !leaseHeld()) throw new LeaseLostError(record.id);
  };
  const deleted = record.deletedAt !== null;
  const attemptStart = deps.clock.now();
  let window: TransitionWindow | undefined;
  // Past the give-up time only a teardown goes on: everything else is reported failed rather than tried for ever.
  const overdue = (): boolean => window !== undefined && !deleted && deps.clock.now() >= window.giveUpAt;
  try {
    window = await transitionWindow(deps.store, record, deps.transitionDeadlineMs);
    if (overdue()) throw new TransitionOverdueError(`no attempt finished in time; the instance was last seen ${record.status}`);
    const until = attemptLimit(window, attemptStart, deps.transitionDeadlineMs, deleted);
    const provider = boundedProvider(deps.provider, deps.clock, until, signal, () => new LeaseLostError(record.id));
    return await drive({ ...deps, provider }, record, guard, log, overdue);
  } catch (error) {
    if (error instanceof LeaseLostError || signal.aborted || !leaseHeld()) {
      log.warn('work abandoned (lease lost, or this replica is stopping); no further writes for the instance');
      return 'lease-lost';
    }
    const message = error instanceof Error ? error.message : String(error);
    // A deleted instance has no user to show a failure to: its teardown must go on until it succeeds.
    if (error instanceof PermanentProviderError && !deleted) {
      log.error({ err: error }, 'provider failed permanently; the instance ends TERMINATED');
      guard();
      finished(deps, await deps.store.abandonWork(record.id, deps.owner, record.generation, message), log);
      return 'abandoned';
    }
    // A provider call ran out of the time its attempt had. Its timer can fire a millisecond before the wall clock reads
    // the bound (timers and Date.now() are different clocks), so the timeout itself is the evidence, not the clock.
    const timedOut = window !== undefined && !deleted && error instanceof ProviderTimeoutError;
    const retryRanOut = timedOut && attemptStart >= (window?.deadline ?? Infinity);
    if (window && (error instanceof TransitionOverdueError || overdue() || retryRanOut)) {
      const reason = `${window.kind} did not finish within the transition deadline (${deps.transitionDeadlineMs} ms, then one retry as long): ${message}`;
      log.error({ err: error, operation: window.kind, startedAt: window.startedAt, reason }, 'transition deadline passed; the instance ends TERMINATED');
      guard();
      finished(deps, await deps.store.abandonWork(record.id, deps.owner, record.generation, reason), log);
      return 'abandoned';
    }
    const attempts = record.attempts;
    // The attempt that the deadline cut off is retried at once: the retry has until the give-up time, not a backoff.
    const cutOff = window !== undefined && !deleted && attemptStart < window.deadline && (timedOut || deps.clock.now() >= window.deadline);
    const delayMs = cutOff ? 0 : backoffDelay(attempts, deps.backoff, deps.random);
    log.warn({ err: error, attempts: attempts + 1, retryInMs: delayMs }, 'reconcile failed; will retry');
    guard();
    await deps.store.failWork(record.id, deps.owner, message, deps.clock.now() + delayMs);
    return 'retrying';
  }
}

async function drive(deps: Deps, record: InstanceRecord, guard: () => void, log: Logger, overdue: () => boolean): Promise<Outcome> {
  const { store, provider, owner } = deps;
  const id = record.id;
  const deleted = record.deletedAt !== null;
  const resetRequested = record.resetRequested > record.resetApplied;
  let resetDone = false;
  let provisioned = record.provisioned;
  // Nothing was ever made for an instance the store has never seen provisioned, so its first step is a create, and a
  // look first would be an engine round trip per create spent on the rare case: a machine made by an attempt that died
  // before recording it. create leaves such a machine as it is (the Provider contract), and the look after it tells
  // the next step. A deleted or stopped one is looked at: its step would be to do nothing, which needs the look.
  let observed = !provisioned && !deleted && record.desired === 'RUNNING' ? null : await provider.inspect(id);
  // The status the row has, as this claim last wrote it or found it: a step does not write it again (a new instance is
  // PROVISIONING already when its create begins; start after create would write STAGING a second time).
  let written: InstanceStatus | undefined = record.status;
  const progress = async (patch: { status: InstanceStatus; provisioned?: boolean }): Promise<void> => {
    guard();
    if (patch.status === written && patch.provisioned === undefined) return;
    await store.recordProgress(id, owner, patch);
    written = patch.status;
  };

  for (let step = 0; ; step++) {
    if (observed) provisioned = true;
    const action = nextAction({ deleted, desired: record.desired, resetPending: resetRequested && !resetDone }, observed);
    if (action === 'done') break;
    if (action === 'wait' || step >= deps.maxSteps) {
      // Someone else's transition (or a crashed one not yet stale) is under way: look again soon, without backoff.
      const reason = action === 'wait' ? `waiting for the machine to leave ${observed?.status}` : 'step limit reached';
      if (overdue()) throw new TransitionOverdueError(reason);
      log.debug({ reason }, 'reconcile deferred');
      guard();
      await store.failWork(id, owner, reason, deps.clock.now() + jittered(deps.waitRetryMs, deps.random));
      return 'waiting';
    }
    log.debug({ action, observed: observed?.status ?? 'absent' }, 'reconcile step');
    const made = await act(deps, record, action, guard, progress);
    if (action === 'create') provisioned = true;
    if (action === 'reset') resetDone = true;
    // A provider that says what it has just made spares the engine a look; every other step is looked at.
    observed = made ?? (await provider.inspect(id));
  }

  guard();
  if (deleted) {
    finished(deps, await store.purgeDeleted(id, owner), log);
    log.info('instance torn down and purged');
    return 'purged';
  }
  // Stopping clears a pending reset: the next boot is fresh anyway, so the reset is as good as done.
  const resetApplied = resetDone || record.desired === 'TERMINATED' ? record.resetRequested : record.resetApplied;
  const { caughtUp, finished: done } = await store.completeWork(id, owner, {
    generation: record.generation,
    resetApplied,
    observed: observedStateOf(observed),
    provisioned,
  });
  finished(deps, done, log);
  log.debug({ status: observed?.status ?? 'absent', caughtUp }, 'reconcile finished');
  return caughtUp ? 'completed' : 'superseded';
}

type Progress = (patch: { status: InstanceStatus; provisioned?: boolean }) => Promise<void>;

/** Carries out one step; a create may resolve with the machine as the provider made it (Provider.create). */
async function act(deps: Deps, record: InstanceRecord, action: ReconcileAction, guard: () => void, progress: Progress): Promise<Observation | void> {
  const { provider } = deps;
  const id = record.id;
  switch (action) {
    case 'create':
      await progress({ status: 'PROVISIONING' });
      guard();
      const made = await provider.create(machineSpecOf(record, deps.imageFor));
      await progress({ status: 'STAGING', provisioned: true });
      return made;
    case 'start':
      await progress({ status: 'STAGING' });
      guard();
      await provider.start(id);
      return;
    case 'stop':
      await progress({ status: 'STOPPING' });
      guard();
      await provider.stop(id, { graceMs: deps.stopGraceMs });
      return;
    case 'reset':
      guard();
      await provider.reset(id);
      return;
    case 'suspend':
      if (!provider.suspend) throw new PermanentProviderError(`the ${provider.name} provider cannot suspend machines`);
      await progress({ status: 'SUSPENDING' });
      guard();
      await provider.suspend(id);
      return;
    case 'resume':
      await progress({ status: 'STAGING' });
      guard();
      // A provider that cannot suspend has no suspended machines of its own making; one paused outside it starts.
      await (provider.resume ? provider.resume(id) : provider.start(id));
      return;
    case 'delete':
      guard();
      await provider.delete(id);
      return;
    case 'wait':
    case 'done':
      return;
  }
}
