import { Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { SerialOutput } from '../../domain/provider.js';
import type { Endpoint } from './endpoints.js';
import { describeEngineError, isNotFound } from './errors.js';

/*
 * A container's console is its log as the engine keeps it (docker logs: stdout and stderr, interleaved as written;
 * one stream for Gale's containers, which have a TTY). Offsets count bytes from the container's creation, across its
 * restarts, so that a reset adds to the console rather than starting it again. The engine's whole log is streamed
 * through and only its last CONSOLE_KEPT_BYTES are held, so that a guest that prints without end costs a read time,
 * never memory; an engine that rotates its logs (log-opts max-size) moves offset 0 to its oldest kept file.
 * The engine logs whole lines: a line shows once its newline is printed (or it has grown past 16 KiB).
 */

/** As GCE keeps 1 MB: a read from before the last MiB starts at its first byte. */
export const CONSOLE_KEPT_BYTES = 1024 * 1024;

/** The last `limit` bytes written to it, and how many were written in all. */
export class ByteTail extends Writable {
  total = 0;
  private chunks: Buffer[] = [];
  private held = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.total += chunk.length;
    this.chunks.push(chunk);
    this.held += chunk.length;
    while (this.chunks.length > 1 && this.held - this.chunks[0]!.length >= this.limit) this.held -= this.chunks.shift()!.length;
    done();
  }

  /** The kept bytes: at most `limit`, the last ones written. */
  kept(): Buffer {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit));
  }
}

/** The length of an incomplete UTF-8 sequence at the end of bytes (0 to 3): held back until the rest is printed. */
export function incompleteTail(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    const needs = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needs > back ? back : 0;
  }
  return 0;
}

/** Continuation bytes at the start of a window cut from the middle of a character: skipped, up to 3. */
function leadingContinuations(bytes: Buffer): number {
  let n = 0;
  while (n < 3 && n < bytes.length && (bytes[n]! & 0xc0) === 0x80) n++;
  return n;
}

/**
 * [start, next) of a console whose last `kept` bytes end at byte `total`, read from `asked` as GCE's
 * getSerialPortOutput answers: from the oldest kept byte when asked for older ones, nothing (start = next = asked)
 * at or past the end.
 */
export function consoleWindow(kept: Buffer, total: number, asked: number): SerialOutput {
  const end = total - incompleteTail(kept);
  if (asked >= end) return { contents: '', start: asked, next: asked };
  const keptFrom = total - kept.length;
  let from = Math.max(asked, keptFrom);
  // Clamped to what is kept: start on a whole character. An offset the reader chose is taken as it is.
  if (from > asked) from += leadingContinuations(kept.subarray(from - keptFrom));
  if (from >= end) return { contents: '', start: from, next: from };
  return { contents: kept.subarray(from - keptFrom, end - keptFrom).toString('utf8'), start: from, next: end };
}

/** Streams a container's whole log through a ByteTail; null when the container is gone. */
async function readLog(endpoint: Endpoint, info: Dockerode.ContainerInspectInfo): Promise<ByteTail | null> {
  const tail = new ByteTail(CONSOLE_KEPT_BYTES);
  let stream: NodeJS.ReadableStream;
  try {
    // dockerode buffers the whole log when it does not follow it; its modem streams it.
    stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      endpoint.docker.modem.dial(
        {
          path: `/containers/${info.Id}/logs?`,
          method: 'GET',
          isStream: true,
          statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
          options: { stdout: true, stderr: true, follow: false },
        },
        (error, result) => (error ? reject(error) : resolve(result as NodeJS.ReadableStream)),
      ),
    );
  } catch (error) {
    if (isNotFound(error)) return null;
    throw describeEngineError(endpoint.name, `logs ${info.Name}`, error);
  }
  await new Promise<void>((resolve, reject) => {
    stream.on('error', (error: Error) => reject(describeEngineError(endpoint.name, `logs ${info.Name}`, error)));
    stream.on('end', () => resolve());
    // Cut short (the engine went away mid-read): what came is a console up to some byte, and the next read goes on.
    stream.on('close', () => resolve());
    // Without a TTY the engine frames each write with its stream; the frames' payloads, in order, are the console.
    if (info.Config?.Tty) stream.on('data', (chunk: Buffer) => tail.write(chunk));
    else endpoint.docker.modem.demuxStream(stream, tail, tail);
  });
  return tail;
}

/** The console of the container, from byte `asked`; a container not there (yet, or any more) has printed nothing. */
export async function containerConsole(endpoint: Endpoint, info: Dockerode.ContainerInspectInfo, asked: number): Promise<SerialOutput> {
  const tail = await readLog(endpoint, info);
  if (!tail) return { contents: '', start: asked, next: asked };
  return consoleWindow(tail.kept(), tail.total, asked);
}
