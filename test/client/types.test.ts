import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { Gale } from '../../src/client/index.js';
import type { operations } from '../../src/client/generated/api.js';
import type { ROUTES } from '../../src/client/generated/routes.js';
import type { SharedInstanceOperation } from '../../src/client/instances.js';
import type * as T from '../../src/client/types.js';
import type { TemplateView } from '../../src/contracts/catalog.js';
import type { ErrorEnvelope } from '../../src/contracts/error.js';
import type { InstanceView } from '../../src/contracts/instance.js';
import type { OperationView } from '../../src/contracts/operation.js';
import type { QuotasView } from '../../src/contracts/quota.js';
import type { SerialPortOutputView } from '../../src/contracts/serial-port-output.js';
import { run } from '../helpers/tools.js';

/*
 * Type-level checks, made by the compiler: `npm run typecheck` (the first step of `npm test`) checks this file, and
 * the test below compiles it on its own so that running it alone checks them too. They fail when the served document
 * changes a shape the client shows (the generated types then differ from what is written here), when a method of the
 * client stops being typed from the document, or when the server's own contract types and the document part ways.
 */

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
const expectTrue = <V extends true>(): V | undefined => undefined;

type InstanceStatus = 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'TERMINATED' | 'SUSPENDING' | 'SUSPENDED';

// 1. The shapes, as the document says them today.
expectTrue<
  Equal<
    T.Instance,
    {
      id: string;
      userId: string;
      customerId: string;
      name: string;
      zone: string;
      machineType: string;
      externalIp: string;
      internalIp: string;
      status: InstanceStatus;
      templateId: string;
      createdAt: string;
    }
  >
>();
expectTrue<
  Equal<
    T.Operation,
    {
      id: string;
      kind: 'create' | 'start' | 'stop' | 'restart' | 'reset' | 'suspend' | 'resume' | 'delete';
      instanceId: string;
      userId: string;
      requestedBy: string;
      status: 'PENDING' | 'RUNNING' | 'DONE' | 'FAILED';
      createdAt: string;
      startedAt?: string;
      finishedAt?: string;
      error?: { message: string };
    }
  >
>();
expectTrue<Equal<T.OperationList, { operations: T.Operation[]; nextPageToken?: string }>>();
expectTrue<Equal<T.AdminInstanceList, { pages: number; items: number; instances: T.Instance[]; nextPageToken?: string }>>();
expectTrue<
  Equal<
    T.Template,
    { id: string; name: string; description: string; machineType: string; diskSizeGb: number; diskType: string; image: string; region: string }
  >
>();
type Quota = { limit: number; usage: number; remaining: number };
expectTrue<Equal<T.Quotas, { tier: string; requestsPerMinute: number; quotas: { instances: Quota; vcpus: Quota; diskGb: Quota } }>>();
expectTrue<Equal<T.SerialPortOutput, { kind: 'compute#serialPortOutput'; contents: string; start: string; next: string; selfLink: string }>>();
expectTrue<Equal<T.ErrorEnvelope['error']['type'], 'WARNING' | 'ERROR' | 'CRITICAL'>>();
expectTrue<Equal<keyof T.ErrorEnvelope['error'], 'message' | 'type' | 'code' | 'error_id'>>();
expectTrue<Equal<T.EventType, 'instance.status' | 'instance.deleted' | 'operation'>>();
expectTrue<Equal<T.StreamGap, { id: string; type: 'stream.gap'; time: string; data: { message: string } }>>();
expectTrue<Equal<keyof T.GaleEvent, 'id' | 'type' | 'time' | 'instanceId' | 'userId' | 'data'>>();
// The create request: one of the three spellings of the template is required, the zone is not.
const created: T.CreateInstanceRequest[] = [{ templateId: 'a' }, { template_id: 'a', zone: 'z' }, { templateID: 'a', zone: '' }];
// @ts-expect-error a create names a template
const noTemplate: T.CreateInstanceRequest = { zone: 'us-central1-a' };

// 2. The server's contract types and the document it serves say the same (the document is built from those schemas).
expectTrue<Equal<InstanceView, T.Instance>>();
expectTrue<Equal<OperationView, T.Operation>>();
expectTrue<Equal<TemplateView, T.Template>>();
expectTrue<Equal<QuotasView, T.Quotas>>();
expectTrue<Equal<SerialPortOutputView, T.SerialPortOutput>>();
expectTrue<Equal<ErrorEnvelope['error']['code'], T.ErrorEnvelope['error']['code']>>();

