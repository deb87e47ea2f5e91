import type { MachineSpec, Observation, OwnedMachine, Provider } from '../../src/domain/provider.js';

export type Method = 'create' | 'start' | 'stop' | 'reset' | 'suspend' | 'resume' | 'delete' | 'inspect';

/** Records calls that overlap on one instance, across every provider wrapped with the same tracker. */
export class OverlapTracker {
  private readonly active = new Map<string, string>();
  readonly overlaps: string[] = [];
  readonly callsBy = new Map<string, number>();

  enter(instanceId: string, label: string, method: Method): void {
    const holder = this.active.get(instanceId);
    if (holder !== undefined) this.overlaps.push(`${label}.${method} overlapped ${holder} on ${instanceId}`);
    this.active.set(instanceId, `${label}.${method}`);
    this.callsBy.set(label, (this.callsBy.get(label) ?? 0) + 1);
  }

  exit(instanceId: string): void {
    this.active.delete(instanceId);
  }
}

export interface Instrumentation {
  label?: string;
  tracker?: OverlapTracker;
  /** Runs before the inner call; throwing from it makes the call fail, awaiting delays it. */
  before?: (method: Method, instanceId: string) => void | Promise<void>;
}

/**
 * Wraps a real provider to inject failures and watch concurrency. It has no watch(), so that only the resync
 * (not the change feed) can notice outside changes in tests that use it.
 */
export function instrument(inner: Provider, options: Instrumentation): Provider & { calls: Array<[Method, string]> } {
  const calls: Array<[Method, string]> = [];
  const label = options.label ?? inner.name;
  async function call<T>(method: Method, instanceId: string, run: () => Promise<T>): Promise<T> {
    calls.push([method, instanceId]);
    options.tracker?.enter(instanceId, label, method);
    try {
      await options.before?.(method, instanceId);
      return await run();
    } finally {
      options.tracker?.exit(instanceId);
    }
  }
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    calls,
    probe: () => inner.probe(),
    create: (spec: MachineSpec) => call('create', spec.instanceId, () => inner.create(spec)),
    start: (id: string) => call('start', id, () => inner.start(id)),
    stop: (id: string, o: { graceMs: number }) => call('stop', id, () => inner.stop(id, o)),
    reset: (id: string) => call('reset', id, () => inner.reset(id)),
    ...(inner.suspend ? { suspend: (id: string) => call('suspend', id, () => inner.suspend!(id)) } : {}),
    ...(inner.resume ? { resume: (id: string) => call('resume', id, () => inner.resume!(id)) } : {}),
    delete: (id: string) => call('delete', id, () => inner.delete(id)),
    inspect: (id: string): Promise<Observation | null> => call('inspect', id, () => inner.inspect(id)),
    list: (): Promise<OwnedMachine[]> => inner.list(),
    close: () => inner.close(),
  };
}
