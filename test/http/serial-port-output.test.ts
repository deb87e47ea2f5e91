import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { after, before, describe, test } from 'node:test';
import type { InstanceView as Instance } from '../../src/contracts/instance.js';
import type { OperationView as Operation } from '../../src/contracts/operation.js';
import type { SerialPortOutputView as SerialPortOutput } from '../../src/contracts/serial-port-output.js';
import { defaultConfig } from '../../src/config/load.js';
import type { SimulatedMachine } from '../../src/providers/simulator/index.js';
import { ByteTail, consoleWindow, incompleteTail } from '../../src/providers/docker/console.js';
import { buildBusyboxImage } from '../../src/providers/docker/index.js';
import { bootText, consoleOutput, CONSOLE_KEPT_BYTES, powerOffText } from '../../src/providers/simulator/serial-console.js';
import { backendName, backends, smallTemplateFor, unavailable } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { assertError, call, eventually, type Credentials } from '../helpers/http.js';

/*
 * GCE's getSerialPortOutput over every store and provider: the console shows each boot (a banner naming the machine,
 * a login prompt), a reset adds a boot, a stop a power-off; offsets are bytes, reading on from next gives only what is
 * new, and a start at or past the end gives nothing with next = that start. The usual rules hold: another user's
 * instance is 404 as a missing one, a bad start is 400, no credentials 403, wrong ones 401.
 * Docker instances run a private build of the busybox image, so that the console printed is the current GRACEFUL_CMD's
 * whatever older build of gale/busybox-micro the host has.
 */

const V1 = '/api/compute/v1';
const CONSOLE_IMAGE = 'gale/busybox-micro:serial-console-test';
const TIMEOUT_MS = 120_000;

/** Serves busybox-micro from CONSOLE_IMAGE on Docker. */
function consoleCatalog() {
  const { catalog } = defaultConfig();
  return {
    ...catalog,
    templates: catalog.templates.map((t) => (t.id === 'busybox-micro' ? { ...t, providerImages: { ...t.providerImages, docker: CONSOLE_IMAGE } } : t)),
  };
}

const banners = (text: string, id: string): number => text.split(`${id.toLowerCase()} login:`).length - 1;

