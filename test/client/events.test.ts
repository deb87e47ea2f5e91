import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Gale, GaleApiError, type GaleEvent, type StreamMessage } from '../../src/client/index.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import type { Credentials } from '../helpers/http.js';
import { simulatorOverEveryStore } from '../helpers/matrix.js';
import { MisbehavingProxy } from './proxy.js';

/*
 * gale.events(): GET /events read as a stream through fetch, parsed as Server-Sent Events, resumed with Last-Event-ID
 * when the connection drops. A stream cut by a proxy right after its first event gets, once resumed, exactly what an
 * uncut stream of the same changes got: nothing lost, nothing twice. The streams begin at lastEventId "0", so that no
 * race with the start of a stream can decide what a test sees.
 */

const V1 = '/api/compute/v1';
const TEMPLATE = 'debian-12-micro';

/** Reads messages until one matches, then stops the stream (leaving the loop closes it). */
async function readUntil(stream: AsyncIterable<StreamMessage>, last: (message: StreamMessage) => boolean): Promise<StreamMessage[]> {
  const messages: StreamMessage[] = [];
  for await (const message of stream) {
    messages.push(message);
    if (last(message)) break;
  }
  return messages;
}

const isDeletion = (id: string) => (message: StreamMessage) => message.type === 'instance.deleted' && (message as GaleEvent).instanceId === id;

for (const { backend, name, skip } of await simulatorOverEveryStore()) {
  describe(`the events iterator over ${name}`, { skip }, () => {
    let gale: TestGale;
    let proxy: MisbehavingProxy;
    let alice: Credentials;
    let direct: Gale;
    before(async () => {
      gale = await startTestGale(backend);
      proxy = await MisbehavingProxy.start(gale.url);
      alice = await gale.user('pro');
      direct = new Gale({ baseUrl: gale.url, token: alice.token });
    });
    after(async () => {
      await proxy?.close();
      await gale?.close();
    });

    test('a stream dropped after its first event resumes with Last-Event-ID: nothing lost, nothing twice', async () => {
      const made = await direct.instances.create({ templateId: TEMPLATE });
      const throughProxy = new Gale({ baseUrl: proxy.url, token: alice.token });
      proxy.on((r) => r.url.startsWith(`${V1}/events`), { kind: 'cut-after-first-event' });

      const cut = readUntil(throughProxy.events({ instanceId: made.id, lastEventId: '0' }), isDeletion(made.id));
      const whole = readUntil(direct.events({ instanceId: made.id, lastEventId: '0' }), isDeletion(made.id));
      await direct.waitForStatus(made.id, 'RUNNING');
      await direct.waitForOperation((await direct.instances.stop(made.id)).id);
      await direct.waitForOperation((await direct.instances.delete(made.id)).operationId);

      const [resumed, reference] = await Promise.all([cut, whole]);
      const ids = (messages: StreamMessage[]) => messages.map((m) => m.id);
      assert.deepEqual(ids(resumed), ids(reference));
      assert.deepEqual(resumed, reference);
      assert.equal(new Set(ids(resumed)).size, resumed.length, 'each event once');
      const streams = proxy.requests('GET', `${V1}/events`);
      assert.equal(streams.length, 2, 'the cut stream was opened again, once');
      assert.equal(streams[0]!.headers['last-event-id'], '0');
      // Resumed after the last event the cut stream delivered (those of its first chunk); the rest came on the second.
      assert.ok(ids(resumed).includes(String(streams[1]!.headers['last-event-id'])), `resumed after ${streams[1]!.headers['last-event-id']}`);

      const statuses = resumed.filter((m) => m.type === 'instance.status').map((m) => (m as GaleEvent & { data: { status: string } }).data.status);
      for (const status of ['PROVISIONING', 'RUNNING', 'STOPPING', 'TERMINATED']) assert.ok(statuses.includes(status), `${status} in ${statuses.join(',')}`);
      assert.ok(resumed.some((m) => m.type === 'operation'));
    });

    test('types filter the stream, a change made after it opened arrives, and aborting the signal ends it', async () => {
      const controller = new AbortController();
      const made = await direct.instances.create({ templateId: TEMPLATE });
      const received: StreamMessage[] = [];
      for await (const message of direct.events({ types: ['instance.status'], lastEventId: '0', signal: controller.signal })) {
        assert.equal(message.type, 'instance.status');
        received.push(message);
        if ((message as GaleEvent).instanceId === made.id && (message.data as { status?: string }).status === 'RUNNING') controller.abort();
      }
      assert.ok(received.length >= 2);
      await direct.waitForOperation((await direct.instances.delete(made.id)).operationId);
    });

    test('an answer retrying cannot mend ends the iteration with a GaleApiError', async () => {
      const stranger = new Gale({ baseUrl: gale.url, token: 'y'.repeat(64) });
      const error = await readUntil(stranger.events(), () => true).catch((e: unknown) => e);
      assert.ok(error instanceof GaleApiError && error.status === 401, String(error));
      const refused = await readUntil(direct.events({ userId: '00000000-0000-4000-8000-000000000000' }), () => true).catch((e: unknown) => e);
      assert.ok(refused instanceof GaleApiError && refused.status === 403, String(refused));
    });
  });
}
