import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readInstanceSpec } from '../../domain/instance-spec.js';
import type { MachineSpec } from '../../domain/provider.js';

/**
 * Everything one instance owns lives in one directory, <dataDir>/qemu/instances/<instanceId>/, so that a restarted
 * Gale finds a running VM by looking (pid file, QMP socket) and delete is one rm -rf.
 */
export interface InstanceFiles {
  dir: string;
  /** Written first: the installation that made the directory. Only a directory bearing ours is ever listed or changed. */
  installation: string;
  /** Written last: the machine as created; its presence marks a finished create. */
  spec: string;
  /** The thin qcow2 overlay over the image's base disk. */
  disk: string;
  /** Written by QEMU at start-up, removed by QEMU at a clean exit; left behind by SIGKILL, so liveness is checked. */
  pid: string;
  qmp: string;
  /** The serial console (ttyS0), appended to across boots so offsets count from the machine's creation. */
  console: string;
  /** QEMU's own stderr, read back when it fails to start. */
  qemuLog: string;
  /** Epoch ms of the last boot Gale caused (a start or a reset): the observation's startedAt. */
  bootedAt: string;
}

/** Instance ids name directories: nothing that could climb out of the instances directory, nor a hidden name. */
export function isInstanceDirName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name);
}

export function instanceFiles(instancesDir: string, instanceId: string): InstanceFiles {
  const dir = join(instancesDir, instanceId);
  return {
    dir,
    installation: join(dir, 'installation'),
    spec: join(dir, 'spec.json'),
    disk: join(dir, 'disk.qcow2'),
    pid: join(dir, 'qemu.pid'),
    qmp: join(dir, 'qmp.sock'),
    console: join(dir, 'console.log'),
    qemuLog: join(dir, 'qemu.log'),
    bootedAt: join(dir, 'booted-at'),
  };
}

/**
 * The network a VM was made on, kept for its life: a VM made on the bridge keeps its tap and address across boots, and
 * one made in user mode stays there, whatever the provider falls back to later.
 */
export type SavedNetwork =
  | { kind: 'user' }
  | {
      kind: 'bridge';
      bridge: string;
      /** The only tap Gale ever removes for this VM: named here, so another installation's are never touched. */
      tap: string;
      /** Allocated in the store: the VM's internalIp. */
      address: string;
      prefixLength: number;
      gateway: string;
    };

/** What create saved: the machine's spec and the image it was made from, which start reads to boot it. */
export interface SavedMachine {
  spec: MachineSpec;
  /** The VM image's name under the images directory (after any fallback). */
  image: string;
  /** Absent in directories made before bridged networking: user mode. */
  network?: SavedNetwork;
}

export async function readSaved(files: InstanceFiles): Promise<SavedMachine | undefined> {
  const text = await readIfExists(files.spec);
  if (text === undefined) return undefined;
  const saved = JSON.parse(text) as SavedMachine;
  // Saved by an older Gale: its instance spec is upgraded, or made, as the store's reads do (none before migration 009).
  return { ...saved, spec: { ...saved.spec, spec: readInstanceSpec(saved.spec.spec) } };
}

/** Written to a temporary name and renamed, so that a crash never leaves a half-written spec that marks create done. */
export async function writeSaved(files: InstanceFiles, saved: SavedMachine): Promise<void> {
  const temporary = `${files.spec}.tmp`;
  await writeFile(temporary, `${JSON.stringify(saved, null, 2)}\n`);
  await rename(temporary, files.spec);
}

export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    // ENOTDIR: a stray file where a directory was looked for holds nothing of ours either.
    if (['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw error;
  }
}

/** Unix socket paths are limited to 107 bytes on Linux; a longer one fails in QEMU with a message naming no cause. */
export const MAX_SOCKET_PATH_BYTES = 107;
