import { DataSource, type DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

export type PostgresDataSourceOptions = Extract<DataSourceOptions, { type: 'postgres' }>;

/** The settings the schema depends on; callers cannot override these. */
type FixedOption =
  'type' | 'url' | 'entities' | 'migrations' | 'synchronize' | 'migrationsRun' | 'dropSchema';
export type DataSourceOverrides = Partial<Omit<PostgresDataSourceOptions, FixedOption>>;

/** Named so it is obvious in `\dt` what it is, and not confused with a table of ours. */
export const MIGRATIONS_TABLE = 'schema_migrations';

/**
 * The one description of our database, used by the apps and by the migration CLI alike.
 *
 * The schema changes only through reviewed migrations run by the CLI: never `synchronize`, never
 * migrations on app start (several replicas starting at once would race).
 */
export function createDataSourceOptions(
  url: string,
  overrides: DataSourceOverrides = {},
): PostgresDataSourceOptions {
  return {
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'each',
    // gen_random_uuid() is built into PostgreSQL 13+; no extension to install.
    uuidExtension: 'pgcrypto',
    // The app's database user should not need the right to create extensions, and we use none.
    installExtensions: false,
    // Fail a startup or a health check within seconds rather than hang on an unreachable server.
    connectTimeoutMS: 5_000,
    applicationName: 'wa-bridge',
    logging: false,
    ...overrides,
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    dropSchema: false,
  };
}

export function createDataSource(url: string, overrides: DataSourceOverrides = {}): DataSource {
  return new DataSource(createDataSourceOptions(url, overrides));
}
