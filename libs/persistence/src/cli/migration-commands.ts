import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { DataSource, QueryRunner } from 'typeorm';
import { explainConnectionError } from '../connection-error';
import { createDataSource } from '../data-source';
import { ensureDatabaseExists } from '../database-admin';
import { describeDatabaseUrl } from '../database-url';
import { appliedMigrations, migrationStatus, type MigrationStatus } from '../schema-status';
import { renderMigration } from './migration-template';

/** Where command output goes: one line per call. The CLI writes it to stdout; tests collect it. */
export type Print = (line: string) => void;

/**
 * Held while migrating, so replicas or init containers that all run `migrate run` at once take turns
 * instead of applying the same migration twice. Any fixed bigint works; this one spells "wabr".
 */
const MIGRATION_LOCK_KEY = 0x77616272;

async function withDataSource<T>(url: string, work: (dataSource: DataSource) => Promise<T>): Promise<T> {
  const dataSource = createDataSource(url, { applicationName: 'wa-bridge-migrate', poolSize: 2 });
  await dataSource.initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

async function withMigrationLock<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  // A session-level lock on a connection of its own; the migrations run on another pooled connection.
  const lock: QueryRunner = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      return await work();
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lock.release();
  }
}

/** Applies pending migrations, creating the database first if needed. Returns the names applied. */
export async function runMigrations(url: string, print: Print): Promise<string[]> {
  if (await ensureDatabaseExists(url)) print(`Created database "${describeDatabaseUrl(url).database}"`);
  return withDataSource(url, (dataSource) =>
    withMigrationLock(dataSource, async () => {
      const applied = (await dataSource.runMigrations({ transaction: 'each' })).map((m) => m.name);
      print(applied.length ? `Applied ${applied.join(', ')}` : 'No pending migrations');
      return applied;
    }),
  );
}

/** Reverts the most recently applied migration. Returns its name, or undefined if none was applied. */
export async function revertMigration(url: string, print: Print): Promise<string | undefined> {
  return withDataSource(url, (dataSource) =>
    withMigrationLock(dataSource, async () => {
      const last = (await appliedMigrations(dataSource)).at(-1);
      if (last === undefined) {
        print('No applied migrations to revert');
        return undefined;
      }
      await dataSource.undoLastMigration({ transaction: 'each' });
      print(`Reverted ${last}`);
      return last;
    }),
  );
}

/** Lists every known migration, oldest first, and whether it has been applied. */
export async function showMigrations(url: string, print: Print): Promise<MigrationStatus[]> {
  return withDataSource(url, async (dataSource) => {
    const statuses = await migrationStatus(dataSource);
    for (const { name, applied: done } of statuses) print(`[${done ? 'X' : ' '}] ${name}`);
    const pending = statuses.filter((s) => !s.applied).length;
    print(pending ? `${pending} pending` : 'Up to date');
    return statuses;
  });
}

export interface WaitOptions {
  /** Bound on the whole wait; past it the command fails with what it was still waiting for. */
  timeoutMs?: number;
  /** Between two looks at the database. */
  pollMs?: number;
}

/**
 * Waits until every migration this build knows is applied, without applying any: what the apps' init
 * containers run, so a release's pods start only once its migration Job is done (apps never migrate).
 * An unreachable or not yet created database is waited out too. Prints each new state once.
 */
export async function waitForMigrations(
  url: string,
  print: Print,
  { timeoutMs = 10 * 60_000, pollMs = 2_000 }: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    let state: string;
    try {
      const pending = await withDataSource(url, async (dataSource) =>
        (await migrationStatus(dataSource)).filter((m) => !m.applied).map((m) => m.name),
      );
      if (pending.length === 0) {
        print('Up to date');
        return;
      }
      state = `Waiting for ${pending.length} pending migration(s): ${pending.join(', ')}`;
    } catch (error) {
      const reason =
        explainConnectionError(error, url) ?? (error instanceof Error ? error.message : String(error));
      state = `Waiting for the database: ${reason}`;
    }
    if (state !== last) print(state);
    last = state;
    if (Date.now() + pollMs > deadline) throw new Error(`gave up after ${timeoutMs} ms. ${state}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * Writes a migration holding TypeORM's diff between the entities and the database at `url`, which
 * should be migrated up to date first. Returns the file written, or undefined when nothing differs.
 */
export async function generateMigration(
  url: string,
  name: string,
  print: Print,
  directory: string = findMigrationsDirectory(),
): Promise<string | undefined> {
  const sql = await withDataSource(url, async (dataSource) => {
    // Diffing against a database that is behind would re-create what pending migrations already do.
    const pending = (await migrationStatus(dataSource)).filter((m) => !m.applied).map((m) => m.name);
    if (pending.length > 0) {
      throw new Error(`the database is behind (pending: ${pending.join(', ')}); run "migrate run" first`);
    }
    return dataSource.driver.createSchemaBuilder().log();
  });
  if (sql.upQueries.length === 0) {
    print('No changes between the entities and the database; nothing to generate');
    return undefined;
  }
  const source = renderMigration(name, Date.now(), sql.upQueries, [...sql.downQueries].reverse());
  const file = join(directory, source.fileName);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, source.content, { flag: 'wx' });
  print(`Wrote ${file}`);
  print(`Next: review it, then add ${source.className} to MIGRATIONS in ${join(directory, 'index.ts')}`);
  return file;
}

const MIGRATIONS_SOURCE = join('libs', 'persistence', 'src', 'migrations');

/**
 * The source folder of migrations, found by walking up from this file, so it is the same whether the
 * CLI runs from ts sources or from `dist/libs/persistence/src/cli` (generated files belong in the
 * sources, never in dist).
 */
export function findMigrationsDirectory(from: string = __dirname): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const candidate = join(dir, MIGRATIONS_SOURCE);
    if (existsSync(join(candidate, 'index.ts'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`cannot find ${MIGRATIONS_SOURCE} above ${from}`);
  }
}
