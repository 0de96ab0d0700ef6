import { Client } from 'pg';
import { describeDatabaseUrl, withDatabase } from './database-url';

/** Every cluster has this one; it is where we connect to create the real database. */
const MAINTENANCE_DATABASE = 'postgres';
const DUPLICATE_DATABASE = '42P04';

/**
 * Creates the database named in `url` if it does not exist, so a first local `migrate run` just works.
 * Returns whether it created it. Two migrators racing is fine: the loser sees "already exists".
 */
export async function ensureDatabaseExists(url: string): Promise<boolean> {
  const { database } = describeDatabaseUrl(url);
  if (database === MAINTENANCE_DATABASE) return false;

  const client = new Client({
    connectionString: withDatabase(url, MAINTENANCE_DATABASE),
    connectionTimeoutMillis: 5_000,
  });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount) return false;
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === DUPLICATE_DATABASE) return false;
    throw error;
  } finally {
    await client.end();
  }
}
