#!/usr/bin/env node
import { Command } from 'commander';
import { registerAdminCommands } from './admin-commands.js';
import { registerServeCommand } from './serve-command.js';
import { registerImageCommands } from './image-commands.js';
import { registerUserCommands } from './user-commands.js';

const program = new Command('gale')
  .description('Gale: a self-hostable compute instance control plane')
  .showHelpAfterError()
  .version('0.1.0');

registerServeCommand(program);
registerAdminCommands(program);
registerImageCommands(program);
registerUserCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`gale: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
