import { Command, Option } from 'commander';
import { Gale } from '../client/index.js';
import { reportError } from './exit-codes.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output.js';
import { resolveProfile } from './profiles.js';

/* What every user command shares: --profile and --output, a client built from the profile, and error reporting. */

export interface CommonOptions {
  profile?: string;
  output?: OutputFormat;
  quiet?: boolean;
}

export function withCommon(command: Command, options: { quiet?: boolean } = {}): Command {
  command.option('--profile <name>', 'profile to use (default: $GALE_PROFILE or "default")');
  command.addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS));
  if (options.quiet) command.option('-q, --quiet', 'print ids only, one a line');
  return command;
}

export function clientFor(options: CommonOptions, extra: { fetch?: typeof fetch } = {}): Gale {
  const profile = resolveProfile(options.profile);
  const base = { baseUrl: profile.endpoint, fetch: extra.fetch, headers: { 'user-agent': 'gale-cli/0.1.0' } };
  return 'token' in profile ? new Gale({ ...base, token: profile.token }) : new Gale({ ...base, apiKey: profile.apiKey, apiSecret: profile.apiSecret });
}

export const formatOf = (options: CommonOptions): OutputFormat => options.output ?? 'table';

/** Wraps an action so that its errors are reported with their exit code instead of a stack. */
export function action<A extends unknown[]>(run: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      reportError(error);
    }
  };
}

/** Whether stdout is a terminal (live tables and progress lines), as opposed to a pipe or file. */
export const isTty = (): boolean => process.stdout.isTTY === true;
