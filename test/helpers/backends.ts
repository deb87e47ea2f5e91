import pg from 'pg';
import Docker from 'dockerode';
import type { Backend } from './gale.js';
import { qemuProblem } from './qemu-vms.js';

export function postgresUrlForTests(): string {
  return process.env.GALE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

async function postgresProblem(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: postgresUrlForTests(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${postgresUrlForTests()} is unreachable: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dockerProblem(): Promise<string | undefined> {
  try {
    await new Docker({ socketPath: process.env.GALE_DOCKER_HOST?.replace(/^unix:\/\//, '') ?? '/var/run/docker.sock' }).ping();
    return undefined;
  } catch (error) {
    return `the Docker engine is unreachable: ${(error as Error).message}`;
  }
}

const memo = new Map<string, Promise<string | undefined>>();

/**
 * Why a backend cannot be tested here, or undefined when it can. In CI (CI=true) a missing backend is a
 * failure, never a silent skip: this throws instead of returning a reason.
 */
export async function unavailable(backend: Backend): Promise<string | undefined> {
  const checks: Array<Promise<string | undefined>> = [];
  const once = (key: string, probe: () => Promise<string | undefined>) => {
    if (!memo.has(key)) memo.set(key, probe());
    checks.push(memo.get(key)!);
  };
  if (backend.store === 'postgres') once('postgres', postgresProblem);
  if (backend.provider === 'docker') once('docker', dockerProblem);
  if (backend.provider === 'qemu') once('qemu', async () => qemuProblem());
  const problems = (await Promise.all(checks)).filter((p): p is string => p !== undefined);
  if (problems.length === 0) return undefined;
  const reason = problems.join('; ');
  if (process.env.CI === 'true') throw new Error(`CI=true and a backend under test is missing: ${reason}`);
  return reason;
}

export async function requireBackend(backend: Backend): Promise<void> {
  const reason = await unavailable(backend);
  if (reason) throw new Error(reason);
}

/** Removes every container a test installation made, whatever state its instances were left in. */
export async function removeContainersOf(installationId: string): Promise<void> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  const containers = await docker.listContainers({ all: true, filters: { label: [`gale.installation=${installationId}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
}
