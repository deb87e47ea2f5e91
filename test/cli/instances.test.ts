import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance } from '../../src/client/index.js';
import { call } from '../helpers/http.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import type { Credentials } from '../helpers/http.js';
import { simulatorOverEveryStore } from '../helpers/matrix.js';
import { CliHome } from './run.js';

/* The life of instances through `gale instances …`, as a user at a shell (no terminal) lives it. */

const TEMPLATE = 'debian-12-micro';

for (const { backend, name, skip } of await simulatorOverEveryStore()) {
  describe(`gale instances over ${name}`, { skip }, () => {
    let gale: TestGale;
    let user: Credentials;
    let home: CliHome;
    let env: Record<string, string>;
    before(async () => {
      gale = await startTestGale(backend);
      user = await gale.user('enterprise');
      home = new CliHome();
      env = { GALE_ENDPOINT: gale.url, GALE_TOKEN: user.token };
    });
    after(async () => {
      home?.remove();
      await gale?.close();
    });
    const run = (...args: string[]) => home.run(args, env);

    test('create --wait, list, get, stop, start, suspend, resume, restart, delete: each waited for, one status line per change', async () => {
      const created = await run('instances', 'create', '--template', TEMPLATE, '--wait', '-o', 'json');
      assert.equal(created.code, 0, created.stderr);
      const instance = JSON.parse(created.stdout) as Instance;
      assert.equal(instance.status, 'RUNNING');
      assert.ok(instance.internalIp);
      // Without a terminal: plain lines, one per status, no carriage return.
      const lines = created.stderr.trim().split('\n');
      assert.match(lines[0]!, new RegExp(`^${instance.id}  PROVISIONING  \\d+\\.\\ds$`));
      assert.match(lines.at(-1)!, new RegExp(`^${instance.id}  RUNNING  \\d+\\.\\ds$`));
      assert.doesNotMatch(created.stderr, /\r/);

      const listed = await run('instances', 'list');
      assert.equal(listed.code, 0, listed.stderr);
      const [header, ...rows] = listed.stdout.trimEnd().split('\n');
      assert.match(header!, /^ID\s+ZONE\s+MACHINE TYPE\s+STATUS\s+INTERNAL IP\s+EXTERNAL IP\s+AGE$/);
      const row = rows.find((r) => r.startsWith(instance.id))!;
      assert.match(row, new RegExp(`^${instance.id}\\s+${instance.zone}\\s+e2-micro\\s+RUNNING\\s+${instance.internalIp.replace(/\./g, '\\.')}\\s`));
      assert.equal(header!.indexOf('STATUS'), row.indexOf('RUNNING'), 'columns are aligned');

      const yaml = await run('instances', 'get', instance.id, '-o', 'yaml');
      assert.match(yaml.stdout, new RegExp(`^id: ${instance.id}$`, 'm'));
      assert.match(yaml.stdout, /^status: RUNNING$/m);

      for (const [verb, status] of [['stop', 'TERMINATED'], ['start', 'RUNNING'], ['suspend', 'SUSPENDED'], ['resume', 'RUNNING'], ['restart', 'RUNNING']] as const) {
        const done = await run('instances', verb, instance.id, '--wait');
        assert.equal(done.code, 0, `${verb}: ${done.stderr}`);
        assert.match(done.stdout, new RegExp(`^${instance.id}\\s+${verb}\\s+${status}\\s+[0-9a-f-]{36}$`, 'm'));
        assert.match(done.stderr.trim().split('\n').at(-1)!, new RegExp(`^${instance.id}  ${status}  `));
        assert.equal((await call<Instance>(gale.url, 'GET', `/api/compute/v1/instances/${instance.id}`, { headers: user.bearer })).body.status, status);
      }

      const operations = await run('operations', 'list', '--instance', instance.id, '-o', 'json');
      const kinds = (JSON.parse(operations.stdout) as Array<{ kind: string; status: string }>).map((o) => o.kind);
      assert.deepEqual(kinds, ['restart', 'resume', 'suspend', 'start', 'stop', 'create']);

      const removed = await run('instances', 'delete', instance.id, '--yes', '--wait');
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(removed.stdout, new RegExp(`^${instance.id}\\s+delete\\s+DELETED\\s`, 'm'));
      const gone = await run('instances', 'get', instance.id);
      assert.equal(gone.code, 4);
      assert.match(gone.stderr, /^gale: .*\(error id [0-9a-f-]+\)$/m);
    });

    test('bulk: stop $(list -q --status RUNNING) acts on every id, one line each; a bad id fails alone with a non-zero exit', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const made = await run('instances', 'create', '--template', TEMPLATE, '-q');
        assert.equal(made.code, 0, made.stderr);
        ids.push(made.stdout.trim());
      }
      for (const id of ids) assert.equal((await run('instances', 'wait', id, '--for', 'RUNNING', '-o', 'json')).code, 0);
      const running = (await run('instances', 'list', '-q', '--status', 'RUNNING')).stdout.trim().split('\n');
      assert.deepEqual([...running].sort(), [...ids].sort());

      const stopped = await run('instances', 'stop', ...running, '--wait');
      assert.equal(stopped.code, 0, stopped.stderr);
      const rows = stopped.stdout.trim().split('\n').slice(1);
      assert.equal(rows.length, 3);
      for (const id of ids) assert.ok(rows.some((r) => new RegExp(`^${id}\\s+stop\\s+TERMINATED\\s`).test(r)), stopped.stdout);
      assert.equal((await run('instances', 'list', '-q', '--status', 'RUNNING')).stdout, '');

      const json = await run('instances', 'start', ids[0]!, 'tw-000000-00000000', ids[1]!, '-o', 'json');
      assert.equal(json.code, 4);
      const results = JSON.parse(json.stdout) as Array<{ instanceId: string; ok: boolean; operationId?: string; error?: { errorId?: string } }>;
      assert.deepEqual(results.map((r) => [r.instanceId, r.ok]), [[ids[0], true], ['tw-000000-00000000', false], [ids[1], true]]);
      assert.ok(results[1]!.error?.errorId);
      assert.match(json.stderr, /^gale: tw-000000-00000000: .*error id/m);

      const cleaned = await run('instances', 'delete', ...ids, '--yes', '--wait');
      assert.equal(cleaned.code, 0, cleaned.stderr);
      assert.equal(cleaned.stdout.trim().split('\n').length, 4);
    });

    test('watch prints the instances, then a line for each change the event stream brings', async () => {
      const made = JSON.parse((await run('instances', 'create', '--template', TEMPLATE, '--wait', '-o', 'json')).stdout) as Instance;
      const watch = home.spawn(['instances', 'watch'], env);
      try {
        await watch.waitFor(new RegExp(`${made.id}\\s+\\S+\\s+e2-micro\\s+RUNNING`));
        const stop = await call(gale.url, 'POST', `/api/compute/v1/instances/${made.id}/stop`, { headers: user.bearer });
        assert.equal(stop.status, 202);
        await watch.waitFor(new RegExp(`${made.id}\\s+\\S+\\s+e2-micro\\s+STOPPING`));
        await watch.waitFor(new RegExp(`${made.id}\\s+\\S+\\s+e2-micro\\s+TERMINATED`));
        await call(gale.url, 'DELETE', `/api/compute/v1/instances/${made.id}`, { headers: user.bearer });
        await watch.waitFor(new RegExp(`${made.id}  DELETED`));
      } finally {
        watch.child.kill('SIGINT');
      }
      const code = await new Promise((done) => (watch.child.exitCode !== null ? done(watch.child.exitCode) : watch.child.once('exit', done)));
      assert.equal(code, 0, watch.output());
    });

    test('templates, zones, console and operations', async () => {
      const templates = await run('templates', 'list', '-o', 'json');
      assert.ok((JSON.parse(templates.stdout) as Array<{ id: string }>).some((t) => t.id === TEMPLATE));
      assert.match((await run('templates', 'list')).stdout, /^ID\s+MACHINE TYPE\s+DISK\s+REGION\s+DESCRIPTION/);
      const zones = JSON.parse((await run('templates', 'zones', TEMPLATE, '-o', 'json')).stdout) as string[];
      assert.ok(zones.length > 0);
      assert.equal((await run('templates', 'zones', 'no-such-template')).code, 4);

      const made = JSON.parse((await run('instances', 'create', '--template', TEMPLATE, '--zone', zones[0]!, '--wait', '-o', 'json')).stdout) as Instance;
      assert.equal(made.zone, zones[0]);
      const output = await run('instances', 'console', made.id);
      assert.equal(output.code, 0, output.stderr);
      assert.match(output.stdout, new RegExp(made.id));

      const stop = await run('instances', 'stop', made.id, '-o', 'json');
      const [accepted] = JSON.parse(stop.stdout) as Array<{ operationId: string }>;
      const waited = await run('operations', 'wait', accepted!.operationId, '-o', 'json');
      assert.equal((JSON.parse(waited.stdout) as { status: string }).status, 'DONE');
      const got = await run('operations', 'get', accepted!.operationId);
      assert.match(got.stdout, new RegExp(`^${accepted!.operationId}\\s+stop\\s+${made.id}\\s+DONE`, 'm'));
      await run('instances', 'delete', made.id, '--yes', '--wait');
    });
  });
}
