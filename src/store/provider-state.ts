import type { Selectable } from 'kysely';
import { checkStateKey, type JsonValue, type ProviderState, type StateEntry } from '../domain/provider-state.js';
import type { IdRange } from '../domain/provider.js';
import type { Db } from './db.js';
import { precompiled, statement } from './precompiled.js';
import type { ProviderStateTable } from './schema.js';

/*
 * The providers' keyed state (migration 010), one row per (provider, key). The primary key and the version column are
 * the whole concurrency story: an insert is ON CONFLICT DO NOTHING, a put or a delete names the version it read in its
 * WHERE. On PostgreSQL a competing write waits for the first to commit and then re-reads the row, finds the version
 * moved on and changes nothing; on SQLite the write transaction excludes every other writer. Either way one wins.
 * The simulator reads and writes a key once or twice a step of every reconcile: those statements are compiled once.
 */

const COLUMNS = ['key', 'value', 'version', 'updated_at'] as const;

interface Written {
  provider: string;
  key: string;
  value: string;
  updatedAt: number;
}

const insertRow = statement((q, row: Written) =>
  q
    .insertInto('provider_state')
    .values({ provider: row.provider, key: row.key, value: row.value, version: 1, updated_at: row.updatedAt })
    .onConflict((oc) => oc.columns(['provider', 'key']).doNothing())
    .returning(COLUMNS),
);

const putRow = statement((q, row: Written & { version: number; next: number }) =>
  q
    .updateTable('provider_state')
    .set({ value: row.value, version: row.next, updated_at: row.updatedAt })
    .where('provider', '=', row.provider)
    .where('key', '=', row.key)
    .where('version', '=', row.version)
    .returning(COLUMNS),
);

const deleteRow = statement((q, row: { provider: string; key: string }) => q.deleteFrom('provider_state').where('provider', '=', row.provider).where('key', '=', row.key));

const deleteRowAt = statement((q, row: { provider: string; key: string; version: number }) =>
  q.deleteFrom('provider_state').where('provider', '=', row.provider).where('key', '=', row.key).where('version', '=', row.version),
);

function toEntry(row: Pick<Selectable<ProviderStateTable>, 'key' | 'value' | 'version' | 'updated_at'>): StateEntry {
  return { key: row.key, value: JSON.parse(row.value) as JsonValue, version: row.version, updatedAt: row.updated_at };
}

/** The least string greater than every string that starts with prefix (keys are ASCII: the last character plus one). */
function pastPrefix(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** The state port of one provider: every statement names it, so that no provider reads or writes another's keys. */
export function providerState(db: Db, provider: string): ProviderState {
  if (provider === '') throw new Error('provider state needs a provider name');
  const rows = () => db.kysely.selectFrom('provider_state').select(COLUMNS).where('provider', '=', provider);
  const byKey = precompiled(db, (key) => rows().where('key', '=', key));
  const written = (key: string, value: JsonValue): Written => ({ provider, key, value: JSON.stringify(value), updatedAt: db.clock.now() });

  return {
    async get(key: string): Promise<StateEntry | undefined> {
      checkStateKey(key);
      const [row] = await byKey(key);
      return row && toEntry(row);
    },

    async insert(key: string, value: JsonValue): Promise<StateEntry | undefined> {
      checkStateKey(key);
      const { rows: [row] } = await db.write((trx) => insertRow(trx, written(key, value)));
      return row && toEntry(row);
    },

    async put(key: string, value: JsonValue, version: number): Promise<StateEntry | undefined> {
      checkStateKey(key);
      const { rows: [row] } = await db.write((trx) => putRow(trx, { ...written(key, value), version, next: version + 1 }));
      return row && toEntry(row);
    },

    async delete(key: string, version?: number): Promise<boolean> {
      checkStateKey(key);
      const result = await db.write((trx) => (version === undefined ? deleteRow(trx, { provider, key }) : deleteRowAt(trx, { provider, key, version })));
      return (result.numAffectedRows ?? 0n) > 0n;
    },

    async list(prefix: string, range?: IdRange): Promise<StateEntry[]> {
      checkStateKey(prefix, 'prefix');
      let query = rows();
      if (prefix !== '') query = query.where('key', '>=', prefix).where('key', '<', pastPrefix(prefix));
      if (range?.after !== undefined) query = query.where('key', '>', prefix + range.after);
      if (range?.through !== undefined) query = query.where('key', '<=', prefix + range.through);
      return (await query.orderBy('key').execute()).map(toEntry);
    },
  };
}
