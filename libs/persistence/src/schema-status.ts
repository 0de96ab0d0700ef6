import type { DataSource } from 'typeorm';
import { MIGRATIONS_TABLE } from './data-source';

export interface MigrationStatus {
  readonly name: string;
  readonly applied: boolean;
}

/** Names of the migrations recorded as applied, in the order TypeORM reverts them from the end. */
export async function appliedMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  try {
    if (!(await runner.hasTable(MIGRATIONS_TABLE))) return [];
    const rows = (await runner.query(
      `SELECT "name" FROM "${MIGRATIONS_TABLE}" ORDER BY "timestamp", "id"`,
    )) as {
      name: string;
    }[];
    return rows.map((row) => row.name);
  } finally {
    await runner.release();
  }
}

/**
 * Every migration this build knows, oldest first, and whether the database has it. Apps can use it at
 * startup to refuse to serve on a schema that is behind, since they never migrate it themselves.
 */
export async function migrationStatus(dataSource: DataSource): Promise<MigrationStatus[]> {
  const applied = new Set(await appliedMigrations(dataSource));
  return dataSource.migrations.map((migration) => {
    const name = migration.name ?? migration.constructor.name;
    return { name, applied: applied.has(name) };
  });
}
