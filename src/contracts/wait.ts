import { Type } from '@sinclair/typebox';
import { invalidRequest } from '../domain/errors.js';

/** How long a wait may last: GCE's operations.wait answers within two minutes; Gale within one. */
export const WAIT_DEFAULT_MS = 30_000;
export const WAIT_MAX_MS = 60_000;

/** A duration as Go and gcloud print them, or plain seconds: 30s, 1.5s, 500ms, 1m, 30. */
const DURATION = /^(\d{1,9}(?:\.\d{1,3})?)(ms|s|m)?$/;

export const TimeoutQuerySchema = Type.String({
  maxLength: 16,
  pattern: DURATION.source,
  description: `How long to wait at most: 30s, 1.5s, 500ms, 1m, or plain seconds (default ${WAIT_DEFAULT_MS / 1000}s; longer than ${WAIT_MAX_MS / 1000}s is clamped to ${WAIT_MAX_MS / 1000}s)`,
  examples: ['30s'],
});

export const StreamTimeoutQuerySchema = Type.String({
  maxLength: 16,
  pattern: DURATION.source,
  description: 'Close the stream after this long (30s, 500ms, 10m, or plain seconds); without it the stream stays open',
  examples: ['10m'],
});

/** A duration parameter in milliseconds, or undefined when absent. */
export function durationMs(given: string | undefined): number | undefined {
  if (given === undefined || given === '') return undefined;
  const match = DURATION.exec(given);
  if (!match) throw invalidRequest('timeout must be a duration such as 30s, 500ms or 1m');
  const unit = match[2] === 'ms' ? 1 : match[2] === 'm' ? 60_000 : 1_000;
  return Math.round(Number(match[1]) * unit);
}

/** The timeout a wait was given, in milliseconds, clamped to at most WAIT_MAX_MS (as GCE clamps its page sizes). */
export function waitTimeoutMs(given: string | undefined): number {
  return Math.min(WAIT_MAX_MS, durationMs(given) ?? WAIT_DEFAULT_MS);
}
