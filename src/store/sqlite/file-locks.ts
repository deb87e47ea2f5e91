/*
 * In-process serialisation of writers that share one SQLite file.
 *
 * better-sqlite3 is synchronous: a writer that meets a lock held by another connection busy-waits
 * (busy_timeout) on the event-loop thread. When the holder is another connection in this same process,
 * it sits in the middle of an async transaction and can never finish while we spin, so the two deadlock
 * until the timeout. Writers of one file within a process therefore queue here first; across processes
 * BEGIN IMMEDIATE and busy_timeout do the job, since the holder runs on its own thread of control.
 */

export class AsyncMutex {
  #tail: Promise<void> = Promise.resolve();
  /**
   * Write transactions committed on the file by this process's handles (GroupCommitter counts them, before telling
   * their writers): a handle's readers end their read transaction when it moves (ReadTurn, sqlite-dialect.ts).
   */
  commits = 0;

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    let release: () => void = () => {};
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

interface Entry {
  mutex: AsyncMutex;
  users: number;
}

const byFile = new Map<string, Entry>();

/** The mutex for a database file (undefined: a private database, e.g. ':memory:'), and its release. */
export function acquireFileMutex(path: string | undefined): { mutex: AsyncMutex; release: () => void } {
  if (path === undefined) return { mutex: new AsyncMutex(), release: () => {} };
  let entry = byFile.get(path);
  if (!entry) {
    entry = { mutex: new AsyncMutex(), users: 0 };
    byFile.set(path, entry);
  }
  entry.users++;
  const held = entry;
  let released = false;
  return {
    mutex: held.mutex,
    release: () => {
      if (released) return;
      released = true;
      if (--held.users === 0 && byFile.get(path) === held) byFile.delete(path);
    },
  };
}