// 3. The client's methods are typed from the document's routes.
type Answer<F> = F extends (...args: never[]) => Promise<infer R> ? R : F extends (...args: never[]) => AsyncIterable<infer I> ? I : never;
type Ins = Gale['instances'];
type Adm = Gale['admin']['instances'];
type Ops = Gale['operations'];
expectTrue<Equal<Answer<Ins['create']>, T.SuccessOf<'createInstance'>>>();
expectTrue<Equal<Parameters<Ins['create']>[0], T.BodyOf<'createInstance'>>>();
expectTrue<Equal<Answer<Ins['list']>, T.SuccessOf<'listInstances'>>>();
expectTrue<Equal<Answer<Ins['get']>, T.SuccessOf<'getInstance'>>>();
expectTrue<Equal<Answer<Ins['stop']>, T.SuccessOf<'stopInstance'>>>();
expectTrue<Equal<Answer<Ins['wait']>, T.SuccessOf<'waitInstance'>>>();
expectTrue<Equal<Parameters<Ins['wait']>[1], T.QueryOf<'waitInstance'> | undefined>>();
expectTrue<Equal<Answer<Ins['serialPortOutput']>, T.SuccessOf<'getSerialPortOutput'>>>();
expectTrue<Equal<T.SuccessOf<'deleteInstance'>, undefined>>();
expectTrue<Equal<Answer<Adm['list']>, T.SuccessOf<'adminListInstances'>>>();
expectTrue<Equal<Parameters<Adm['list']>[0], T.QueryOf<'adminListInstances'> | undefined>>();
expectTrue<Equal<Answer<Adm['all']>, T.Instance>>();
expectTrue<Equal<Answer<Ops['get']>, T.SuccessOf<'getOperation'>>>();
expectTrue<Equal<Answer<Ops['list']>, T.SuccessOf<'listOperations'>>>();
expectTrue<Equal<Answer<Ops['all']>, T.Operation>>();
expectTrue<Equal<Answer<Ops['wait']>, T.SuccessOf<'waitOperation'>>>();
expectTrue<Equal<Answer<Gale['templates']['list']>, T.SuccessOf<'listTemplates'>>>();
expectTrue<Equal<Answer<Gale['templates']['zones']>, T.SuccessOf<'listTemplateZones'>>>();
expectTrue<Equal<Answer<Gale['quotas']>, T.SuccessOf<'getQuotas'>>>();
expectTrue<Equal<Answer<Gale['waitForStatus']>, T.SuccessOf<'waitInstance'>>>();
expectTrue<Equal<Answer<Gale['waitForOperation']>, T.SuccessOf<'waitOperation'>>>();
expectTrue<Equal<Answer<Gale['events']>, T.StreamMessage>>();
type Users = Gale['admin']['users'];
expectTrue<Equal<Answer<Users['get']>, T.SuccessOf<'adminGetUser'>>>();
expectTrue<Equal<Parameters<Users['create']>[0], T.BodyOf<'adminCreateUser'>>>();
expectTrue<Equal<Answer<Users['createToken']>, T.SuccessOf<'adminCreateToken'>>>();
expectTrue<Equal<Answer<Users['list']>, T.SuccessOf<'adminListUsers'>>>();
expectTrue<Equal<T.StreamMessage, operations['streamEvents']['responses'][200]['content']['text/event-stream']>>();

// The admin routes the shared instance actions call have the user routes' types, so one class serves both.
type AdminOf<K extends string> = `admin${Capitalize<K>}` & T.OperationId;
type SameAsAdmin<K extends SharedInstanceOperation> = [
  Equal<T.PathParamsOf<K>, T.PathParamsOf<AdminOf<K>>>,
  Equal<T.QueryOf<K>, T.QueryOf<AdminOf<K>>>,
  Equal<T.BodyOf<K>, T.BodyOf<AdminOf<K>>>,
  Equal<T.SuccessOf<K>, T.SuccessOf<AdminOf<K>>>,
];
// Each entry is true, or the name of the route whose admin twin differs.
expectTrue<{ [K in SharedInstanceOperation]: SameAsAdmin<K> extends [true, true, true, true] ? true : K }[SharedInstanceOperation]>();

// The route table and the types name the same routes; the paged ones are those with pageToken and nextPageToken.
expectTrue<Equal<Exclude<keyof typeof ROUTES, keyof operations> | Exclude<keyof operations, keyof typeof ROUTES>, never>>();
expectTrue<Equal<Extract<T.PagedOperationId, 'listOperations' | 'adminListInstances' | 'listInstances'>, 'listOperations' | 'adminListInstances'>>();

// 4. Misuse does not compile.
declare const gale: Gale;
async function misuse(): Promise<void> {
  // @ts-expect-error getInstance needs its path parameter
  await gale.call('getInstance');
  // @ts-expect-error the path parameter of a template's zones is templateID
  await gale.call('listTemplateZones', { path: { id: 'x' } });
  // @ts-expect-error listInstances does not page
  gale.pages('listInstances');
  // @ts-expect-error waitForStatus takes a status of the document
  await gale.waitForStatus('tw-1', 'BOOTING');
  const health: { status: 'ok' } = (await gale.call('getHealth')).data;
  const metrics: string = (await gale.call('getMetrics')).data;
  void [health, metrics];
}
void [created, noTemplate, misuse];

test('the type-level checks above compile (run on their own, without npm run typecheck)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gale-client-types-'));
  try {
    const config = join(dir, 'tsconfig.json');
    const root = process.cwd();
    writeFileSync(config, JSON.stringify({ extends: join(root, 'tsconfig.json'), compilerOptions: { noEmit: true, rootDir: root, typeRoots: [join(root, 'node_modules', '@types')] }, include: [], files: [fileURLToPath(import.meta.url)] }));
    const checked = run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', config]);
    assert.equal(checked.output.trim(), '', checked.output);
    assert.equal(checked.status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
