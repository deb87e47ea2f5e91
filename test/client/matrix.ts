import { unavailable } from '../helpers/backends.js';
import type { Backend } from '../helpers/gale.js';
import { storeNames } from '../helpers/stores.js';

/** The client runs against the simulator over every store under test (STORES); a store that cannot be reached is skipped with its reason. */
export async function clientBackends(): Promise<Array<{ backend: Backend; name: string; skip: string | undefined }>> {
  const all = storeNames().map((store) => ({ store, provider: 'simulator' }) satisfies Backend);
  return Promise.all(all.map(async (backend) => ({ backend, name: `${backend.store}+simulator`, skip: await unavailable(backend) })));
}
