import { spawn } from 'node:child_process';
import { access, chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import { GUEST_FEATURES, initScript, POWER_BUTTON_HANDLER, UDHCPC_SCRIPT } from './guest-scripts.js';
import { readModule, resolveModules } from './kernel-modules.js';
import { runCommand } from './run-command.js';
import { DEFAULT_VM_IMAGE } from './settings.js';
import { findHostKernels, readImage, vmImageFiles, type VmImageManifest } from './vm-images.js';

export interface BuildVmBaseImageOptions {
  /** The images directory: the image is made in <outputDir>/<name>. */
  outputDir: string;
  logger?: Logger;
  name?: string;
  /** Rebuild even when a complete image of that name exists. */
  force?: boolean;
  /** A kernel under /boot (vmlinuz-<version>) with its modules under /lib/modules; default: the newest cloud kernel. */
  kernelVersion?: string;
  busyboxPath?: string;
  qemuImgBinary?: string;
}

export interface BuiltVmImage {
  name: string;
  dir: string;
  kernelVersion: string;
  built: boolean;
}

/** Virtual size of the blank base disk; each instance's overlay grows it to the template's disk size. */
const BASE_DISK_SIZE = '1G';

/**
 * Builds the busybox VM image offline, from what this host has installed (scripts/install-qemu.sh): Debian's cloud
 * kernel, the few modules the guest needs from /lib/modules, and busybox-static as the whole userland.
 */
export async function buildVmBaseImage(options: BuildVmBaseImageOptions): Promise<BuiltVmImage> {
  const name = options.name ?? DEFAULT_VM_IMAGE;
  const files = vmImageFiles(options.outputDir, name);
  const existing = await readImage(options.outputDir, name);
  // An image whose init lacks something Gale now relies on (a static address on the bridge) is built again.
  const current = existing !== undefined && GUEST_FEATURES.every((feature) => existing.guestFeatures?.includes(feature));
  if (existing && current && !options.force) return { name, dir: files.dir, kernelVersion: existing.kernelVersion, built: false };

  const kernel = await pickKernel(options.kernelVersion);
  const busybox = await readStaticBusybox(options.busyboxPath ?? '/bin/busybox');
  const modules = await resolveModules(`/lib/modules/${kernel.version}`);
  await mkdir(files.dir, { recursive: true });
  // The manifest goes first and comes back last: a build cut short leaves no image that looks complete.
  await rm(files.manifest, { force: true });

  const staging = await mkdtemp(join(tmpdir(), 'gale-vm-initramfs-'));
  try {
    await writeRootFs(staging, busybox, options.busyboxPath ?? '/bin/busybox', modules);
    await packInitramfs(staging, `${files.initramfs}.tmp`);
    await rename(`${files.initramfs}.tmp`, files.initramfs);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  await copyFile(kernel.path, `${files.kernel}.tmp`);
  await rename(`${files.kernel}.tmp`, files.kernel);
  // Kept across rebuilds: instances' overlays name it as their backing file, and a blank disk has nothing to update.
  if (!(await exists(files.baseDisk))) {
    await runCommand(options.qemuImgBinary ?? 'qemu-img', ['create', '-q', '-f', 'qcow2', `${files.baseDisk}.tmp`, BASE_DISK_SIZE]);
    await rename(`${files.baseDisk}.tmp`, files.baseDisk);
  }
  const manifest: VmImageManifest = { name, kernelVersion: kernel.version, builtAt: new Date().toISOString(), guestFeatures: [...GUEST_FEATURES] };
  await writeFile(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  options.logger?.info({ image: name, dir: files.dir, kernel: kernel.version, modules: modules.map((m) => m.name) }, 'built VM image');
  return { name, dir: files.dir, kernelVersion: kernel.version, built: true };
}

async function pickKernel(version: string | undefined): Promise<{ version: string; path: string }> {
  const kernels = await findHostKernels();
  for (const kernel of kernels) {
    if (version !== undefined && kernel.version !== version) continue;
    if (await exists(`/lib/modules/${kernel.version}/modules.dep`)) return kernel;
  }
  const which = version === undefined ? 'a kernel' : `kernel ${version}`;
  throw new Error(`no ${which} with its modules in /boot and /lib/modules: install linux-image-cloud-amd64 (scripts/install-qemu.sh does)`);
}

async function readStaticBusybox(path: string): Promise<Buffer> {
  let binary: Buffer;
  try {
    binary = await readFile(path);
  } catch (error) {
    throw new Error(`cannot read ${path}: install Debian's busybox-static (scripts/install-qemu.sh does)`, { cause: error });
  }
  if (!isStaticElf(binary)) throw new Error(`${path} is dynamically linked: the guest has no libc; install busybox-static, which replaces it`);
  return binary;
}

/** An ELF with no PT_INTERP program header needs no dynamic loader. */
export function isStaticElf(binary: Buffer): boolean {
  if (binary.length < 64 || binary.readUInt32BE(0) !== 0x7f454c46 || binary[4] !== 2) return false;
  const phoff = Number(binary.readBigUInt64LE(0x20));
  const phentsize = binary.readUInt16LE(0x36);
  for (let i = 0; i < binary.readUInt16LE(0x38); i++) {
    const offset = phoff + i * phentsize;
    if (offset + 4 > binary.length || binary.readUInt32LE(offset) === 3) return false;
  }
  return true;
}

async function writeRootFs(root: string, busybox: Buffer, busyboxPath: string, modules: { name: string; path: string }[]): Promise<void> {
  for (const dir of ['bin', 'dev', 'proc', 'sys', 'tmp', 'root', 'etc/acpi/PWRF', 'lib/modules', 'var/log', 'var/run']) await mkdir(join(root, dir), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await writeFile(join(root, 'bin/busybox'), busybox, { mode: 0o755 });
  // Every applet as a link, as `busybox --install -s` would make at each boot, which under emulation costs time.
  const applets = (await runCommand(busyboxPath, ['--list'])).toString('utf8').split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
  for (const applet of applets) await symlink('busybox', join(root, 'bin', applet));
  for (const module of modules) await writeFile(join(root, 'lib/modules', `${module.name}.ko`), await readModule(module.path));
  await writeFile(join(root, 'init'), initScript(modules.map((m) => m.name)), { mode: 0o755 });
  await writeFile(join(root, 'etc/acpi/PWRF/00000080'), POWER_BUTTON_HANDLER, { mode: 0o755 });
  await writeFile(join(root, 'etc/udhcpc.sh'), UDHCPC_SCRIPT, { mode: 0o755 });
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\n');
}

/** cpio in the kernel's newc format, owned by root whoever builds it, gzipped (the kernel unpacks it at boot). */
async function packInitramfs(root: string, output: string): Promise<void> {
  // Sorted, a directory comes before what it holds, which the kernel's unpacker needs.
  const paths = (await readdir(root, { recursive: true })).sort();
  const cpio = spawn('cpio', ['-o', '-H', 'newc', '--quiet', '-R', '0:0'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  cpio.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve, reject) => {
    cpio.once('error', (error) => reject(new Error(`cannot run cpio: ${error.message} (scripts/install-qemu.sh installs it)`)));
    cpio.once('close', resolve);
  });
  cpio.stdin.end(`${paths.join('\n')}\n`);
  try {
    await Promise.all([pipeline(cpio.stdout, createGzip({ level: 9 }), createWriteStream(output)), exited]);
  } catch (error) {
    await unlink(output).catch(() => undefined);
    throw error;
  }
  const code = await exited;
  if (code !== 0) throw new Error(`cpio failed (exit ${code}): ${stderr.trim()}`);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
