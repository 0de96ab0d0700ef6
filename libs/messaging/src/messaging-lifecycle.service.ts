import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { ConsumerRunnerFactory } from './consumer-runner.factory';
import { MESSAGING_LOGGER, MESSAGING_OPTIONS, MessagingModuleOptions } from './messaging.options';
import { MessagingConnection } from './nats-connection';
import { retryWhileUnavailable } from './retry-while-unavailable';
import { StreamProvisioner } from './stream-provisioner';

/**
 * Boot and shutdown order of the bus. Streams exist before any app module's `onApplicationBootstrap`
 * starts a consumer; at shutdown consumers finish their in-flight messages before the connection
 * is drained.
 */
@Injectable()
export class MessagingLifecycle implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingModuleOptions,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
    @Inject(MessagingConnection) private readonly connection: MessagingConnection,
    @Inject(StreamProvisioner) private readonly provisioner: StreamProvisioner,
    @Inject(ConsumerRunnerFactory) private readonly runners: ConsumerRunnerFactory,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.options.provisionStreams === false) return;
    await retryWhileUnavailable('stream provisioning', () => this.provisioner.ensureStreams(), {
      logger: this.logger,
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.runners.stopAll();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connection.drain(this.options.drainTimeoutMs);
    this.logger.info('messaging shut down');
  }
}
