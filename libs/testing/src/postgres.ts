import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The local cluster CI and developers run; trust auth, user `postgres`. */
export const DEFAULT_PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly name: string;
  /** Connection URL for the new database, same server and credentials as the admin URL. */
  readonly url: string;
  /** Drops the database, closing any connections left open. Safe to call twice. */
  drop(): Promise<void>;
}

/**
 * The guard against pointing a test at a real database: every database a test creates or drops has
 * `test` in its name, and nothing else is ever dropped.
 */
export function assertTestDatabaseName(name: string): void {
  if (!/test/i.test(name)) {
    throw new Error(`refusing to use database "${name}": a test database's name must contain "test"`);
  }
  // Postgres truncates identifiers past 63 bytes; two runs could then collide on one name.
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`refusing to use database "${name}": use 1-63 lowercase letters, digits and "_"`);
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(adminUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty database named `<prefix>_<random>` for one test run. The prefix must contain `test`
 * (e.g. `persistence_test`). Uses `PG_ADMIN_URL` (a URL to any database a superuser can reach),
 * defaulting to the local cluster.
 */
export async function createTestDatabase(
  prefix: string,
  adminUrl: string = process.env.PG_ADMIN_URL || DEFAULT_PG_ADMIN_URL,
): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  assertTestDatabaseName(name);
  await admin(adminUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));

  return {
    name,
    url: withDatabase(adminUrl, name),
    drop: async () => {
      assertTestDatabaseName(name);
      await admin(adminUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
      );
    },
  };
}
