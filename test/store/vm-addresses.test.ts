// Addresses on networks Gale manages (the qemu provider's bridge), over every store: idempotent per instance, never one
// address to two instances, even when replicas allocate at the same moment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GaleError } from '../../src/domain/errors.js';
import { forEachStore } from '../helpers/stores.js';

const NET = '10.213.0.0/24';
const hosts = (count: number, first = 2): string[] => Array.from({ length: count }, (_, i) => `10.213.0.${first + i}`);

await forEachStore((factory) => {
  test('vm addresses: the lowest free one, the same again for the same instance, freed by release', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    assert.equal(await store.allocateAddress(NET, 'i-a', hosts(5)), '10.213.0.2');
    assert.equal(await store.allocateAddress(NET, 'i-b', hosts(5)), '10.213.0.3');
    assert.equal(await store.allocateAddress(NET, 'i-a', hosts(5)), '10.213.0.2', 'idempotent');
    await store.releaseAddress('i-a');
    await store.releaseAddress('i-a');
    await store.releaseAddress('never-held');
    assert.equal(await store.allocateAddress(NET, 'i-c', hosts(5)), '10.213.0.2', 'a released address is handed out again');
    // Networks are separate spaces; an instance asked on another network moves there.
    assert.equal(await store.allocateAddress('10.99.0.0/24', 'i-d', ['10.213.0.2']), '10.213.0.2');
    assert.equal(await store.allocateAddress('10.99.0.0/24', 'i-b', ['10.99.0.2', '10.99.0.3']), '10.99.0.2');
    assert.equal(await store.allocateAddress(NET, 'i-e', hosts(5)), '10.213.0.3', 'i-b gave its old address up');
  });

  test('vm addresses: a full network is a conflict that says so', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    await store.allocateAddress(NET, 'i-a', hosts(2));
    await store.allocateAddress(NET, 'i-b', hosts(2));
    await assert.rejects(store.allocateAddress(NET, 'i-c', hosts(2)), (error: unknown) => {
      assert.ok(error instanceof GaleError);
      assert.equal(error.code, 'conflict');
      assert.match(error.message, /no free address is left on 10\.213\.0\.0\/24/);
      return true;
    });
  });

  test('vm addresses: two replicas allocating at once never get one address', async (t) => {
    const first = await factory.open();
    t.after(() => first.cleanup());
    const second = await first.openAnother();
    const candidates = hosts(40);
    // Both see every address free, so every allocation races for the same lowest ones.
    const ids = Array.from({ length: 30 }, (_, i) => `i-${i}`);
    const got = await Promise.all(ids.map((id, i) => (i % 2 === 0 ? first : second).allocateAddress(NET, id, candidates)));
    assert.equal(new Set(got).size, ids.length, `distinct addresses: ${got.join(' ')}`);
    assert.deepEqual([...got].sort(), [...candidates.slice(0, ids.length)].sort(), 'the lowest ones, no gaps');
    // The same instance asked on both replicas at once gets one address, and holds only it.
    const [a, b] = await Promise.all([first.allocateAddress(NET, 'i-twice', candidates), second.allocateAddress(NET, 'i-twice', [...candidates].reverse())]);
    assert.equal(a, b);
    const next = await first.allocateAddress(NET, 'i-next', candidates);
    assert.ok(!got.includes(next) && next !== a, `${next} is free`);
  });
});
