// Addresses on networks Gale manages (the qemu provider's bridge), kept on its state port, over every store: idempotent
// per instance, never one address to two instances, even when replicas allocate at the same moment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GaleError } from '../../src/domain/errors.js';
import type { Store } from '../../src/domain/store.js';
import { stateAddressBook, type AddressBook } from '../../src/providers/qemu/address-book.js';
import { forEachStore } from '../helpers/stores.js';

const NET = '10.213.0.0/24';
const hosts = (count: number, first = 2): string[] => Array.from({ length: count }, (_, i) => `10.213.0.${first + i}`);
const book = (store: Store): AddressBook => stateAddressBook(store.providerState('qemu'));

await forEachStore((factory) => {
  test('vm addresses: the lowest free one, the same again for the same instance, freed by release', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    assert.equal(await book(store).allocate(NET, 'i-a', hosts(5)), '10.213.0.2');
    assert.equal(await book(store).allocate(NET, 'i-b', hosts(5)), '10.213.0.3');
    assert.equal(await book(store).allocate(NET, 'i-a', hosts(5)), '10.213.0.2', 'idempotent');
    await book(store).release('i-a');
    await book(store).release('i-a');
    await book(store).release('never-held');
    assert.equal(await book(store).allocate(NET, 'i-c', hosts(5)), '10.213.0.2', 'a released address is handed out again');
    // Networks are separate spaces; an instance asked on another network moves there.
    assert.equal(await book(store).allocate('10.99.0.0/24', 'i-d', ['10.213.0.2']), '10.213.0.2');
    assert.equal(await book(store).allocate('10.99.0.0/24', 'i-b', ['10.99.0.2', '10.99.0.3']), '10.99.0.2');
    assert.equal(await book(store).allocate(NET, 'i-e', hosts(5)), '10.213.0.3', 'i-b gave its old address up');
  });

  test('vm addresses: a full network is a conflict that says so', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    await book(store).allocate(NET, 'i-a', hosts(2));
    await book(store).allocate(NET, 'i-b', hosts(2));
    await assert.rejects(book(store).allocate(NET, 'i-c', hosts(2)), (error: unknown) => {
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
    const got = await Promise.all(ids.map((id, i) => book(i % 2 === 0 ? first : second).allocate(NET, id, candidates)));
    assert.equal(new Set(got).size, ids.length, `distinct addresses: ${got.join(' ')}`);
    assert.deepEqual([...got].sort(), [...candidates.slice(0, ids.length)].sort(), 'the lowest ones, no gaps');
    // The same instance asked on both replicas at once gets one address, and holds only it.
    const [a, b] = await Promise.all([book(first).allocate(NET, 'i-twice', candidates), book(second).allocate(NET, 'i-twice', [...candidates].reverse())]);
    assert.equal(a, b);
    const next = await book(first).allocate(NET, 'i-next', candidates);
    assert.ok(!got.includes(next) && next !== a, `${next} is free`);
  });

  test('vm addresses: an allocation or a release cut short between its two writes is mended by the next call', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const state = store.providerState('qemu');
    // Cut short after its claim: the instance's claim, and no holding. The next allocation for it takes it up.
    await state.insert(`address/${NET}/10.213.0.4`, { instanceId: 'i-a' });
    assert.equal(await book(store).allocate(NET, 'i-a', hosts(5)), '10.213.0.4');
    assert.equal(await book(store).allocate(NET, 'i-b', hosts(5)), '10.213.0.2');
    // A release cut short after giving up its claim: a holding with no claim is dropped, and the address allocated anew.
    const claim = await state.get(`address/${NET}/10.213.0.2`);
    assert.ok(claim && (await state.delete(claim.key, claim.version)));
    assert.equal(await book(store).allocate(NET, 'i-c', hosts(5)), '10.213.0.2', 'the freed address goes to another');
    assert.equal(await book(store).allocate(NET, 'i-b', hosts(5)), '10.213.0.3', 'i-b is given another, not the one it lost');
    await book(store).release('i-b');
    await book(store).release('i-c');
    assert.deepEqual((await state.list('')).map((entry) => entry.key), [`address/${NET}/10.213.0.4`, 'instance/i-a'], 'nothing else is left');
  });
});
