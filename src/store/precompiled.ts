import type { Compilable, Kysely } from 'kysely';
import type { Database } from './schema.js';

// A parameter value no caller can pass by accident: it marks where the argument goes.
const ARGUMENT = '\u0000gale-precompiled-argument';

/**
 * A read compiled to SQL once and then run with a different string argument each call. Hot reads
 * (an instance by id, a credential by hash) skip building and compiling the Kysely query every time;
 * the SQL text stays identical, so the SQLite statement cache re-uses its prepared statement too.
 */
export function precompiled<O>(db: Kysely<Database>, build: (argument: string) => Compilable<O>): (argument: string) => Promise<O[]> {
  const compiled = build(ARGUMENT).compile();
  const slots = compiled.parameters.map((parameter) => parameter === ARGUMENT);
  if (!slots.includes(true)) throw new Error('a precompiled query must use its argument');
  return async (argument) => {
    const parameters = compiled.parameters.map((parameter, index) => (slots[index] ? argument : parameter));
    const result = await db.executeQuery<O>({ ...compiled, parameters });
    return result.rows;
  };
}
