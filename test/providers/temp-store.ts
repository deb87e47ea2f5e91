import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../src/domain/store.js';
import { openSqliteStore } from '../../src/store/index.js';

export interface TempStore {
  store: Store;
  dataDir: string;
  close(): Promise<void>;
}

/** A real SQLite store in a fresh temporary directory, removed on close. */
export async function openTempStore(): Promise<TempStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gale-reconciler-test-'));
  const store = await openSqliteStore({ dataDir });
  return {
    store,
    dataDir,
    async close(): Promise<void> {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until check returns a value other than undefined; fails with what it last saw. Never asserts on speed. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A clock tests can move forward, for the simulator's crash detection. */
export function manualClock(start = Date.now()): { now(): number; advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => start + offset,
    advance: (ms: number) => {
      offset += ms;
    },
  };
}
