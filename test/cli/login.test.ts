import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import type { Credentials } from '../helpers/http.js';
import { simulatorOverEveryStore } from '../helpers/matrix.js';
import { CliHome, scriptAvailable } from './run.js';

/* `gale login`, profiles and the environment that overrides them. */

const hasScript = await scriptAvailable();

for (const { backend, name, skip } of await simulatorOverEveryStore()) {
  describe(`gale login over ${name}`, { skip }, () => {
    let gale: TestGale;
    let user: Credentials;
    let home: CliHome;
    before(async () => {
      gale = await startTestGale(backend);
      user = await gale.user('pro');
      home = new CliHome();
    });
    after(async () => {
      home?.remove();
      await gale?.close();
    });

    test('a key pair is checked, then kept in a profile file only its owner can read', async () => {
      const login = await home.run(['login', '--endpoint', gale.url, '--api-key', user.keyPair['api-key']!, '--api-secret', user.keyPair['api-secret']!]);
      assert.equal(login.code, 0, login.stderr);
      assert.match(login.stderr, /Logged in to .* \(tier pro\); profile "default" saved/);
      assert.doesNotMatch(login.stderr + login.stdout, new RegExp(user.keyPair['api-secret']!));
      const file = join(home.config, 'gale', 'profiles.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(join(home.config, 'gale')).mode & 0o777, 0o700);
      const stored = JSON.parse(readFileSync(file, 'utf8')) as { profiles: Record<string, Record<string, string>> };
      assert.deepEqual(Object.keys(stored.profiles), ['default']);
      assert.equal(stored.profiles.default!.endpoint, gale.url.replace(/\/+$/, ''));

      const quotas = await home.run(['quotas', '-o', 'json']);
      assert.equal(quotas.code, 0, quotas.stderr);
      assert.equal((JSON.parse(quotas.stdout) as { tier: string }).tier, 'pro');
      const table = await home.run(['quotas']);
      assert.match(table.stdout, /^tier pro/);
      assert.match(table.stdout, /QUOTA\s+USAGE\s+LIMIT\s+REMAINING/);
    });

    test('a token goes in a named profile, chosen with --profile; logout forgets it', async () => {
      const other = await gale.user('free');
      const login = await home.run(['login', '--endpoint', gale.url, '--profile', 'free', '--token', other.token]);
      assert.equal(login.code, 0, login.stderr);
      assert.equal((JSON.parse((await home.run(['quotas', '--profile', 'free', '-o', 'json'])).stdout) as { tier: string }).tier, 'free');
      assert.equal((JSON.parse((await home.run(['quotas', '-o', 'json'])).stdout) as { tier: string }).tier, 'pro');
      const profiles = await home.run(['profiles']);
      assert.match(profiles.stdout, /default\s+http.*api key/);
      assert.match(profiles.stdout, /free\s+http.*token/);
      assert.doesNotMatch(profiles.stdout, new RegExp(other.token));

      assert.equal((await home.run(['logout', '--profile', 'free'])).code, 0);
      const gone = await home.run(['quotas', '--profile', 'free']);
      assert.equal(gone.code, 5);
      assert.match(gone.stderr, /no profile "free"/);
    });

    test('GALE_ENDPOINT and GALE_TOKEN take precedence over the profile', async () => {
      const other = await gale.user('enterprise');
      const viaEnv = await home.run(['quotas', '-o', 'json'], { GALE_TOKEN: other.token });
      assert.equal((JSON.parse(viaEnv.stdout) as { tier: string }).tier, 'enterprise');
      const viaKeys = await home.run(['quotas', '-o', 'json'], { GALE_API_KEY: other.keyPair['api-key']!, GALE_API_SECRET: other.keyPair['api-secret']! });
      assert.equal((JSON.parse(viaKeys.stdout) as { tier: string }).tier, 'enterprise');
      const elsewhere = await home.run(['quotas'], { GALE_ENDPOINT: 'http://127.0.0.1:1' });
      assert.equal(elsewhere.code, 1);
      assert.match(elsewhere.stderr, /cannot reach the server/);
    });

    test('on a terminal, login asks for the key and the secret, and does not echo the secret', { skip: hasScript ? undefined : 'util-linux script is not installed' }, async () => {
      const fresh = new CliHome();
      try {
        const login = fresh.spawn(['login', '--endpoint', gale.url, '--profile', 'asked'], {}, { tty: true });
        await login.waitFor(/API key \(leave empty to use a session token instead\): /);
        login.child.stdin!.write(`${user.keyPair['api-key']}\r`);
        await login.waitFor(/API secret: /);
        login.child.stdin!.write(`${user.keyPair['api-secret']}\r`);
        const code = await new Promise((done) => (login.child.exitCode !== null ? done(login.child.exitCode) : login.child.once('exit', done)));
        assert.equal(code, 0, login.output());
        assert.match(login.output(), /Logged in to .*profile "asked" saved/);
        assert.ok(!login.output().includes(user.keyPair['api-secret']!), 'the secret is not echoed');
        const stored = JSON.parse(readFileSync(join(fresh.config, 'gale', 'profiles.json'), 'utf8')) as { profiles: Record<string, Record<string, string>> };
        assert.equal(stored.profiles.asked!.apiSecret, user.keyPair['api-secret']);
      } finally {
        fresh.remove();
      }
    });

    test('refused credentials exit 5 and store nothing; missing ones without a terminal are a usage error', async () => {
      const fresh = new CliHome();
      try {
        const refused = await fresh.run(['login', '--endpoint', gale.url, '--token', 'not-a-token']);
        assert.equal(refused.code, 5);
        assert.match(refused.stderr, /^gale: .*error id [0-9a-f-]+/m);
        assert.equal(existsSync(join(fresh.config, 'gale', 'profiles.json')), false);
        const notLoggedIn = await fresh.run(['instances', 'list']);
        assert.equal(notLoggedIn.code, 5);
        assert.match(notLoggedIn.stderr, /not logged in: run `gale login/);
        const noTty = await fresh.run(['login', '--endpoint', gale.url]);
        assert.equal(noTty.code, 2);
        assert.match(noTty.stderr, /no terminal to ask for credentials/);
        const badEnv = await fresh.run(['instances', 'list'], { GALE_ENDPOINT: gale.url, GALE_API_KEY: 'nobody', GALE_API_SECRET: 'nothing' });
        assert.equal(badEnv.code, 5);
      } finally {
        fresh.remove();
      }
    });
  });
}
