import { GaleApiError, GaleConnectionError, OperationFailedError, OperationTimeoutError, WaitTimeoutError } from '../client/index.js';

/* What `gale` exits with, and how an error is told to the user: its message, and the error id to quote. */

export const EXIT = { ok: 0, api: 1, usage: 2, timeout: 3, notFound: 4, auth: 5 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  done
  1  the API refused or failed (quota, conflict, a failed operation, server unreachable)
  2  usage: a bad command, option or argument
  3  timeout: a wait ended before the status or operation came
  4  not found: no such instance, operation or template
  5  authentication: not logged in, or the credentials were refused`;

/** A mistake in how gale was called: exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Missing or refused credentials before any request: exits 5. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
}

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof AuthError) return EXIT.auth;
  if (error instanceof WaitTimeoutError || error instanceof OperationTimeoutError) return EXIT.timeout;
  if (error instanceof GaleApiError) {
    if (error.status === 401) return EXIT.auth;
    if (error.status === 404) return EXIT.notFound;
    if (error.status === 400 || error.status === 422) return error.code === 'not_found' ? EXIT.notFound : EXIT.api;
    return EXIT.api;
  }
  return EXIT.api;
}

/** One line a user can act on: the API's own words and the error id, never the request's credentials. */
export function describeError(error: unknown): string {
  if (error instanceof GaleApiError) {
    const id = error.errorId ? ` (error id ${error.errorId})` : '';
    const hint = error.status === 401 ? ' — run `gale login` again, or check GALE_TOKEN / GALE_API_KEY' : '';
    return `${error.apiMessage}${id}${hint}`;
  }
  if (error instanceof OperationFailedError) return error.message;
  if (error instanceof WaitTimeoutError) return `timed out: ${error.message}`;
  if (error instanceof OperationTimeoutError) return `timed out: ${error.message}`;
  if (error instanceof GaleConnectionError) return `cannot reach the server: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** Prints the error on stderr and sets the exit code (the worst so far is kept: the first failure's). */
export function reportError(error: unknown, prefix = ''): ExitCode {
  const code = exitCodeOf(error);
  process.stderr.write(`gale: ${prefix}${describeError(error)}\n`);
  if (!process.exitCode) process.exitCode = code;
  return code;
}
