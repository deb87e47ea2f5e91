import type { Logger } from 'pino';
import type { ReplicaIdentity } from '../domain/replica-identity.js';
import type { WorkStore } from '../domain/store.js';
import type { Reconciler } from './reconciler.js';

/**
 * Starts the reconciler under the replica's identity. Leases still carrying the id are a dead predecessor's (the id is
 * held exclusively: no live process holds it but this one), so they are given back before the first claim and the
 * work is claimed at once rather than after the lease runs out. While the identity is lost (a PostgreSQL session
 * ended) the reconciler is stopped, since another process may hold the id; it starts again, the same way, once the
 * identity is held again. Returns the function that ends the guard, to be called before the reconciler is stopped.
 */
export async function runUnderIdentity(
  identity: ReplicaIdentity,
  reconciler: Pick<Reconciler, 'start' | 'stop'>,
  store: Pick<WorkStore, 'releaseLeases'>,
  log: Logger,
): Promise<() => Promise<void>> {
  const takeOver = async (): Promise<void> => {
    const released = await store.releaseLeases(identity.id).catch((error: unknown) => {
      log.warn({ err: error, replicaId: identity.id }, 'could not take over the leases of this replica id; they run out on their own');
      return 0;
    });
    if (released > 0) log.info({ released, replicaId: identity.id }, 'took over the leases a previous process of this replica id held');
    reconciler.start();
  };
  // One change at a time, in order: a loss and a recovery close together must not start and stop out of turn.
  let turn = Promise.resolve();
  const unsubscribe = identity.onChange((held) => {
    turn = turn
      .then(async () => {
        if (held) return takeOver();
        log.error({ replicaId: identity.id }, 'the replica id is no longer held (its database session ended): reconciling stops until it is held again');
        // The leases stay: under an id another process may hold by now, they may be that process's.
        await reconciler.stop({ waitMs: 0, keepLeases: true });
      })
      .catch((error: unknown) => log.error({ err: error, replicaId: identity.id }, 'could not follow a change of the replica id'));
  });
  if (identity.held) await takeOver();
  return async () => {
    unsubscribe();
    await turn;
  };
}
