import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Store } from '../domain/store.js';
import type { Db } from './db.js';
import { withDependencyErrors } from './dependency-errors.js';
import { eventStore } from './events.js';
import { idempotencyStore } from './idempotency.js';
import { instanceStore } from './instances.js';
import { operationsOfInstance, pruneOperations } from './operations.js';
import { providerState } from './provider-state.js';
import { replicaStore } from './replicas.js';
import { userStore } from './users.js';
import { workClaims } from './work-claims.js';
import { workResults } from './work-results.js';

const INSTALLATION_ID_KEY = 'installation_id';

/**
 * The Store both engines share: each concern lives in its own module and is assembled here. close is the
 * engine's own teardown (it knows what else it opened besides the Kysely instance). A failure of the database
 * itself leaves every method as a DependencyUnavailable (dependency-errors.ts), whatever the engine.
 */
export function createKyselyStore(db: Db, close: () => Promise<void>): Store {
  let installationId: string | undefined;
  let closed: Promise<void> | undefined;

  return withDependencyErrors<Store>({
    dialect: db.dialect,
    ...userStore(db),
    ...instanceStore(db),
    ...idempotencyStore(db),
    ...workClaims(db),
    ...workResults(db),
    ...eventStore(db),
    ...replicaStore(db),
    listOperations: operationsOfInstance(db),
    pruneOperations: (finishedBefore: number, limit: number) => pruneOperations(db, finishedBefore, limit),
    // The port is a store of its own: its methods need the same telling apart of the database's failures.
    providerState: (provider: string) => withDependencyErrors(providerState(db, provider)),

    async installationId(): Promise<string> {
      if (installationId) return installationId;
      // Insert-or-ignore then read: whichever process got there first wins, all of them read the same id.
      await db.write((trx) =>
        trx
          .insertInto('meta')
          .values({ key: INSTALLATION_ID_KEY, value: randomUUID() })
          .onConflict((oc) => oc.column('key').doNothing())
          .execute(),
      );
      const row = await db.kysely.selectFrom('meta').select('value').where('key', '=', INSTALLATION_ID_KEY).executeTakeFirstOrThrow();
      installationId = row.value;
      return installationId;
    },

    queryCount: () => db.queries.count,

    async ping(): Promise<void> {
      await sql`select 1`.execute(db.kysely);
    },

    close(): Promise<void> {
      closed ??= close();
      return closed;
    },
  });
}