for (const backend of backends()) {
  const skip = await unavailable(backend);
  describe(`serial port output over ${backendName(backend)}`, { skip, timeout: 10 * TIMEOUT_MS }, () => {
    let gale: TestGale;
    let alice: Credentials;
    let bob: Credentials;
    let admin: Credentials;
    before(async () => {
      if (backend.provider === 'docker') await buildBusyboxImage({ docker: new Dockerode({ socketPath: '/var/run/docker.sock' }), tag: CONSOLE_IMAGE, force: true });
      gale = await startTestGale(backend, backend.provider === 'docker' ? { catalog: consoleCatalog() } : {});
      // Enterprise: reading until the guest has printed takes more requests than a pro minute allows.
      alice = await gale.user('enterprise');
      bob = await gale.user('enterprise');
      admin = await gale.user('enterprise', { admin: true });
    });
    after(async () => gale?.close());

    const api = <T = unknown>(method: string, path: string, who: Credentials = alice) => call<T>(gale.url, method, `${V1}${path}`, { headers: who.bearer });
    const read = async (id: string, start?: number, who: Credentials = alice, prefix = '/instances'): Promise<SerialPortOutput> => {
      const answer = await api<SerialPortOutput>('GET', `${prefix}/${id}/serialPortOutput${start === undefined ? '' : `?start=${start}`}`, who);
      assert.equal(answer.status, 200, answer.text);
      return answer.body;
    };
    /** A read that is consistent in itself: contents are exactly the bytes from start to next. */
    const consistent = (piece: SerialPortOutput): SerialPortOutput => {
      assert.equal(piece.kind, 'compute#serialPortOutput');
      assert.equal(Buffer.byteLength(piece.contents), Number(piece.next) - Number(piece.start), 'next - start is the bytes of contents');
      return piece;
    };
    /** The console from 0 once it shows what is looked for: at once on the simulator, as the guest prints on Docker. */
    const readUntil = (id: string, what: string, check: (piece: SerialPortOutput) => boolean) =>
      eventually(what, async () => consistent(await read(id, 0)), check, TIMEOUT_MS);
    async function waitDone(operationId: string): Promise<void> {
      for (let round = 0; round < 3; round++) {
        const waited = await api<Operation>('POST', `/operations/${operationId}/wait?timeout=60s`);
        assert.equal(waited.status, 200, waited.text);
        if (waited.body.status === 'DONE') return;
        assert.notEqual(waited.body.status, 'FAILED', waited.text);
      }
      assert.fail(`operation ${operationId} was not done after three waits`);
    }
    async function power(id: string, operation: string): Promise<void> {
      const accepted = await api<Operation>('POST', `/instances/${id}/${operation}`);
      assert.equal(accepted.status, 202, accepted.text);
      await waitDone(accepted.body.id);
    }
    async function running(): Promise<string> {
      const created = await call<Instance>(gale.url, 'POST', `${V1}/instances`, { headers: alice.bearer, body: { template_id: smallTemplateFor(backend) } });
      assert.equal(created.status, 201, created.text);
      // Whatever it has printed before it runs (nothing on the simulator before its first boot), the read is well formed.
      const early = consistent(await read(created.body.id));
      assert.equal(early.start, '0');
      const waited = await api<Instance>('GET', `/instances/${created.body.id}/wait?status=RUNNING&timeout=60s`);
      assert.equal(waited.status, 200, waited.text);
      return created.body.id;
    }

    test('each boot shows on the console; reading on from next gives only what is new; reset and stop add to it', async () => {
      const id = await running();
      const first = await readUntil(id, 'the boot banner', (piece) => banners(piece.contents, id) === 1);
      assert.equal(first.start, '0');
      assert.match(first.contents, /Booting/);
      assert.equal(first.selfLink, `${V1}/instances/${id}/serialPortOutput`);
      if (backend.provider === 'simulator') assert.ok(first.contents.includes(`Gale simulated machine ${id}`), first.contents);

      // At the end: nothing, and next stays where it was asked.
      const caughtUp = consistent(await read(id, Number(first.next)));
      assert.deepEqual([caughtUp.contents, caughtUp.start, caughtUp.next], ['', first.next, first.next]);
      // Past the end: nothing either, with next = the start asked (GCE: "regardless of whether the content exists").
      const beyond = consistent(await read(id, Number(first.next) + 1000));
      assert.deepEqual([beyond.contents, beyond.start, beyond.next], ['', String(Number(first.next) + 1000), String(Number(first.next) + 1000)]);

      // A reset is a second boot, after what was there: reading on from next gives that boot only.
      await power(id, 'reset');
      const both = await readUntil(id, 'a second boot after the reset', (piece) => banners(piece.contents, id) === 2);
      assert.ok(both.contents.startsWith(first.contents), 'the console only grows');
      const onward = consistent(await read(id, Number(first.next)));
      assert.equal(onward.start, first.next);
      assert.ok(Number(onward.next) >= Number(both.next));
      assert.equal(banners(onward.contents, id), 1, `only the second boot from next: ${onward.contents}`);
      assert.equal(first.contents + onward.contents.slice(0, both.contents.length - first.contents.length), both.contents, 'the same bytes at the same offsets');

      // A stop adds a power-off line; the console is still there to read while the instance is TERMINATED.
      await power(id, 'stop');
      const stopped = await readUntil(id, 'the power-off line', (piece) => /power down/i.test(piece.contents.slice(both.contents.length)));
      assert.ok(stopped.contents.startsWith(both.contents));
      assert.equal((await api<Instance>('GET', `/instances/${id}`)).body.status, 'TERMINATED');

      // Compute admins read anyone's, under /admin; the bytes are the same.
      const byAdmin = consistent(await read(id, 0, admin, '/admin/instances'));
      assert.equal(byAdmin.selfLink, `${V1}/admin/instances/${id}/serialPortOutput`);
      assert.ok(byAdmin.contents.startsWith(stopped.contents));

      // Deleted: gone from the API, as get.
      assert.equal((await api('DELETE', `/instances/${id}`)).status, 204);
      assertError(await api('GET', `/instances/${id}/serialPortOutput`), 404, 'not_found');
    });

    test('a machine not made yet (or gone) has printed nothing', async () => {
      const provider = gale.server.provider;
      assert.ok(provider.serialOutput && provider.capabilities.serialConsole);
      assert.deepEqual(await provider.serialOutput('tw-000000-00000000', 0), { contents: '', start: 0, next: 0 });
    });

    test('bad starts and parameters are 400; another user gets 404 as for a missing instance; no credentials 403, wrong ones 401', async () => {
      const id = await running();
      const path = `/instances/${id}/serialPortOutput`;
      for (const query of ['start=-1', 'start=abc', 'start=1.5', 'start=99999999999999999999', 'port=2', 'lines=10']) {
        assertError(await api('GET', `${path}?${query}`), 400, 'invalid_request');
      }
      assert.equal((await api('GET', `${path}?start=0&port=1`)).status, 200);

      const foreign = assertError(await api('GET', path, bob), 404, 'not_found');
      const missingId = `${id.slice(0, 10)}00000000`;
      const missing = assertError(await api('GET', `/instances/${missingId}/serialPortOutput`, bob), 404, 'not_found');
      assert.equal(foreign.message.replace(id, '<id>'), missing.message.replace(missingId, '<id>'));
      assertError(await api('GET', `/admin${path}`, bob), 403, 'forbidden');

      assertError(await call(gale.url, 'GET', `${V1}${path}`), 403, 'forbidden');
      assertError(await call(gale.url, 'GET', `${V1}${path}`, { headers: { authorization: `Bearer ${'x'.repeat(64)}` } }), 401, 'unauthenticated');
      assertError(await call(gale.url, 'POST', `${V1}${path}`, { headers: alice.bearer }), 405, 'method_not_allowed');
    });

    if (backend.provider === 'simulator') {
      test('a backend without a console answers 409 saying so', async () => {
        const id = await running();
        const capabilities = gale.server.provider.capabilities as { serialConsole: boolean };
        capabilities.serialConsole = false;
        try {
          assertError(await api('GET', `/instances/${id}/serialPortOutput`), 409, 'conflict', /no serial console/);
        } finally {
          capabilities.serialConsole = true;
        }
        assertError(await api('GET', `/instances/${id}/serialPortOutput`, bob), 404, 'not_found');
      });
    }
  });
}

