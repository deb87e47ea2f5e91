import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { Instance } from '../client/index.js';
import { action, clientFor, withCommon, type CommonOptions } from './context.js';
import { UsageError } from './exit-codes.js';
import { instanceRow, instanceTable } from './output.js';
import { parseDuration } from './bulk.js';

/*
 * `gale instances watch`: a table kept live by the event stream (redrawn on a terminal, one line per change
 * otherwise), and `gale instances console`: the serial port output, followed by polling its `next` offset.
 */

export function registerWatchCommands(instances: Command): void {
  withCommon(instances.command('watch').description('a live table of your instances, driven by the event stream (Ctrl-C ends it)')).action(
    action(async (options: CommonOptions) => watch(options)),
  );

  withCommon(instances.command('console').alias('serial').description("print an instance's serial console output").argument('<id>', 'instance id'))
    .option('-f, --follow', 'keep printing new output as it comes')
    .option('--start <offset>', 'byte offset to read from (0: the oldest kept)', '0')
    .option('--interval <duration>', 'how often --follow asks for more', '1s')
    .action(
      action(async (id: string, options: CommonOptions & { follow?: boolean; start: string; interval: string }) => {
        if (!/^\d+$/.test(options.start)) throw new UsageError(`--start must be a byte offset, not "${options.start}"`);
        const intervalMs = parseDuration(options.interval);
        const gale = clientFor(options);
        let start = Number(options.start);
        for (;;) {
          const piece = await gale.instances.serialPortOutput(id, { start });
          if (piece.contents) process.stdout.write(piece.contents);
          start = Number(piece.next);
          if (!options.follow) {
            if (piece.contents && !piece.contents.endsWith('\n')) process.stdout.write('\n');
            return;
          }
          await sleep(intervalMs);
        }
      }),
    );
}

async function watch(options: CommonOptions): Promise<void> {
  const live = process.stdout.isTTY === true;
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  // The table is first read once the stream is open, so that no change falls between the read and the stream.
  let opened: () => void = () => undefined;
  const open = new Promise<void>((resolve) => (opened = resolve));
  const fetchWatching: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (response.ok && String(input instanceof Request ? input.url : input).includes('/events')) opened();
    return response;
  };
  const gale = clientFor(options, { fetch: fetchWatching });
  const byId = new Map<string, Instance>();
  const draw = (): void => {
    const rows = [...byId.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    process.stdout.write(`\x1b[H\x1b[2J${instanceTable(rows)}\nwatching ${rows.length} instance(s), Ctrl-C to stop\n`);
  };
  const line = (cells: string[]): void => void process.stdout.write(`${new Date().toISOString()}  ${cells.join('  ')}\n`);

  const events = gale.events({ types: ['instance.status', 'instance.deleted'], signal: controller.signal });
  const first = events.next();
  await Promise.race([open, first]);
  for (const instance of await gale.instances.list()) byId.set(instance.id, instance);
  if (live) draw();
  else for (const instance of byId.values()) line(instanceRow(instance));

  let pending: IteratorResult<unknown> | undefined = await first;
  for (;;) {
    const result = pending ?? (await events.next());
    pending = undefined;
    if (result.done) return;
    const message = result.value as { type: string; instanceId: string; data: Record<string, unknown> };
    if (message.type === 'stream.gap') {
      byId.clear();
      for (const instance of await gale.instances.list()) byId.set(instance.id, instance);
    } else if (message.type === 'instance.deleted') {
      byId.delete(message.instanceId);
      if (!live) line([message.instanceId, 'DELETED']);
    } else {
      const known = byId.get(message.instanceId) ?? (await gale.instances.get(message.instanceId).catch(() => undefined));
      if (!known) continue;
      const data = message.data as { status: Instance['status']; internalIp: string; externalIp: string };
      const changed: Instance = { ...known, status: data.status, internalIp: data.internalIp, externalIp: data.externalIp };
      byId.set(changed.id, changed);
      if (!live) line(instanceRow(changed));
    }
    if (live) draw();
  }
}
