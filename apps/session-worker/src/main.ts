import 'reflect-metadata';
import { loadConfig, sessionWorkerConfigSchema } from '@app/config';
import { bootstrapNestApp, createLogger } from '@app/observability';
import { SessionWorkerModule, type WhatsAppClientDeps } from './session-worker.module';
import { shutdownTimeoutMs } from './shutdown-budget';
import { createBaileysClient } from './whatsapp/baileys.adapter';

async function main(): Promise<void> {
  const config = loadConfig(sessionWorkerConfigSchema);
  const logger = createLogger({
    app: 'session-worker',
    instanceId: config.INSTANCE_ID,
    level: config.LOG_LEVEL,
  });
  const whatsapp = ({ media }: WhatsAppClientDeps) =>
    createBaileysClient(
      {
        webSocketUrl: config.WA_WS_URL,
        logLevel: config.BAILEYS_LOG_LEVEL,
        keepAliveIntervalMs: config.WA_KEEPALIVE_MS,
        media: {
          sink: media,
          maxBytes: config.MEDIA_MAX_BYTES,
          timeoutMs: config.MEDIA_DOWNLOAD_TIMEOUT_MS,
        },
      },
      logger,
    );
  // The HTTP port serves probes and metrics only; commands arrive over NATS.
  await bootstrapNestApp({
    app: 'session-worker',
    module: SessionWorkerModule.forRoot(config, logger, whatsapp),
    logger,
    port: config.HTTP_PORT,
    // Sessions must be handed off before the process ends: allow the hand-off plus draining the bus.
    shutdownTimeoutMs: shutdownTimeoutMs(config),
  });
}

void main();
