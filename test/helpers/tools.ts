import { spawnSync } from 'node:child_process';
import { skipOrFail } from './matrix.js';

/**
 * Why a command-line tool the tests need is missing, or undefined when it is on the PATH: a skip reason, and under
 * CI=true a failing test as well (.ci/run installs it). Call it where tests are declared.
 */
export function missingTool(command: string, installedBy: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
  if (found) return undefined;
  return skipOrFail(command, `${command} is not installed (${installedBy})`);
}

/** Runs a command with input on stdin; its exit status, what it printed on stdout, and everything it printed. */
export function run(command: string, args: string[], input?: string): { status: number | null; stdout: string; output: string } {
  const result = spawnSync(command, args, { input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, output: `${result.stdout}${result.stderr}` };
}
