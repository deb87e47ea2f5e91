import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { LOCAL_BACKEND } from '../helpers/matrix.js';
import { startTestGale, type TestGale } from '../helpers/gale.js';
import { run } from '../helpers/tools.js';

/*
 * `import { Gale } from 'gale/client'` works from the built package, as a user gets it: a copy of this checkout's
 * package (package.json, tsconfigs, src, console, the same node_modules) is built with its own `npm run build`, then imported
 * by its name through "exports", from inside the package (self-reference) and from another package that depends on
 * it, at run time by Node and at compile time by tsc (the "types" condition). The checkout's own dist is not touched.
 */

const ROOT = process.cwd();

/** Runs node on a program without blocking this process, which serves the Gale the program talks to. */
async function node(program: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [program, ...args], { encoding: 'utf8' });
  return stdout;
}

describe('the gale/client package export', () => {
  let gale: TestGale;
  let token: string;
  const dir = mkdtempSync(join(tmpdir(), 'gale-package-'));
  const pkg = join(dir, 'gale');
  const consumer = join(dir, 'consumer');

  before(async () => {
    mkdirSync(pkg);
    for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(ROOT, file), join(pkg, file));
    // The whole build, as `npm run build` makes it for a user: the console's sources too.
    for (const folder of ['src', 'console']) cpSync(join(ROOT, folder), join(pkg, folder), { recursive: true, filter: (path) => !path.includes('/console/dist') });
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
    const built = run('npm', ['run', 'build', '--prefix', pkg]);
    assert.equal(built.status, 0, `npm run build failed:\n${built.output}`);

    mkdirSync(join(consumer, 'node_modules'), { recursive: true });
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', dependencies: { gale: 'file:../gale' } }));
    symlinkSync(pkg, join(consumer, 'node_modules', 'gale'), 'dir');

    gale = await startTestGale(LOCAL_BACKEND);
    token = (await gale.user('pro')).token;
  });
  after(async () => {
    await gale?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const PROGRAM = `import { Gale, GaleApiError } from 'gale/client';
const gale = new Gale({ baseUrl: process.argv[2], token: process.argv[3] });
const templates = await gale.templates.list();
const missing = await gale.instances.get('tw-000000-00000000').catch((error) => error);
console.log(JSON.stringify({ templates: templates.length, missing: missing instanceof GaleApiError ? missing.code : String(missing) }));
`;

  test('Node resolves it from another package that depends on gale, and from inside gale itself', async () => {
    for (const where of [consumer, pkg]) {
      writeFileSync(join(where, 'use-client.mjs'), PROGRAM);
      const outcome = JSON.parse(await node(join(where, 'use-client.mjs'), [gale.url, token])) as { templates: number; missing: string };
      assert.ok(outcome.templates > 0);
      assert.equal(outcome.missing, 'not_found');
    }
  });

  test('tsc finds its types through the "types" condition: typed, not any', () => {
    writeFileSync(
      join(consumer, 'check.ts'),
      `import { Gale, GaleApiError, type Instance, type InstanceStatus } from 'gale/client';
const gale = new Gale({ baseUrl: 'http://127.0.0.1:8080', apiKey: 'k', apiSecret: 's' });
export async function status(id: string): Promise<InstanceStatus> {
  const instance: Instance = await gale.instances.get(id);
  return instance.status;
}
export const isApiError = (error: unknown): boolean => error instanceof GaleApiError && error.errorId.length > 0;
// @ts-expect-error a token is a string
new Gale({ baseUrl: 'x', token: 42 });
// @ts-expect-error the client has no such method
gale.instances.explode();
`,
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', skipLibCheck: false, lib: ['ES2022', 'DOM'], types: [] },
        files: ['check.ts'],
      }),
    );
    const checked = run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(consumer, 'tsconfig.json')]);
    assert.equal(checked.output.trim(), '', checked.output);
    assert.equal(checked.status, 0);
  });

  test('the bin still runs from the built package', () => {
    const ran = run(process.execPath, [join(pkg, 'dist', 'cli', 'gale.js'), '--help']);
    assert.equal(ran.status, 0, ran.output);
    assert.match(ran.stdout, /serve/);
  });
});
