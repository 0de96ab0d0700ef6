import { DynamicModule, Module } from '@nestjs/common';
import { MessagingConnection, MessagingModule } from '@app/messaging';
import { ObservabilityModule } from '@app/observability';
import { checkDatabase, DatabaseModule } from '@app/persistence/database.module';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import type { SharedRuntimeConfig } from './shared-runtime-config';

export interface CoreModuleOptions {
  app: string;
  config: SharedRuntimeConfig;
  logger: Logger;
  metricsToken?: string;
}

/**
 * What every app stands on: the bus, the database, probes and metrics, wired the same way everywhere.
 * Readiness needs NATS connected and PostgreSQL answering; liveness fails only when the NATS
 * connection is closed for good (it never closes by itself: reconnects are unlimited).
 */
@Module({})
export class CoreModule {
  static forRoot(options: CoreModuleOptions): DynamicModule {
    const { app, config, logger } = options;
    const name = `${app}-${config.INSTANCE_ID}`;
    return {
      module: CoreModule,
      imports: [
        MessagingModule.forRoot({
          servers: config.NATS_URL,
          name,
          logger,
          streams: { eventsMaxAgeMs: config.EVENTS_MAX_AGE, deadLettersMaxAgeMs: config.DLQ_MAX_AGE },
        }),
        DatabaseModule.forRoot({ url: config.DATABASE_URL, logger, applicationName: name }),
        ObservabilityModule.forRoot({
          app,
          inject: [MessagingConnection, DataSource],
          useFactory: (nats: MessagingConnection, dataSource: DataSource) => ({
            readiness: [
              { name: 'nats', check: () => nats.health() },
              { name: 'postgres', check: () => checkDatabase(dataSource) },
            ],
            liveness: [
              { name: 'nats', check: () => ({ ok: !nats.isClosed(), detail: nats.health().detail }) },
            ],
            metricsToken: options.metricsToken,
          }),
        }),
      ],
    };
  }
}
