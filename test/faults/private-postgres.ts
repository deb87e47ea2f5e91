import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../replicas/processes.js';
import { skipOrFail } from '../helpers/matrix.js';

/*
 * A PostgreSQL cluster of the test's own (initdb into a temporary directory, pg_ctl on a free port), so that a fault
 * test can stop, hang, restart and starve it without touching the machine's shared server. Runs as the postgres OS
 * user, as PostgreSQL insists; the tests run as root (as CI does) and use runuser for that.
 */

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  const found = versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'initdb')));
  return found;
}

/** Why a private cluster cannot be made here, or undefined: a skip reason, and with CI=true a failing test (call it where tests are declared). */
export function privatePostgresProblem(): string | undefined {
  let reason: string | undefined;
  if (!binDir()) reason = "PostgreSQL's server binaries (initdb, pg_ctl) are not installed";
  else if (process.getuid?.() !== 0) reason = 'a private PostgreSQL cluster needs root (to run initdb as the postgres user)';
  else if (spawnSync('id', ['postgres']).status !== 0) reason = 'there is no postgres OS user';
  return skipOrFail('a private PostgreSQL cluster', reason);
}

export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  /** A new cluster, started, with a database `gale` owned by a role `gale` (not a superuser: it has limits). */
  static async start(settings: Record<string, string | number> = {}): Promise<PrivatePostgres> {
    const bin = binDir()!;
    const dir = mkdtempSync(join(tmpdir(), 'gale-pg-'));
    chownSync(dir, uid('postgres'), gid('postgres'));
    const port = await freePort();
    asPostgres(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const cluster = new PrivatePostgres(dir, port, bin);
    const extra = Object.entries({ fsync: 'off', ...settings }).map(([name, value]) => `${name} = ${value}`);
    execFileSync('sh', ['-c', `cat >> '${join(dir, 'data', 'postgresql.conf')}'`], { input: `${extra.join('\n')}\n` });
    cluster.ctl('start');
    const admin = cluster.admin();
    await admin.connect();
    await admin.query('create role gale login');
    await admin.query('create database gale owner gale');
    await admin.end();
    return cluster;
  }

  /** Gale's URL: role gale, database gale. */
  url(): string {
    return `postgres://gale@127.0.0.1:${this.port}/gale`;
  }

  /** A superuser's connection, for doing things to the cluster. */
  admin(): pg.Client {
    return new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${this.port}/postgres` });
  }

  /** How many connections role gale may hold (-1: no limit): 0 makes every new connection fail, 53300. */
  async limitConnections(limit: number): Promise<void> {
    const admin = this.admin();
    await admin.connect();
    try {
      await admin.query(`alter role gale connection limit ${Math.trunc(limit)}`);
    } finally {
      await admin.end();
    }
  }

  /** ALTER DATABASE gale ALLOW_CONNECTIONS: false refuses every new connection (55000), leaving those open alone. */
  async allowConnections(allowed: boolean): Promise<void> {
    const admin = this.admin();
    await admin.connect();
    try {
      await admin.query(`alter database gale allow_connections ${allowed ? 'true' : 'false'}`);
    } finally {
      await admin.end();
    }
  }

  /** pg_ctl start | stop (fast, or immediate: a crash) | restart, waiting for it to finish. */
  ctl(action: 'start' | 'stop' | 'restart', mode: 'fast' | 'immediate' = 'fast'): void {
    const args = ['-D', join(this.dir, 'data'), '-w', '-t', '60'];
    if (action === 'start' || action === 'restart') args.push('-l', join(this.dir, 'log'), '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`);
    if (action !== 'start') args.push('-m', mode);
    asPostgres(join(this.bin, 'pg_ctl'), [...args, action]);
  }

  /** Every process of the cluster (the postmaster and its children), for SIGSTOP and SIGCONT. */
  private pids(): number[] {
    const pidFile = join(this.dir, 'data', 'postmaster.pid');
    if (!existsSync(pidFile)) return [];
    const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    const children = spawnSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
    return [postmaster, ...children];
  }

  /** Hangs the whole server: it accepts connections into the kernel's queue and answers nothing. */
  freeze(): void {
    for (const pid of this.pids()) process.kill(pid, 'SIGSTOP');
  }

  thaw(): void {
    for (const pid of this.pids()) process.kill(pid, 'SIGCONT');
  }

  /** pg_terminate_backend on every session of database gale but this one: what a failover or an operator does. */
  async terminateBackends(): Promise<number> {
    const admin = this.admin();
    await admin.connect();
    try {
      const { rows } = await admin.query<{ ended: boolean }>(
        "select pg_terminate_backend(pid) as ended from pg_stat_activity where datname = 'gale' and pid <> pg_backend_pid()",
      );
      return rows.filter((row) => row.ended).length;
    } finally {
      await admin.end();
    }
  }

  async destroy(): Promise<void> {
    try {
      this.thaw();
    } catch {
      // Already gone.
    }
    try {
      this.ctl('stop', 'immediate');
    } catch {
      // Not running.
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function asPostgres(command: string, args: string[]): void {
  const result = spawnSync('runuser', ['-u', 'postgres', '--', command, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
}

function uid(user: string): number {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
}

function gid(user: string): number {
  return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
}
