import type { Clock } from '../domain/clock.js';
import type { IdRange, MachineSpec, Observation, OwnedMachine, Provider, SerialOutput } from '../domain/provider.js';
import type { ClaimedInstance, WorkStore } from '../domain/store.js';

/*
 * Nothing hangs: every change of intent has a deadline (reconciler option transitionDeadlineMs). A provider call
 * that never returns, or a machine that never leaves STAGING, would otherwise hold an instance in a transitional
 * status for ever while its lease is dutifully renewed.
 */

/** A provider call outlived the time its attempt had: a retryable failure, like the engine not answering. */
export class ProviderTimeoutError extends Error {
  constructor(method: string, instanceId: string, ms: number) {
    super(`provider ${method} for instance ${instanceId} did not finish within ${ms} ms`);
    this.name = 'ProviderTimeoutError';
  }
}

/** The change is past its deadline and its one retry: the instance is to be reported failed. */
export class TransitionOverdueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransitionOverdueError';
  }
}

export interface TransitionWindow {
  /** The change being carried out: the newest pending operation, whose intent the instance is driven toward. */
  kind: string;
  startedAt: number;
  /** startedAt + deadline: the attempt running then is cut off and the work retried at once. */
  deadline: number;
  /** startedAt + twice the deadline: the retry had as long again; failing that, the instance is given up. */
  giveUpAt: number;
}

/** The window of the change under way, or undefined when no operation is pending (a resync's recreate, say). */
export async function transitionWindow(store: Pick<WorkStore, 'listOperations'>, record: ClaimedInstance, deadlineMs: number): Promise<TransitionWindow | undefined> {
  const pending = (await store.listOperations(record.id)).filter((op) => op.state === 'pending');
  const newest = pending.reduce<(typeof pending)[number] | undefined>((best, op) => (!best || op.generation > best.generation ? op : best), undefined);
  if (!newest) return undefined;
  return { kind: newest.kind, startedAt: newest.createdAt, deadline: newest.createdAt + deadlineMs, giveUpAt: newest.createdAt + 2 * deadlineMs };
}

/**
 * Until when this attempt's provider calls may run: the deadline, or for the retry past it, the give-up time.
 * A teardown never gives up (a deleted instance has nobody to report to), so each of its attempts gets a full deadline.
 */
export function attemptLimit(window: TransitionWindow | undefined, attemptStart: number, deadlineMs: number, deleted: boolean): number {
  if (!window || deleted) return attemptStart + deadlineMs;
  return attemptStart < window.deadline ? window.deadline : window.giveUpAt;
}

/**
 * The provider with every call bounded by `until` and by the lease: a call still running then is left behind (its
 * result ignored, its rejection swallowed) and the attempt fails, so that the lease is released and the work retried.
 */
export function boundedProvider(inner: Provider, clock: Clock, until: number, signal: AbortSignal, onAbort: () => Error): Provider {
  function bounded<T>(method: string, instanceId: string, run: () => Promise<T>): Promise<T> {
    const ms = Math.max(0, until - clock.now());
    const call = run();
    call.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    let abort: (() => void) | undefined;
    const cutOff = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProviderTimeoutError(method, instanceId, ms)), ms);
      abort = () => reject(onAbort());
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    });
    return Promise.race([call, cutOff]).finally(() => {
      clearTimeout(timer);
      if (abort) signal.removeEventListener('abort', abort);
    });
  }
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    probe: () => inner.probe(),
    create: (spec: MachineSpec) => bounded('create', spec.instanceId, () => inner.create(spec)),
    start: (id: string) => bounded('start', id, () => inner.start(id)),
    stop: (id: string, options: { graceMs: number }) => bounded('stop', id, () => inner.stop(id, options)),
    reset: (id: string) => bounded('reset', id, () => inner.reset(id)),
    ...(inner.suspend ? { suspend: (id: string) => bounded('suspend', id, () => inner.suspend!(id)) } : {}),
    ...(inner.resume ? { resume: (id: string) => bounded('resume', id, () => inner.resume!(id)) } : {}),
    delete: (id: string) => bounded('delete', id, () => inner.delete(id)),
    inspect: (id: string): Promise<Observation | null> => bounded('inspect', id, () => inner.inspect(id)),
    list: (range?: IdRange): Promise<OwnedMachine[]> => inner.list(range),
    ...(inner.serialOutput
      ? { serialOutput: (id: string, start: number): Promise<SerialOutput> => bounded('serialOutput', id, () => inner.serialOutput!(id, start)) }
      : {}),
    close: () => inner.close(),
  };
}
