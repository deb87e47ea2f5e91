/**
 * A minimal POSIX ustar writer, enough for an image build context (a Dockerfile, one binary and its applet
 * symlinks). Hand-written because the only tar library in node_modules (tar-stream) arrives as dockerode's
 * transitive dependency, which we must not import as if it were ours.
 */

export type TarEntry =
  | { type: 'file'; name: string; data: Buffer; mode?: number }
  | { type: 'dir'; name: string; mode?: number }
  | { type: 'symlink'; name: string; target: string };

const BLOCK = 512;

function writeString(header: Buffer, value: string, offset: number, length: number, field: string): void {
  const bytes = Buffer.from(value, 'utf8');
  // ustar has no room for long names; our contexts never need them, so refuse rather than truncate silently.
  if (bytes.length > length) throw new Error(`tar: ${field} "${value}" is longer than ${length} bytes`);
  bytes.copy(header, offset);
}

function writeOctal(header: Buffer, value: number, offset: number, length: number): void {
  // length-1 zero-padded octal digits followed by NUL, as every tar reader accepts.
  header.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'ascii');
}

function headerFor(entry: TarEntry, size: number, mtime: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  const name = entry.type === 'dir' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
  writeString(header, name, 0, 100, 'name');
  const mode = entry.type === 'symlink' ? 0o777 : (entry.mode ?? (entry.type === 'dir' ? 0o755 : 0o644));
  writeOctal(header, mode, 100, 8);
  writeOctal(header, 0, 108, 8); // uid root: the image's files belong to root
  writeOctal(header, 0, 116, 8); // gid root
  writeOctal(header, size, 124, 12);
  writeOctal(header, mtime, 136, 12);
  header.fill(' ', 148, 156); // the checksum is computed with its own field read as spaces
  header.write(entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : '2', 156, 1, 'ascii');
  if (entry.type === 'symlink') writeString(header, entry.target, 157, 100, 'link target');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  writeString(header, 'root', 265, 32, 'uname');
  writeString(header, 'root', 297, 32, 'gname');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return header;
}

/**
 * Packs entries into one tar archive in memory. A fixed mtime keeps the archive, and so the
 * builder's cache key, identical from run to run.
 */
export function packTar(entries: readonly TarEntry[], mtime = 0): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.type === 'file' ? entry.data : Buffer.alloc(0);
    parts.push(headerFor(entry, data.length, mtime));
    if (data.length > 0) {
      parts.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2)); // two zero blocks end the archive
  return Buffer.concat(parts);
}
