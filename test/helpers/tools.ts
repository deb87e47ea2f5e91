import { spawnSync } from 'node:child_process';

/**
 * Why a command-line tool the tests need is missing, or undefined when it is on the PATH. In CI (CI=true) a missing
 * tool fails the run instead: .ci/run installs it.
 */
export function missingTool(command: string, installedBy: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
  if (found) return undefined;
  const reason = `${command} is not installed (${installedBy})`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

/** Runs a command with input on stdin; its exit status, what it printed on stdout, and everything it printed. */
export function run(command: string, args: string[], input?: string): { status: number | null; stdout: string; output: string } {
  const result = spawnSync(command, args, { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, output: `${result.stdout}${result.stderr}` };
}
