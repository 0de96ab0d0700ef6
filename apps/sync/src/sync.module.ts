import { DynamicModule, Module } from '@nestjs/common';
import { CoreModule } from '@app/core';
import type { SyncConfig } from '@app/config';
import type { Logger } from 'pino';

/** Consumes WhatsApp events and writes them to GHL; the only app that calls GHL. */
@Module({})
export class SyncModule {
  static forRoot(config: SyncConfig, logger: Logger): DynamicModule {
    return {
      module: SyncModule,
      imports: [CoreModule.forRoot({ app: 'sync', config, logger })],
    };
  }
}