describe('the simulated console, as a function of the stored machine', () => {
  const machine = (bootCount: number, on: boolean): SimulatedMachine => ({
    instanceId: 'tw-550e84-a1b2c3d4',
    status: on ? 'RUNNING' : 'TERMINATED',
    internalIp: '10.128.0.5',
    externalIp: on ? '34.1.2.3' : '',
    bootCount,
    startedAt: bootCount > 0 ? 1 : null,
    updatedAt: 1,
  });
  const whole = (bootCount: number, on: boolean): string => {
    let text = '';
    for (let boot = 1; boot <= bootCount; boot++) text += bootText('tw-550e84-a1b2c3d4', boot) + (boot < bootCount || !on ? powerOffText() : '');
    return text;
  };

  test('append-only through start, reset, stop and start again; any offset reads the same bytes', () => {
    const states: Array<[number, boolean]> = [[0, false], [1, true], [2, true], [2, false], [3, true]];
    let before = '';
    for (const [boots, on] of states) {
      const read = consoleOutput(machine(boots, on), 0);
      assert.equal(read.contents, whole(boots, on));
      assert.ok(read.contents.startsWith(before), `${boots} boots, ${on ? 'on' : 'off'}: the console only grows`);
      assert.equal(read.next, Buffer.byteLength(read.contents));
      before = read.contents;
    }
    const all = whole(3, true);
    for (const from of [1, 17, 400, 1000, all.length - 1]) {
      const piece = consoleOutput(machine(3, true), from);
      assert.deepEqual(piece, { contents: all.slice(from), start: from, next: all.length });
    }
    assert.deepEqual(consoleOutput(machine(3, true), all.length + 5), { contents: '', start: all.length + 5, next: all.length + 5 });
    assert.deepEqual(consoleOutput(machine(0, false), 0), { contents: '', start: 0, next: 0 });
  });

  test('bounded: only the last MiB is kept, and a read from before it starts at its oldest byte', () => {
    const boots = 5_000;
    const cycle = Buffer.byteLength(bootText('tw-550e84-a1b2c3d4', 1)) + Buffer.byteLength(powerOffText());
    const end = boots * cycle;
    const piece = consoleOutput(machine(boots, false), 0);
    assert.equal(piece.next, end);
    assert.equal(piece.start, end - CONSOLE_KEPT_BYTES);
    assert.equal(Buffer.byteLength(piece.contents), CONSOLE_KEPT_BYTES);
    assert.ok(piece.contents.endsWith(powerOffText()));
    const later = consoleOutput(machine(boots, false), end - 10);
    assert.deepEqual(later, { contents: piece.contents.slice(-10), start: end - 10, next: end });
  });
});

describe("a container's console, from its log", () => {
  test('ByteTail keeps the last bytes and counts them all', () => {
    const tail = new ByteTail(10);
    for (const chunk of ['abc', 'defgh', 'ijklmnop', 'q']) tail.write(Buffer.from(chunk));
    assert.equal(tail.total, 17);
    assert.equal(tail.kept().toString(), 'hijklmnopq');
  });

  test('windows over the kept bytes: clamped to the oldest kept, nothing at or past the end, whole characters', () => {
    const kept = Buffer.from('0123456789');
    assert.deepEqual(consoleWindow(kept, 110, 0), { contents: '0123456789', start: 100, next: 110 });
    assert.deepEqual(consoleWindow(kept, 110, 105), { contents: '56789', start: 105, next: 110 });
    assert.deepEqual(consoleWindow(kept, 110, 110), { contents: '', start: 110, next: 110 });
    assert.deepEqual(consoleWindow(kept, 110, 500), { contents: '', start: 500, next: 500 });

    // A character cut by the end is held back until the rest of it is printed; one cut by the kept window is skipped.
    const euro = Buffer.from('€'); // 3 bytes
    assert.equal(incompleteTail(Buffer.concat([Buffer.from('a'), euro.subarray(0, 2)])), 2);
    assert.equal(incompleteTail(Buffer.concat([Buffer.from('a'), euro])), 0);
    const cut = Buffer.concat([Buffer.from('ab'), euro.subarray(0, 1)]);
    assert.deepEqual(consoleWindow(cut, 3, 0), { contents: 'ab', start: 0, next: 2 });
    const opened = Buffer.concat([euro.subarray(1), Buffer.from('xy')]);
    assert.deepEqual(consoleWindow(opened, 1004, 0), { contents: 'xy', start: 1002, next: 1004 });
  });
});
