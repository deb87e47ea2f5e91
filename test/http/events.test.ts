import assert from 'node:assert/strict';
import type { InstanceView as Instance } from '../../src/contracts/instance.js';
import { after, before, describe, test } from 'node:test';
import { backendName, simulatorOverEveryStore } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { assertError, call, callUnchecked, type Credentials } from '../helpers/http.js';
import { EventStreamClient, type StreamEvent } from '../helpers/sse.js';

/*
 * GET /events (issue 13), over both stores: a Server-Sent Events stream of the caller's changes, in commit order,
 * that a client resumes with Last-Event-ID without losing or repeating an event; filtered, capped per user, kept alive
 * with heartbeats, refused to those who may not read it. Every answer is checked against the OpenAPI document, the
 * stream's messages too (test/helpers/openapi-validator.ts).
 */

const V1 = '/api/compute/v1';
const TEMPLATE = 'debian-12-micro';


const ids = (events: StreamEvent[]) => events.map((e) => Number(e.id));

for (const { backend, skip } of await simulatorOverEveryStore()) {
  describe(`the event stream over ${backendName(backend)}`, { skip }, () => {
    let gale: TestGale;
    let alice: Credentials;
    let admin: Credentials;
    const streams: EventStreamClient[] = [];
    before(async () => {
      gale = await startTestGale(backend, { providers: { simulator: { delayMs: 50 } }, events: { streamsPerUser: 3, waitsPerUser: 100, heartbeatMs: 1_000, maxBufferedBytes: 1024 * 1024 } });
      alice = await gale.user('pro');
      admin = await gale.user('pro', { admin: true });
    });
    after(async () => {
      for (const stream of streams) stream.close();
      await gale?.close();
    });

    const open = async (who: Credentials, query = '', headers: Record<string, string> = {}) => {
      const stream = await EventStreamClient.open(`${gale.url}${V1}/events${query}`, { ...who.bearer, ...headers });
      streams.push(stream);
      assert.equal(stream.status, 200);
      assert.match(stream.headers!.get('content-type')!, /^text\/event-stream/);
      return stream;
    };
    const create = async (who: Credentials = alice) => {
      const made = await call<Instance>(gale.url, 'POST', `${V1}/instances`, { headers: who.bearer, body: { template_id: TEMPLATE } });
      assert.equal(made.status, 201, made.text);
      return made.body.id;
    };
    const post = (path: string, who: Credentials = alice) => call(gale.url, 'POST', `${V1}${path}`, { headers: who.bearer });
    const waitFor = async (id: string, status: string) => {
      const waited = await call(gale.url, 'GET', `${V1}/admin/instances/${id}/wait?status=${status}&timeout=60s`, { headers: admin.bearer });
      assert.equal(waited.status, 200, waited.text);
    };
    /** Everything kept for a caller, read to the end: the reference a resumed stream is held to. */
    const everything = async (who: Credentials, query = '') => {
      const all = await callUnchecked<Array<StreamEvent>>(gale.url, 'GET', `${V1}/events?lastEventId=0&timeout=1s${query}`, { headers: who.bearer });
      assert.equal(all.status, 200, all.text);
      return all.body;
    };

    test("a stream tells an instance's whole life, in order: statuses, operations, deletion", async () => {
      const stream = await open(alice);
      const id = await create();
      await waitFor(id, 'RUNNING');
      assert.equal((await post(`/instances/${id}/stop`)).status, 202);
      await waitFor(id, 'TERMINATED');
      assert.equal((await call(gale.url, 'DELETE', `${V1}/instances/${id}`, { headers: alice.bearer })).status, 204);
      await stream.next('the deletion', (e) => e.type === 'instance.deleted' && e.instanceId === id);
      await stream.next('the delete operation done', (e) => e.type === 'operation' && e.data.kind === 'delete' && e.data.status === 'DONE');

      const mine = stream.events.filter((e) => e.instanceId === id);
      assert.ok(mine.every((e) => e.userId === alice.userId));
      const seq = ids(stream.events);
      assert.deepEqual(seq, [...seq].sort((a, b) => a - b), 'ids rise');
      assert.equal(new Set(seq).size, seq.length, 'no event twice');
      const statuses = mine.filter((e) => e.type === 'instance.status').map((e) => e.data.status);
      assert.deepEqual(statuses.slice(0, 1), ['PROVISIONING']);
      assert.equal(mine.find((e) => e.type === 'instance.status')!.data.previousStatus, null);
      for (const expected of ['RUNNING', 'STOPPING', 'TERMINATED']) assert.ok(statuses.includes(expected), `${expected} in ${statuses.join(',')}`);
      assert.ok(statuses.indexOf('RUNNING') < statuses.indexOf('STOPPING') && statuses.indexOf('STOPPING') < statuses.indexOf('TERMINATED'));
      const running = mine.find((e) => e.type === 'instance.status' && e.data.status === 'RUNNING')!;
      assert.match(String(running.data.internalIp), /^\d+\.\d+\.\d+\.\d+$/, 'a status change carries the addresses');
      const creation = mine.filter((e) => e.type === 'operation' && e.data.kind === 'create').map((e) => e.data.status);
      assert.deepEqual(creation, ['PENDING', 'RUNNING', 'DONE']);
      assert.equal(mine.at(-1)!.type, 'operation', 'the deletion is the end of its life');
      stream.close();
    });

    test('a client that drops mid-stream and resumes with Last-Event-ID misses nothing and gets nothing twice', async () => {
      const first = await open(alice, '?type=instance.status,operation');
      const a = await create();
      await first.next('a RUNNING', (e) => e.instanceId === a && e.type === 'instance.status' && e.data.status === 'RUNNING');
      first.close();
      const seen = first.events;
      const lastId = seen.at(-1)!.id;

      // Changes while no stream is open.
      assert.equal((await post(`/instances/${a}/stop`)).status, 202);
      const b = await create();
      await waitFor(a, 'TERMINATED');
      await waitFor(b, 'RUNNING');

      // EventSource resends the last id it had in the Last-Event-ID header; a client that cannot set headers uses the query.
      for (const [how, query, headers] of [
        ['header', '?type=instance.status,operation', { 'last-event-id': lastId }],
        ['query', `?type=instance.status,operation&lastEventId=${lastId}`, {}],
      ] as const) {
        const resumed = await open(alice, query, headers);
        await resumed.next('b RUNNING', (e) => e.instanceId === b && e.type === 'instance.status' && e.data.status === 'RUNNING');
        await resumed.next("b's create done", (e) => e.instanceId === b && e.type === 'operation' && e.data.status === 'DONE');
        resumed.close();
        const union = [...seen, ...resumed.events];
        const reference = (await everything(alice, '&type=instance.status,operation')).filter((e) => Number(e.id) <= Number(resumed.events.at(-1)!.id));
        const start = reference.findIndex((e) => e.id === seen[0]!.id);
        assert.deepEqual(ids(union), ids(reference.slice(start)), `resumed by ${how}: exactly the events after the last one seen, each once`);
      }
    });

    test('filters: one instance, some types; a compute admin sees everyone, or one user', async () => {
      const bob = await gale.user('pro');
      const onlyStatus = await open(alice, '?type=instance.status');
      const mine = await create();
      const bobs = await create(bob);
      const oneInstance = await open(alice, `?instanceId=${mine}&lastEventId=0`);
      const adminAll = await open(admin, '?lastEventId=0&type=instance.status');
      const adminBob = await open(admin, `?userId=${bob.userId}&lastEventId=0`);
      await waitFor(mine, 'RUNNING');
      await onlyStatus.next('RUNNING', (e) => e.instanceId === mine && e.data.status === 'RUNNING');
      await oneInstance.next('RUNNING', (e) => e.type === 'instance.status' && e.data.status === 'RUNNING');
      await adminAll.next("bob's", (e) => e.instanceId === bobs);
      await adminAll.next("alice's", (e) => e.instanceId === mine);
      await adminBob.next("bob's", (e) => e.instanceId === bobs);
      for (const s of [onlyStatus, oneInstance, adminAll, adminBob]) s.close();
      assert.ok(onlyStatus.events.every((e) => e.type === 'instance.status' && e.userId === alice.userId));
      assert.ok(oneInstance.events.every((e) => e.instanceId === mine));
      assert.ok(adminBob.events.every((e) => e.userId === bob.userId));
      assert.ok(!onlyStatus.events.some((e) => e.instanceId === bobs), "alice never sees bob's");
    });

    test('what it refuses, and to whom', async () => {
      const bob = await gale.user('pro');
      const events = (query: string, headers: Record<string, string> = alice.bearer) => call(gale.url, 'GET', `${V1}/events${query}`, { headers });
      assertError(await events(`?userId=${bob.userId}`), 403, 'forbidden', /only compute admins/);
      assertError(await events('?type=instance.exploded'), 400, 'invalid_request', /type must be/);
      assertError(await events('?lastEventId=yesterday'), 400, 'invalid_request', /Last-Event-ID/);
      assertError(await events('', { ...alice.bearer, 'last-event-id': '-1' }), 400, 'invalid_request');
      assertError(await events('?timeout=forever'), 400, 'invalid_request');
      assertError(await events('?colour=blue'), 400, 'invalid_request', /unknown query parameter/);
      assertError(await events('', {}), 403, 'forbidden');
      assertError(await events('', { authorization: 'Bearer nope' }), 401, 'unauthenticated');
    });

    test('at most streamsPerUser open at once; one more is 429 until one ends', async () => {
      const carol = await gale.user('pro');
      const held = [await open(carol), await open(carol), await open(carol)];
      const refused = await call(gale.url, 'GET', `${V1}/events`, { headers: carol.bearer });
      assertError(refused, 429, 'rate_limited', /too many open event streams: at most 3/);
      assert.ok(refused.headers.get('retry-after'));
      held[0]!.close();
      for (let i = 0; i < 100 && gale.server.events.streamSlots.heldBy(carol.userId) > 2; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const again = await open(carol);
      again.close();
      for (const s of held) s.close();
    });

    test('an idle stream gets a heartbeat comment; a stream with a timeout ends by itself', async () => {
      const idle = await open(await gale.user('pro'));
      for (let i = 0; i < 100 && idle.comments.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(idle.comments.some((c) => c.startsWith(': heartbeat')), `comments: ${idle.comments.join('|')}`);
      idle.close();
      const timed = await open(alice, '?timeout=200ms');
      await timed.finished;
      assert.equal(timed.error, undefined);
    });

    test('an id this server never gave, or one older than the retention window, gets a gap notice, then what follows', async () => {
      const future = await callUnchecked<StreamEvent[]>(gale.url, 'GET', `${V1}/events?timeout=300ms`, { headers: { ...alice.bearer, 'last-event-id': '999999999' } });
      assert.equal(future.status, 200);
      assert.equal(future.body[0]!.type, 'stream.gap');
      assert.ok(Number(future.body[0]!.id) < 999999999, 'the gap notice moves the client to a real position');

      // Everything so far expires; an old id learns that it missed events, and resumes from the notice's id.
      const erin = await gale.user('pro');
      await waitFor(await create(erin), 'RUNNING');
      const before = await everything(erin);
      assert.ok(before.length > 1);
      await gale.server.store.pruneEvents(Date.now() + 60_000, 1_000_000);
      const id = await create(erin);
      await waitFor(id, 'RUNNING');
      const resumed = await callUnchecked<StreamEvent[]>(gale.url, 'GET', `${V1}/events?timeout=500ms`, { headers: { ...erin.bearer, 'last-event-id': before[0]!.id } });
      const [notice, ...rest] = resumed.body;
      assert.equal(notice!.type, 'stream.gap', resumed.text);
      assert.match(String(notice!.data.message), /retention window/);
      assert.ok(rest.length > 0 && rest.every((e) => Number(e.id) > Number(notice!.id)));
      assert.ok(rest.some((e) => e.instanceId === id));
    });

    test('closing the server ends the streams it has open', async () => {
      const other = await startTestGale(backend);
      const dave = await other.user('pro');
      const stream = await EventStreamClient.open(`${other.url}${V1}/events`, dave.bearer);
      assert.equal(stream.status, 200);
      await other.close();
      await stream.finished;
      assert.ok(stream.ended);
    });
  });
}
