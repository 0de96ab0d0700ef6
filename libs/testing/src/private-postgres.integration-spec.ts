import { existsSync } from 'node:fs';
import { Client } from 'pg';
import { PrivatePostgres } from './private-postgres';

describe('PrivatePostgres', () => {
  let pg: PrivatePostgres;

  beforeAll(async () => {
    pg = await PrivatePostgres.start();
  }, 60_000);

  afterAll(async () => {
    await pg?.stop();
  }, 30_000);

  it('survives a crash-like restart with its data, cutting the connections it had', async () => {
    const db = await pg.createDatabase('private_pg_test');
    const before = new Client({ connectionString: db.url });
    await before.connect();
    const cut = new Promise<Error>((resolve) => before.once('error', resolve));
    await before.query('CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');

    await pg.restart('immediate');
    expect((await cut).message).toMatch(/terminat|shutdown|ECONNRESET|unexpected/i);
    await before.end().catch(() => undefined);

    const after = new Client({ connectionString: db.url });
    await after.connect();
    try {
      const { rows } = await after.query<{ n: number }>('SELECT n FROM kept');
      expect(rows).toEqual([{ n: 42 }]);
    } finally {
      await after.end();
    }
    await db.drop();
  }, 60_000);

  it('is down between down() and up(), on the same port', async () => {
    await pg.down();
    expect(pg.isRunning()).toBe(false);
    const refused = new Client({ connectionString: pg.adminUrl, connectionTimeoutMillis: 2_000 });
    await expect(refused.connect()).rejects.toThrow(/ECONNREFUSED/);
    await pg.up();
    const back = new Client({ connectionString: pg.adminUrl });
    await back.connect();
    await back.end();
  }, 60_000);

  it('deletes its folder when stopped', async () => {
    const other = await PrivatePostgres.start();
    expect(existsSync(other.dataDir)).toBe(true);
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
  }, 60_000);
});
