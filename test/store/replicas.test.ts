// Replicas' liveness (migration 012) over every store: heartbeats counted, dead replicas expiring, a replica that
// stops counted out at once, and the last count kept while the store cannot be written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../src/logger.js';
import { ReplicaLiveness, REPLICA_TTL_MS } from '../../src/replica-liveness.js';
import { forEachStore, manualClock } from '../helpers/stores.js';

const quiet = createLogger('silent');

await forEachStore((factory) => {
  test('heartbeats: each replica counted once, the asking one included; a row not renewed within the TTL expires', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const other = await store.openAnother();
    const ttl = 15_000;
    assert.equal(await store.heartbeatReplica('a', 100_000, ttl), 1);
    assert.equal(await other.heartbeatReplica('b', 101_000, ttl), 2);
    assert.equal(await store.heartbeatReplica('a', 105_000, ttl), 2, 'a beat again is the same replica');
    assert.equal(await other.heartbeatReplica('c', 106_000, ttl), 3);
    // b last beat at 101 000: at 116 000 it has been silent for the whole TTL, and is dead.
    assert.equal(await store.heartbeatReplica('a', 116_000, ttl), 2);
    assert.equal(await other.heartbeatReplica('b', 117_000, ttl), 3, 'a replica that comes back is counted again');
    await store.removeReplica('c');
    assert.equal(await store.heartbeatReplica('a', 118_000, ttl), 2, 'a replica that said goodbye is gone at once');
    await store.removeReplica('nobody');
  });

  test('ReplicaLiveness: replicas come and go; a stopped one counted out at once, a killed one after the TTL; the last count kept while the store fails', async (t) => {
    const clock = manualClock(1_000_000);
    const store = await factory.open({ clock });
    t.after(() => store.cleanup());
    const liveness = async (replicaId: string) => new ReplicaLiveness(await store.openAnother(), { replicaId, clock, logger: quiet, intervalMs: 3_600_000 });
    const [a, b, c] = [await liveness('replica-a'), await liveness('replica-b'), await liveness('replica-c')];
    assert.equal(a.count, 1, 'before any heartbeat: this replica alone');
    await a.start();
    await b.start();
    await c.start();
    assert.deepEqual([await a.beat(), b.count, c.count], [3, 2, 3]);

    await c.stop();
    assert.equal(await a.beat(), 2, 'c stopped and deleted its row');
    clock.advance(REPLICA_TTL_MS / 2);
    await a.beat();
    // b dies without a word: a still counts it until it has been silent for the TTL.
    clock.advance(REPLICA_TTL_MS / 2 - 1);
    assert.equal(await a.beat(), 2);
    clock.advance(1);
    assert.equal(await a.beat(), 1, 'b silent for the whole TTL: dead');

    const lonely = new ReplicaLiveness(await store.openAnother(), { replicaId: 'replica-d', clock, logger: quiet });
    await lonely.beat();
    assert.equal(await a.beat(), 2);
    // The store goes away under a: its count stays what it last read, not 1.
    const failing = await store.openAnother();
    const e = new ReplicaLiveness(failing, { replicaId: 'replica-e', clock, logger: quiet });
    assert.equal(await e.beat(), 3);
    await failing.close();
    assert.equal(await e.beat(), 3, 'a heartbeat that fails keeps the last count');
    await Promise.all([a.stop(), b.stop(), e.stop(), lonely.stop()]);
  });
});

test('after an outage of the store, the first heartbeat (which finds every other row stale) does not lower the count; the next one may', async () => {
  const answers: Array<number | Error> = [3, new Error('database down'), 1, 1];
  const store = {
    heartbeatReplica: async () => {
      const answer = answers.shift()!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    removeReplica: async () => undefined,
  };
  const liveness = new ReplicaLiveness(store, { replicaId: 'r', clock: manualClock(), logger: quiet });
  assert.deepEqual([await liveness.beat(), await liveness.beat(), await liveness.beat(), await liveness.beat()], [3, 3, 3, 1]);
});
