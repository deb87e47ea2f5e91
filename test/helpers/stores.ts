import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import pg from 'pg';
import type { Clock } from '../../src/domain/clock.js';
import type { Store } from '../../src/domain/store.js';
import { openPostgresStore, openSqliteStore } from '../../src/store/index.js';
import { postgresProblem, postgresTestUrl, skipOrFail, storeNames, type StoreName } from './matrix.js';

export { postgresTestUrl, storeNames, type StoreName };

/*
 * The stores a test runs over, chosen by STORES (comma list, default "sqlite,postgres").
 *
 *   await forEachStore((factory) => {
 *     test('…', async (t) => {
 *       const store = await factory.open();         // a fresh, empty, migrated database
 *       t.after(() => store.cleanup());
 *       const other = await store.openAnother();    // a second Store object on the same database
 *     });
 *   });
 *
 * SQLite: a new temporary data directory per open(). PostgreSQL: GALE_TEST_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test), a new random schema per open(), dropped by cleanup().
 * A store that cannot be reached is skipped with its reason, except when CI=true: then a failing test
 * says so (./matrix.ts decides), because a suite that silently tested nothing must not pass.
 */

export interface TestStore extends Store {
  /** Another Store object on the same database, as a second process or replica would open it. */
  openAnother(): Promise<Store>;
  /** Where it lives: the SQLite data directory, or the PostgreSQL schema. */
  readonly location: string;
  /** Closes every Store opened on this database and deletes the database. */
  cleanup(): Promise<void>;
}

export interface StoreFactory {
  name: StoreName;
  /** Why this store cannot be tested here, or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  open(options?: { clock?: Clock }): Promise<TestStore>;
}

export function storeFactories(): StoreFactory[] {
  return storeNames().map((name) => (name === 'sqlite' ? sqliteFactory : postgresFactory));
}

/** Declares one describe() per store under test, or the skip / failure that stands in for an unreachable one. */
export async function forEachStore(define: (factory: StoreFactory) => void): Promise<void> {
  for (const factory of storeFactories()) {
    const reason = skipOrFail(`the ${factory.name} store`, await factory.unavailable());
    if (reason === undefined) describe(factory.name, () => define(factory));
    else describe(factory.name, { skip: `${factory.name} store skipped: ${reason}` }, () => {});
  }
}

function withCleanup(store: Store, location: string, openAnother: () => Promise<Store>, drop: () => Promise<void>): TestStore {
  const opened: Store[] = [store];
  let cleaned: Promise<void> | undefined;
  return Object.assign(store, {
    location,
    async openAnother(): Promise<Store> {
      const another = await openAnother();
      opened.push(another);
      return another;
    },
    cleanup(): Promise<void> {
      cleaned ??= (async () => {
        await Promise.all(opened.map((s) => s.close()));
        await drop();
      })();
      return cleaned;
    },
  });
}

const sqliteFactory: StoreFactory = {
  name: 'sqlite',
  unavailable: async () => undefined,
  async open(options = {}) {
    const dataDir = mkdtempSync(join(tmpdir(), 'gale-store-test-'));
    const open = () => openSqliteStore({ dataDir, clock: options.clock });
    return withCleanup(await open(), dataDir, open, async () => rmSync(dataDir, { recursive: true, force: true }));
  },
};

const postgresFactory: StoreFactory = {
  name: 'postgres',
  unavailable: postgresProblem,
  async open(options = {}) {
    const schema = `gale_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const open = () => openPostgresStore({ url: postgresTestUrl(), schema, clock: options.clock, poolSize: 5 });
    const drop = async () => {
      const client = new pg.Client({ connectionString: postgresTestUrl() });
      await client.connect();
      try {
        await client.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await client.end();
      }
    };
    return withCleanup(await open(), schema, open, drop);
  },
};

/** A clock tests move by hand. */
export function manualClock(start = 1_000_000): Clock & { set(now: number): void; advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    set: (value: number) => {
      now = value;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}
