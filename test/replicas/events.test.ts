import assert from 'node:assert/strict';
import type { InstanceView as Instance } from '../../src/contracts/instance.js';
import { after, before, test } from 'node:test';
import { call, callUnchecked, type Credentials } from '../helpers/http.js';
import { EventStreamClient, type StreamEvent } from '../helpers/sse.js';
import { describeWith, startFleet, type Fleet } from './fleet.js';

/*
 * Events reach every replica (issue 13): a change made through replica A, and carried out by whichever replica's
 * reconciler claims it, shows on a stream served by replica B, through PostgreSQL's LISTEN/NOTIFY; a wait on B for an
 * operation accepted by A answers when it is done; and a stream resumed on the other replica misses nothing.
 */

const V1 = '/api/compute/v1';
const SMALL = 'debian-12-micro';


await describeWith(['postgres'], 'events across two replicas on one PostgreSQL', () => {
  let fleet: Fleet;
  let alice: Credentials;
  const streams: EventStreamClient[] = [];
  before(async () => {
    fleet = await startFleet({ overrides: { providers: { simulator: { delayMs: 100 } } } });
    alice = await fleet.user('pro');
  });
  after(async () => {
    for (const stream of streams) stream.close();
    await fleet?.close();
  });

  const open = async (base: string, headers: Record<string, string> = {}) => {
    const stream = await EventStreamClient.open(`${base}${V1}/events`, { ...alice.bearer, ...headers });
    streams.push(stream);
    assert.equal(stream.status, 200);
    return stream;
  };

  test('a change made through replica A shows on a stream of replica B, and a wait on B answers for it', async () => {
    const [a, b] = fleet.urls as [string, string];
    const onB = await open(b);
    const made = await call<Instance>(a, 'POST', `${V1}/instances`, { headers: alice.bearer, body: { template_id: SMALL } });
    assert.equal(made.status, 201, made.text);
    const id = made.body.id;
    await onB.next('PROVISIONING, written by A', (e) => e.instanceId === id && e.type === 'instance.status' && e.data.status === 'PROVISIONING');
    const waited = await call<{ status: string }>(b, 'POST', `${V1}/operations/${made.headers.get('x-operation-id')}/wait?timeout=60s`, { headers: alice.bearer });
    assert.equal(waited.body.status, 'DONE');
    await onB.next('RUNNING', (e) => e.instanceId === id && e.type === 'instance.status' && e.data.status === 'RUNNING');

    const stopped = await call<{ id: string }>(a, 'POST', `${V1}/instances/${id}/stop`, { headers: alice.bearer });
    assert.equal(stopped.status, 202);
    const terminated = await call<{ status: string }>(b, 'GET', `${V1}/instances/${id}/wait?status=TERMINATED&timeout=60s`, { headers: alice.bearer });
    assert.equal(terminated.status, 200, terminated.text);
    await onB.next('TERMINATED', (e) => e.instanceId === id && e.type === 'instance.status' && e.data.status === 'TERMINATED');
    await onB.next('the stop done', (e) => e.type === 'operation' && e.data.id === stopped.body.id && e.data.status === 'DONE');
  });

  test('a stream read on A and resumed on B with Last-Event-ID misses nothing and repeats nothing', async () => {
    const [a, b] = fleet.urls as [string, string];
    const onA = await open(a);
    const made = await call<Instance>(b, 'POST', `${V1}/instances`, { headers: alice.bearer, body: { template_id: SMALL } });
    await onA.next('PROVISIONING', (e) => e.instanceId === made.body.id && e.data.status === 'PROVISIONING');
    onA.close();
    const last = onA.events.at(-1)!.id;
    const running = await call(a, 'GET', `${V1}/instances/${made.body.id}/wait?status=RUNNING&timeout=60s`, { headers: alice.bearer });
    assert.equal(running.status, 200, running.text);
    const onB = await open(b, { 'last-event-id': last });
    await onB.next('RUNNING', (e) => e.instanceId === made.body.id && e.type === 'instance.status' && e.data.status === 'RUNNING');
    await onB.next('the create done', (e) => e.instanceId === made.body.id && e.type === 'operation' && e.data.status === 'DONE');
    onB.close();
    const everything = await callUnchecked<StreamEvent[]>(a, 'GET', `${V1}/events?lastEventId=0&timeout=1s`, { headers: alice.bearer });
    const upTo = Number(onB.events.at(-1)!.id);
    const from = Number(onA.events[0]!.id);
    const reference = everything.body.filter((e) => Number(e.id) >= from && Number(e.id) <= upTo).map((e) => e.id);
    assert.deepEqual([...onA.events, ...onB.events].map((e) => e.id), reference);
  });
});
