import { DynamicModule, Module } from '@nestjs/common';
import { CoreModule } from '@app/core';
import type { ApiConfig } from '@app/config';
import type { Logger } from 'pino';

/** The HTTP edge for people and for GHL; answers from stored state and sends commands over NATS. */
@Module({})
export class ApiModule {
  static forRoot(config: ApiConfig, logger: Logger): DynamicModule {
    return {
      module: ApiModule,
      imports: [CoreModule.forRoot({ app: 'api', config, logger })],
    };
  }
}
