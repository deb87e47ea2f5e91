import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { API_BASE } from '../../src/contracts/api.js';
import { CONSOLE_CSP, registerConsole } from '../../src/api/routes/console.js';
import type { GaleApp } from '../../src/api/services.js';
import { LOCAL_BACKEND } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { ensureConsoleBuilt } from './support.js';

/* How `gale serve` answers for the console: its own CSP and caching, the API's left as strict as before, and no trace of it in the OpenAPI document. */

describe('console serving', () => {
  let gale: TestGale;

  before(async () => {
    ensureConsoleBuilt();
    gale = await startTestGale(LOCAL_BACKEND);
  });
  after(async () => gale?.close());

  test('/console and /console/ answer the page, no-cache, under the console CSP', async () => {
    for (const path of ['/console', '/console/', '/console/instances']) {
      const answer = await fetch(`${gale.url}${path}`);
      assert.equal(answer.status, 200, path);
      assert.match(answer.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(answer.headers.get('content-security-policy'), CONSOLE_CSP);
      assert.equal(answer.headers.get('cache-control'), 'no-cache');
      assert.equal(answer.headers.get('x-frame-options'), 'DENY');
      const html = await answer.text();
      assert.match(html, /<script type="module" crossorigin src="\/console\/assets\/[\w-]+\.js"><\/script>/);
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
      assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin');
    }
  });

  test('hashed assets are cached for good; unknown assets are 404s', async () => {
    const html = await (await fetch(`${gale.url}/console/`)).text();
    const script = /src="(\/console\/assets\/[\w-]+\.js)"/.exec(html)?.[1] as string;
    const asset = await fetch(`${gale.url}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(asset.headers.get('content-security-policy'), CONSOLE_CSP);
    const missing = await fetch(`${gale.url}/console/assets/nothing-here.js`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('cache-control'), 'no-store');
    const traversal = await fetch(`${gale.url}/console/..%2f..%2fpackage.json`);
    assert.notEqual(traversal.status, 200);
  });

  test("the API's answers keep the API's CSP", async () => {
    for (const path of ['/healthz', `${API_BASE}/instances`, `${API_BASE}/openapi.json`]) {
      const answer = await fetch(`${gale.url}${path}`);
      assert.equal(answer.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'", path);
      assert.equal(answer.headers.get('cache-control'), 'no-store', path);
    }
  });

  test('the console is not in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${gale.url}${API_BASE}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.deepEqual(
      Object.keys(doc.paths).filter((path) => path.includes('console')),
      [],
    );
  });

  test('without a build, /console says to run npm run build', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'gale-console-'));
    const app = Fastify();
    registerConsole(app as unknown as GaleApp, empty);
    try {
      const answer = await app.inject({ url: '/console/' });
      assert.equal(answer.statusCode, 503);
      assert.match(answer.body, /npm run build/);
      assert.equal(answer.headers['content-security-policy'], CONSOLE_CSP);
    } finally {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
