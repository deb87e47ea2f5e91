import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Logger } from 'pino';
import { packTar, type TarEntry } from './tar.js';
import { followJsonLines, streamError } from './json-lines.js';
import { isNotFound } from './errors.js';

export const BUSYBOX_IMAGE_TAG = 'gale/busybox-micro:latest';

/**
 * Stays up until told to stop and exits 0 on SIGTERM, so a graceful stop is seen as one (not 137).
 * `sleep & wait` rather than a plain `sleep`: sh runs a trap only between commands, and `wait` is
 * interrupted by the signal at once, so the stop takes milliseconds instead of up to a second.
 * sh runs as PID 1, which the kernel shields from signals it has no handler for; the trap installs one.
 * Each boot prints a banner and a login prompt, and a graceful stop a power-off line, on the console (the
 * container's log, GET .../serialPortOutput), as a VM's serial console shows them. Whole lines only: the engine
 * logs a line when its newline comes, so a prompt left open would not show.
 */
export const GRACEFUL_CMD = [
  '/bin/sh',
  '-c',
  'trap \'echo "$(hostname): power down"; exit 0\' TERM; ' +
    'echo "Gale busybox-micro $(hostname)"; echo "Booting $(hostname)..."; echo "$(hostname) login:"; ' +
    'while :; do sleep 1 & wait $!; done',
];

// The applets people reach for in a shell; busybox answers to any name it is linked as.
const APPLETS = [
  'sh', 'ash', 'cat', 'cp', 'mv', 'rm', 'ln', 'ls', 'mkdir', 'rmdir', 'touch', 'chmod', 'chown', 'echo', 'printf',
  'env', 'id', 'hostname', 'uname', 'date', 'sleep', 'true', 'false', 'test', '[', 'kill', 'ps', 'top', 'free',
  'df', 'du', 'head', 'tail', 'grep', 'sed', 'awk', 'cut', 'tr', 'sort', 'uniq', 'wc', 'find', 'xargs', 'which',
  'vi', 'less', 'tar', 'gzip', 'gunzip', 'ip', 'ifconfig', 'ping', 'wget', 'nc', 'nslookup', 'mount', 'umount',
  'dmesg', 'stat', 'seq', 'basename', 'dirname', 'readlink', 'tee', 'yes', 'init', 'poweroff', 'reboot', 'halt',
];

/** A dynamically linked busybox (Debian's plain `busybox` package) cannot run in an image with no libc. */
function isStaticElf(binary: Buffer): boolean {
  if (binary.length < 64 || binary.readUInt32BE(0) !== 0x7f454c46) return false;
  if (binary[4] !== 2 || binary[5] !== 1) return true; // not 64-bit little-endian: don't second-guess it
  const phoff = Number(binary.readBigUInt64LE(0x20));
  const phentsize = binary.readUInt16LE(0x36);
  const phnum = binary.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const offset = phoff + i * phentsize;
    if (offset + 4 > binary.length) break;
    if (binary.readUInt32LE(offset) === 3) return false; // PT_INTERP: needs a dynamic loader
  }
  return true;
}

export async function imageExists(docker: Dockerode, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

export interface BuildBusyboxImageOptions {
  docker: Dockerode;
  tag?: string;
  /** Rebuild even when the tag exists. */
  force?: boolean;
  /** Default command; tests pass one that ignores SIGTERM to exercise the forced kill. */
  cmd?: string[];
  busyboxPath?: string;
  logger?: Logger;
}

/**
 * Builds a tiny image from the host's static busybox through the Engine API, so development and CI need
 * no registry. Skips the build when the tag already exists unless forced.
 */
export async function buildBusyboxImage(options: BuildBusyboxImageOptions): Promise<{ tag: string; built: boolean }> {
  const { docker, tag = BUSYBOX_IMAGE_TAG, force = false, cmd = GRACEFUL_CMD, busyboxPath = '/bin/busybox' } = options;
  if (!force && (await imageExists(docker, tag))) return { tag, built: false };

  let busybox: Buffer;
  try {
    busybox = await readFile(busyboxPath);
  } catch (error) {
    throw new Error(`cannot read ${busyboxPath}: install Debian's busybox-static (scripts/install-docker.sh does)`, {
      cause: error,
    });
  }
  if (!isStaticElf(busybox)) {
    throw new Error(`${busyboxPath} is dynamically linked: install busybox-static, which replaces it with a static build`);
  }

  const dockerfile = [
    'FROM scratch',
    'COPY rootfs/ /',
    'ENV PATH=/bin',
    'LABEL gale.image="busybox-micro"',
    'STOPSIGNAL SIGTERM',
    `CMD ${JSON.stringify(cmd)}`,
    '',
  ].join('\n');
  const entries: TarEntry[] = [
    { type: 'file', name: 'Dockerfile', data: Buffer.from(dockerfile) },
    { type: 'dir', name: 'rootfs' },
    { type: 'dir', name: 'rootfs/bin' },
    { type: 'dir', name: 'rootfs/tmp', mode: 0o1777 },
    { type: 'dir', name: 'rootfs/root', mode: 0o700 },
    { type: 'file', name: 'rootfs/bin/busybox', data: busybox, mode: 0o755 },
    ...APPLETS.map((applet): TarEntry => ({ type: 'symlink', name: `rootfs/bin/${applet}`, target: 'busybox' })),
    { type: 'dir', name: 'rootfs/etc' },
    { type: 'file', name: 'rootfs/etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') },
    { type: 'file', name: 'rootfs/etc/group', data: Buffer.from('root:x:0:\n') },
  ];

  // rm: no intermediate containers are left behind; the classic builder needs none for FROM scratch + COPY.
  const stream = await docker.buildImage(Readable.from([packTar(entries)]), { t: tag, rm: true, forcerm: true });
  const errors: string[] = [];
  await followJsonLines(stream, (line) => {
    const error = streamError(line);
    if (error !== undefined) errors.push(error);
    else if (typeof line.stream === 'string' && line.stream.trim() !== '') {
      options.logger?.debug({ tag }, line.stream.trim());
    }
  });
  if (errors.length > 0) throw new Error(`building ${tag} failed: ${errors.join('; ')}`);
  if (!(await imageExists(docker, tag))) throw new Error(`building ${tag} reported success but the tag is missing`);
  options.logger?.info({ tag }, 'built local busybox image');
  return { tag, built: true };
}
