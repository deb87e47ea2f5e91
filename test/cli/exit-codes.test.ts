import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance } from '../../src/client/index.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import type { Credentials } from '../helpers/http.js';
import { simulatorOverEveryStore } from '../helpers/matrix.js';
import { CliHome, scriptAvailable } from './run.js';

/*
 * Every exit code, each error's message and error id on stderr, and the --wait progress on a terminal (a pseudo-
 * terminal made by util-linux `script`) against the plain lines without one. The server's simulator takes a minute
 * to make a machine, so that a wait for RUNNING can time out.
 */

const TEMPLATE = 'debian-12-micro';
const hasScript = await scriptAvailable();

for (const { backend, name, skip } of await simulatorOverEveryStore()) {
  describe(`gale exit codes over ${name}`, { skip }, () => {
    let gale: TestGale;
    let slow: TestGale;
    let home: CliHome;
    let user: Credentials;
    let env: Record<string, string>;
    before(async () => {
      [gale, slow] = await Promise.all([startTestGale(backend), startTestGale(backend, { providers: { simulator: { delayMs: 120_000 } } })]);
      user = await gale.user('free');
      env = { GALE_ENDPOINT: gale.url, GALE_TOKEN: user.token };
      home = new CliHome();
    });
    after(async () => {
      home?.remove();
      await Promise.all([gale?.close(), slow?.close()]);
    });
    const run = (...args: string[]) => home.run(args, env);

    test('0 done, 1 an API error (quota), 4 not found, 5 refused credentials', async () => {
      const first = await run('instances', 'create', '--template', TEMPLATE, '-q');
      assert.equal(first.code, 0, first.stderr);
      const second = await run('instances', 'create', '--template', TEMPLATE);
      assert.equal(second.code, 1);
      assert.match(second.stderr, /^gale: .*quota.* \(error id [0-9a-f-]+\)$/im);
      assert.equal(second.stdout, '');

      const missing = await run('instances', 'get', 'tw-000000-00000000');
      assert.equal(missing.code, 4);
      assert.match(missing.stderr, /\(error id [0-9a-f-]+\)/);
      assert.equal((await run('operations', 'get', '00000000-0000-4000-8000-000000000000')).code, 4);

      const refused = await home.run(['instances', 'list'], { GALE_ENDPOINT: gale.url, GALE_TOKEN: 'wrong' });
      assert.equal(refused.code, 5);
      assert.match(refused.stderr, /gale login/);
      await run('instances', 'delete', first.stdout.trim(), '--yes', '--wait');
    });

    test('2 for usage: unknown commands and options, bad values, a delete without --yes and no terminal', async () => {
      for (const args of [
        ['instances', 'explode'],
        ['instances', 'create'],
        ['instances', 'list', '--output', 'xml'],
        ['instances', 'list', '--status', 'SLEEPING'],
        ['instances', 'wait', 'tw-000000-00000000', '--for', 'RUNNING', '--timeout', 'soon'],
        ['instances', 'delete', 'tw-000000-00000000'],
        ['completion', 'powershell'],
      ]) {
        const result = await run(...args);
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        assert.notEqual(result.stderr, '');
      }
      assert.match((await run('instances', 'delete', 'x')).stderr, /add --yes/);
    });

    test('3 when a wait times out; the help lists the exit codes; completion lists the commands', async () => {
      const slowEnv = { GALE_ENDPOINT: slow.url, GALE_TOKEN: (await slow.user('pro')).token };
      const made = await home.run(['instances', 'create', '--template', TEMPLATE, '-o', 'json'], slowEnv);
      const instance = JSON.parse(made.stdout) as Instance;
      const waited = await home.run(['instances', 'wait', instance.id, '--for', 'RUNNING', '--timeout', '1s'], slowEnv);
      assert.equal(waited.code, 3, waited.stderr);
      assert.match(waited.stderr, /timed out: instance .* is PROVISIONING, not RUNNING/);

      const help = await run('--help');
      assert.equal(help.code, 0);
      assert.match(help.stdout, /Exit codes:\n {2}0 {2}done\n {2}1 .*\n {2}2 {2}usage.*\n {2}3 {2}timeout.*\n {2}4 {2}not found.*\n {2}5 {2}authentication/);
      for (const shell of ['bash', 'zsh', 'fish']) {
        const script = await run('completion', shell);
        assert.equal(script.code, 0);
        for (const word of ['instances', 'templates', 'operations', 'quotas', 'login', 'create', 'watch']) assert.ok(script.stdout.includes(word), `${shell}: ${word}`);
      }
    });

    test('--wait on a terminal rewrites one progress line in place with \\r; -q still prints the id; delete asks', { skip: hasScript ? undefined : 'util-linux script is not installed' }, async () => {
      const other = await gale.user('pro');
      const ttyEnv = { GALE_ENDPOINT: gale.url, GALE_TOKEN: other.token };
      const made = await home.runOnTty(['instances', 'create', '--template', TEMPLATE, '--wait', '-q'], ttyEnv);
      assert.equal(made.code, 0, made.stdout);
      const id = /tw-[0-9a-f]{6}-[0-9a-f]{8}/.exec(made.stdout)![0];
      // Every redraw begins with \r and erases the line; the last one shows the way and the time.
      const draws = made.stdout.split('\r\x1b[K').slice(1);
      assert.ok(draws.length >= 2, JSON.stringify(made.stdout));
      for (const draw of draws) assert.match(draw, new RegExp(`^${id}  PROVISIONING`));
      assert.match(draws.at(-1)!, new RegExp(`^${id}  PROVISIONING( → \\w+)* → RUNNING  \\d+\\.\\ds\\r?\\n${id}\\r?\\n$`));

      const stopped = await home.runOnTty(['instances', 'stop', id, '--wait'], ttyEnv);
      assert.equal(stopped.code, 0, stopped.stdout);
      assert.match(stopped.stdout, new RegExp(`\\r\\x1b\\[K${id}  [A-Z →]*TERMINATED  \\d+\\.\\ds`));
      assert.match(stopped.stdout, new RegExp(`${id}\\s+stop\\s+TERMINATED\\s`));

      // delete asks on a terminal; anything but yes keeps the instance.
      const asked = home.spawn(['instances', 'delete', id], ttyEnv, { tty: true });
      await asked.waitFor(new RegExp(`Delete ${id}\\? \\[y/N\\] `));
      asked.child.stdin!.write('n\r');
      await asked.waitFor(/nothing deleted/);
      assert.equal((await home.run(['instances', 'get', id, '-o', 'json'], ttyEnv)).code, 0);
      await home.run(['instances', 'delete', id, '--yes', '--wait'], ttyEnv);
    });
  });
}
