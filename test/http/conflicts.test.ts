import { after, before, test } from 'node:test';
import { assertError, call } from '../helpers/http.js';
import { LOCAL_BACKEND } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';

// API rules, independent of the backend: a simulator slow enough that the instance stays PROVISIONING.
let gale: TestGale;
before(async () => {
  gale = await startTestGale(LOCAL_BACKEND, { providers: { simulator: { delayMs: 600_000 } } });
});
after(async () => gale?.close());

test('no power operation is accepted while an instance is PROVISIONING', async () => {
  const user = await gale.user('pro');
  const created = await call<{ id: string }>(gale.url, 'POST', '/api/compute/v1/instances', {
    headers: user.bearer,
    body: { template_id: 'ubuntu-22-standard' },
  });
  for (const op of ['start', 'stop', 'restart', 'reset']) {
    const answer = await call(gale.url, 'POST', `/api/compute/v1/instances/${created.body.id}/${op}`, { headers: user.keyPair });
    assertError(answer, 409, 'conflict', /PROVISIONING/);
  }
});

test('a server fault answers 500 with the envelope and no internals', async () => {
  const user = await gale.user('pro');
  await gale.server.store.close();
  const answer = await call(gale.url, 'GET', '/api/compute/v1/instances', { headers: user.bearer });
  const error = assertError(answer, 500, 'internal');
  if (/sql|select|sqlite|postgres|at .*\(/i.test(answer.text) || /at /.test(error.message)) {
    throw new Error(`internals leaked: ${answer.text}`);
  }
});
