import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';

/*
 * A Docker engine of the test's own, which it may stop, kill and restart for real without touching the engine that
 * everything else on the host shares (/var/run/docker.sock, which other tests may be using at that very moment).
 *
 * Isolation, each one needed:
 * - its own network namespace (`unshare --net`): dockerd creates and deletes host network interfaces at start
 *   (with --bridge=none it even deletes any `docker0`, the shared engine's bridge), so it gets a host of its own;
 * - its own --data-root, --exec-root (and so its own containerd), --pidfile and socket, all under one temporary
 *   directory, and an empty --config-file so that /etc/docker/daemon.json is not read;
 * - no iptables, forwarding or masquerading changes.
 * It needs root, `dockerd` and `unshare`; whyNoPrivateEngine() says what is missing.
 */

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Why a private engine cannot be run here, or undefined when it can. */
export function whyNoPrivateEngine(): string | undefined {
  if (process.platform !== 'linux') return 'a private Docker engine needs Linux';
  if (process.getuid?.() !== 0) return 'a private Docker engine needs root (dockerd)';
  for (const command of ['dockerd', 'unshare']) if (!onPath(command)) return `a private Docker engine needs ${command} on PATH`;
  return undefined;
}

export class PrivateDockerEngine {
  readonly dir = mkdtempSync(join(tmpdir(), 'gale-engine-'));
  readonly socketPath = join(this.dir, 'docker.sock');
  readonly logPath = join(this.dir, 'dockerd.log');
  readonly docker = new Dockerode({ socketPath: this.socketPath });
  private process: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  /** How many times dockerd was started. */
  starts = 0;

  constructor() {
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n');
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Starts dockerd in a fresh network namespace and returns at once; answering() tells when it is ready. */
  spawn(): void {
    if (this.process) throw new Error('the private engine is already running');
    const log = openSync(this.logPath, 'a');
    const child = spawn(
      'unshare',
      [
        '--net',
        'dockerd',
        '--config-file', join(this.dir, 'daemon.json'),
        '--data-root', join(this.dir, 'data'),
        '--exec-root', join(this.dir, 'exec'),
        '--pidfile', join(this.dir, 'docker.pid'),
        '--host', `unix://${this.socketPath}`,
        '--iptables=false',
        '--ip-forward=false',
        '--ip-masq=false',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    this.starts += 1;
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      if (this.process === child) this.process = undefined;
    });
  }

  async answering(): Promise<boolean> {
    try {
      await this.docker.ping();
      return true;
    } catch {
      return false;
    }
  }

  /** Starts dockerd and waits until it answers. */
  async start(timeoutMs = 60_000): Promise<void> {
    this.spawn();
    await this.waitAnswering(timeoutMs);
  }

  async waitAnswering(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.answering())) {
      if (!this.process) throw new Error(`the private dockerd exited during start-up:\n${this.logTail()}`);
      if (Date.now() > deadline) throw new Error(`the private dockerd did not answer within ${timeoutMs} ms:\n${this.logTail()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * SIGTERM, as `systemctl stop docker` does: without live-restore dockerd stops every container (SIGTERM, then
   * SIGKILL after its stop timeout) and exits. Resolves once it has exited; SIGKILL if it takes longer than timeoutMs.
   */
  async stop(timeoutMs = 60_000): Promise<void> {
    const child = this.process;
    if (!child || !this.exited) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
    const tooLate = await Promise.race([this.exited.then(() => false), late]);
    clearTimeout(timer);
    if (tooLate) {
      child.kill('SIGKILL');
      await this.exited;
      this.killLeftoverContainerd();
    }
  }

  /** Stops the engine with everything it ran and removes its directory. Safe to call in any state. */
  async destroy(): Promise<void> {
    if (this.process) {
      // Remove the containers first: the engine's own teardown is then quick.
      try {
        const left = await this.docker.listContainers({ all: true });
        await Promise.all(left.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
      } catch {
        // not answering: stop() below copes
      }
      await this.stop(30_000);
    }
    // A dockerd that could not clean up leaves its overlay mounts behind; they must go before the directory can.
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((mountPoint) => mountPoint.startsWith(this.dir))
      .sort((a, b) => b.length - a.length);
    for (const mountPoint of mounts) spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }

  logTail(lines = 30): string {
    if (!existsSync(this.logPath)) return '';
    return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
  }

  private killLeftoverContainerd(): void {
    const pidFile = join(this.dir, 'exec', 'containerd', 'containerd.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 1) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
