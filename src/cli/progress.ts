import type { Gale, InstanceStatus } from '../client/index.js';
import { elapsed } from './output.js';

/*
 * The progress of a --wait, on stderr so that stdout stays what a script reads: on a terminal one line rewritten in
 * place (\r) through the statuses with the time elapsed; otherwise one plain line per status change.
 */

export type ProgressMode = 'live' | 'lines' | 'none';

export function progressMode(count: number): ProgressMode {
  if (count !== 1) return 'none';
  return process.stderr.isTTY === true ? 'live' : 'lines';
}

export class Progress {
  private readonly started = Date.now();
  private readonly statuses: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly id: string,
    private readonly mode: ProgressMode,
    first?: string,
  ) {
    if (first) this.status(first);
    if (mode === 'live') {
      this.timer = setInterval(() => this.draw(), 250);
      this.timer.unref();
    }
  }

  status(status: string): void {
    if (this.statuses[this.statuses.length - 1] === status) return;
    this.statuses.push(status);
    if (this.mode === 'lines') process.stderr.write(`${this.id}  ${status}  ${elapsed(this.started)}\n`);
    else if (this.mode === 'live') this.draw();
  }

  /** Ends the progress with the last status (or a failure), and the line. */
  finish(status?: string): void {
    if (status) this.status(status);
    if (this.timer) clearInterval(this.timer);
    if (this.mode === 'live') {
      this.draw();
      process.stderr.write('\n');
    }
  }

  private draw(): void {
    process.stderr.write(`\r\x1b[K${this.id}  ${this.statuses.join(' → ')}  ${elapsed(this.started)}`);
  }
}

/**
 * Runs the wait while the instance's status events drive the progress; the events are only for show, so their
 * errors are ignored (the wait's outcome is what counts).
 */
export async function withStatusEvents<T>(gale: Gale, id: string, progress: Progress | undefined, wait: () => Promise<T>): Promise<T> {
  if (!progress) return wait();
  const controller = new AbortController();
  const follow = (async () => {
    for await (const message of gale.events({ types: ['instance.status', 'instance.deleted'], instanceId: id, signal: controller.signal })) {
      if (message.type === 'instance.status' && 'status' in message.data) progress.status(message.data.status as InstanceStatus);
      else if (message.type === 'instance.deleted') progress.status('DELETED');
    }
  })().catch(() => undefined);
  try {
    return await wait();
  } finally {
    controller.abort();
    await follow;
  }
}
