import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { call } from '../helpers/http.js';
import { run } from '../helpers/tools.js';
import { ROUTES } from '../../src/api/routes/index.js';

/*
 * The OpenAPI document is complete enough to generate a working client from (issue 11): it lints clean with Redocly
 * and Spectral (their configurations are redocly.yaml and .spectral.yaml at the root, with no rule turned off), and it
 * says what a generator needs: descriptions everywhere, enums, formats, integer bounds, every header and status.
 * That every answer matches it is checked on every call of the HTTP suite (test/helpers/http.ts).
 */

const V1 = '/api/compute/v1';
const BIN = join(process.cwd(), 'node_modules', '.bin');
/** The routes without credentials, as the route table says. */
const PUBLIC = ROUTES.filter((route) => route.access === 'public').map((route) => `${route.method} ${route.documentedPath}`);

interface Parameter {
  name: string;
  in: string;
  description?: string;
  schema?: { type?: string; minimum?: number; maximum?: number; enum?: unknown[] };
}
interface Response {
  description: string;
  headers?: Record<string, { $ref: string }>;
}
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  responses: Record<string, Response>;
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
}
interface Document {
  openapi: string;
  servers?: Array<{ url: string }>;
  tags?: Array<{ name: string; description?: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { properties?: Record<string, { type?: string; format?: string; enum?: string[] }>; anyOf?: Array<{ required: string[] }> }>;
    headers: Record<string, { required?: boolean; schema: { type: string } }>;
  };
}

describe('the OpenAPI document', () => {
  let gale: TestGale;
  let doc: Document;
  let file: string;
  const dir = mkdtempSync(join(tmpdir(), 'gale-openapi-'));
  const operations = (): Array<[string, Operation]> =>
    Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op]));

  before(async () => {
    gale = await startTestGale({ store: 'sqlite', provider: 'simulator' });
    const answer = await call<Document>(gale.url, 'GET', `${V1}/openapi.json`);
    assert.equal(answer.status, 200);
    doc = answer.body;
    file = join(dir, 'openapi.json');
    writeFileSync(file, answer.text);
  });
  after(async () => {
    await gale?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('Redocly lints it clean: no error, no warning', () => {
    const linted = run(join(BIN, 'redocly'), ['lint', '--format=json', '--config=redocly.yaml', file]);
    const report = JSON.parse(linted.stdout) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; message: string }> };
    assert.deepEqual(report.problems.map((p) => `${p.ruleId}: ${p.message}`), []);
    assert.deepEqual(report.totals, { ...report.totals, errors: 0, warnings: 0 });
    assert.equal(linted.status, 0);
  });

  test('Spectral lints it clean: no error, no warning', () => {
    const report = join(dir, 'spectral.json');
    const linted = run(join(BIN, 'spectral'), ['lint', '--format=json', `--output=${report}`, '--ruleset=.spectral.yaml', '--fail-severity=warn', file]);
    const problems = JSON.parse(readFileSync(report, 'utf8')) as Array<{ code: string; message: string; path: string[] }>;
    assert.deepEqual(problems.map((p) => `${p.code}: ${p.message} at ${p.path.join('.')}`), []);
    assert.equal(linted.status, 0, linted.output);
  });

  test('every route of the route table is in it, and nothing else', () => {
    const routes = operations().map(([route]) => route);
    assert.deepEqual([...routes].sort(), ROUTES.map((route) => `${route.method} ${route.documentedPath}`).sort());
    assert.ok(doc.servers && doc.servers.length > 0, 'servers');
  });

  test('descriptions on every operation, parameter and response; tags defined', () => {
    const defined = new Set((doc.tags ?? []).filter((t) => t.description).map((t) => t.name));
    for (const [route, op] of operations()) {
      assert.ok(op.operationId && op.summary && op.description, `${route}: operationId, summary and description`);
      for (const tag of op.tags ?? []) assert.ok(defined.has(tag), `${route}: tag ${tag} is not defined with a description`);
      for (const parameter of op.parameters ?? []) assert.ok(parameter.description, `${route}: parameter ${parameter.name} has no description`);
      for (const [status, response] of Object.entries(op.responses)) {
        assert.ok(response.description && response.description !== 'Default Response', `${route} ${status}: no description`);
      }
    }
  });

  test('the types a generator needs: enums, formats, integer bounds, the create body', () => {
    const { schemas } = doc.components;
    assert.deepEqual(schemas.Instance!.properties!.status!.enum, ['PROVISIONING', 'STAGING', 'RUNNING', 'STOPPING', 'TERMINATED', 'SUSPENDING', 'SUSPENDED']);
    assert.equal(schemas.Instance!.properties!.createdAt!.format, 'date-time');
    assert.equal(schemas.Instance!.properties!.customerId!.type, 'string');
    assert.deepEqual(schemas.Operation!.properties!.status!.enum, ['PENDING', 'RUNNING', 'DONE', 'FAILED']);
    assert.equal(schemas.Operation!.properties!.createdAt!.format, 'date-time');
    assert.ok(schemas.Error!.properties, 'the error envelope');
    assert.deepEqual(schemas.CreateInstanceRequest!.anyOf, [{ required: ['template_id'] }, { required: ['templateID'] }, { required: ['templateId'] }]);
    const create = doc.paths[`${V1}/instances`]!.post!;
    assert.equal(create.requestBody?.content['application/json']?.schema.$ref, '#/components/schemas/CreateInstanceRequest');
    const list = doc.paths[`${V1}/admin/instances`]!.get!;
    for (const name of ['page', 'pageSize', 'limit']) {
      const schema = list.parameters!.find((p) => p.name === name)!.schema!;
      assert.deepEqual([schema.type, schema.minimum], ['integer', 1], name);
      assert.ok(schema.maximum, `${name} has a maximum`);
    }
    assert.ok(list.parameters!.some((p) => p.name === 'customerID'));
  });

  test('every status Gale can send on a route is documented there, with the headers that come with it', () => {
    const header = (response: Response, name: string) => response.headers?.[name]?.$ref;
    for (const [route, op] of operations()) {
      const statuses = Object.keys(op.responses);
      const authenticated = !PUBLIC.includes(route);
      const takesBody = !route.startsWith('GET ');
      for (const status of ['400', '405', '408', '431', '500', '503', ...(authenticated ? ['401', '403', '429'] : []), ...(takesBody ? ['413', '415'] : [])]) {
        assert.ok(statuses.includes(status), `${route} does not document ${status}`);
      }
      for (const [status, response] of Object.entries(op.responses)) {
        assert.equal(header(response, 'x-request-id'), '#/components/headers/RequestId', `${route} ${status}: x-request-id`);
        if (Number(status) >= 400) {
          assert.ok(header(response, 'x-error') && header(response, 'x-error-id'), `${route} ${status}: x-error, x-error-id`);
        } else if (authenticated) {
          for (const name of ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset']) assert.ok(header(response, name), `${route} ${status}: ${name}`);
        }
      }
      if (authenticated) assert.ok(header(op.responses['429']!, 'Retry-After'), `${route} 429: Retry-After`);
      assert.ok(header(op.responses['405']!, 'Allow'), `${route} 405: Allow`);
    }
    const stop = doc.paths[`${V1}/instances/{id}/stop`]!.post!;
    assert.ok(header(stop.responses['202']!, 'Location') && header(stop.responses['202']!, 'Idempotent-Replayed'));
    assert.ok(stop.responses['409'] && stop.responses['404']);
    assert.equal(doc.components.headers.RequestId?.required, true);
    assert.equal(doc.components.headers.OperationLocation?.required, true);
  });
});
