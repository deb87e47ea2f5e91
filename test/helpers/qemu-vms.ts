// What the qemu provider's tests need besides the provider: whether this host can run VMs, and ways to wait on them.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import assert from 'node:assert/strict';

/**
 * Why VMs cannot run here, or undefined when they can: QEMU, qemu-img, cpio, busybox-static and a kernel with its
 * modules. The caller fails instead of skipping when CI=true.
 */
export function qemuProblem(): string | undefined {
  const missing: string[] = [];
  for (const command of ['qemu-system-x86_64', 'qemu-img', 'cpio']) {
    if (spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0) missing.push(command);
  }
  const kernels = safeReaddir('/boot').filter((name) => name.startsWith('vmlinuz-'));
  if (!kernels.some((name) => safeReaddir('/lib/modules').includes(name.slice('vmlinuz-'.length)))) missing.push('a kernel with its modules');
  if (!isStatic('/bin/busybox')) missing.push('busybox-static');
  return missing.length === 0 ? undefined : `missing ${missing.join(', ')}; run scripts/install-qemu.sh`;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** An x86-64 ELF with no PT_INTERP header needs no libc: the guest has none. */
function isStatic(path: string): boolean {
  let elf: Buffer;
  try {
    elf = readFileSync(path);
  } catch {
    return false;
  }
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  for (let i = 0; i < elf.readUInt16LE(0x38); i++) {
    if (elf.readUInt32LE(phoff + i * elf.readUInt16LE(0x36)) === 3) return false;
  }
  return true;
}

/** Polls until check holds; generous by default, since a busy CI host emulates slowly. Asserts only that it came. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** The command line of a live process, or undefined when there is none by that pid (a zombie has an empty one). */
export function commandLine(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return text === '' ? undefined : text.split('\0');
  } catch {
    return undefined;
  }
}
