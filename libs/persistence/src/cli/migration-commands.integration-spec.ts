import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@app/testing';
import { assertTestDatabaseName, createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import { Client } from 'pg';
import { explainConnectionError } from '../connection-error';
import { withDatabase } from '../database-url';
import { MIGRATIONS } from '../migrations';
import {
  generateMigration,
  revertMigration,
  runMigrations,
  showMigrations,
  waitForMigrations,
} from './migration-commands';

describe('migration commands (real Postgres)', () => {
  let db: TestDatabase;
  let lines: string[];
  const print = (line: string) => void lines.push(line);
  const latest = new MIGRATIONS[MIGRATIONS.length - 1]().name;

  beforeAll(async () => {
    db = await createTestDatabase('persistence_cli_test');
  });

  beforeEach(() => {
    lines = [];
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('run creates a missing database, then applies every migration', async () => {
    const missing = `${db.name}_new`;
    assertTestDatabaseName(missing);
    const url = withDatabase(db.url, missing);
    try {
      expect(await runMigrations(url, print)).toEqual(MIGRATIONS.map((m) => new m().name));
      expect(lines).toEqual([
        `Created database "${missing}"`,
        `Applied ${MIGRATIONS.map((m) => new m().name).join(', ')}`,
      ]);
    } finally {
      const admin = new Client({ connectionString: withDatabase(db.url, 'postgres') });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(missing)} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('run is idempotent and safe when several migrators start at once', async () => {
    const results = await Promise.all([runMigrations(db.url, print), runMigrations(db.url, print)]);
    expect(results.flat()).toEqual(MIGRATIONS.map((m) => new m().name));
    expect(await runMigrations(db.url, print)).toEqual([]);
    expect(lines.at(-1)).toBe('No pending migrations');
  });

  it('show lists each migration with its state', async () => {
    const statuses = await showMigrations(db.url, print);
    expect(statuses.every((s) => s.applied)).toBe(true);
    expect(lines).toContain(`[X] ${latest}`);
    expect(lines.at(-1)).toBe('Up to date');
  });

  it('generate writes nothing when the entities match the database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    try {
      expect(await generateMigration(db.url, 'Nothing', print, dir)).toBeUndefined();
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('generate writes a migration for a difference it finds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('DROP INDEX "ix_workers_heartbeat_at"');
      const file = await generateMigration(db.url, 'RestoreWorkerIndex', print, dir);
      expect(file).toMatch(/\/\d{13}-restore-worker-index\.migration\.ts$/);
      const content = await readFile(file as string, 'utf8');
      expect(content).toMatch(/export class RestoreWorkerIndex\d{13} implements MigrationInterface/);
      expect(content).toContain('CREATE INDEX "ix_workers_heartbeat_at" ON "workers"');
      expect(content).toContain('DROP INDEX "public"."ix_workers_heartbeat_at"');
      expect(lines.at(-1)).toMatch(/add RestoreWorkerIndex\d{13} to MIGRATIONS/);
    } finally {
      await client.query(
        'CREATE INDEX IF NOT EXISTS "ix_workers_heartbeat_at" ON "workers" ("heartbeat_at")',
      );
      await client.end();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('revert undoes the latest migration, then reports when nothing is left', async () => {
    for (let i = MIGRATIONS.length - 1; i >= 0; i--) {
      expect(await revertMigration(db.url, print)).toBe(new MIGRATIONS[i]().name);
    }
    expect(await revertMigration(db.url, print)).toBeUndefined();
    expect(lines.at(-1)).toBe('No applied migrations to revert');
    const statuses = await showMigrations(db.url, print);
    expect(statuses.some((s) => s.applied)).toBe(false);
    expect(lines).toContain(`[ ] ${latest}`);
  });

  it('generate refuses a database with pending migrations rather than duplicate them', async () => {
    await expect(generateMigration(db.url, 'Duplicate', print, '/nonexistent')).rejects.toThrow(
      `the database is behind (pending: ${MIGRATIONS.map((m) => new m().name).join(', ')}); run "migrate run" first`,
    );
  });

  it('explains an unreachable server in one line with the way to start Postgres', async () => {
    // Port 1 is never a Postgres server; the connection is refused at once.
    const url = 'postgres://postgres:hunter2@127.0.0.1:1/wa_bridge';
    const error = await runMigrations(url, print).then(
      () => undefined,
      (e: unknown) => e,
    );
    const line = explainConnectionError(error, url);
    expect(line).toBe(
      'Cannot connect to PostgreSQL at 127.0.0.1:1 (ECONNREFUSED). Is it running? Start it with: ' +
        'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    );
    expect(line).not.toContain('hunter2');
  });

  it('explains a missing database for commands that do not create it', async () => {
    const url = withDatabase(db.url, `${db.name}_absent`);
    const error = await showMigrations(url, print).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(explainConnectionError(error, url)).toBe(
      `Database "${db.name}_absent" does not exist on 127.0.0.1:5432; "migrate run" creates it`,
    );
  });

  describe('wait (what the init containers of the apps run)', () => {
    let fresh: TestDatabase;
    const all = MIGRATIONS.map((m) => new m().name);

    beforeEach(async () => {
      fresh = await createTestDatabase('persistence_wait_test');
    });

    afterEach(async () => {
      await fresh?.drop();
    });

    it('waits while migrations are pending and returns once a migrator has applied them, applying nothing itself', async () => {
      const waiting = waitForMigrations(fresh.url, print, { timeoutMs: 20_000, pollMs: 50 });
      await eventually(() =>
        expect(lines).toContain(`Waiting for ${all.length} pending migration(s): ${all.join(', ')}`),
      );
      const status = await showMigrations(fresh.url, () => undefined);
      expect(status.some((s) => s.applied)).toBe(false);

      await runMigrations(fresh.url, () => undefined);
      await waiting;
      expect(lines.at(-1)).toBe('Up to date');
      // Each state is printed once however many polls saw it (it changes as each migration lands).
      const states = lines.filter((l) => l.startsWith('Waiting for'));
      expect(states[0]).toBe(`Waiting for ${all.length} pending migration(s): ${all.join(', ')}`);
      expect(new Set(states).size).toBe(states.length);
    });

    it('waits out a database that does not exist yet', async () => {
      const url = withDatabase(fresh.url, `${fresh.name}_later`);
      assertTestDatabaseName(`${fresh.name}_later`);
      const waiting = waitForMigrations(url, print, { timeoutMs: 20_000, pollMs: 50 });
      try {
        await eventually(() =>
          expect(lines).toContain(
            `Waiting for the database: Database "${fresh.name}_later" does not exist on 127.0.0.1:5432; "migrate run" creates it`,
          ),
        );
        await runMigrations(url, () => undefined);
        await waiting;
        expect(lines.at(-1)).toBe('Up to date');
      } finally {
        const admin = new Client({ connectionString: withDatabase(db.url, 'postgres') });
        await admin.connect();
        await admin.query(
          `DROP DATABASE IF EXISTS ${admin.escapeIdentifier(`${fresh.name}_later`)} WITH (FORCE)`,
        );
        await admin.end();
      }
    });

    it('gives up after its timeout, naming what it was waiting for', async () => {
      await expect(waitForMigrations(fresh.url, print, { timeoutMs: 300, pollMs: 50 })).rejects.toThrow(
        `gave up after 300 ms. Waiting for ${all.length} pending migration(s): ${all.join(', ')}`,
      );
    });
  });
});
