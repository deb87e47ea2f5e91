import { Worker } from 'node:worker_threads';

/*
 * SQLite copies the write-ahead log back into the database file (a checkpoint) on the connection that commits, once
 * the log passes wal_autocheckpoint pages: a commit that trips it does the copying of the last thousand pages, on
 * the event loop. Measured on the create benchmark, that was 40% of the time spent committing. Here a worker thread
 * with a connection of its own runs passive checkpoints a few times a second, so the server's connection only
 * appends. Passive checkpoints never wait for or block readers and writers; they copy what no reader still needs.
 * The server's connection keeps a far higher wal_autocheckpoint as a backstop, should this worker fall behind.
 */

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { timeout: workerData.busyTimeoutMs });
const tick = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    // Busy or locked: the next tick tries again, and the server's backstop bounds the log meanwhile.
  }
};
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  tick();
  db.close();
  parentPort.postMessage('closed');
});
`;

export interface WalCheckpointer {
  close(): Promise<void>;
}

export function startWalCheckpointer(filename: string, options: { intervalMs: number; busyTimeoutMs: number; driver: string }): WalCheckpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { filename, ...options },
    // It runs one pragma a few times a second: a small heap keeps its memory small too.
    resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
  });
  // It must never keep a process alive that has nothing else to do.
  worker.unref();
  let failed = false;
  worker.once('error', () => {
    failed = true;
  });
  return {
    async close() {
      if (failed) return;
      const closed = new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.once('exit', () => resolve());
      });
      // Held while closing: an unreferenced worker's answer would not keep the event loop alive to be received.
      worker.ref();
      worker.postMessage('close');
      await closed;
      await worker.terminate();
    },
  };
}
