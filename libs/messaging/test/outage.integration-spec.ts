import { EventEnvelope } from '@app/contracts';
import { eventually } from '@app/testing';
import { ConsumerRunner } from '../src/consumer-runner';
import { BusUnavailableError } from '../src/errors/bus-unavailable.error';
import { EventBus } from '../src/event-bus';
import { STREAMS } from '../src/topology';
import { BusHarness, startBus } from './bus-harness';
import { LOCATION, statusEvent, statusPayload } from './fixtures';

const OUTAGE_MS = 60_000;

describe('surviving a NATS outage (real nats-server, stopped for 60 s)', () => {
  let bus: BusHarness;
  let runner: ConsumerRunner;

  beforeAll(async () => {
    bus = await startBus();
  });
  afterAll(async () => {
    await runner?.stop();
    await bus.close();
  });

  it(
    'resumes publishing and consuming by itself, losing nothing and re-handling nothing acked before',
    async () => {
      const events = new EventBus(bus.connection, bus.logger, { publishTimeoutMs: 1_000 });
      const handled = new Map<string, number>();
      runner = new ConsumerRunner(
        bus.connection,
        bus.provisioner,
        {
          consumer: { stream: STREAMS.events, durable: 'outage', filterSubject: `evt.${LOCATION}.>` },
          concurrency: 4,
          handler: async (envelope: EventEnvelope) => {
            handled.set(envelope.id, (handled.get(envelope.id) ?? 0) + 1);
          },
        },
        bus.logger,
      );
      await runner.start();
      const jsm = await bus.connection.jsm();

      const before: EventEnvelope[] = [];
      for (let i = 0; i < 20; i++) {
        before.push(
          (await events.publish('message.status', LOCATION, statusPayload({ waMessageId: `b${i}` })))
            .envelope,
        );
      }
      await eventually(() => expect(handled.size).toBe(20));
      await eventually(async () => {
        const info = await jsm.consumers.info(STREAMS.events, 'outage');
        expect(info.num_ack_pending).toBe(0);
        expect(info.ack_floor.stream_seq).toBe(20);
      });

      await bus.server.down();
      const downAt = Date.now();
      await eventually(() => expect(bus.connection.health()).toMatchObject({ ok: false }));

      // The whole outage is spent proving publishes fail fast and typed. One envelope is retried
      // throughout, as a caller would: the client may still flush an attempt after reconnecting,
      // and the de-dup id must keep that from becoming several stored events.
      const retried = statusEvent({ waMessageId: 'during-outage' });
      let failures = 0;
      while (Date.now() - downAt < OUTAGE_MS) {
        const started = Date.now();
        await expect(events.publishEnvelope(retried)).rejects.toBeInstanceOf(BusUnavailableError);
        expect(Date.now() - started).toBeLessThan(3_000);
        failures += 1;
      }
      expect(failures).toBeGreaterThan(10);
      expect(bus.connection.isConnected()).toBe(false);

      await bus.server.up();
      await eventually(() => expect(bus.connection.health().ok).toBe(true), { timeoutMs: 10_000 });
      // The first publish may race JetStream finishing its start-up; after that every publish must succeed.
      await eventually(() => events.publishEnvelope(retried), { timeoutMs: 10_000, intervalMs: 250 });
      const after: EventEnvelope[] = [];
      for (let i = 0; i < 20; i++) {
        after.push(
          (await events.publish('message.status', LOCATION, statusPayload({ waMessageId: `a${i}` })))
            .envelope,
        );
      }

      await eventually(() => expect(after.every((e) => handled.has(e.id))).toBe(true), { timeoutMs: 30_000 });
      await eventually(() => expect(handled.get(retried.id)).toBe(1), { timeoutMs: 5_000 });
      await eventually(async () =>
        expect((await jsm.consumers.info(STREAMS.events, 'outage')).num_ack_pending).toBe(0),
      );
      for (const envelope of [...before, ...after]) expect(handled.get(envelope.id)).toBe(1);
      expect(handled.size).toBe(before.length + after.length + 1);
      const stored = (await jsm.streams.info(STREAMS.events)).state.messages;
      expect(stored).toBe(before.length + after.length + 1);
    },
    OUTAGE_MS + 60_000,
  );
});
