import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Db } from './db.js';
import type { Database } from './schema.js';

// Parameter values no caller can pass by accident: each marks where the argument of that name goes.
const ARGUMENT = '\u0000gale-precompiled-argument:';

interface Compiled<O> {
  query: CompiledQuery<O>;
  /** For each parameter of the query, the name of the argument that fills it, or undefined for a constant. */
  slots: Array<string | undefined>;
}

/**
 * A statement built and compiled by Kysely once per database engine, then run with new arguments each time. The hot
 * statements (a create's and a delete's, an instance by id) skip building and compiling the query on every call,
 * which was a tenth of a create; the SQL text stays identical, so the SQLite statement cache reuses its prepared
 * statement too. Run it on the root or on a transaction alike: the compiled form is keyed by the engine's adapter.
 *
 * The builder receives placeholders for the arguments: it must use them as plain values (in a where, values or set)
 * and must not branch on them, since it runs once. Give the builder's second parameter its type: the arguments' type
 * and the rows' are inferred from the builder.
 */
export function statement<A extends object, O = unknown>(build: (q: Kysely<Database>, args: A) => Compilable<O>) {
  const compile = compiler(build);
  return (q: Kysely<Database>, args: A): Promise<QueryResult<O>> => q.executeQuery<O>(compile(q, args));
}

/** The compiled query of a statement (see statement) for given arguments. */
function compiler<A extends object, O>(build: (q: Kysely<Database>, args: A) => Compilable<O>) {
  const compiledFor = new WeakMap<object, Compiled<O>>();
  const placeholders = new Proxy({}, {
    get: (_target, name) => `${ARGUMENT}${String(name)}`,
    // A spread of the placeholders would silently build a statement without those values.
    ownKeys: () => {
      throw new Error('a precompiled statement must name each argument it uses, not spread them');
    },
  }) as A;
  return (q: Kysely<Database>, args: A): CompiledQuery<O> => {
    const adapter = q.getExecutor().adapter;
    let compiled = compiledFor.get(adapter);
    if (!compiled) {
      const query = build(q, placeholders).compile();
      const slots = query.parameters.map((parameter) => (typeof parameter === 'string' && parameter.startsWith(ARGUMENT) ? parameter.slice(ARGUMENT.length) : undefined));
      compiled = { query, slots };
      compiledFor.set(adapter, compiled);
    }
    const { query, slots } = compiled;
    const parameters = slots.map((slot, index) => (slot === undefined ? query.parameters[index] : (args as Record<string, unknown>)[slot]));
    return { ...query, parameters };
  };
}

/**
 * A read of one string argument on the root connection (an instance by id, a credential by hash): its rows. Where the
 * engine can run it at once (SQLite's readNow, when its connection is free), it does, skipping Kysely's executor.
 */
export function precompiled<O>(db: Db, build: (argument: string) => Compilable<O>): (argument: string) => Promise<O[]> {
  const compile = compiler((_q, { argument }: { argument: string }) => build(argument));
  const { kysely, readNow, queries } = db;
  return async (argument) => {
    const query = compile(kysely, { argument });
    const rows = readNow?.(query);
    if (rows !== undefined) {
      // Kysely's log hook counts the statements that go through it; this one did not.
      queries.count++;
      return rows;
    }
    return (await kysely.executeQuery(query)).rows;
  };
}
