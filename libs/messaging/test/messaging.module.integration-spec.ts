import { EventEnvelope } from '@app/contracts';
import { eventually, NatsServerHandle, startNatsServer } from '@app/testing';
import { Inject, Injectable, Module, OnApplicationBootstrap } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { pino } from 'pino';
import { CommandBus } from '../src/command-bus';
import { ConsumerRunner } from '../src/consumer-runner';
import { ConsumerRunnerFactory } from '../src/consumer-runner.factory';
import { EventBus } from '../src/event-bus';
import { MessagingModule } from '../src/messaging.module';
import { MessagingConnection } from '../src/nats-connection';
import { STREAMS } from '../src/topology';
import { LOCATION, statusPayload } from './fixtures';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

@Injectable()
class StatusConsumer implements OnApplicationBootstrap {
  readonly seen: EventEnvelope[] = [];
  runner!: ConsumerRunner;

  constructor(@Inject(ConsumerRunnerFactory) private readonly runners: ConsumerRunnerFactory) {}

  async onApplicationBootstrap(): Promise<void> {
    this.runner = this.runners.create({
      consumer: { stream: STREAMS.events, durable: 'nest-status', filterSubject: 'evt.*.message.status' },
      handler: async (envelope) => void this.seen.push(envelope),
    });
    await this.runner.start();
  }
}

@Module({ providers: [StatusConsumer] })
class FeatureModule {}

describe('MessagingModule (real nats-server)', () => {
  let server: NatsServerHandle;

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(() => server.stop());

  it('provisions streams at boot, serves the buses to feature modules, and shuts down in order', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MessagingModule.forRoot({
          servers: server.url,
          name: 'nest-test',
          logger,
          streams: { eventsMaxAgeMs: 3_600_000 },
        }),
        FeatureModule,
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();

    const connection = app.get(MessagingConnection);
    const jsm = await connection.jsm();
    expect((await jsm.streams.names().next()).sort()).toEqual(['DLQ', 'EVENTS', 'REPLAY']);
    expect((await jsm.streams.info(STREAMS.events)).config.max_age).toBe(3_600_000 * 1_000_000);
    expect(app.get(CommandBus)).toBeInstanceOf(CommandBus);

    const { envelope } = await app.get(EventBus).publish('message.status', LOCATION, statusPayload());
    const consumer = app.get(StatusConsumer);
    await eventually(() => expect(consumer.seen).toEqual([envelope]));

    await app.close();
    expect(consumer.runner.running).toBe(false);
    expect(connection.isClosed()).toBe(true);
    expect(connection.health()).toEqual({ ok: false, detail: 'connection closed' });
  });

  it('accepts its options from an async factory', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MessagingModule.forRootAsync({
          useFactory: async () => ({ servers: server.url, name: 'nest-async', logger }),
        }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    expect(app.get(MessagingConnection).health()).toMatchObject({ ok: true });
    await app.close();
  });
});
