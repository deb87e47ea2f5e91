import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { eventually } from '../helpers/http.js';

/** A `gale serve` child process, its address, and everything it printed. */
export interface ReplicaProcess {
  child: ChildProcess;
  base: string;
  output(): string;
  /** SIGKILL, as a crash or an OOM kill would: no shutdown code runs. */
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

/** Starts `gale serve` as the README says, configured only through the environment, and waits until it answers. */
export async function startReplicaProcess(env: Record<string, string>): Promise<ReplicaProcess> {
  const port = await freePort();
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/gale.ts', 'serve'], {
    env: { ...process.env, GALE_PORT: String(port), GALE_HOST: '127.0.0.1', GALE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  await eventually(
    `gale serve on port ${port} to answer`,
    async () => {
      if (child.exitCode !== null) throw new Error(`gale serve exited with ${child.exitCode}:\n${out}`);
      try {
        return (await fetch(`${base}/healthz`)).status;
      } catch {
        return 0;
      }
    },
    (status) => status === 200,
    90_000,
  );
  return {
    child,
    base,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
