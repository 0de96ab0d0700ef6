import 'reflect-metadata';
import { loadConfig, apiConfigSchema } from '@app/config';
import { bootstrapNestApp, createLogger } from '@app/observability';
import { ApiModule } from './api.module';
import { configureHttpEdge } from './http/http-edge';

async function main(): Promise<void> {
  const config = loadConfig(apiConfigSchema);
  const logger = createLogger({ app: 'api', instanceId: config.INSTANCE_ID, level: config.LOG_LEVEL });
  await bootstrapNestApp({
    app: 'api',
    module: ApiModule.forRoot(config, logger),
    logger,
    port: config.HTTP_PORT,
    configure: (app) => configureHttpEdge(app, config),
  });
}

void main();
