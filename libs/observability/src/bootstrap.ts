import { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import { PinoNestLogger } from './nest-logger';

export interface BootstrapOptions {
  app: string;
  module: Type<unknown> | DynamicModule;
  logger: Logger;
  port: number;
  host?: string;
  /** Extra setup before listening (body limits, security headers ...). */
  configure?: (app: INestApplication) => void | Promise<void>;
  /** Bound on a graceful shutdown; past it the process exits 1 so the orchestrator sees it. */
  shutdownTimeoutMs?: number;
}

// Long enough to drain in-flight bus messages and hand sessions over; shorter than Kubernetes'
// default 30 s grace period so we, not SIGKILL, decide how the process ends.
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

/**
 * Starts one of our Nest apps the same way everywhere: pino for every log line, shutdown hooks so
 * SIGTERM drains NATS and closes the database, and one "ready" line an operator (or a test) can wait on.
 */
export async function bootstrapNestApp(options: BootstrapOptions): Promise<INestApplication> {
  const { logger } = options;
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });
  const app = await NestFactory.create(options.module, {
    logger: new PinoNestLogger(logger),
    abortOnError: false,
  });
  await options.configure?.(app);
  await app.listen(options.port, options.host ?? '0.0.0.0');
  installShutdown(app, options);
  logger.info({ port: options.port }, `${options.app} ready`);
  return app;
}

/**
 * SIGTERM/SIGINT run Nest's shutdown hooks (consumers settle, NATS drains, the pool closes) and then
 * exit 0; Nest's own `enableShutdownHooks` would re-raise the signal instead, hiding whether the
 * shutdown was clean.
 */
function installShutdown(app: INestApplication, options: BootstrapOptions): void {
  const { logger } = options;
  let shuttingDown = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, `${options.app} shutting down`);
    const timeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'graceful shutdown timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    app.close().then(
      () => {
        logger.info(`${options.app} stopped`);
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'graceful shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
