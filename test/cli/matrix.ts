import { unavailable } from '../helpers/backends.js';
import type { Backend } from '../helpers/gale.js';
import { storeNames } from '../helpers/stores.js';

/** The CLI runs against the simulator over every store under test (STORES); an unreachable store is skipped with its reason. */
export async function cliBackends(): Promise<Array<{ backend: Backend; name: string; skip: string | undefined }>> {
  const all = storeNames().map((store) => ({ store, provider: 'simulator' }) satisfies Backend);
  return Promise.all(all.map(async (backend) => ({ backend, name: `${backend.store}+simulator`, skip: await unavailable(backend) })));
}
