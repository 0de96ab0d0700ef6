import 'reflect-metadata';
import { loadConfig, sessionWorkerConfigSchema } from '@app/config';
import { bootstrapNestApp, createLogger } from '@app/observability';
import { SessionWorkerModule } from './session-worker.module';

async function main(): Promise<void> {
  const config = loadConfig(sessionWorkerConfigSchema);
  const logger = createLogger({
    app: 'session-worker',
    instanceId: config.INSTANCE_ID,
    level: config.LOG_LEVEL,
  });
  // The HTTP port serves probes and metrics only; work arrives over NATS.
  await bootstrapNestApp({
    app: 'session-worker',
    module: SessionWorkerModule.forRoot(config, logger),
    logger,
    port: config.HTTP_PORT,
  });
}

void main();
