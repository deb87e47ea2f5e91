import { open, stat } from 'node:fs/promises';
import type { SerialOutput } from '../../domain/provider.js';
import { runCommand } from './run-command.js';

/** The console output kept and served: the last 1 MiB, as GCE keeps a bounded ring of it. */
export const CONSOLE_KEEP_BYTES = 1024 * 1024;

/**
 * Bytes [start, end of file) of the console, from no earlier than the last CONSOLE_KEEP_BYTES. The file's length is
 * everything the console ever printed (QEMU appends across boots), so offsets are GCE's: since the machine was made.
 */
export async function readConsole(path: string, start: number): Promise<SerialOutput> {
  const size = await sizeOf(path);
  const oldest = Math.max(0, size - CONSOLE_KEEP_BYTES);
  const from = Math.min(Math.max(Number.isFinite(start) ? Math.floor(start) : 0, oldest), size);
  if (from === size) return { contents: '', start: from, next: size };
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(size - from);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, from);
    return { contents: buffer.subarray(0, bytesRead).toString('utf8'), start: from, next: from + bytesRead };
  } finally {
    await file.close();
  }
}

/**
 * Frees the disk under all but the last CONSOLE_KEEP_BYTES by punching a hole at the front of the file. QEMU keeps
 * writing at the end (the file is opened for appending) and the length, which is our offset, is unchanged; truncating
 * or rotating instead would race QEMU's writes. Done when the file holds more than twice what is kept, so most calls
 * are one stat. Resolves false when the hole cannot be punched (no fallocate, a file system without holes).
 */
export async function boundConsole(path: string): Promise<boolean> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return true;
  }
  if (info.blocks * 512 <= 2 * CONSOLE_KEEP_BYTES) return true;
  const length = Math.floor((info.size - CONSOLE_KEEP_BYTES) / 4096) * 4096;
  if (length <= 0) return true;
  try {
    await runCommand('fallocate', ['--punch-hole', '--offset', '0', '--length', String(length), path]);
    return true;
  } catch {
    return false;
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}
