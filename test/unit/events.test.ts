import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import { EventStream } from '../../src/api/events/event-stream.js';
import { EventHub } from '../../src/api/events/hub.js';
import { UserSlots } from '../../src/api/events/user-slots.js';
import { waitUntil } from '../../src/api/events/waiting.js';
import { decodePageToken, encodePageToken } from '../../src/api/page-tokens.js';
import { GaleError } from '../../src/domain/errors.js';
import { INSTANCE_STATUSES, type DesiredPower } from '../../src/domain/instance.js';
import { judgeStatusWait } from '../../src/domain/status-wait.js';
import type { EventFilter, GaleEvent } from '../../src/domain/store.js';

/** An event store in memory that counts its reads, and notifies like the real ones. */
class MemoryEvents {
  readonly events: GaleEvent[] = [];
  reads = 0;
  rangeReads = 0;
  private listeners = new Set<() => void>();

  append(userId: string, instanceId: string, data: Record<string, unknown> = {}): GaleEvent {
    const event: GaleEvent = { seq: this.events.length + 1, at: 0, userId, instanceId, type: 'instance.status', data };
    this.events.push(event);
    for (const listener of this.listeners) listener();
    return event;
  }

  async listEvents(after: number, filter: EventFilter, limit: number): Promise<GaleEvent[]> {
    this.reads++;
    await Promise.resolve();
    return this.events
      .filter((e) => e.seq > after && (filter.userId === undefined || e.userId === filter.userId) && (filter.instanceId === undefined || e.instanceId === filter.instanceId))
      .slice(0, limit);
  }

  async eventSeqRange(): Promise<{ first: number; last: number }> {
    this.rangeReads++;
    return { first: this.events[0]?.seq ?? 0, last: this.events.at(-1)?.seq ?? 0 };
  }

  subscribeToEvents(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the event hub', () => {
  test('one read per notification however many subscribers, and none while nothing changes', async () => {
    const store = new MemoryEvents();
    const hub = new EventHub(store, (error) => assert.fail(String(error)));
    const received: GaleEvent[][] = Array.from({ length: 1_000 }, () => []);
    for (const list of received) await hub.subscribe({ deliver: (e) => list.push(e), close: () => undefined });
    assert.equal(store.rangeReads, 1, 'the end is read once, for the first subscriber');
    await settle();
    assert.equal(store.reads, 0, 'nothing changed: nothing read');
    store.append('u1', 'i1');
    await settle();
    assert.equal(store.reads, 1);
    assert.ok(received.every((list) => list.length === 1 && list[0]!.seq === 1));
    // A burst while a read is under way is read together afterwards, not once per notification.
    for (let i = 0; i < 50; i++) store.append('u1', 'i1');
    await settle();
    await settle();
    assert.ok(store.reads <= 3, `${store.reads} reads for a burst of 50`);
    assert.ok(received.every((list) => list.length === 51));
  });

  test('a subscriber gets every event after its position, none before', async () => {
    const store = new MemoryEvents();
    store.append('u1', 'old');
    const hub = new EventHub(store, () => undefined);
    const seen: number[] = [];
    const { position } = await hub.subscribe({ deliver: (e) => seen.push(e.seq), close: () => undefined });
    assert.equal(position, 1);
    store.append('u1', 'new');
    await settle();
    assert.deepEqual(seen, [2]);
  });

  test('after a time with nobody listening, a new subscriber starts from the end, not from where the hub stopped', async () => {
    const store = new MemoryEvents();
    const hub = new EventHub(store, () => undefined);
    const first = await hub.subscribe({ deliver: () => undefined, close: () => undefined });
    first.unsubscribe();
    store.append('u1', 'i1');
    store.append('u1', 'i1');
    const reads = store.reads;
    const seen: number[] = [];
    const second = await hub.subscribe({ deliver: (e) => seen.push(e.seq), close: () => undefined });
    assert.equal(store.reads, reads, 'nobody listened: nothing was read');
    assert.equal(second.position, 2);
    await settle();
    assert.deepEqual(seen, []);
  });

  test('closing ends every subscriber', async () => {
    const hub = new EventHub(new MemoryEvents(), () => undefined);
    let closed = 0;
    await hub.subscribe({ deliver: () => undefined, close: () => closed++ });
    await hub.subscribe({ deliver: () => undefined, close: () => closed++ });
    hub.close();
    assert.equal(closed, 2);
    await assert.rejects(hub.subscribe({ deliver: () => undefined, close: () => undefined }));
  });
});

