import type { Command } from 'commander';
import type { Operation } from '../client/index.js';
import { parseDuration } from './bulk.js';
import { action, clientFor, formatOf, withCommon, type CommonOptions } from './context.js';
import { UsageError } from './exit-codes.js';
import { age, print, table } from './output.js';

/* `gale templates`, `gale quotas` and `gale operations`: what can be made, how much of it, and what was asked. */

const OPERATION_STATUSES = ['PENDING', 'RUNNING', 'DONE', 'FAILED'] as const;

const operationTable = (operations: Operation[]): string =>
  table(
    ['ID', 'KIND', 'INSTANCE', 'STATUS', 'AGE', 'ERROR'],
    operations.map((o) => [o.id, o.kind, o.instanceId, o.status, age(o.createdAt), o.error?.message ?? '']),
  );

export function registerCatalogCommands(program: Command): void {
  const templates = program.command('templates').alias('template').description('what instances are made from');
  withCommon(templates.command('list').alias('ls').description('list the templates'), { quiet: true }).action(
    action(async (options: CommonOptions) => {
      const all = await clientFor(options).templates.list();
      if (options.quiet) return void process.stdout.write(all.map((t) => `${t.id}\n`).join(''));
      print(all, formatOf(options), () =>
        table(
          ['ID', 'MACHINE TYPE', 'DISK', 'REGION', 'DESCRIPTION'],
          all.map((t) => [t.id, t.machineType, `${t.diskSizeGb} GB ${t.diskType}`, t.region, t.description]),
        ),
      );
    }),
  );
  withCommon(templates.command('zones').description("the zones a template's instances can be created in").argument('<template>', 'template id')).action(
    action(async (template: string, options: CommonOptions) => {
      const zones = await clientFor(options).templates.zones(template);
      print(zones, formatOf(options), () => table(['ZONE'], zones.map((zone) => [zone])));
    }),
  );

  withCommon(program.command('quotas').alias('quota').description('your tier, its quotas and their use')).action(
    action(async (options: CommonOptions) => {
      const quotas = await clientFor(options).quotas();
      print(quotas, formatOf(options), () => {
        const rows = Object.entries(quotas.quotas).map(([name, q]) => [name, String(q.usage), String(q.limit), String(q.remaining)]);
        return `tier ${quotas.tier}, ${quotas.requestsPerMinute} requests a minute\n\n${table(['QUOTA', 'USAGE', 'LIMIT', 'REMAINING'], rows)}`;
      });
    }),
  );

  const operations = program.command('operations').alias('operation').alias('ops').description('accepted changes and how far they got');
  withCommon(operations.command('list').alias('ls').description('your operations, newest first'), { quiet: true })
    .option('--instance <id>', 'only those acting on this instance')
    .option('--status <status>', `only those with this status (${OPERATION_STATUSES.join(', ')})`)
    .option('--limit <n>', 'at most this many', '50')
    .action(
      action(async (options: CommonOptions & { instance?: string; status?: string; limit: string }) => {
        const status = options.status?.toUpperCase();
        if (status !== undefined && !(OPERATION_STATUSES as readonly string[]).includes(status)) throw new UsageError(`"${options.status}" is not an operation status (${OPERATION_STATUSES.join(', ')})`);
        const limit = Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive whole number, not "${options.limit}"`);
        const found: Operation[] = [];
        const query = { instanceId: options.instance, status: status as Operation['status'] | undefined };
        for await (const operation of clientFor(options).operations.all(query)) {
          found.push(operation);
          if (found.length >= limit) break;
        }
        if (options.quiet) return void process.stdout.write(found.map((o) => `${o.id}\n`).join(''));
        print(found, formatOf(options), () => operationTable(found));
      }),
    );
  withCommon(operations.command('get').description('show one operation').argument('<id>', 'operation id')).action(
    action(async (id: string, options: CommonOptions) => {
      const operation = await clientFor(options).operations.get(id);
      print(operation, formatOf(options), () => operationTable([operation]));
    }),
  );
  withCommon(operations.command('wait').description('wait until an operation is DONE (exit 1 if it FAILED)').argument('<id>', 'operation id'))
    .option('--timeout <duration>', 'give up after this long (exit code 3)', '5m')
    .action(
      action(async (id: string, options: CommonOptions & { timeout: string }) => {
        const operation = await clientFor(options).waitForOperation(id, { timeoutMs: parseDuration(options.timeout) });
        print(operation, formatOf(options), () => operationTable([operation]));
      }),
    );
}
