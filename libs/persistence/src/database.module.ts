import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { createDataSource } from './data-source';

export interface DatabaseModuleOptions {
  url: string;
  logger: Logger;
  /** Name shown in `pg_stat_activity`, e.g. `sync-<pod>`. */
  applicationName: string;
  poolSize?: number;
}

const OPTIONS = Symbol('DATABASE_OPTIONS');
// Between attempts while the database is unreachable at boot; a pod waits unready instead of crashing.
const CONNECT_RETRY_MS = 2_000;

/** A connected DataSource; while the server is unreachable it logs and tries again, never giving up. */
export async function connectWithRetry(options: DatabaseModuleOptions): Promise<DataSource> {
  const log = options.logger.child({ component: 'database' });
  const target = redactUrl(options.url);
  for (let attempt = 1; ; attempt++) {
    const dataSource = createDataSource(options.url, {
      applicationName: options.applicationName,
      poolSize: options.poolSize ?? 10,
    });
    try {
      await dataSource.initialize();
      log.info({ target }, 'connected to PostgreSQL');
      return dataSource;
    } catch (error) {
      log.warn(
        { target, attempt, err: error instanceof Error ? error.message : String(error) },
        'PostgreSQL is not reachable yet; retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
    }
  }
}

/** `postgres://user:secret@host/db` → `postgres://user@host/db`: a URL we can log. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(unparseable database url)';
  }
}

@Injectable()
class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(OPTIONS) private readonly options: DatabaseModuleOptions,
  ) {}

  // Runs after the bus has drained (handlers may still write while draining).
  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    this.options.logger.info({ component: 'database' }, 'PostgreSQL pool closed');
  }
}

/** The app's TypeORM DataSource, connected at boot (waiting while the server is down) and closed last. */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        { provide: OPTIONS, useValue: options },
        { provide: DataSource, useFactory: () => connectWithRetry(options) },
        DatabaseLifecycle,
      ],
      exports: [DataSource],
    };
  }
}

/** Readiness: the pool can run a trivial query. */
export async function checkDatabase(dataSource: DataSource): Promise<{ ok: boolean; detail: string }> {
  if (!dataSource.isInitialized) return { ok: false, detail: 'not connected' };
  await dataSource.query('SELECT 1');
  return { ok: true, detail: 'query ok' };
}
