import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type { InstanceStatus } from '../client/index.js';
import { parseDuration } from './bulk.js';
import { action, clientFor, formatOf, withCommon, type CommonOptions } from './context.js';
import { UsageError } from './exit-codes.js';
import { actOnAll, POWER_ACTIONS, waitCreated } from './instance-actions.js';
import { instanceTable, print } from './output.js';
import { Progress, progressMode, withStatusEvents } from './progress.js';
import { registerWatchCommands } from './watch-commands.js';

/* `gale instances …`: the caller's own instances, through the typed client. */

export const INSTANCE_STATUSES = ['PROVISIONING', 'STAGING', 'RUNNING', 'STOPPING', 'TERMINATED', 'SUSPENDING', 'SUSPENDED'] as const satisfies readonly InstanceStatus[];

export function parseStatus(text: string): InstanceStatus {
  const status = text.toUpperCase();
  if (!(INSTANCE_STATUSES as readonly string[]).includes(status)) throw new UsageError(`"${text}" is not a status (${INSTANCE_STATUSES.join(', ')})`);
  return status as InstanceStatus;
}

interface WaitFlags extends CommonOptions {
  wait?: boolean;
  timeout: string;
}

const TIMEOUT_HELP = 'how long --wait waits (e.g. 90s, 5m)';

export function registerInstanceCommands(program: Command): void {
  const instances = program.command('instances').alias('instance').description('create, list and operate your instances');

  withCommon(instances.command('create').description('create an instance from a template'), { quiet: true })
    .requiredOption('--template <id>', 'template to create it from (see `gale templates list`)')
    .option('--zone <zone>', 'zone (see `gale templates zones TEMPLATE`); the template region\'s default when absent')
    .option('--wait', 'wait until it is RUNNING')
    .option('--timeout <duration>', TIMEOUT_HELP, '5m')
    .action(
      action(async (options: WaitFlags & { template: string; zone?: string }) => {
        const timeoutMs = parseDuration(options.timeout);
        const gale = clientFor(options);
        let instance = await gale.instances.create({ templateId: options.template, ...(options.zone ? { zone: options.zone } : {}) });
        if (options.wait) instance = await waitCreated(gale, instance, timeoutMs);
        if (options.quiet) process.stdout.write(`${instance.id}\n`);
        else print(instance, formatOf(options), () => instanceTable([instance]));
      }),
    );

  withCommon(instances.command('list').alias('ls').description('list your instances, newest first'), { quiet: true })
    .option('--status <status>', 'only instances with this status (RUNNING, TERMINATED, …)')
    .action(
      action(async (options: CommonOptions & { status?: string }) => {
        const status = options.status === undefined ? undefined : parseStatus(options.status);
        const all = await clientFor(options).instances.list();
        const shown = status === undefined ? all : all.filter((instance) => instance.status === status);
        if (options.quiet) process.stdout.write(shown.map((instance) => `${instance.id}\n`).join(''));
        else print(shown, formatOf(options), () => instanceTable(shown));
      }),
    );

  withCommon(instances.command('get').alias('describe').description('show one instance').argument('<id>', 'instance id')).action(
    action(async (id: string, options: CommonOptions) => {
      const instance = await clientFor(options).instances.get(id);
      print(instance, formatOf(options), () => instanceTable([instance]));
    }),
  );

  for (const verb of POWER_ACTIONS) {
    withCommon(instances.command(verb).description(`${verb} instances (several at once: up to 8 at a time)`).argument('<ids...>', 'instance ids'))
      .option('--wait', 'wait until each operation is done')
      .option('--timeout <duration>', TIMEOUT_HELP, '5m')
      .action(
        action(async (ids: string[], options: WaitFlags) => {
          const wait = options.wait ? { timeoutMs: parseDuration(options.timeout) } : undefined;
          await actOnAll(clientFor(options), verb, ids, wait, formatOf(options));
        }),
      );
  }

  withCommon(instances.command('delete').alias('rm').description('delete instances (asks first on a terminal)').argument('<ids...>', 'instance ids'))
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--wait', 'wait until each is gone')
    .option('--timeout <duration>', TIMEOUT_HELP, '5m')
    .action(
      action(async (ids: string[], options: WaitFlags & { yes?: boolean }) => {
        const wait = options.wait ? { timeoutMs: parseDuration(options.timeout) } : undefined;
        const gale = clientFor(options);
        if (!options.yes && !(await confirm(`Delete ${ids.length === 1 ? ids[0] : `${ids.length} instances (${ids.join(', ')})`}? [y/N] `))) {
          process.stderr.write('gale: nothing deleted\n');
          return;
        }
        await actOnAll(gale, 'delete', ids, wait, formatOf(options));
      }),
    );

  withCommon(instances.command('wait').description('wait until an instance has a status').argument('<id>', 'instance id'))
    .requiredOption('--for <status>', 'the status to wait for (RUNNING, TERMINATED, SUSPENDED, …)')
    .option('--timeout <duration>', 'give up after this long (exit code 3)', '5m')
    .action(
      action(async (id: string, options: CommonOptions & { for: string; timeout: string }) => {
        const status = parseStatus(options.for);
        const timeoutMs = parseDuration(options.timeout);
        const gale = clientFor(options);
        const current = await gale.instances.get(id);
        const progress = new Progress(id, progressMode(1), current.status);
        try {
          const instance = await withStatusEvents(gale, id, progress, () => gale.waitForStatus(id, status, { timeoutMs }));
          progress.finish(instance.status);
          print(instance, formatOf(options), () => instanceTable([instance]));
        } catch (error) {
          progress.finish();
          throw error;
        }
      }),
    );

  registerWatchCommands(instances);
}

/** Asks on the terminal; without one, refuses (the caller must say --yes). */
async function confirm(question: string): Promise<boolean> {
  if (process.stdin.isTTY !== true) throw new UsageError('delete asks for confirmation, and there is no terminal to ask on: add --yes');
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}
