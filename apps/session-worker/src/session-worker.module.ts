import { DynamicModule, Module } from '@nestjs/common';
import { CoreModule } from '@app/core';
import type { SessionWorkerConfig } from '@app/config';
import type { Logger } from 'pino';

/** Runs the WhatsApp sessions this worker owns through leases, and executes their commands. */
@Module({})
export class SessionWorkerModule {
  static forRoot(config: SessionWorkerConfig, logger: Logger): DynamicModule {
    return {
      module: SessionWorkerModule,
      imports: [CoreModule.forRoot({ app: 'session-worker', config, logger })],
    };
  }
}
