import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GaleEvent } from '../../src/domain/store.js';
import { forEachStore } from '../helpers/stores.js';
import { addUser, create, finishCreate } from './fixtures.js';

/*
 * Events are written with the changes they tell of, in commit order, on both engines; a second Store on the same
 * database (another replica, on PostgreSQL through LISTEN/NOTIFY) hears of them. Operations list newest first, and the
 * admin listing pages by keyset exactly as by offset.
 */

await forEachStore((factory) => {
  test('every change writes its events, in order, and listeners hear of them', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    let told = 0;
    const stop = store.subscribeToEvents(() => told++);
    t.after(stop);
    const made = await create(store, user.id);
    await finishCreate(store, made.id, 'RUNNING');
    await store.requestPowerOperation(made.id, user.id, 'reset', 2_000);
    await store.deleteInstance(made.id, user.id, 3_000);
    const events = await store.listEvents(0, {}, 100);
    const operation = (kind: string, state: string, started: boolean) => ['operation', kind, state, started];
    assert.deepEqual(
      events.map((e) => (e.type === 'operation' ? ['operation', e.data.kind, e.data.state, e.data.startedAt !== null] : [e.type, e.data.status ?? '-', e.data.previousStatus ?? '-'])),
      [
        ['instance.status', 'PROVISIONING', '-'],
        operation('create', 'pending', false),
        operation('create', 'pending', true),
        ['instance.status', 'RUNNING', 'PROVISIONING'],
        operation('create', 'done', true),
        operation('reset', 'pending', false),
        ['instance.deleted', '-', '-'],
        operation('delete', 'pending', false),
      ],
    );
    assert.ok(events.every((e) => e.instanceId === made.id && e.userId === user.id));
    const seqs = events.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.deepEqual(await store.eventSeqRange(), { first: seqs[0], last: seqs.at(-1) });
    for (let i = 0; i < 100 && told < 3; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(told >= 1, 'the listener was told');
    assert.deepEqual((await store.listEvents(seqs[2]!, {}, 100)).map((e) => e.seq), seqs.slice(3), 'after a seq');
    assert.deepEqual((await store.listEvents(0, { instanceId: made.id, types: ['instance.status'] }, 100)).length, 2);
    assert.deepEqual((await store.listEvents(0, { types: ['instance.deleted'] }, 100)).length, 1);
    assert.deepEqual((await store.listEvents(0, { userId: 'someone else' }, 100)).length, 0);
    assert.deepEqual((await store.listEvents(0, {}, 2)).length, 2, 'at most limit');
  });

  test('concurrent writers: seq follows commit order, so a reader after N never misses a later commit', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const other = await store.openAnother();
    const user = await addUser(store);
    // Readers resume after the last seq they saw, while 40 creates commit from two Store objects at once.
    const seen: GaleEvent[] = [];
    let after = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const page = await store.listEvents(after, {}, 1_000);
        for (const event of page) seen.push(event);
        after = page.at(-1)?.seq ?? after;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    await Promise.all(Array.from({ length: 40 }, (_, i) => create(i % 2 ? other : store, user.id)));
    writing = false;
    await reader;
    seen.push(...(await store.listEvents(after, {}, 1_000)));
    const all = await store.listEvents(0, {}, 1_000);
    assert.equal(all.length, 80);
    assert.deepEqual(seen.map((e) => e.seq), all.map((e) => e.seq), 'a reader resuming after what it saw got every event once');
  });

  // PostgreSQL only: SQLite serves one process, whose stores are told in-process.
  if (factory.name !== 'sqlite') test('a second store on the same database hears of the first one\'s events (PostgreSQL: LISTEN/NOTIFY)', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const other = await store.openAnother();
    const user = await addUser(store);
    let told = 0;
    const stop = other.subscribeToEvents(() => told++);
    t.after(stop);
    // The listening connection is opened by the first subscription: give it a moment, then make changes until heard.
    for (let i = 0; i < 100 && told === 0; i++) {
      await create(store, user.id);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(told > 0, 'notified across stores');
  });

  test('pruning removes the oldest events first, and keeps every event after some seq', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    for (let i = 0; i < 3; i++) await create(store, user.id);
    const all = await store.listEvents(0, {}, 100);
    assert.equal(await store.pruneEvents(Date.now() + 60_000, 2), 2, 'a batch at a time');
    assert.deepEqual((await store.listEvents(0, {}, 100)).map((e) => e.seq), all.slice(2).map((e) => e.seq));
    assert.equal(await store.pruneEvents(0, 100), 0, 'nothing older than the epoch');
    assert.equal(await store.pruneEvents(Date.now() + 60_000, 100), 4);
    assert.deepEqual(await store.eventSeqRange(), { first: 0, last: 0 });
  });

  test("a user's operations newest first, by status, after a cursor", async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    const other = await addUser(store);
    const a = await create(store, user.id);
    await finishCreate(store, a.id, 'RUNNING');
    const reset = await store.requestPowerOperation(a.id, user.id, 'reset', 2_000);
    const noop = await store.requestPowerOperation(a.id, undefined, 'start', 3_000, undefined, { requestedBy: other.id });
    await create(store, other.id);
    const mine = await store.listUserOperations({ userId: user.id }, undefined, 10);
    assert.deepEqual(mine.map((op) => op.kind), ['start', 'reset', 'create']);
    assert.equal(mine[0]!.requestedBy, other.id, 'an admin acting on it is recorded');
    assert.deepEqual((await store.listUserOperations({ userId: user.id }, noop.id, 10)).map((op) => op.id), [reset.id, mine[2]!.id]);
    assert.deepEqual((await store.listUserOperations({ userId: user.id, status: 'DONE' }, undefined, 10)).map((op) => op.kind), ['start', 'create']);
    assert.equal((await store.listUserOperations({ userId: user.id, status: 'PENDING' }, undefined, 10)).length, 1);
    assert.equal((await store.listUserOperations({ userId: user.id, status: 'RUNNING' }, undefined, 10)).length, 0);
    assert.equal((await store.listUserOperations({ userId: user.id, instanceId: 'nope' }, undefined, 10)).length, 0);
  });

  test('keyset pages are the offset pages, at any depth and with ties in created_at', async (t) => {
    const store = await factory.open();
    t.after(() => store.cleanup());
    const user = await addUser(store);
    for (let i = 0; i < 11; i++) await create(store, user.id, { createdAt: 1_000 + Math.floor(i / 3) });
    const byOffset: string[] = [];
    for (let offset = 0; offset < 11; offset += 4) byOffset.push(...(await store.listInstances({}, offset, 4)).instances.map((i) => i.id));
    const byKeyset: string[] = [];
    let cursor: { createdAt: number; id: string } | undefined;
    for (;;) {
      const page = await store.listInstancesAfter({}, cursor, 4);
      byKeyset.push(...page.map((i) => i.id));
      if (page.length < 4) break;
      cursor = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
    }
    assert.deepEqual(byKeyset, byOffset);
    assert.equal(byKeyset.length, 11);
    assert.equal(await store.countInstances({ userId: user.id }), 11);
  });
});
