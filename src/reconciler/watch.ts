import type { Logger } from 'pino';
import { observedStateOf } from './reconcile-instance.js';
import type { ResolvedOptions } from './options.js';

type Deps = Pick<ResolvedOptions, 'store' | 'provider'>;

/**
 * Reacts to one pushed change (e.g. Docker's event stream) at once instead of at the next resync. Like the resync
 * it only records what it sees; recordObservation itself refuses instances that are deleted, leased or have a
 * newer intent, so work under way is never overwritten, without reading every row per event.
 */
export async function observeOne(deps: Deps, instanceId: string, logger: Logger): Promise<void> {
  const observed = observedStateOf(await deps.provider.inspect(instanceId));
  await deps.store.recordObservation(instanceId, observed);
  logger.debug({ instanceId, status: observed.status }, 'recorded a pushed provider change');
}
