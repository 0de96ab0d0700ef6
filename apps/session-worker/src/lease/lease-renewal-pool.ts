import { Inject, Injectable, OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { SessionWorkerConfig } from '@app/config';
import { connectWithRetry } from '@app/persistence/database.module';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { LEASE_RENEWAL_DATA_SOURCE, WORKER_LOGGER } from '../session-worker.tokens';

/**
 * Connections of the renewal pool: one renewal statement per interval needs one; the second lets the
 * next renewal go out while a previous one hangs on a broken connection.
 */
const LEASE_RENEWAL_POOL_SIZE = 2;

/**
 * Lease renewals get a pool of their own. On the main pool they would queue behind the credential
 * writes of a burst of pairings (812 pre-keys each) and time out, and every lease of the worker would
 * be given up at once — the capacity bench saw exactly that with one shared pool of 10.
 */
export function leaseRenewalPoolProvider(config: SessionWorkerConfig, logger: Logger): Provider {
  return {
    provide: LEASE_RENEWAL_DATA_SOURCE,
    useFactory: () =>
      connectWithRetry({
        url: config.DATABASE_URL,
        logger,
        applicationName: `session-worker-${config.INSTANCE_ID}-leases`,
        poolSize: LEASE_RENEWAL_POOL_SIZE,
      }),
  };
}

/** Closes the renewal pool with the app, after the shutdown hand-off released the leases. */
@Injectable()
export class LeaseRenewalPoolLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(LEASE_RENEWAL_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(WORKER_LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    this.logger.info({ component: 'database' }, 'lease renewal pool closed');
  }
}
