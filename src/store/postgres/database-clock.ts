import { sql, type Kysely } from 'kysely';
import type { Clock } from '../../domain/clock.js';
import type { Database } from '../schema.js';

/*
 * Replicas judge leases, due times and deadlines by the clock they read. Each reading its own, replicas a minute apart
 * took each other's leases and booted one machine three times. So on PostgreSQL every replica reads the database
 * server's clock: its own, corrected by the offset to the server's, measured at start and every half minute (half the
 * round trip is the error: milliseconds, against the seconds of a lease). Replicas then agree however their own
 * clocks drift; docs/operations.md says what is still assumed.
 */

const MEASURE_EVERY_MS = 30_000;

export interface DatabaseClock extends Clock {
  /** The offset last measured, database minus local, in milliseconds. */
  readonly offsetMs: number;
  close(): void;
}

async function measure(kysely: Kysely<Database>): Promise<number> {
  const before = Date.now();
  const { rows } = await sql<{ now: string | number }>`select (extract(epoch from clock_timestamp()) * 1000)::bigint as now`.execute(kysely);
  const after = Date.now();
  return Number(rows[0]!.now) - Math.round((before + after) / 2);
}

export async function databaseClock(kysely: Kysely<Database>): Promise<DatabaseClock> {
  let offset = await measure(kysely);
  const timer = setInterval(() => {
    // A failed measurement keeps the last offset: clocks drift by milliseconds a minute, not seconds.
    measure(kysely).then((measured) => (offset = measured), () => undefined);
  }, MEASURE_EVERY_MS);
  timer.unref();
  return {
    now: () => Date.now() + offset,
    get offsetMs() {
      return offset;
    },
    close: () => clearInterval(timer),
  };
}