describe('waits', () => {
  test('decide once on subscribing, then on each event that concerns it; a timeout ends it', async () => {
    const store = new MemoryEvents();
    const hub = new EventHub(store, () => undefined);
    const calls: Array<[number[], boolean]> = [];
    const waiting = waitUntil(hub, {
      concerns: (e) => e.instanceId === 'mine',
      decide: async (events, initial) => {
        calls.push([events.map((e) => e.seq), initial]);
        return events.some((e) => e.data.done === true) ? 'done' : undefined;
      },
      timeoutMs: 60_000,
      signal: new AbortController().signal,
    });
    await settle();
    store.append('u', 'other');
    store.append('u', 'mine');
    await settle();
    store.append('u', 'mine', { done: true });
    assert.deepEqual(await waiting, { kind: 'decided', value: 'done' });
    assert.deepEqual(calls, [[[], true], [[2], false], [[3], false]]);
    assert.equal(hub.subscriberCount, 0, 'it unsubscribed');

    const timedOut = await waitUntil(hub, { concerns: () => true, decide: async () => undefined, timeoutMs: 10, signal: new AbortController().signal });
    assert.deepEqual(timedOut, { kind: 'timeout' });
  });

  test('a client that leaves ends its wait; an error in deciding is the answer', async () => {
    const hub = new EventHub(new MemoryEvents(), () => undefined);
    const controller = new AbortController();
    const leaving = waitUntil(hub, { concerns: () => true, decide: async () => undefined, timeoutMs: 60_000, signal: controller.signal });
    await settle();
    controller.abort();
    assert.deepEqual(await leaving, { kind: 'left' });
    const failing = waitUntil(hub, { concerns: () => true, decide: async () => Promise.reject(new GaleError('not_found', 'gone')), timeoutMs: 60_000, signal: new AbortController().signal });
    await assert.rejects(failing, /gone/);
    assert.equal(hub.subscriberCount, 0);
  });
});

/** What EventStream needs of a response: a buffer that fills when the client does not read. */
function fakeResponse(): ServerResponse & { destroyed: boolean } {
  const emitter = new EventEmitter() as EventEmitter & { writableLength: number; destroyed: boolean; destroy(): void };
  emitter.writableLength = 0;
  emitter.destroyed = false;
  emitter.destroy = () => {
    emitter.destroyed = true;
  };
  return emitter as unknown as ServerResponse & { destroyed: boolean };
}

const event = (seq: number, userId = 'u'): GaleEvent => ({ seq, at: 0, userId, instanceId: 'i', type: 'instance.status', data: { status: 'RUNNING' } });

describe('an event stream', () => {
  test('replays what was missed, then the live events held meanwhile, each once and in order', async () => {
    const ends: string[] = [];
    const stream = new EventStream(fakeResponse(), { userId: 'u' }, (e) => String(e.seq), 1024 * 1024, (why) => ends.push(why));
    let text = '';
    stream.body.on('data', (chunk: Buffer) => (text += chunk.toString()));
    // Live events arrive during the replay: 5 (which the replay also reads) and 6; one of another user is not for it.
    stream.deliver(event(5));
    stream.deliver(event(6));
    stream.deliver(event(7, 'someone else'));
    const stored = [1, 2, 3, 4, 5].map((seq) => event(seq));
    await stream.replay(1, async (after) => stored.filter((e) => e.seq > after));
    stream.deliver(event(8));
    stream.end('client');
    await settle();
    assert.deepEqual([...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])), [2, 3, 4, 5, 6, 8]);
    assert.deepEqual(ends, ['client']);
  });

  test('a client that does not read is cut off once more than maxBufferedBytes wait for it', () => {
    const response = fakeResponse();
    const ends: string[] = [];
    const stream = new EventStream(response, {}, () => 'x'.repeat(1_000), 64 * 1024, (why) => ends.push(why));
    void stream.replay(0);
    for (let seq = 1; seq <= 100 && !stream.isEnded; seq++) stream.deliver(event(seq));
    assert.deepEqual(ends, ['slow']);
    assert.equal(response.destroyed, true);
  });
});

