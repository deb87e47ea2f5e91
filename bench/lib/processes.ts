import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface Child {
  process: ChildProcess;
  url: string;
  /** When (performance.now()) the process first answered readyPath: its timers (a server's reconciler) started just before. */
  readyAt: number;
  /** Peak resident set size so far, in bytes (VmHWM of /proc/<pid>/status). */
  peakRss(): number;
  /** Resident set size now, in bytes (VmRSS of /proc/<pid>/status). */
  rss(): number;
  /** CPU time used so far by the process, all its threads, user and system, in seconds (/proc/<pid>/stat). */
  cpuSeconds(): number;
  /** SIGSTOP: the process uses no CPU until resumed, so that it cannot disturb what is measured meanwhile. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

let clockTicks: number | undefined;

/** The kernel's clock ticks a second (USER_HZ), the unit of /proc/<pid>/stat's times. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a process (its threads included), in seconds. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: fields are counted from after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime) of stat(5) are at 11 and 12 once the pid and name are cut off.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

function statusKb(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
}

export interface ChildOptions {
  /** Where the child's stdout goes, appended: by default it is discarded (/dev/null). */
  stdoutFile?: string;
}

/**
 * Starts a server process and waits until readyPath answers; its stderr is passed through for diagnosis. Its stdout
 * is discarded unless options.stdoutFile names a file to append it to (a server logging to a real file, as in production).
 */
export async function startChild(args: string[], env: Record<string, string>, port: number, readyPath: string, options: ChildOptions = {}): Promise<Child> {
  const stdoutFd = options.stdoutFile === undefined ? undefined : openSync(options.stdoutFile, 'a');
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', stdoutFd ?? 'ignore', 'inherit'] });
  // The child holds its own copy of the descriptor.
  if (stdoutFd !== undefined) closeSync(stdoutFd);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}${readyPath}`, 60_000);
  } catch (error) {
    // Not left running behind a failed start.
    child.kill('SIGKILL');
    throw error;
  }
  const readyAt = performance.now();
  return {
    process: child,
    url,
    readyAt,
    peakRss() {
      return statusKb(child.pid!, 'VmHWM') * 1024;
    },
    rss() {
      return statusKb(child.pid!, 'VmRSS') * 1024;
    },
    cpuSeconds() {
      return cpuSecondsOf(child.pid!);
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
    async stop() {
      // Already gone (it failed, or an earlier cleanup stopped it): there is nothing to wait for.
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // A paused process would not act on SIGTERM until resumed.
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      // One that does not exit in good time is killed: a bench must never leave a server behind.
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
