import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import type { ProviderDescriptor } from '../../src/providers/descriptor.js';
import { KNOWN_PROVIDERS, PROVIDERS, providerDescriptor } from '../../src/providers/registry.js';

/*
 * The test matrix, in one place: which stores and providers a run covers (STORES, PROVIDERS), whether each is usable
 * here (the PostgreSQL probe, and each provider descriptor's own probe), and what a test does when one is not. As the
 * README says: on a developer machine a backend that cannot be reached is skipped with its reason; under CI=true it
 * is a failure, because a suite that silently tested nothing must not pass. No other test file reads CI.
 *
 *   for (const backend of backends()) {
 *     describe(`… over ${backendName(backend)}`, { skip: await unavailable(backend) }, () => { … });
 *   }
 */

/** This is CI's run (CI=true): a missing backend or tool fails instead of skipping. */
export const IN_CI = process.env.CI === 'true';

/**
 * What a test file does about something it needs (`what`: "the Docker engine", "root") and cannot have here, given why
 * (undefined: it can): the reason comes back, for a describe's or test's `skip`; under CI=true a failing test that says
 * why is declared too. Call it where tests are declared (a file's top level or a describe's body), not in a running test.
 */
export function skipOrFail(what: string, reason: string | undefined): string | undefined {
  if (reason !== undefined && IN_CI) test(`${what}: available (required when CI=true)`, () => assert.fail(`CI=true and ${what} is not available: ${reason}`));
  return reason;
}

export type StoreName = 'sqlite' | 'postgres';
const KNOWN_STORES: readonly StoreName[] = ['sqlite', 'postgres'];

/** The providers the HTTP suite runs over when PROVIDERS is not set, as their descriptors say (VMs have files of their own). */
const HTTP_SUITE_PROVIDERS: readonly string[] = PROVIDERS.filter((descriptor) => descriptor.testing.inHttpSuite).map((descriptor) => descriptor.name);

/** A comma list from the environment (STORES, PROVIDERS), else `fallback`; a name not in `known` is an error. */
function listFromEnv(variable: string, what: string, fallback: readonly string[], known: readonly string[]): string[] {
  const value = process.env[variable];
  const names = value === undefined ? [...fallback] : value.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of names) {
    if (!known.includes(name)) throw new Error(`${variable} names an unknown ${what} "${name}" (known: ${known.join(', ')})`);
  }
  return names;
}

/** The stores under test: STORES (comma list), default every store. */
export function storeNames(): StoreName[] {
  return listFromEnv('STORES', 'store', KNOWN_STORES, KNOWN_STORES) as StoreName[];
}

/** The registered providers under test: PROVIDERS (comma list), else `fallback` (the HTTP suite's: simulator, docker). */
export function providersUnderTest(fallback: readonly string[] = HTTP_SUITE_PROVIDERS): ProviderDescriptor[] {
  return listFromEnv('PROVIDERS', 'provider', fallback, KNOWN_PROVIDERS).map(descriptorOf);
}

/** Every registered provider, unless PROVIDERS narrows the run: what the provider contract covers. */
export function everyProviderUnderTest(): ProviderDescriptor[] {
  return providersUnderTest(KNOWN_PROVIDERS);
}

export interface Backend {
  store: StoreName;
  provider: string;
}

/** What every host has: for tests of what no store or provider changes (the API's shape, the CLI's output, limits). */
export const LOCAL_BACKEND: Backend = { store: 'sqlite', provider: 'simulator' };

/** The matrix the integration suite runs over: STORES x PROVIDERS. */
export function backends(): Backend[] {
  const providers = providersUnderTest().map((descriptor) => descriptor.name);
  return storeNames().flatMap((store) => providers.map((provider) => ({ store, provider })));
}

export const backendName = (backend: Backend): string => `${backend.store}+${backend.provider}`;

/** The simulator over every store under test, each with its skip reason: for suites about what the provider never changes. */
export async function simulatorOverEveryStore(): Promise<Array<{ backend: Backend; name: string; skip: string | undefined }>> {
  const all = storeNames().map((store): Backend => ({ store, provider: 'simulator' }));
  return Promise.all(all.map(async (backend) => ({ backend, name: backendName(backend), skip: await unavailable(backend) })));
}

function descriptorOf(provider: string): ProviderDescriptor {
  const descriptor = providerDescriptor(provider);
  if (!descriptor) throw new Error(`unknown provider "${provider}" (known: ${KNOWN_PROVIDERS.join(', ')})`);
  return descriptor;
}

/** A template the backend's provider can really run here (Docker has no registry in CI: the locally built image). */
export function templateFor(backend: Backend): string {
  return descriptorOf(backend.provider).testing.templates.standard;
}

/** A template on a 2-vCPU e2-micro with a 10 GB disk: a pro user fits 3 of them by the instance quota alone. */
export function smallTemplateFor(backend: Backend): string {
  return descriptorOf(backend.provider).testing.templates.small;
}

/** PostgreSQL for tests: GALE_TEST_DATABASE_URL; each test makes a schema of its own there. */
export function postgresTestUrl(): string {
  return process.env.GALE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

let postgresProbe: Promise<string | undefined> | undefined;

/** Why PostgreSQL cannot be used here, or undefined when it can; asked once per run. */
export function postgresProblem(): Promise<string | undefined> {
  postgresProbe ??= (async () => {
    const client = new pg.Client({ connectionString: postgresTestUrl(), connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (error) {
      return `PostgreSQL at ${postgresTestUrl()} is unreachable (${error instanceof Error ? error.message : String(error)}); set GALE_TEST_DATABASE_URL or STORES=sqlite`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return postgresProbe;
}

/** A provider's settings as a server here would have them with no config file: its defaults, then its GALE_* variables. */
export function settingsFromEnv(descriptor: ProviderDescriptor): Record<string, unknown> {
  return { ...descriptor.defaults, ...descriptor.fromEnv?.(process.env) };
}

const providerProbes = new Map<string, Promise<string | undefined>>();

/** Why a registered provider cannot be used here (its descriptor's probe), or undefined when it can; asked once per run. */
export function providerProblem(name: string): Promise<string | undefined> {
  const descriptor = descriptorOf(name);
  let probe = providerProbes.get(descriptor.name);
  if (!probe) {
    probe = descriptor.probe(settingsFromEnv(descriptor)).then((why) => (why === undefined ? undefined : `${descriptor.name}: ${why}`));
    providerProbes.set(descriptor.name, probe);
  }
  return probe;
}

/** Why a store and provider cannot be tested here, or undefined when they can. */
export async function backendProblem(backend: Backend): Promise<string | undefined> {
  const problems = await Promise.all([backend.store === 'postgres' ? postgresProblem() : undefined, providerProblem(backend.provider)]);
  const found = problems.filter((problem): problem is string => problem !== undefined);
  return found.length === 0 ? undefined : found.join('; ');
}

/** The skip reason for a suite over `backend` (undefined: run it); under CI=true a missing backend also fails the run. */
export async function unavailable(backend: Backend): Promise<string | undefined> {
  return skipOrFail(backendName(backend), await backendProblem(backend));
}

/** For code that runs inside a test or hook: a backend that cannot be tested is an error there. */
export async function requireBackend(backend: Backend): Promise<void> {
  const reason = await backendProblem(backend);
  if (reason) throw new Error(reason);
}
