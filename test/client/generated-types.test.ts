import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { clientSources, documentAt } from '../../scripts/generate-client-types.js';
import { LOCAL_BACKEND } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';

/*
 * The client's generated types and route table are what the served document gives, byte for byte: a route or a
 * schema changed on the server without `npm run generate:client` fails here, so the two cannot drift apart.
 */

describe('the generated client files', () => {
  let gale: TestGale;
  before(async () => {
    gale = await startTestGale(LOCAL_BACKEND);
  });
  after(async () => gale?.close());

  test('are what the live OpenAPI document generates (else: npm run generate:client)', async () => {
    const sources = await clientSources(await documentAt(gale.url));
    assert.ok(sources.length >= 2);
    for (const { file, source } of sources) {
      const committed = readFileSync(file, 'utf8');
      assert.ok(committed === source, `${file} is not what the served document generates: run npm run generate:client`);
    }
  });
});
