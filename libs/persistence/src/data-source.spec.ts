import { getMetadataArgsStorage } from 'typeorm';
import { createDataSourceOptions, MIGRATIONS_TABLE } from './data-source';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

const URL = 'postgres://postgres@127.0.0.1:5432/wa_bridge_test';

describe('createDataSourceOptions', () => {
  it('lists entities and migrations explicitly and never touches the schema by itself', () => {
    const options = createDataSourceOptions(URL);
    expect(options).toMatchObject({
      type: 'postgres',
      url: URL,
      synchronize: false,
      migrationsRun: false,
      dropSchema: false,
      migrationsTableName: MIGRATIONS_TABLE,
      installExtensions: false,
    });
    expect(options.entities).toBe(ENTITIES);
    expect(options.migrations).toBe(MIGRATIONS);
  });

  it('applies overrides but not to the settings the schema depends on', () => {
    const sneaky = { poolSize: 3, applicationName: 'api', synchronize: true, migrationsRun: true } as never;
    expect(createDataSourceOptions(URL, sneaky)).toMatchObject({
      poolSize: 3,
      applicationName: 'api',
      synchronize: false,
      migrationsRun: false,
    });
  });

  it('maps every entity to a snake_case table with explicit snake_case column names', () => {
    const storage = getMetadataArgsStorage();
    const tables = ENTITIES.map((entity) => storage.tables.find((t) => t.target === entity)?.name).sort();
    expect(tables).toEqual([
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
    ]);
    const targets = new Set<unknown>(ENTITIES);
    const columns = storage.columns.filter((c) => targets.has(c.target));
    expect(columns.length).toBeGreaterThan(50);
    for (const column of columns) expect(column.options.name).toMatch(/^[a-z][a-z0-9_]*$/);
    // A timestamp without time zone would silently shift with the server's setting.
    for (const column of columns.filter((c) => /date|time/i.test(String(c.options.type)))) {
      expect(column.options.type).toBe('timestamptz');
    }
  });
});
