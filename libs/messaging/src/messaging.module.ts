import { DynamicModule, FactoryProvider, Global, Module, ModuleMetadata, Provider } from '@nestjs/common';
import { pino, type Logger } from 'pino';
import { CommandBus } from './command-bus';
import { ConsumerRunnerFactory } from './consumer-runner.factory';
import { EventBus } from './event-bus';
import { MediaStore } from './media-store';
import { MessagingLifecycle } from './messaging-lifecycle.service';
import { MESSAGING_LOGGER, MESSAGING_OPTIONS, MessagingModuleOptions } from './messaging.options';
import { MessagingConnection } from './nats-connection';
import { StreamProvisioner } from './stream-provisioner';

export interface MessagingModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: never[]) => MessagingModuleOptions | Promise<MessagingModuleOptions>;
  inject?: FactoryProvider['inject'];
}

const EXPORTS = [
  MessagingConnection,
  EventBus,
  MediaStore,
  CommandBus,
  StreamProvisioner,
  ConsumerRunnerFactory,
  MESSAGING_LOGGER,
];

/**
 * The bus for a NestJS app: one connection, typed event and command buses, and a factory for
 * consumer runners. Global, so feature modules inject `EventBus` etc. without importing it.
 */
@Global()
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingModuleOptions): DynamicModule {
    return {
      module: MessagingModule,
      providers: [{ provide: MESSAGING_OPTIONS, useValue: options }, ...sharedProviders()],
      exports: EXPORTS,
    };
  }

  static forRootAsync(options: MessagingModuleAsyncOptions): DynamicModule {
    return {
      module: MessagingModule,
      imports: options.imports ?? [],
      providers: [
        { provide: MESSAGING_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        ...sharedProviders(),
      ],
      exports: EXPORTS,
    };
  }
}

function sharedProviders(): Provider[] {
  return [
    {
      provide: MESSAGING_LOGGER,
      useFactory: (options: MessagingModuleOptions): Logger => options.logger ?? pino({ name: options.name }),
      inject: [MESSAGING_OPTIONS],
    },
    {
      provide: MessagingConnection,
      // Waits for the first connection as long as it takes (logging while it waits): a pod that
      // cannot reach NATS should stay unready, not crash-loop.
      useFactory: (options: MessagingModuleOptions, logger: Logger) =>
        MessagingConnection.connect({
          ...options.connection,
          servers: options.servers,
          name: options.name,
          logger,
        }),
      inject: [MESSAGING_OPTIONS, MESSAGING_LOGGER],
    },
    {
      provide: StreamProvisioner,
      useFactory: (connection: MessagingConnection, logger: Logger, options: MessagingModuleOptions) =>
        new StreamProvisioner(connection, logger, options.streams),
      inject: [MessagingConnection, MESSAGING_LOGGER, MESSAGING_OPTIONS],
    },
    {
      provide: EventBus,
      useFactory: (connection: MessagingConnection, logger: Logger, options: MessagingModuleOptions) =>
        new EventBus(connection, logger, { publishTimeoutMs: options.publishTimeoutMs }),
      inject: [MessagingConnection, MESSAGING_LOGGER, MESSAGING_OPTIONS],
    },
    {
      provide: CommandBus,
      useFactory: (connection: MessagingConnection, logger: Logger, options: MessagingModuleOptions) =>
        new CommandBus(connection, logger, { defaultTimeoutMs: options.commandTimeoutMs }),
      inject: [MessagingConnection, MESSAGING_LOGGER, MESSAGING_OPTIONS],
    },
    {
      provide: MediaStore,
      // Media lives as long as the events that name it.
      useFactory: (connection: MessagingConnection, options: MessagingModuleOptions) =>
        new MediaStore(connection, {
          maxAgeMs: options.streams?.eventsMaxAgeMs,
          replicas: options.streams?.replicas,
        }),
      inject: [MessagingConnection, MESSAGING_OPTIONS],
    },
    {
      provide: ConsumerRunnerFactory,
      useFactory: (connection: MessagingConnection, provisioner: StreamProvisioner, logger: Logger) =>
        new ConsumerRunnerFactory(connection, provisioner, logger),
      inject: [MessagingConnection, StreamProvisioner, MESSAGING_LOGGER],
    },
    MessagingLifecycle,
  ];
}
