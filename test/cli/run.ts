import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';

/*
 * `gale` run as a user runs it: a separate process, with HOME and XDG_CONFIG_HOME in a temporary directory and no
 * GALE_* variable inherited but those a test gives.
 */

export const CLI = resolve('src/cli/gale.ts');

/*
 * The CLI from this checkout's sources, bundled once per test run by esbuild (tsx's own compiler): a process started
 * through tsx spends about 1.5 s compiling before it does anything, and these tests start hundreds. Packages stay
 * external, found in node_modules; the bundle sits two folders under the root, as src/cli/gale.ts does, so that the
 * paths the CLI finds relative to itself (package.json) hold.
 */
const OUT = resolve(`.test-build/cli-${process.pid}`);
process.on('exit', () => rmSync(OUT, { recursive: true, force: true }));
// Split: what the CLI imports only when a command needs it (the server, the store) stays in chunks of its own and is
// loaded as it is at run time, not at every start.
buildSync({ entryPoints: { gale: CLI }, bundle: true, splitting: true, platform: 'node', format: 'esm', packages: 'external', outdir: OUT, outExtension: { '.js': '.mjs' }, logLevel: 'warning' });
const BUNDLE = join(OUT, 'gale.mjs');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export class CliHome {
  readonly dir = mkdtempSync(join(tmpdir(), 'gale-cli-home-'));
  readonly config = join(this.dir, 'config');

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GALE_') && name !== 'XDG_CONFIG_HOME'));
    return { ...inherited, HOME: this.dir, XDG_CONFIG_HOME: this.config, GALE_LOG_LEVEL: 'silent', ...extra };
  }

  run(args: string[], env: Record<string, string> = {}): Promise<Run> {
    return new Promise((done) => {
      const child = execFile(process.execPath, [BUNDLE, ...args], { env: this.env(env), timeout: 60_000 }, (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
      child.stdin?.end();
    });
  }

  /** Runs it on a pseudo-terminal (util-linux `script`): what a user at a terminal sees, \r and escapes included. */
  runOnTty(args: string[], env: Record<string, string> = {}): Promise<Run> {
    const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, BUNDLE, ...args].map(quote).join(' ');
    return new Promise((done) => {
      const child = execFile('script', ['-qfec', command, '/dev/null'], { env: this.env(env), timeout: 60_000 }, (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
      child.stdin?.end();
    });
  }

  /** A long-running or interactive command (watch, a prompt): its output as it comes; on a pseudo-terminal with tty. */
  spawn(args: string[], env: Record<string, string> = {}, options: { tty?: boolean } = {}): { child: ChildProcess; output: () => string; waitFor: (pattern: RegExp) => Promise<string> } {
    const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const argv = [process.execPath, BUNDLE, ...args];
    const child = options.tty
      ? spawn('script', ['-qfec', argv.map(quote).join(' '), '/dev/null'], { env: this.env(env), stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(argv[0]!, argv.slice(1), { env: this.env(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const waiters: Array<{ pattern: RegExp; resolve: (text: string) => void }> = [];
    const check = (): void => {
      for (const waiter of [...waiters]) {
        const match = output.match(waiter.pattern);
        if (match) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(match[0]);
        }
      }
    };
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      check();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      check();
    });
    return {
      child,
      output: () => output,
      waitFor: (pattern) =>
        new Promise((resolve, reject) => {
          waiters.push({ pattern, resolve });
          child.once('exit', (code) => reject(new Error(`exited ${code} before ${pattern}: ${output}`)));
          check();
        }),
    };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const scriptAvailable = async (): Promise<boolean> =>
  new Promise((done) => execFile('script', ['--version'], (error) => done(error === null)));
