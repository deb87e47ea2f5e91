import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/*
 * Whether a store is there before it is opened: opening makes a new, empty one (the server's first start), which is
 * never what a tool run against the wrong directory or database wants (`gale admin`). Reads only, makes nothing.
 */

export interface StoreLocation {
  dataDir: string;
  databaseUrl?: string;
  schema?: string;
}

/** Where the store is, in words fit for a terminal: the SQLite file, or the PostgreSQL server and database without the password. */
export function describeStore(location: StoreLocation): string {
  if (!location.databaseUrl) return `the SQLite store at ${sqliteFile(location.dataDir)}`;
  return `the PostgreSQL store at ${withoutPassword(location.databaseUrl)}${location.schema ? `, schema ${location.schema}` : ''}`;
}

/** True when Gale's tables are there: <dataDir>/gale.db exists, or the database (schema) has a users table. */
export async function storeExists(location: StoreLocation): Promise<boolean> {
  if (!location.databaseUrl) return existsSync(sqliteFile(location.dataDir));
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: location.databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ found: boolean }>(
      "select exists (select 1 from information_schema.tables where table_schema = coalesce($1, current_schema()) and table_name = 'users') as found",
      [location.schema || null],
    );
    return rows[0]?.found === true;
  } finally {
    await client.end();
  }
}

function sqliteFile(dataDir: string): string {
  return join(resolve(dataDir), 'gale.db');
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    // Connection parameters may carry secrets too (sslpassword, a password): none is worth showing.
    parsed.search = '';
    return parsed.toString();
  } catch {
    // Not a URL we can read: say nothing of it that could hold a password.
    return 'a database URL that could not be read';
  }
}
