import { CommanderError, type Command } from 'commander';
import { registerCatalogCommands } from './catalog-commands.js';
import { registerCompletionCommand } from './completion-command.js';
import { EXIT, EXIT_CODES_HELP } from './exit-codes.js';
import { registerInstanceCommands } from './instance-commands.js';
import { registerLoginCommands } from './login-commands.js';

/*
 * The commands for users of a Gale server (login, instances, templates, quotas, operations, completion), all through
 * the typed client. Registered last, so that the usage exit code (2) and the help's epilogue cover every command.
 */

const EXAMPLES = `Examples:
  gale login --endpoint https://gale.example.com
  gale instances create --template debian-12-micro --wait
  gale instances list
  gale instances stop $(gale instances list -q --status RUNNING) --wait
  gale instances delete tw-550e84-a1b2c3d4 --yes

Environment: GALE_ENDPOINT, GALE_TOKEN, GALE_API_KEY, GALE_API_SECRET (over the profile), GALE_PROFILE.`;

function usageExits(command: Command): void {
  command.exitOverride((error: CommanderError) => {
    process.exit(error.exitCode === 0 ? 0 : EXIT.usage);
  });
  for (const sub of command.commands) usageExits(sub);
}

export function registerUserCommands(program: Command): void {
  registerLoginCommands(program);
  registerInstanceCommands(program);
  registerCatalogCommands(program);
  registerCompletionCommand(program);
  program.addHelpText('after', `\n${EXAMPLES}\n\n${EXIT_CODES_HELP}\n`);
  usageExits(program);
}
