// The providers' keyed state port over every store: versions and compare-and-set, insert-if-absent, listing by prefix
// and range in byte order, one provider never seeing another's keys, and two Store objects on one database racing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STATE_KEY_MAX_LENGTH, type JsonValue } from '../../src/domain/provider-state.js';
import { forEachStore, manualClock } from '../helpers/stores.js';

await forEachStore((factory) => {
  test('provider state: insert only if absent, put only at the version read, delete, get', async (t) => {
    const clock = manualClock(5_000);
    const store = await factory.open({ clock });
    t.after(() => store.cleanup());
    const state = store.providerState('p');
    assert.equal(await state.get('k'), undefined);

    const inserted = await state.insert('k', { a: 1, list: [true, null, 'x'] });
    assert.deepEqual(inserted, { key: 'k', value: { a: 1, list: [true, null, 'x'] }, version: 1, updatedAt: 5_000 });
    assert.equal(await state.insert('k', 'again'), undefined, 'a key that exists is not inserted over');
    assert.deepEqual(await state.get('k'), inserted);

    clock.advance(10);
    const put = await state.put('k', 'second', 1);
    assert.deepEqual(put, { key: 'k', value: 'second', version: 2, updatedAt: 5_010 });
    assert.equal(await state.put('k', 'stale', 1), undefined, 'a write over a version read before another write loses');
    assert.equal(await state.put('absent', 'x', 1), undefined, 'a put never makes a key');
    assert.equal((await state.get('k'))?.value, 'second');

    assert.equal(await state.delete('k', 1), false, 'a delete at an old version removes nothing');
    assert.equal((await state.get('k'))?.version, 2);
    assert.equal(await state.delete('k', 2), true);
    assert.equal(await state.delete('k'), false, 'nothing left to remove');
    assert.equal(await state.get('k'), undefined);
    assert.equal((await state.insert('k', 0))?.version, 1, 'a removed key starts again at version 1');
    assert.equal(await state.delete('k'), true, 'without a version, whatever is there');

    const values: JsonValue[] = [null, false, 0, -1.5, '', 'ü ☃', [], {}, { nested: { deep: [1, [2, { three: 3 }]] } }];
    for (const value of values) {
      await state.insert('json', value);
      assert.deepEqual((await state.get('json'))?.value, value, JSON.stringify(value));
      await state.delete('json');
    }
  });

  test('provider state: listed by prefix, and by range of what follows it, in byte order', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const state = store.providerState('p');
    // A collation such as en_US ignores dashes at first and would put tw-a-z last; byte order puts it first.
    const ids = ['tw-ab', 'tw-a-z', 'tw-a0', 'tw-b', 'TW-upper'];
    for (const id of ids) await state.insert(`machine/inst/${id}`, id);
    await state.insert('machine/inst', 'the prefix without its slash');
    await state.insert('machine/inst0/tw-a0', 'a longer prefix');
    await state.insert('machine/insu/x', 'past the prefix');
    await state.insert('machine0', 'past machine/');
    const keys = async (prefix: string, range?: { after?: string; through?: string }) => (await state.list(prefix, range)).map((entry) => entry.key.slice(prefix.length));

    assert.deepEqual(await keys('machine/inst/'), ['TW-upper', 'tw-a-z', 'tw-a0', 'tw-ab', 'tw-b']);
    assert.deepEqual(await keys('machine/inst/', { after: 'tw-a-z' }), ['tw-a0', 'tw-ab', 'tw-b']);
    assert.deepEqual(await keys('machine/inst/', { after: 'tw-a-z', through: 'tw-ab' }), ['tw-a0', 'tw-ab']);
    assert.deepEqual(await keys('machine/inst/', { through: 'tw-a' }), ['TW-upper']);
    assert.deepEqual(await keys('machine/inst/', { after: 'tw-b' }), []);
    assert.deepEqual(await keys('machine/'), ['inst', 'inst/TW-upper', 'inst/tw-a-z', 'inst/tw-a0', 'inst/tw-ab', 'inst/tw-b', 'inst0/tw-a0', 'insu/x']);
    assert.equal((await state.list('')).length, ids.length + 4, 'the empty prefix lists every key');
    assert.deepEqual(await keys('machine/inst/tw-a'), ['-z', '0', 'b']);
    assert.deepEqual(await keys('machine/nothing/'), []);
    // ~ is the last printable character: a prefix ending in it still bounds the listing.
    await state.insert('z~', 1);
    await state.insert('z~~', 2);
    for (const around of ['z', 'z}', '{']) await state.insert(around, 3);
    assert.deepEqual(await keys('z~'), ['', '~']);
  });

  test('provider state: a provider sees only its own keys', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const simulator = store.providerState('simulator');
    const qemu = store.providerState('qemu');
    await simulator.insert('shared', 'the simulator');
    assert.equal(await qemu.get('shared'), undefined);
    assert.deepEqual(await qemu.list(''), []);
    assert.ok(await qemu.insert('shared', 'qemu'), 'the same key is another provider\'s own');
    assert.equal(await qemu.put('shared', 'x', 2), undefined);
    assert.equal(await simulator.delete('shared', 1), true);
    assert.equal((await qemu.get('shared'))?.value, 'qemu', "one provider's delete leaves another's key");
    assert.deepEqual((await store.providerState('qemu').list('')).map((entry) => entry.value), ['qemu'], 'a port obtained again sees the same keys');
  });

  test('provider state: keys it cannot order alike on every engine are refused', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const state = store.providerState('p');
    await assert.rejects(state.get(''), /must be printable ASCII/);
    await assert.rejects(state.insert('ü', 1), /must be printable ASCII/);
    await assert.rejects(state.put('a\nb', 1, 1), /must be printable ASCII/);
    await assert.rejects(state.list('x'.repeat(STATE_KEY_MAX_LENGTH + 1)), /must be printable ASCII/);
    assert.ok(await state.insert('k'.repeat(STATE_KEY_MAX_LENGTH), 1));
    assert.throws(() => store.providerState(''), /needs a provider name/);
  });

  test('provider state: two Store objects on one database never both win one insert or one put', async (t) => {
    const first = await factory.open();
    t.after(() => first.cleanup());
    const second = await first.openAnother();
    const states = [first.providerState('p'), second.providerState('p')];
    const racers = Array.from({ length: 20 }, (_, i) => states[i % 2]!);

    const inserts = await Promise.all(racers.map((state, i) => state.insert('claim', i)));
    const insertWinners = inserts.filter((entry) => entry !== undefined);
    assert.equal(insertWinners.length, 1, 'one insert wins');
    assert.deepEqual((await states[1]!.get('claim'))?.value, insertWinners[0]?.value);

    // Every racer read version 1 and writes over it: one wins, and what it wrote is what is kept.
    const puts = await Promise.all(racers.map((state, i) => state.put('claim', `put ${i}`, 1)));
    const putWinners = puts.filter((entry) => entry !== undefined);
    assert.equal(putWinners.length, 1, 'one put wins');
    assert.deepEqual(await states[0]!.get('claim'), putWinners[0]);

    // A counter every racer increments by reading and writing back, retrying when it loses: no increment is lost.
    await states[0]!.insert('counter', 0);
    await Promise.all(
      racers.map(async (state) => {
        for (;;) {
          const read = await state.get('counter');
          if (await state.put('counter', (read!.value as number) + 1, read!.version)) return;
        }
      }),
    );
    assert.equal((await states[1]!.get('counter'))?.value, racers.length);

    const deletes = await Promise.all(racers.map((state) => state.delete('counter', racers.length + 1)));
    assert.equal(deletes.filter(Boolean).length, 1, 'one delete at a version removes it');
  });

  test('provider state: its statements are counted with the store\'s', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const before = store.queryCount();
    await store.providerState('p').get('k');
    assert.ok(store.queryCount() > before);
  });
});
