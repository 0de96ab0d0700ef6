import { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Logger } from 'pino';
import { PinoNestLogger } from './nest-logger';

export interface BootstrapOptions {
  app: string;
  module: Type<unknown>;
  logger: Logger;
  port: number;
  host?: string;
  /** Extra setup before listening (body limits, security headers ...). */
  configure?: (app: INestApplication) => void | Promise<void>;
}

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
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await options.configure?.(app);
  await app.listen(options.port, options.host ?? '0.0.0.0');
  logger.info({ port: options.port }, `${options.app} ready`);
  return app;
}
