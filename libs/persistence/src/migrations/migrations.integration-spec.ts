import { readdirSync } from 'node:fs';
import { SESSION_STATES } from '@app/contracts';
import { createTestDatabase, type TestDatabase } from '@app/testing/postgres';
import type { DataSource } from 'typeorm';
import { createDataSource, MIGRATIONS_TABLE } from '../data-source';
import { MIGRATIONS } from './index';

const TABLES = [
  'api_keys',
  'auth_state',
  'ghl_contacts',
  'installations',
  'message_mappings',
  'oauth_tokens',
  'processed_messages',
  'rate_limit_buckets',
  'session_leases',
  'sessions',
  'webhook_receipts',
  'workers',
];

const INDEXES = [
  'ix_api_keys_location_id',
  'ix_ghl_contacts_contact_id',
  'ix_installations_company_id',
  'ix_oauth_tokens_expires_at',
  'ix_processed_messages_created_at',
  'ix_processed_messages_location_id',
  'ix_session_leases_expires_at',
  'ix_session_leases_owner_id',
  'ix_sessions_desired_state',
  'ix_sessions_owner_worker_id',
  'ix_webhook_receipts_received_at',
  'ix_workers_heartbeat_at',
  'pk_api_keys',
  'pk_auth_state',
  'pk_ghl_contacts',
  'pk_installations',
  'pk_message_mappings',
  'pk_oauth_tokens',
  'pk_processed_messages',
  'pk_rate_limit_buckets',
  'pk_session_leases',
  'pk_sessions',
  'pk_webhook_receipts',
  'pk_workers',
  'uq_api_keys_key_hash',
  'uq_message_mappings_ghl_message',
  'uq_session_leases_holding',
];

describe('migrations (real Postgres)', () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  const tables = async (): Promise<string[]> =>
    (
      await dataSource.query<{ table_name: string }[]>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
      )
    )
      .map((r) => r.table_name)
      // Sorted here, not in SQL: ORDER BY follows the server's collation, which differs between machines.
      .sort();

  const indexes = async (): Promise<string[]> =>
    (
      await dataSource.query<{ indexname: string }[]>(
        `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename <> $1`,
        [MIGRATIONS_TABLE],
      )
    )
      .map((r) => r.indexname)
      .sort();

  const columnTypes = async (): Promise<string[]> =>
    (
      await dataSource.query<{ data_type: string }[]>(
        `SELECT DISTINCT data_type FROM information_schema.columns
          WHERE table_schema = 'public' AND table_name <> $1 AND data_type LIKE 'timestamp%'`,
        [MIGRATIONS_TABLE],
      )
    ).map((r) => r.data_type);

  beforeAll(async () => {
    db = await createTestDatabase('persistence_migrations_test');
    dataSource = createDataSource(db.url);
    await dataSource.initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('lists every migration file in MIGRATIONS, oldest first', () => {
    // A file left out of the list would silently never run.
    const fileTimestamps = readdirSync(__dirname)
      .filter((f) => f.endsWith('.migration.ts'))
      .map((f) => f.split('-')[0])
      .sort();
    const listedTimestamps = MIGRATIONS.map((m) => new m().name.slice(-13));
    expect(listedTimestamps).toEqual(fileTimestamps);
  });

  it('creates every table and index going up', async () => {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    expect(applied.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => new m().name));
    expect(await tables()).toEqual([...TABLES, MIGRATIONS_TABLE].sort());
    expect(await indexes()).toEqual([...INDEXES].sort());
    // Every timestamp is timestamptz: a bare timestamp would shift by the server's time zone.
    expect(await columnTypes()).toEqual(['timestamp with time zone']);
  });

  it('matches the entities exactly: TypeORM finds nothing to change', async () => {
    const diff = await dataSource.driver.createSchemaBuilder().log();
    expect(diff.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('accepts every session state from the contracts and nothing else', async () => {
    for (const [i, state] of SESSION_STATES.entries()) {
      await dataSource.query(`INSERT INTO "sessions" ("location_id", "state") VALUES ($1, $2)`, [
        `loc${i}`,
        state,
      ]);
    }
    await expect(
      dataSource.query(`INSERT INTO "sessions" ("location_id", "state") VALUES ('bad', 'dancing')`),
    ).rejects.toMatchObject({ code: '23514' });
    await dataSource.query(`DELETE FROM "sessions"`);
  });

  it('leaves no tables of ours after reverting everything, and goes up again', async () => {
    for (let i = 0; i < MIGRATIONS.length; i++) await dataSource.undoLastMigration({ transaction: 'each' });
    expect(await tables()).toEqual([MIGRATIONS_TABLE]);
    expect(await dataSource.query(`SELECT * FROM "${MIGRATIONS_TABLE}"`)).toEqual([]);
    expect(await indexes()).toEqual([]);

    await dataSource.runMigrations({ transaction: 'each' });
    expect(await tables()).toEqual([...TABLES, MIGRATIONS_TABLE].sort());
    expect((await dataSource.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
  });
});