describe('per-user slots', () => {
  test('a cap per user, given back once', () => {
    const slots = new UserSlots(2, 'waits');
    const a = slots.take('u');
    slots.take('u');
    assert.throws(() => slots.take('u'), (error: unknown) => error instanceof GaleError && error.code === 'rate_limited' && /at most 2/.test(error.message));
    slots.take('v');
    a();
    a();
    assert.equal(slots.heldBy('u'), 1);
    slots.take('u');
    assert.equal(slots.total, 3);
  });
});

describe('page tokens', () => {
  const isCursor = (v: unknown): v is { before: string } => typeof (v as { before?: unknown })?.before === 'string';
  test('carry their cursor back, and only for the filters they were made for', () => {
    const token = encodePageToken({ before: 'x' }, { userId: 'u' });
    assert.deepEqual(decodePageToken(token, { userId: 'u' }, isCursor), { before: 'x' });
    assert.throws(() => decodePageToken(token, { userId: 'v' }, isCursor), /other filters/);
    assert.throws(() => decodePageToken('not a token', {}, isCursor), /not a token this server gave/);
    assert.throws(() => decodePageToken(Buffer.from('{"c":{"before":1},"f":"x"}').toString('base64url'), {}, isCursor), /not a token/);
  });
});

describe('whether a status can still come', () => {
  const instance = (status: (typeof INSTANCE_STATUSES)[number], desired: DesiredPower) => ({ id: 'i', status, desired });
  test('on the way to what was asked: waited for; off it: unreachable at once', () => {
    assert.equal(judgeStatusWait(instance('PROVISIONING', 'RUNNING'), 'RUNNING').kind, 'waiting');
    assert.equal(judgeStatusWait(instance('PROVISIONING', 'RUNNING'), 'STAGING').kind, 'waiting');
    assert.equal(judgeStatusWait(instance('RUNNING', 'RUNNING'), 'RUNNING').kind, 'reached');
    assert.equal(judgeStatusWait(instance('STOPPING', 'TERMINATED'), 'TERMINATED').kind, 'waiting');
    assert.equal(judgeStatusWait(instance('STOPPING', 'TERMINATED'), 'RUNNING').kind, 'unreachable');
    assert.equal(judgeStatusWait(instance('RUNNING', 'RUNNING'), 'TERMINATED').kind, 'unreachable');
    assert.equal(judgeStatusWait(instance('RUNNING', 'RUNNING'), 'PROVISIONING').kind, 'unreachable');
    assert.equal(judgeStatusWait(instance('SUSPENDING', 'SUSPENDED'), 'SUSPENDED').kind, 'waiting');
    assert.equal(judgeStatusWait(instance('SUSPENDED', 'RUNNING'), 'RUNNING').kind, 'waiting');
    assert.equal(judgeStatusWait(instance('TERMINATED', 'TERMINATED'), 'STAGING').kind, 'unreachable');
    const judged = judgeStatusWait(instance('STOPPING', 'TERMINATED'), 'RUNNING');
    assert.ok(judged.kind === 'unreachable' && /STOPPING, on its way to TERMINATED: it will not be RUNNING/.test(judged.reason));
  });

  test('every status, toward every settled one, ends at the settled one', () => {
    for (const desired of ['RUNNING', 'TERMINATED', 'SUSPENDED'] as const) {
      for (const status of INSTANCE_STATUSES) {
        const verdict = judgeStatusWait(instance(status, desired), desired);
        assert.notEqual(verdict.kind, 'unreachable', `${status} toward ${desired}`);
      }
    }
  });
});
