import type { Selectable } from 'kysely';
import { checkStateKey, type JsonValue, type ProviderState, type StateEntry } from '../domain/provider-state.js';
import type { IdRange } from '../domain/provider.js';
import type { Db } from './db.js';
import type { ProviderStateTable } from './schema.js';

/*
 * The providers' keyed state (migration 010), one row per (provider, key). The primary key and the version column are
 * the whole concurrency story: an insert is ON CONFLICT DO NOTHING, a put or a delete names the version it read in its
 * WHERE. On PostgreSQL a competing write waits for the first to commit and then re-reads the row, finds the version
 * moved on and changes nothing; on SQLite the write transaction excludes every other writer. Either way one wins.
 */

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
  const rows = () => db.kysely.selectFrom('provider_state').select(['key', 'value', 'version', 'updated_at']).where('provider', '=', provider);

  return {
    async get(key: string): Promise<StateEntry | undefined> {
      checkStateKey(key);
      const row = await rows().where('key', '=', key).executeTakeFirst();
      return row && toEntry(row);
    },

    async insert(key: string, value: JsonValue): Promise<StateEntry | undefined> {
      checkStateKey(key);
      const row = await db.write((trx) =>
        trx
          .insertInto('provider_state')
          .values({ provider, key, value: JSON.stringify(value), version: 1, updated_at: db.clock.now() })
          .onConflict((oc) => oc.columns(['provider', 'key']).doNothing())
          .returning(['key', 'value', 'version', 'updated_at'])
          .executeTakeFirst(),
      );
      return row && toEntry(row);
    },

    async put(key: string, value: JsonValue, version: number): Promise<StateEntry | undefined> {
      checkStateKey(key);
      const row = await db.write((trx) =>
        trx
          .updateTable('provider_state')
          .set({ value: JSON.stringify(value), version: version + 1, updated_at: db.clock.now() })
          .where('provider', '=', provider)
          .where('key', '=', key)
          .where('version', '=', version)
          .returning(['key', 'value', 'version', 'updated_at'])
          .executeTakeFirst(),
      );
      return row && toEntry(row);
    },

    async delete(key: string, version?: number): Promise<boolean> {
      checkStateKey(key);
      const result = await db.write((trx) => {
        let removal = trx.deleteFrom('provider_state').where('provider', '=', provider).where('key', '=', key);
        if (version !== undefined) removal = removal.where('version', '=', version);
        return removal.executeTakeFirst();
      });
      return result.numDeletedRows > 0n;
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
