import { execFile } from 'node:child_process';

/** Runs a program to its end and gives what it printed; the error names the program and quotes its stderr. */
export function runCommand(program: string, args: string[], options: { timeoutMs?: number } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024, timeout: options.timeoutMs ?? 60_000 },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const code = (error as NodeJS.ErrnoException).code;
        const said = stderr.toString('utf8').trim().split('\n').slice(-3).join(' / ');
        const why = code === 'ENOENT' ? 'it is not installed (scripts/install-qemu.sh installs it)' : said || error.message;
        reject(new Error(`${program} ${args.slice(0, 2).join(' ')} failed: ${why}`, { cause: error }));
      },
    );
  });
}
