import { assertTestDatabaseName, createTestDatabase } from '@app/testing/postgres';
import { Client } from 'pg';

// Exercises the libs/testing Postgres helper that every database test here relies on.
describe('createTestDatabase (real Postgres)', () => {
  const exists = async (url: string, name: string): Promise<boolean> => {
    const admin = new Client({ connectionString: url.replace(/\/[^/]*$/, '/postgres') });
    await admin.connect();
    try {
      return ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0) > 0;
    } finally {
      await admin.end();
    }
  };

  it('refuses names without "test" before touching the server', async () => {
    await expect(createTestDatabase('wa_bridge')).rejects.toThrow('must contain "test"');
    expect(() => assertTestDatabaseName('production')).toThrow('must contain "test"');
    expect(() => assertTestDatabaseName('Test-DB')).toThrow('lowercase');
  });

  it('creates a fresh database and drops it even while connections are open', async () => {
    const db = await createTestDatabase('helper_test');
    expect(db.name).toMatch(/^helper_test_[a-z0-9]+_[0-9a-f]{6}$/);
    const client = new Client({ connectionString: db.url });
    await client.connect();
    client.on('error', () => undefined); // the forced drop terminates this connection
    expect((await client.query('SELECT current_database() AS name')).rows).toEqual([{ name: db.name }]);

    await db.drop();
    expect(await exists(db.url, db.name)).toBe(false);
    await db.drop(); // idempotent
    await client.end().catch(() => undefined);
  });
});
