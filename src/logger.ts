import { pino, type Logger } from 'pino';

/** Header and field names that may carry a credential: pino replaces them before a line is written. */
const REDACT = [
  'req.headers.authorization',
  'req.headers["api-key"]',
  'req.headers["api-secret"]',
  'headers.authorization',
  'headers["api-key"]',
  'headers["api-secret"]',
  '*.apiSecret',
  '*.apiKey',
  '*.token',
  'apiSecret',
  'apiKey',
  'token',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'gale' } };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

export type { Logger };
