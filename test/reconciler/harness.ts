import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { systemClock, type Clock } from '../../src/domain/clock.js';
import { newInstanceId } from '../../src/domain/ids.js';
import type { InstanceRecord } from '../../src/domain/instance.js';
import type { Provider } from '../../src/domain/provider.js';
import type { Store } from '../../src/domain/store.js';
import { createSimulatorProvider, type SimulatorProvider } from '../../src/providers/simulator/index.js';
import { createReconciler, type Reconciler, type ReconcilerOptions } from '../../src/reconciler/index.js';
import { openTempStore, waitFor, type TempStore } from '../providers/temp-store.js';
import { instanceSpec } from '../../src/domain/instance-spec.js';

export interface Harness {
  store: Store;
  sim: SimulatorProvider;
  userId: string;
  logger: Logger;
  /** A new instance as the API makes it: PROVISIONING, desired RUNNING, due. */
  instance(): Promise<InstanceRecord>;
  /** A reconciler over the harness's store, stopped by close(); options override fast test defaults. */
  reconciler(options?: Partial<ReconcilerOptions> & { provider?: Provider }): Reconciler;
  /** Polls the stored instance until the predicate holds; undefined stands for "purged". */
  until(id: string, what: string, predicate: (record: InstanceRecord | undefined) => boolean): Promise<InstanceRecord | undefined>;
  close(): Promise<void>;
}

export async function openHarness(options: { delayMs?: number; staleAfterMs?: number; clock?: Clock } = {}): Promise<Harness> {
  const temp: TempStore = await openTempStore();
  const store = temp.store;
  const clock = options.clock ?? systemClock;
  const logger = pino({ level: process.env.GALE_TEST_LOG_LEVEL ?? 'silent' });
  const sim = createSimulatorProvider({ state: store.providerState('simulator'), installationId: await store.installationId(), clock, delayMs: options.delayMs ?? 10, staleAfterMs: options.staleAfterMs, logger });
  const userId = randomUUID();
  await store.createUser({ id: userId, email: `${userId}@example.test`, tier: 'free', roles: [], customerId: '', createdAt: clock.now() });
  const reconcilers: Reconciler[] = [];
  let owners = 0;

  return {
    store,
    sim,
    userId,
    logger,
    instance: () =>
      store.createInstance(
        { userId, zone: 'us-central1-a', machineType: 'n1-standard-1', templateId: 'ubuntu-22-standard', vcpus: 1, memoryMb: 3840, diskGb: 10, spec: instanceSpec(), createdAt: clock.now() },
        null,
        () => newInstanceId(userId),
      ),
    reconciler(overrides = {}): Reconciler {
      owners += 1;
      const reconciler = createReconciler({
        store,
        provider: sim,
        clock,
        logger,
        owner: `replica-${owners}`,
        pollIntervalMs: 20,
        leaseMs: 5_000,
        resyncIntervalMs: 60_000,
        stopGraceMs: 1_000,
        backoff: { baseMs: 20, maxMs: 200 },
        waitRetryMs: 50,
        ...overrides,
      });
      reconcilers.push(reconciler);
      return reconciler;
    },
    async until(id, what, predicate) {
      return waitFor(`${id} to be ${what}`, async () => {
        const record = await store.getInstance(id);
        if (predicate(record)) return { record };
        return undefined;
      }).then((found) => found.record);
    },
    async close(): Promise<void> {
      await Promise.all(reconcilers.map((r) => r.stop({ waitMs: 5_000 })));
      await sim.close();
      await temp.close();
    },
  };
}
