import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import openapiTS, { astToString } from 'openapi-typescript';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { call, eventually } from '../helpers/http.js';
import { run } from '../helpers/tools.js';

/*
 * A client generated from the served document works with no hand fixes (issue 11): openapi-typescript turns the
 * document into types, a program written against them with openapi-fetch type-checks under `strict`, and the same
 * program, run against Gale, gets what the types promise.
 */

const V1 = '/api/compute/v1';
// Inside the checkout, so that the program resolves openapi-fetch from its node_modules.
const DIR = join(process.cwd(), 'test', 'openapi', '.generated');

/** What a user would write against the generated types: every call typed by path, method and parameters. */
const PROGRAM = `import createClient from 'openapi-fetch';
import type { components, paths } from './schema.js';

type Instance = components['schemas']['Instance'];
type Operation = components['schemas']['Operation'];

export interface Outcome {
  created: Instance;
  items: number;
  stop: Operation;
  looked: Operation['status'];
  missing: components['schemas']['Error']['error']['code'];
}

export async function use(baseUrl: string, headers: Record<string, string>, runningId: string): Promise<Outcome> {
  const client = createClient<paths>({ baseUrl, headers });
  const created = await client.POST('${V1}/instances', { body: { templateID: 'debian-12-micro', zone: '' } });
  if (!created.data) throw new Error(created.error.error.code);
  const status: 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'TERMINATED' | 'SUSPENDING' | 'SUSPENDED' = created.data.status;
  const page = await client.GET('${V1}/admin/instances', { params: { query: { page: 1, pageSize: 10, status: 'running' } } });
  if (!page.data) throw new Error(page.error.error.code);
  const stopped = await client.POST('${V1}/instances/{id}/stop', { params: { path: { id: runningId } } });
  if (!stopped.data) throw new Error(stopped.error.error.code);
  const looked = await client.GET('${V1}/operations/{id}', { params: { path: { id: stopped.data.id } } });
  if (!looked.data) throw new Error(looked.error.error.code);
  const missing = await client.GET('${V1}/instances/{id}', { params: { path: { id: 'tw-000000-00000000' } } });
  if (!missing.error) throw new Error('a missing instance was found');
  void status;
  return { created: created.data, items: page.data.items, stop: stopped.data, looked: looked.data.status, missing: missing.error.error.code };
}
`;

interface Outcome {
  created: { id: string; status: string; zone: string };
  items: number;
  stop: { kind: string; instanceId: string; status: string };
  looked: string;
  missing: string;
}

describe('a client generated from the OpenAPI document', () => {
  let gale: TestGale;
  let doc: object;

  before(async () => {
    gale = await startTestGale({ store: 'sqlite', provider: 'simulator' });
    doc = (await (await fetch(`${gale.url}${V1}/openapi.json`)).json()) as object;
    rmSync(DIR, { recursive: true, force: true });
    mkdirSync(DIR, { recursive: true });
  });
  after(async () => {
    await gale?.close();
    rmSync(DIR, { recursive: true, force: true });
  });

  test('openapi-typescript generates types that a strict program type-checks against, with no hand fixes', async () => {
    const types = astToString(await openapiTS(doc as Parameters<typeof openapiTS>[0]));
    writeFileSync(join(DIR, 'schema.ts'), types);
    writeFileSync(join(DIR, 'program.ts'), PROGRAM);
    const config = {
      compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', skipLibCheck: false, types: [] },
      files: ['program.ts'],
    };
    writeFileSync(join(DIR, 'tsconfig.json'), JSON.stringify(config));
    const checked = run(join(process.cwd(), 'node_modules', '.bin', 'tsc'), ['-p', join(DIR, 'tsconfig.json')]);
    assert.equal(checked.output.trim(), '', `the generated types need hand fixes:\n${checked.output}`);
    assert.equal(checked.status, 0);
    // The types say what the API does: the three spellings, the status enum, the operation.
    assert.match(types, /template_id\?: string/);
    assert.match(types, /status: "PROVISIONING" \| "STAGING" \| "RUNNING" \| "STOPPING" \| "TERMINATED" \| "SUSPENDING" \| "SUSPENDED"/);
    assert.match(types, /"\/api\/compute\/v1\/operations\/\{id\}": \{/);
  });

  test('the same program, run with openapi-fetch against Gale, gets what the types promise', async () => {
    const admin = await gale.user('pro', { admin: true });
    const made = await call<{ id: string; status: string }>(gale.url, 'POST', `${V1}/instances`, { headers: admin.bearer, body: { template_id: 'debian-12-micro' } });
    assert.equal(made.status, 201);
    await eventually('RUNNING', async () => (await call<{ status: string }>(gale.url, 'GET', `${V1}/instances/${made.body.id}`, { headers: admin.bearer })).body.status, (s) => s === 'RUNNING');

    const program = (await import(join(DIR, 'program.ts'))) as { use: (baseUrl: string, headers: Record<string, string>, runningId: string) => Promise<Outcome> };
    const outcome = await program.use(gale.url, admin.bearer, made.body.id);
    assert.deepEqual([outcome.created.status, outcome.created.zone], ['PROVISIONING', 'europe-west1-a']);
    assert.equal(outcome.items, 1, 'the running instance, found with status=running');
    assert.deepEqual([outcome.stop.kind, outcome.stop.instanceId, outcome.stop.status], ['stop', made.body.id, 'PENDING']);
    assert.ok(['PENDING', 'RUNNING', 'DONE'].includes(outcome.looked), outcome.looked);
    assert.equal(outcome.missing, 'not_found');
  });
});
