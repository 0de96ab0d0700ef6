import 'reflect-metadata';
import { loadConfig, syncConfigSchema } from '@app/config';
import { bootstrapNestApp, createLogger } from '@app/observability';
import { SyncModule } from './sync.module';

async function main(): Promise<void> {
  const config = loadConfig(syncConfigSchema);
  const logger = createLogger({ app: 'sync', instanceId: config.INSTANCE_ID, level: config.LOG_LEVEL });
  // The HTTP port serves probes and metrics only; work arrives over NATS.
  await bootstrapNestApp({
    app: 'sync',
    module: SyncModule.forRoot(config, logger),
    logger,
    port: config.HTTP_PORT,
  });
}

void main();
