/*
 * wrk as the load generator of `npm run bench`. autocannon's client costs 55-85 µs of CPU per request, on the same
 * two cores as the server it measures; wrk (C, one thread, event loop) costs a few µs, so the server keeps the CPU.
 * Requests that differ from one to the next (random instance, random credential) are built by a Lua script
 * (bench/lib/wrk/*.lua) from a data file written by writeWrkData: one line per user.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from './load.js';
import type { SeededUser } from './seed.js';

export const WRK_SCRIPTS = join(import.meta.dirname, 'wrk');

/** What autocannon's runs report (load.ts), and wrk's own figures. */
export interface WrkResult extends LoadResult {
  durationSec: number;
  /** CPU time of wrk itself, user + system, in seconds. */
  wrkCpuSeconds: number;
  /** Counters a script reports from its done() hook ("WRK-COUNTERS {json}"), e.g. the POSTs of create + delete. */
  counters: Record<string, number>;
}

export interface WrkOptions {
  connections: number;
  durationSec: number;
  /** A Lua script in bench/lib/wrk (its file name) or a path. */
  script?: string;
  /** Arguments passed to the script's init(args), after `--`. */
  scriptArgs?: string[];
  /** Headers of a fixed request (wrk -H), for runs without a script. */
  headers?: Record<string, string>;
  /** The path (and query) of a fixed request, appended to the URL. */
  path?: string;
}

/** Fails with a message naming the install script when wrk is missing. */
export function requireWrk(): void {
  try {
    execFileSync('wrk', ['-v'], { stdio: 'ignore' });
  } catch (error) {
    // wrk -v exits 1 after printing its version: only a missing binary is an error.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('wrk is not installed: run scripts/install-bench-tools.sh (as root: apt-get install wrk), then npm run bench again');
    }
  }
}

/**
 * The data file of the Lua scripts: one line per user, tab-separated: token, api key, api secret, user id, and the
 * user's instance ids joined by commas (empty when none).
 */
export function writeWrkData(dir: string, name: string, users: SeededUser[]): string {
  const file = join(dir, `${name}.tsv`);
  writeFileSync(file, users.map((u) => `${u.token}\t${u.apiKey}\t${u.apiSecret}\t${u.userId}\t${u.instanceIds.join(',')}\n`).join(''));
  return file;
}

/** One wrk run with one thread; latencies in milliseconds. */
export async function wrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const args = ['-t1', `-c${options.connections}`, `-d${options.durationSec}s`, '--latency', '--timeout', '10s'];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  if (options.script) args.push('-s', options.script.includes('/') ? options.script : join(WRK_SCRIPTS, options.script));
  args.push(`${url}${options.path ?? ''}`);
  if (options.scriptArgs?.length) args.push('--', ...options.scriptArgs);
  // Run under bash so that `times` reports wrk's CPU (its threads included) once it has exited: /proc/<pid> is gone by then.
  const child = spawn('bash', ['-c', 'wrk "$@"; status=$?; times; exit $status', 'wrk', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`wrk ${args.join(' ')} exited with ${code}:\n${stdout}\n${stderr}`);
  return parseWrk(stdout, options.durationSec);
}

/** A wrk duration ("527.00us", "1.23ms", "2.01s") in milliseconds. */
function ms(value: string, unit: string): number {
  const n = Number(value);
  if (unit === 'us') return n / 1000;
  if (unit === 's') return n * 1000;
  if (unit === 'm') return n * 60_000;
  return n;
}

/** bash's `times`: "0m0.010s 0m0.004s" (the shell's own), then the same for its children (wrk). */
function childCpuSeconds(text: string): number {
  const lines = text.trim().split('\n').filter((line) => /^\d+m[\d.]+s \d+m[\d.]+s$/.test(line.trim()));
  const last = lines.at(-1);
  if (!last) return NaN;
  return last
    .trim()
    .split(' ')
    .map((part) => /^(\d+)m([\d.]+)s$/.exec(part)!)
    .reduce((sum, [, minutes, seconds]) => sum + Number(minutes) * 60 + Number(seconds), 0);
}

export function parseWrk(text: string, durationSec: number): WrkResult {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const match = re.exec(text);
    if (!match) throw new Error(`wrk output has no ${what}:\n${text}`);
    return match;
  };
  const [, requests, elapsed, elapsedUnit] = need(/(\d+) requests in ([\d.]+)(us|ms|s|m),/, 'request count');
  const percentile = (p: number) => {
    const match = need(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm'), `${p}% latency`);
    return ms(match[1]!, match[2]!);
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const counters = /^WRK-COUNTERS (.*)$/m.exec(text);
  const seconds = ms(elapsed!, elapsedUnit!) / 1000;
  return {
    requests: Number(requests),
    // wrk's own "Requests/sec" is requests over the elapsed time; recomputed here to keep its precision.
    rps: Number(requests) / (seconds || durationSec),
    p50: percentile(50),
    p99: percentile(99),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
    errors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    durationSec: seconds || durationSec,
    wrkCpuSeconds: childCpuSeconds(text),
    counters: counters ? (JSON.parse(counters[1]!) as Record<string, number>) : {},
  };
}
